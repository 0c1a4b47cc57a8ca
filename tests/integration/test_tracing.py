"""One tap, one trace: ingest's request, the tracker's apply and the notifier's sends share the
tap's trace, carried in the Kafka records' headers and in the jobs; a courier app's
`traceparent` is continued. The spans are caught by the SDK's in-memory exporter, handed to
each service as its tracer; with an OTLP endpoint they reach a real OTLP/HTTP receiver."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from opentelemetry import trace
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, Tracer

from shipnotify import kafka, tracing
from shipnotify import web as sweb
from shipnotify.config import Settings
from shipnotify.devstack.processes import free_port
from shipnotify.ingest import app as ingest_app
from shipnotify.notifier import service as notifier
from shipnotify.notifier.outcomes import Sender
from shipnotify.v1 import notifications_pb2 as npb
from shipnotify.v1 import shipment_events_pb2 as pb

from .conftest import Api, courier, eventually, read_topic, register, running_tracker, tap, unique
from .test_notifier import FakeSender

TAP_ROUTE = "POST /v1/shipments/{shipment_id}/events"


@dataclass
class Traced:
    tracer: Tracer
    exporter: InMemorySpanExporter

    def spans(self) -> Sequence[ReadableSpan]:
        return self.exporter.get_finished_spans()


@pytest.fixture
def traced() -> Traced:
    exporter = InMemorySpanExporter()
    provider = TracerProvider(shutdown_on_exit=False)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return Traced(provider.get_tracer("test"), exporter)


@asynccontextmanager
async def ingest(settings: Settings, tracer: Tracer) -> AsyncIterator[Api]:
    await kafka.ensure_topics(settings)
    app = sweb.new_app(settings.max_body_bytes, tracer=tracer)
    ingest_app.install(app, settings)

    async def ready() -> bool:
        return app[ingest_app.EVENT_LOG].ready

    async with TestClient(TestServer(app)) as client:
        await eventually(ready)
        yield client


@asynccontextmanager
async def notifying(
    settings: Settings, senders: Sequence[Sender], tracer: Tracer
) -> AsyncIterator[None]:
    stop = asyncio.Event()
    task = asyncio.create_task(notifier.serve(settings, stop, senders=senders, tracer=tracer))
    try:
        yield
    finally:
        stop.set()
        await task


async def _one_tap(
    settings: Settings, traced: Traced, shipment_id: str, headers: dict[str, str]
) -> tuple[ReadableSpan, list[ReadableSpan]]:
    """Registers a shipment and taps `picked_up` (three notices: the sender's SMS and email,
    the recipient's email); returns the tap's request span and every span made."""
    sms, email = FakeSender(pb.CHANNEL_SMS), FakeSender(pb.CHANNEL_EMAIL)
    async with (
        ingest(settings, traced.tracer) as api,
        running_tracker(settings, tracer=traced.tracer),
        notifying(settings, [sms, email], traced.tracer),
    ):
        await register(api, settings, shipment_id)
        resp = await api.post(
            f"/v1/shipments/{shipment_id}/events",
            json=tap("picked_up"),
            headers={**courier(settings), **headers},
        )
        assert resp.status == 202, await resp.text()

        async def sends_done() -> list[ReadableSpan] | None:
            spans = list(traced.spans())
            return spans if len([s for s in spans if s.name.startswith("send ")]) == 3 else None

        spans = await eventually(sends_done)
    assert len(sms.sent) == 1
    assert len(email.sent) == 2
    (request,) = [s for s in spans if s.name == TAP_ROUTE]
    return request, spans


async def test_one_tap_is_one_trace_from_ingest_through_the_tracker_to_each_notice(
    settings: Settings, traced: Traced
) -> None:
    sid = unique("tr")
    request, spans = await _one_tap(settings, traced, sid, {})
    assert request.kind == SpanKind.SERVER
    assert request.parent is None
    assert request.attributes is not None
    assert request.attributes["http.route"] == "/v1/shipments/{shipment_id}/events"
    assert request.attributes["http.response.status_code"] == 202
    tap_trace = request.context.trace_id
    mine = sorted((s.name for s in spans if s.context.trace_id == tap_trace), key=str)
    assert mine == sorted([TAP_ROUTE, "apply event", "send sms", "send email", "send email"])
    # the registration is a trace of its own, with its own apply
    (registration,) = [s for s in spans if s.name == "POST /v1/shipments"]
    assert registration.context.trace_id != tap_trace
    applies = [s for s in spans if s.name == "apply event"]
    assert {s.context.trace_id for s in applies} == {tap_trace, registration.context.trace_id}
    for span in spans:
        if span.context.trace_id == tap_trace and span is not request:
            # the tracker's apply and each send continue the context the tap's records carry
            assert span.parent is not None
            assert span.parent.span_id == request.context.span_id
            assert span.kind == SpanKind.CONSUMER

    # the records carry it: the event's and each job's headers, and the job itself
    events = await read_topic(settings, settings.events_topic, 2)
    (tap_record,) = [
        r for r in events if pb.ShipmentEvent.FromString(r.value).status_changed.status
    ]
    carried = _context(tap_record.headers)
    assert (carried.trace_id, carried.span_id) == (tap_trace, request.context.span_id)
    jobs = await read_topic(settings, settings.notifications_topic, 3)
    assert len(jobs) == 3
    for record in jobs:
        assert tracing.carried(record.headers) == tracing.carried(tap_record.headers)
        job = npb.NotificationJob.FromString(record.value)
        assert job.traceparent.encode() == dict(record.headers)["traceparent"]


async def test_a_traceparent_from_the_courier_app_is_continued(
    settings: Settings, traced: Traced
) -> None:
    sid = unique("tr")
    app_trace, app_span = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
    request, spans = await _one_tap(
        settings, traced, sid, {"traceparent": f"00-{app_trace}-{app_span}-01"}
    )
    assert request.context.trace_id == int(app_trace, 16)
    assert request.parent is not None
    assert request.parent.is_remote
    assert request.parent.span_id == int(app_span, 16)
    in_app_trace = [s.name for s in spans if s.context.trace_id == int(app_trace, 16)]
    assert sorted(in_app_trace) == sorted(
        [TAP_ROUTE, "apply event", "send sms", "send email", "send email"]
    )


def _context(headers: Sequence[tuple[str, bytes]]) -> trace.SpanContext:
    return trace.get_current_span(tracing.context_of(headers)).get_span_context()


async def test_with_an_otlp_endpoint_the_spans_reach_the_collector(settings: Settings) -> None:
    """A real OTLP/HTTP receiver on loopback decodes what the exporter posts."""
    sid = unique("tr")
    received: list[ExportTraceServiceRequest] = []

    async def traces(request: web.Request) -> web.Response:
        assert request.content_type == "application/x-protobuf"
        received.append(ExportTraceServiceRequest.FromString(await request.read()))
        body = ExportTraceServiceResponse().SerializeToString()
        return web.Response(body=body, content_type="application/x-protobuf")

    collector = web.Application()
    collector.router.add_post("/v1/traces", traces)
    port = free_port()
    async with TestServer(collector, port=port):
        endpoint = f"http://127.0.0.1:{port}/"
        provider = tracing.provider("ingest", settings.with_(otel_exporter_otlp_endpoint=endpoint))
        async with ingest(settings, tracing.tracer(provider)) as api:
            await register(api, settings, sid)
        # the exporter posts from its own thread, and blocks while it does: not on this loop
        await asyncio.to_thread(provider.shutdown)
    spans = [
        (resource.resource, span)
        for request in received
        for resource in request.resource_spans
        for scope in resource.scope_spans
        for span in scope.spans
    ]
    assert [span.name for _, span in spans] == ["POST /v1/shipments"]
    resource, span = spans[0]
    attributes = {a.key: a.value.string_value for a in resource.attributes}
    assert attributes["service.name"] == "ingest"
    assert attributes["service.namespace"] == "shipnotify"
    assert len(span.trace_id) == 16
    assert any(span.trace_id)
