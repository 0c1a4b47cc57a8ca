"""The whole system in one process, on Apache Kafka and redis-server on loopback ports."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import secrets
import signal
import socket
import tempfile
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from shipnotify import kafka, logs
from shipnotify import web as sweb
from shipnotify.config import Settings
from shipnotify.console import app as console_app
from shipnotify.devstack import demo, history, kafka_broker, outbox, processes
from shipnotify.devstack.mail_sandbox import MailSandbox
from shipnotify.devstack.push_sandbox import PushSandbox
from shipnotify.devstack.sms_sandbox import DEFAULT_FROM, SmsSandbox
from shipnotify.devstack.webhook_sandbox import WebhookSandbox
from shipnotify.hooks import app as hooks_app
from shipnotify.ingest import app as ingest_app
from shipnotify.model.ids import sign_in_url
from shipnotify.model.quiet import zone_of
from shipnotify.notifier import service as notifier
from shipnotify.status_api import app as status_app
from shipnotify.tracker import service as tracker
from shipnotify.web.auth import issue_courier_token
from shipnotify.web.serving import CannotListen, Runner, serve

log = logs.get(__name__)

# Well known, and only for the local stack: `shipnotify token courier` uses it too when
# SHIPNOTIFY_COURIER_TOKEN_SECRET is not set, so its tokens work against `shipnotify dev`.
DEV_COURIER_TOKEN_SECRET = "dev-only-courier-token-secret-do-not-deploy"  # noqa: S105
DEV_OPT_OUT_SECRET = "dev-only-opt-out-secret"  # noqa: S105
DEV_TRACKING_ID_SECRET = "dev-only-tracking-id-secret"  # noqa: S105
DEV_TWILIO_SID = "AC" + "de" * 16
DEV_TWILIO_TOKEN = "dev-only-sms-sandbox-token"  # noqa: S105
DEV_SURVEY_DELAY_S = 10  # the demo's surveys go soon after delivery, not hours later
# The demo's depots: their supervisors' call-back alerts land in the outbox.
DEV_ZONE = "Europe/Chisinau"
DEV_DEPOTS = (
    f"{demo.DEPOT}=supervisor.chisinau@carrier.example Europe/Chisinau 18:00;"
    " *=care@carrier.example Europe/Chisinau 18:00"
)


def at_sandboxes(sms: SmsSandbox, mail: MailSandbox) -> dict[str, Any]:
    """The settings that send the notifier's SMS and email to the local sandboxes."""
    return {
        "twilio_account_sid": sms.account_sid,
        "twilio_auth_token": sms.auth_token,
        "twilio_from": DEFAULT_FROM,
        "twilio_api_url": sms.base_url,
        "smtp_host": mail.host,
        "smtp_port": mail.port,
        "smtp_starttls": False,
    }


class PortInUse(Exception):
    pass


