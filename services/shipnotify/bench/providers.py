"""The provider clients alone: the messages a notifier step sent, sent again by the same
clients with the same settings and the same concurrency, to the same sandboxes, with no
Kafka and no Redis: the limit the notifier's lanes are held to.

The clients are built here as the notifier builds them (notifier/senders.py and
webhook_sender.py; a tool may not import a deployable): the twilio library's Client on its
AsyncTwilioHttpClient, `messages.create_async` under the send timeout; aiosmtplib, a
connection kept per send in flight and reused, `send_message` of a parsed message (the
flattening is the client's work; building the message is the notifier's); one aiohttp
session for webhooks, each request signed with the Standard Webhooks library. Each channel
has `sends_in_flight` sends at once, a webhook endpoint `webhooks_per_endpoint`, and
`4 * sends_in_flight` notices are under way at once, as in the notifier (worker.py).

What to send comes from the sandboxes, as received (`plan`): the same SMS (to, body, status
callback), the same emails (envelope and bytes), the same webhook bodies and ids. The
process is `python -m shipnotify.bench.providers PLAN.json`; it prints what it sent as
JSON, while the run counts the arrivals at the sandboxes as it counts the notifier's."""

from __future__ import annotations

import argparse
import asyncio
import email
import json
import sys
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from email import policy
from email.message import Message
from pathlib import Path
from typing import Any

import aiohttp
import aiosmtplib
from standardwebhooks import Webhook
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.rest import Client

from shipnotify import loop
from shipnotify.config import Settings
from shipnotify.devstack.mail_sandbox import ReceivedMail
from shipnotify.devstack.sms_sandbox import SmsMessage
from shipnotify.devstack.webhook_sandbox import ReceivedWebhook

SMS, EMAIL, WEBHOOK = "sms", "email", "webhook"


@dataclass(frozen=True)
class Clients:
    """The notifier's provider settings that the clients take."""

    twilio_account_sid: str
    twilio_auth_token: str
    twilio_from: str
    twilio_api_url: str
    smtp_host: str
    smtp_port: int
    send_timeout_s: float
    webhook_timeout_s: float
    sends_in_flight: int
    webhooks_per_endpoint: int

    @classmethod
    def of(cls, settings: Settings) -> Clients:
        return cls(**{name: getattr(settings, name) for name in cls.__dataclass_fields__})


@dataclass(frozen=True)
class Plan:
    clients: Clients
    # in the order they were received: {"channel": "sms", "to", "body", "callback"},
    # {"channel": "email", "from", "to": [...], "raw"} (latin-1 text of the bytes),
    # {"channel": "webhook", "url", "endpoint", "secret", "id", "body"}
    sends: list[dict[str, Any]] = field(default_factory=list)

    def write(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self)))

    @classmethod
    def read(cls, path: Path) -> Plan:
        doc = json.loads(path.read_text())
        return cls(Clients(**doc["clients"]), doc["sends"])

    def count(self) -> Counter[str]:
        return Counter(s["channel"] for s in self.sends)


def plan(
    clients: Clients,
    *,
    sms: Iterable[SmsMessage] = (),
    mail: Iterable[ReceivedMail] = (),
    webhooks: Iterable[ReceivedWebhook] = (),
    urls: dict[str, str] | None = None,  # webhook endpoint -> its URL
    secrets: dict[str, str] | None = None,  # webhook endpoint -> its secret
) -> Plan:
    """The received messages as sends, in the order they arrived."""
    timed: list[tuple[datetime, int, dict[str, Any]]] = []
    for m in sms:
        send: dict[str, Any] = {
            "channel": SMS,
            "to": m.to,
            "body": m.body,
            "callback": m.status_callback,
        }
        timed.append((m.created_at, len(timed), send))
    for e in mail:
        raw = e.raw.decode("latin-1")  # bytes as text, one to one, for JSON
        send = {"channel": EMAIL, "from": e.mail_from, "to": list(e.rcpt_tos), "raw": raw}
        timed.append((e.received_at, len(timed), send))
    for w in webhooks:
        send = {
            "channel": WEBHOOK,
            "url": (urls or {})[w.endpoint],
            "endpoint": w.endpoint,
            "secret": (secrets or {})[w.endpoint],
            "id": w.webhook_id,
            "body": w.body,
        }
        timed.append((w.received_at, len(timed), send))
    timed.sort(key=lambda x: (x[0].astimezone(UTC), x[1]))
    return Plan(clients, [send for _, _, send in timed])


