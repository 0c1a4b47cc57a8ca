"""Trace contexts without I/O: the provider each setting makes, the jobs that carry a tap's
context, and the trace id on log lines."""

from __future__ import annotations

from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider

from shipnotify import logs, tracing
from shipnotify.config import Settings
from shipnotify.v1 import notifications_pb2 as npb

TRACEPARENT = b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def test_without_an_endpoint_nothing_is_recorded_yet_every_span_has_ids() -> None:
    tracer = tracing.tracer(tracing.provider("ingest", Settings()))
    assert not tracing.records(tracer)
    span = tracer.start_span("POST /v1/shipments")
    assert not span.is_recording()  # nothing to export
    assert span.get_span_context().is_valid  # yet its ids travel
    ((name, value),) = tracing.headers(trace.set_span_in_context(span))
    assert name == "traceparent"
    assert tracing.trace_id(span).encode() in value
    # a child of a record's context stays in the tap's trace
    child = tracer.start_span("x", tracing.context_of([("traceparent", TRACEPARENT)]))
    assert tracing.trace_id(child) == "4bf92f3577b34da6a3ce929d0e0e4736"


def test_with_an_endpoint_spans_are_recorded() -> None:
    provider = tracing.provider("tracker", Settings(otel_exporter_otlp_endpoint="http://c:4318"))
    try:
        tracer = tracing.tracer(provider)
        assert tracing.records(tracer)
        assert tracer.start_span("apply event").is_recording()
    finally:
        provider.shutdown()


def test_jobs_carry_the_records_trace_context_and_stay_the_same_for_the_same_record() -> None:
    planned = [(b"s-1", npb.NotificationJob(notification_id="n-1").SerializeToString())]
    record = [("traceparent", TRACEPARENT), ("tracestate", b"vendor=x")]
    headers = tracing.carried([("other", b"1"), *record])
    assert headers == record
    (jobs,) = tracing.in_trace(planned, headers)
    key, value, carried = jobs
    assert (key, carried) == (b"s-1", record)
    job = npb.NotificationJob.FromString(value)
    assert (job.notification_id, job.traceparent.encode(), job.tracestate) == (
        "n-1",
        TRACEPARENT,
        "vendor=x",
    )
    assert tracing.in_trace(planned, headers) == [jobs]  # byte for byte
    context = trace.get_current_span(tracing.job_context(job)).get_span_context()
    assert trace.format_trace_id(context.trace_id) == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert tracing.in_trace(planned, []) == [(*planned[0], [])]  # no context: as planned
    assert tracing.in_trace([], headers) == []


def test_a_job_without_a_context_starts_none() -> None:
    context = tracing.job_context(npb.NotificationJob(notification_id="n-1"))
    assert not trace.get_current_span(context).get_span_context().is_valid


def test_log_lines_carry_the_current_trace_id_unless_they_name_their_own() -> None:
    tracer = TracerProvider(shutdown_on_exit=False).get_tracer("test")
    assert logs.add_trace_id(None, "info", {"event": "x"}) == {"event": "x"}  # no trace
    with tracer.start_as_current_span("send sms") as span:
        line = logs.add_trace_id(None, "info", {"event": "notice sent"})
        assert line["trace_id"] == tracing.trace_id(span)
        assert len(line["trace_id"]) == 32
        named = logs.add_trace_id(None, "info", {"event": "event applied", "trace_id": "t"})
        assert named["trace_id"] == "t"
