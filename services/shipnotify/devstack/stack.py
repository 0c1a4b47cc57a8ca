"""The whole system in one process, on the embedded broker and a loopback redis-server."""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import signal
import tempfile
from pathlib import Path

from aiohttp import web

from shipnotify import kafka, logs
from shipnotify import web as sweb
from shipnotify.config import Settings
from shipnotify.devstack import demo, processes
from shipnotify.ingest import app as ingest_app
from shipnotify.ingest.auth import issue_courier_token
from shipnotify.status_api import app as status_app
from shipnotify.tracker import service as tracker

log = logs.get(__name__)

# Well known, and only for the local stack: `shipnotify token courier` uses it too when
# SHIPNOTIFY_COURIER_TOKEN_SECRET is not set, so its tokens work against `shipnotify dev`.
DEV_COURIER_TOKEN_SECRET = "dev-only-courier-token-secret-do-not-deploy"  # noqa: S105
DEV_TRACKING_ID_SECRET = "dev-only-tracking-id-secret"  # noqa: S105


class PortInUse(Exception):
    pass


async def run(settings: Settings, *, http_port: int, demo_pace_s: float | None) -> None:
    with (
        tempfile.TemporaryDirectory(prefix="shipnotify-dev-") as tmp,
        processes.broker(Path(tmp)) as broker,
        processes.redis_server(Path(tmp)) as redis,
    ):
        bootstrap, redis_url = broker.address, redis.address
        base = f"http://127.0.0.1:{http_port}"
        settings = settings.with_(
            kafka_bootstrap=bootstrap,
            kafka_idempotence=False,
            kafka_partitions=3,
            redis_url=redis_url,
            http_host="127.0.0.1",
            http_port=http_port,
            public_url=base,
            api_keys=settings.api_keys or (secrets.token_urlsafe(18),),
            courier_token_secret=settings.courier_token_secret or DEV_COURIER_TOKEN_SECRET,
            tracking_id_secret=settings.tracking_id_secret or DEV_TRACKING_ID_SECRET,
        )
        await kafka.ensure_topics(settings)
        app = sweb.new_app(settings.max_body_bytes)
        ingest_app.install(app, settings)
        status_app.install(app, settings)
        runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=2)
        await runner.setup()
        try:
            await web.TCPSite(runner, "127.0.0.1", http_port).start()
        except OSError as e:
            await runner.cleanup()
            raise PortInUse(
                f"cannot listen on 127.0.0.1:{http_port} ({e.strerror}); "
                "choose another with --http-port"
            ) from None

        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        tracking = asyncio.create_task(tracker.serve(settings, stop))
        token = issue_courier_token(
            settings.courier_token_secret, "demo-courier", settings.courier_token_ttl_s
        )
        _banner(settings, base, bootstrap, redis_url, token)
        walk = (
            asyncio.create_task(demo.run(base, settings.api_keys[0], token, pace_s=demo_pace_s))
            if demo_pace_s is not None
            else None
        )
        try:
            await asyncio.wait(
                [tracking, asyncio.create_task(stop.wait())], return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            print("\nstopping...", flush=True)
            if walk:
                walk.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await walk
            stop.set()
            try:
                await tracking  # re-raises if the tracker died
            finally:
                await runner.cleanup()
    print("stopped: broker, redis-server and services are down", flush=True)


def _banner(settings: Settings, base: str, bootstrap: str, redis_url: str, token: str) -> None:
    key = settings.api_keys[0]
    example = json.dumps(
        {
            "shipment_id": "my-1",
            "sender": {"contacts": [{"name": "A", "email": "a@example.com"}]},
            "recipient": {"contacts": [{"name": "B", "phone": "+40721234567"}]},
        }
    )
    print(
        f"""
shipnotify dev is up (Ctrl-C stops everything)
  HTTP        {base}  (ingest and status_api; the API document: {base}/openapi.json)
  Kafka       {bootstrap}  (embedded broker, in memory)
  Redis       {redis_url}
  API key     {key}
  courier     a token for courier 'demo-courier': {token}

  register a shipment:
  curl -H 'X-Api-Key: {key}' -H 'Content-Type: application/json' \\
       -d '{example}' {base}/v1/shipments
""",
        flush=True,
    )