class _Senders:
    """The clients, and the notifier's bounds on them."""

    def __init__(self, c: Clients) -> None:
        self.c = c
        self.twilio_http = AsyncTwilioHttpClient(timeout=c.send_timeout_s)
        self.twilio = Client(
            c.twilio_account_sid, c.twilio_auth_token, http_client=self.twilio_http
        )
        self.twilio.api.base_url = c.twilio_api_url
        self.smtp_idle: list[aiosmtplib.SMTP] = []
        self.hooks = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
        self.lanes = {ch: asyncio.Semaphore(c.sends_in_flight) for ch in (SMS, EMAIL, WEBHOOK)}
        self.endpoints: dict[str, asyncio.Semaphore] = {}
        self.sent: Counter[str] = Counter()
        self.failed: Counter[str] = Counter()
        self.errors: list[str] = []

    async def send(self, send: dict[str, Any], message: Message | None) -> None:
        channel = send["channel"]
        try:
            async with self.lanes[channel]:
                if channel == SMS:
                    await self._sms(send)
                elif channel == EMAIL:
                    assert message is not None
                    await self._email(send, message)
                else:
                    gate = self.endpoints.setdefault(
                        send["endpoint"], asyncio.Semaphore(self.c.webhooks_per_endpoint)
                    )
                    async with gate:
                        await self._webhook(send)
        except Exception as e:  # counted and shown: a failed send is no measure
            self.failed[channel] += 1
            if len(self.errors) < 5:
                self.errors.append(f"{channel}: {e!r}"[:300])
        else:
            self.sent[channel] += 1

    async def _sms(self, send: dict[str, Any]) -> None:
        async with asyncio.timeout(self.c.send_timeout_s):
            await self.twilio.messages.create_async(
                to=send["to"],
                body=send["body"],
                status_callback=send["callback"],
                from_=self.c.twilio_from,
            )

    async def _email(self, send: dict[str, Any], message: Message) -> None:
        client = self.smtp_idle.pop() if self.smtp_idle else None
        if client is None:
            client = aiosmtplib.SMTP(
                hostname=self.c.smtp_host,
                port=self.c.smtp_port,
                local_hostname="bench.example",  # as the notifier: no getfqdn() in a thread
                start_tls=False,
                timeout=self.c.send_timeout_s,
            )
            await client.connect()
        errors, _ = await client.send_message(message, sender=send["from"], recipients=send["to"])
        self.smtp_idle.append(client)
        if errors:
            raise RuntimeError(f"refused: {errors}")

    async def _webhook(self, send: dict[str, Any]) -> None:
        now = int(time.time())
        signature = Webhook(send["secret"]).sign(
            send["id"], datetime.fromtimestamp(now, UTC), send["body"]
        )
        headers = {
            "webhook-id": send["id"],
            "webhook-timestamp": str(now),
            "webhook-signature": signature,
            "content-type": "application/json",
        }
        async with (
            asyncio.timeout(self.c.webhook_timeout_s),
            self.hooks.post(
                send["url"], data=send["body"].encode(), headers=headers, allow_redirects=False
            ) as answer,
        ):
            if answer.status >= 300:
                raise RuntimeError(f"answered {answer.status}")

    async def close(self) -> None:
        for client in self.smtp_idle:
            try:
                await client.quit()
            except (aiosmtplib.SMTPException, OSError):
                client.close()
        if self.twilio_http.session is not None:
            await self.twilio_http.session.close()
        await self.hooks.close()


async def send_all(p: Plan) -> dict[str, Any]:
    """Sends the plan, `4 * sends_in_flight` under way at once; what was sent and failed,
    and the seconds from the first send to the last answer, and the CPU time spent meanwhile."""
    messages: list[Message | None] = [
        email.message_from_bytes(s["raw"].encode("latin-1"), policy=policy.compat32)
        if s["channel"] == EMAIL
        else None
        for s in p.sends
    ]
    senders = _Senders(p.clients)
    room = asyncio.Semaphore(4 * p.clients.sends_in_flight)
    tasks: set[asyncio.Task[None]] = set()

    async def one(send: dict[str, Any], message: Message | None) -> None:
        try:
            await senders.send(send, message)
        finally:
            room.release()

    t0, cpu0 = time.monotonic(), time.process_time()
    try:
        for send, message in zip(p.sends, messages, strict=True):
            await room.acquire()
            task = asyncio.create_task(one(send, message))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        await asyncio.gather(*tasks)
        seconds, cpu_s = time.monotonic() - t0, time.process_time() - cpu0
    finally:
        await senders.close()
    return {
        "sent": dict(senders.sent),
        "failed": dict(senders.failed),
        "errors": senders.errors,
        "seconds": seconds,
        "cpu_s": cpu_s,
        "rate": sum(senders.sent.values()) / max(seconds, 1e-3),
    }


def main(argv: Sequence[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m shipnotify.bench.providers")
    p.add_argument("plan", type=Path, help="the sends, as bench/run.py writes them")
    args = p.parse_args(argv)
    result = loop.run(send_all(Plan.read(args.plan)))
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