def _port_free(port: int) -> None:
    """Fails fast, before a broker is started for nothing, when the port is taken."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as aiohttp binds
        try:
            probe.bind(("127.0.0.1", port))
        except OSError as e:
            raise PortInUse(
                f"cannot listen on 127.0.0.1:{port} ({e.strerror}); choose another with --http-port"
            ) from None


async def run(settings: Settings, *, http_port: int, demo_pace_s: float | None) -> None:
    _port_free(http_port)
    async with contextlib.AsyncExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="shipnotify-dev-")))
        broker = stack.enter_context(processes.broker(tmp))
        redis = stack.enter_context(processes.redis_server(tmp))
        mail = stack.enter_context(MailSandbox())
        sms = await stack.enter_async_context(
            SmsSandbox(DEV_TWILIO_SID, DEV_TWILIO_TOKEN).running()
        )
        push = await stack.enter_async_context(PushSandbox().running())
        webhooks = await stack.enter_async_context(WebhookSandbox().running())
        base = f"http://127.0.0.1:{http_port}"
        settings = _dev_settings(settings, broker.address, redis.address, base, sms, mail)
        await kafka.ensure_topics(settings)
        try:
            await stack.enter_async_context(_serving_http(settings, sms, mail, push, webhooks))
        except CannotListen as e:
            raise PortInUse(f"{e}; choose another with --http-port") from None

        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        services = [
            asyncio.create_task(tracker.serve(settings, stop)),
            asyncio.create_task(notifier.serve(settings, stop)),
        ]
        token = issue_courier_token(
            settings.courier_token_secret, "demo-courier", settings.courier_token_ttl_s
        )
        _banner(settings, base, broker.address, redis.address, push.base_url, webhooks, token)
        inbound = f"{base}/v1/twilio/inbound"

        async def reply(phone: str, body: str) -> object:  # a customer's SMS to us
            return await sms.send_inbound(inbound, from_=phone, to=DEFAULT_FROM, body=body)

        if demo_pace_s is not None:
            count = await history.seed(settings, zone_of(settings.time_zone))
            print(
                f"  history     {count} shipments of the last 4 weeks (the console's figures)",
                flush=True,
            )
        walk = (
            asyncio.create_task(
                demo.run(
                    base,
                    settings.api_keys[0],
                    token,
                    webhooks=webhooks,
                    pace_s=demo_pace_s,
                    reply=reply,
                )
            )
            if demo_pace_s is not None
            else None
        )
        if walk:
            walk.add_done_callback(_demo_ended)
        try:
            await asyncio.wait(
                [*services, asyncio.create_task(stop.wait())],
                return_when=asyncio.FIRST_COMPLETED,
            )
        finally:
            print("\nstopping...", flush=True)
            if walk:
                walk.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await walk
            stop.set()
            await asyncio.gather(*services)  # re-raises if a service died
    print("stopped: broker, redis-server, sandboxes and services are down", flush=True)


def _demo_ended(walk: asyncio.Task[list[str]]) -> None:
    """Says why the demo stopped, when it failed: the stack goes on without it."""
    if not walk.cancelled() and (e := walk.exception()) is not None:
        log.error("the demo stopped", reason=str(e))


def _dev_settings(
    settings: Settings,
    bootstrap: str,
    redis_url: str,
    base: str,
    sms: SmsSandbox,
    mail: MailSandbox,
) -> Settings:
    return settings.with_(
        kafka_bootstrap=bootstrap,
        kafka_partitions=3,
        redis_url=redis_url,
        http_host="127.0.0.1",
        http_port=int(base.rsplit(":", 1)[1]),
        public_url=base,
        webhook_url=base,
        api_keys=settings.api_keys or (secrets.token_urlsafe(18),),
        courier_token_secret=settings.courier_token_secret or DEV_COURIER_TOKEN_SECRET,
        tracking_id_secret=settings.tracking_id_secret or DEV_TRACKING_ID_SECRET,
        opt_out_secret=settings.opt_out_secret or DEV_OPT_OUT_SECRET,
        **_vapid(settings),
        **at_sandboxes(sms, mail),
        mail_from="Demo Carrier <notices@carrier.example>",
        quiet_hours="",  # the demo shows its notices at any hour
        survey_delay_s=min(settings.survey_delay_s, DEV_SURVEY_DELAY_S),
        depots=settings.depots or DEV_DEPOTS,
        # the demo's depots are Moldova's: their days and hours, unless the operator set one
        time_zone=settings.time_zone if "time_zone" in settings.model_fields_set else DEV_ZONE,
        webhook_allow_loopback=True,  # the demo account's endpoint is the webhook sandbox
    )


def _vapid(settings: Settings) -> dict[str, str]:
    """The operator's VAPID key pair if set, else one made for this run (browsers that
    subscribed under another key must subscribe again)."""
    if settings.vapid_private_key:
        return {}
    private, public = new_vapid_pair()
    return {
        "vapid_private_key": private,
        "vapid_public_key": public,
        "vapid_subject": settings.vapid_subject or "mailto:notices@carrier.example",
    }


def new_vapid_pair() -> tuple[str, str]:
    """A P-256 key pair as the settings take it: (private key's 32 bytes, public key's
    uncompressed point), each base64url without padding."""
    key = ec.generate_private_key(ec.SECP256R1())
    point = key.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    return _b64url(key.private_numbers().private_value.to_bytes(32, "big")), _b64url(point)


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _serving_http(
    settings: Settings,
    sms: SmsSandbox,
    mail: MailSandbox,
    push: PushSandbox,
    webhooks: WebhookSandbox,
) -> contextlib.AbstractAsyncContextManager[Runner]:
    app = sweb.new_app(settings.max_body_bytes, trusted_proxies=settings.trusted_proxies)
    ingest_app.install(app, settings)
    status_app.install(app, settings)
    hooks_app.install(app, settings)
    console_app.install(app, settings)
    outbox.install(
        app, sms, mail, push, webhooks, inbound_url=f"{settings.public_url}/v1/twilio/inbound"
    )
    return serve(app, "127.0.0.1", settings.http_port, shutdown_timeout_s=2)


def _banner(
    settings: Settings,
    base: str,
    bootstrap: str,
    redis_url: str,
    push_url: str,
    webhooks: WebhookSandbox,
    token: str,
) -> None:
    key = settings.api_keys[0]
    sandbox = f"{webhooks.base_url}/_sandbox/endpoints/<name>"
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
  HTTP        {base}  (ingest, status_api, hooks and console; the API: {base}/openapi.json)
  console     {base}/console  (sign in with the operator key, {key})
  Kafka       {bootstrap}  (Apache Kafka {kafka_broker.version()}, one node, in a temporary folder)
  Redis       {redis_url}
  outbox      {base}/outbox  (every SMS, email and push sent; the sandboxes and the SMTP server;
              answer an SMS as its recipient would, a survey's with a score, or STOP)
  cases       curl -H 'X-Api-Key: {key}' {base}/v1/cases  (call-back cases of unhappy answers)
  SMS faults  curl -d '{{"status": 500, "seconds": 30}}' {settings.twilio_api_url}/_sandbox/faults
  push        {push_url}  (a browser's push service: VAPID-signed aes128gcm pushes)
              a subscription: curl -X POST {push_url}/_sandbox/subscriptions
  webhooks    {webhooks.base_url}  (endpoints {webhooks.url("<name>")}, each request verified
              with the Standard Webhooks library; what arrived: {base}/outbox#webhooks)
              an endpoint's secret: curl -d '{{"secret": "whsec_..."}}' {sandbox}/secrets
              its answer: curl -X PUT -d '{{"mode": "fail"}}' {sandbox}/mode  (ok, fail, hang, gone)
  API key     {key}
  courier     a token for courier 'demo-courier': {token}
  courier app {sign_in_url(base, token)}
              (its sign-in link: open it in a phone-sized browser window; or
              `shipnotify token courier demo-courier --link` for a QR code)

  register a shipment:
  curl -H 'X-Api-Key: {key}' -H 'Content-Type: application/json' \\
       -d '{example}' {base}/v1/shipments
""",
        flush=True,
    )
