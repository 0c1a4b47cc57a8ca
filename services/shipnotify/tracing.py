"""Traces: a tap's W3C trace context, from ingest through the Kafka records and the jobs to
the notifier's sends, and the OpenTelemetry tracer that makes the spans.

Every service gets an SDK TracerProvider. Without an OTLP endpoint it samples nothing: spans
are not recorded, yet they have real ids, so a tap's trace id still travels in the records'
headers and reaches every log line. With one, spans are sampled as the SDK's own sampler
variables say (the SDK reads them; by default a child follows its parent, a new trace is
kept) and go out in batches over OTLP/HTTP.
"""

from __future__ import annotations

from collections.abc import Sequence

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.propagators.textmap import Getter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from shipnotify.config import Settings
from shipnotify.v1 import notifications_pb2 as npb

Headers = Sequence[tuple[str, bytes]]  # a Kafka record's, as aiokafka gives and takes them
Record = tuple[bytes, bytes, Headers]  # key, value, headers

SCOPE = "shipnotify"
PROPAGATOR = TraceContextTextMapPropagator()  # traceparent and tracestate
_FIELDS = frozenset(PROPAGATOR.fields)


def provider(service: str, settings: Settings) -> TracerProvider:
    """The process's provider: exporting over OTLP/HTTP when an endpoint is set."""
    resource = Resource.create({"service.name": service, "service.namespace": "shipnotify"})
    if not settings.otel_exporter_otlp_endpoint:
        return TracerProvider(sampler=ALWAYS_OFF, resource=resource)
    # only a process that exports loads the exporter, and its HTTP client
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    spans = TracerProvider(resource=resource)
    # OTLP/HTTP: the variable names the collector's base URL, each signal has its own path
    url = settings.otel_exporter_otlp_endpoint.rstrip("/") + "/v1/traces"
    spans.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=url)))
    return spans


def tracer(spans: trace.TracerProvider | None = None) -> trace.Tracer:
    """The services' tracer, from `spans` or else the process's provider."""
    return (spans or trace.get_tracer_provider()).get_tracer(SCOPE)


def records(tracer: trace.Tracer) -> bool:
    """Whether this tracer's spans can be recorded at all. When not, a consumer makes no span
    per record: the record's own context gives the same trace id, at a fraction of the cost."""
    return getattr(tracer, "sampler", None) is not ALWAYS_OFF


def trace_id(span: trace.Span) -> str:
    """The span's trace id as logs and trace viewers show it; empty when it has none."""
    context = span.get_span_context()
    return trace.format_trace_id(context.trace_id) if context.is_valid else ""


# -- Kafka records -----------------------------------------------------------------------


class _HeaderGetter(Getter[Headers]):
    def get(self, carrier: Headers, key: str) -> list[str] | None:
        values = [v.decode("ascii", "replace") for k, v in carrier if k == key]
        return values or None

    def keys(self, carrier: Headers) -> list[str]:
        return [k for k, _ in carrier]


_HEADERS = _HeaderGetter()


def headers(context: Context | None = None) -> list[tuple[str, bytes]]:
    """The current (or the given) trace context as Kafka record headers."""
    carrier: dict[str, str] = {}
    PROPAGATOR.inject(carrier, context)
    return [(k, v.encode()) for k, v in carrier.items()]


def carried(record_headers: Headers | None) -> Headers:
    """The trace context among a record's headers, to pass on as it is (a list: aiokafka's
    record builder takes no other sequence)."""
    return [(k, v) for k, v in record_headers or () if k in _FIELDS]


def context_of(record_headers: Headers) -> Context:
    return PROPAGATOR.extract(record_headers, getter=_HEADERS)


class RecordSpans:
    """A span per consumed record, in the trace the record's headers carry, from now until
    end(). A tracer that records nothing makes none (its ids would reach no one); the trace
    id is then read from the record's headers, only when asked."""

    def __init__(self, tracer: trace.Tracer, name: str, contexts: Sequence[Headers]) -> None:
        self._contexts = contexts
        self._spans = (
            [tracer.start_span(name, context_of(c), kind=trace.SpanKind.CONSUMER) for c in contexts]
            if records(tracer)
            else None
        )

    def end(self) -> None:
        for span in self._spans or ():
            span.end()

    def log_fields(self, i: int) -> dict[str, str]:
        """The trace id of record i, for its log line (none when it has no trace)."""
        span = (
            self._spans[i]
            if self._spans is not None
            else trace.get_current_span(context_of(self._contexts[i]))
        )
        found = trace_id(span)
        return {"trace_id": found} if found else {}


# -- notification jobs -------------------------------------------------------------------


def in_trace(jobs: Sequence[tuple[bytes, bytes]], context: Headers) -> list[Record]:
    """An event's jobs (key, NotificationJob) as records carrying the event record's trace
    context, in their headers and in the job itself.

    Appended to a job's bytes, the encoded fields set them (protobuf merges concatenated
    messages): the job keeps the tap's context through the notifier's due set, and a
    redelivered event still re-emits byte-identical jobs, since the context is the event
    record's, not the span of the tracker that happened to apply it.
    """
    if not jobs:
        return []
    fields = dict(context)
    suffix = (
        npb.NotificationJob(
            traceparent=fields.get("traceparent", b"").decode("ascii", "replace"),
            tracestate=fields.get("tracestate", b"").decode("ascii", "replace"),
        ).SerializeToString()
        if fields
        else b""
    )
    return [(key, value + suffix, context) for key, value in jobs]


def job_context(job: npb.NotificationJob) -> Context:
    """The trace context a job carries (its tap's); empty for a job planned without one."""
    carrier = {"traceparent": job.traceparent}
    if job.tracestate:
        carrier["tracestate"] = job.tracestate
    return PROPAGATOR.extract(carrier)
