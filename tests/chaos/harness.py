"""The fault-injection harness: the deployables as child processes on a fresh broker and
redis-server, the real SMTP server, SMS sandbox and webhook sandbox, couriers that never give
up a tap, and the count of notices at the two providers and of webhooks at the sandbox."""

from __future__ import annotations

import asyncio
import hashlib
import os
import random
import sys
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AsyncExitStack, asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast
from urllib.parse import parse_qs, urlsplit

import aiohttp
from prometheus_client.parser import text_string_to_metric_families
from redis.asyncio import Redis

from shipnotify.config import Settings
from shipnotify.devstack import processes
from shipnotify.devstack.mail_sandbox import MailSandbox
from shipnotify.devstack.services import Services
from shipnotify.devstack.sms_sandbox import SmsSandbox
from shipnotify.devstack.stack import at_sandboxes
from shipnotify.devstack.webhook_sandbox import ReceivedWebhook, WebhookSandbox
from shipnotify.model.ids import tracking_id_for
from shipnotify.model.notices import DEFAULT_MATRIX, notification_id
from shipnotify.model.status import Shipment, Status
from shipnotify.store import TrackingStore
from shipnotify.store.keys import account_endpoints_key, api_key_key, shipment_keys
from shipnotify.store.notices import NoticeBook
from shipnotify.store.replies import text
from shipnotify.v1 import notifications_pb2 as npb
from shipnotify.v1 import shipment_events_pb2 as pb
from shipnotify.web.auth import issue_courier_token
from tests.offsets import consumed

ACCOUNT, TOKEN = "AC" + "c4" * 16, "chaos-sandbox-token"
API_KEY = "chaos-api-key"
WALK = ("confirmed", "picked_up", "in_transit", "out_for_delivery", "delivered")
_CHANNELS = {"sms": pb.CHANNEL_SMS, "email": pb.CHANNEL_EMAIL}


# -- the load ---------------------------------------------------------------------------


@dataclass
class Parcel:
    """One shipment of the load: its registration, then its taps, in the order sent."""

    shipment_id: str
    registration: dict[str, Any]
    taps: list[dict[str, Any]]
    contacts: dict[int, tuple[str, str]]  # party -> (channel, address)

    def requests(self) -> Iterator[tuple[str, dict[str, Any]]]:
        yield "/v1/shipments", self.registration
        for tap in self.taps:
            yield f"/v1/shipments/{self.shipment_id}/events", tap

    def advances(self) -> set[str]:
        """The statuses that moved the shipment forward (its registration first), by the
        pure model applied in the order sent: each is one `shipment.status_changed` webhook
        of an owned shipment."""
        model = Shipment()
        first = self.registration
        model.apply(first["event_id"], Status.REGISTERED, _ms(first["occurred_at"]))
        moved = {Status.REGISTERED.value}
        for tap in self.taps:
            if model.apply(tap["event_id"], Status(tap["status"]), _ms(tap["occurred_at"])):
                moved.add(tap["status"])
        return moved

    def expected(self) -> tuple[Status, dict[str, Status], set[str]]:
        """The final status, the timeline (event id -> status), and the notification ids
        due, by the pure model applied in the order sent."""
        model = Shipment()
        first = self.registration
        model.apply(first["event_id"], Status.REGISTERED, _ms(first["occurred_at"]))
        notices = set()
        for tap in self.taps:
            status = Status(tap["status"])
            if model.apply(tap["event_id"], status, _ms(tap["occurred_at"])):
                for party, (channel, address) in self.contacts.items():
                    if status in DEFAULT_MATRIX[cast(npb.PartyRole, party)]:
                        notices.add(
                            notification_id(tap["event_id"], party, address, _CHANNELS[channel])
                        )
        assert model.status is not None
        timeline = {first["event_id"]: Status.REGISTERED}
        timeline |= {tap["event_id"]: Status(tap["status"]) for tap in self.taps}
        return model.status, timeline, notices


def make_load(shipments: int, seed: int, first: int = 0, *, surveys: bool = False) -> list[Parcel]:
    """A walk of five statuses per shipment; every 5th uploads `in_transit` late (after
    `out_for_delivery`, as an app back from offline does), every 7th sends a tap twice.
    `surveys`: the contacts are asked the question after delivery (the scenarios of status
    notices count those alone)."""
    rng = random.Random(seed)
    start = datetime.now(UTC) - timedelta(hours=2)
    parcels = []
    for n in range(first, first + shipments):
        sid = f"chaos-{seed}-{n:05d}"
        phone = f"+4072{n:07d}"
        email = f"party-{n}@example.com"
        sms_party, email_party = (
            (npb.PARTY_ROLE_SENDER, npb.PARTY_ROLE_RECIPIENT)
            if n % 2
            else (npb.PARTY_ROLE_RECIPIENT, npb.PARTY_ROLE_SENDER)
        )
        contacts: dict[int, tuple[str, str]] = {
            sms_party: ("sms", phone),
            email_party: ("email", email),
        }
        people = {
            party: {
                "name": f"Party {n}",
                ("phone" if channel == "sms" else "email"): address,
                "locale": ("en", "ru", "ro")[n % 3],
                "surveys": surveys,
            }
            for party, (channel, address) in contacts.items()
        }
        at = start + timedelta(seconds=rng.randint(0, 600))
        registration = {
            "shipment_id": sid,
            "event_id": str(uuid.uuid4()),
            "occurred_at": at.isoformat(),
            "sender": {"contacts": [people[npb.PARTY_ROLE_SENDER]]},
            "recipient": {"contacts": [people[npb.PARTY_ROLE_RECIPIENT]]},
        }
        taps = []
        for status in WALK:
            at += timedelta(minutes=rng.randint(1, 20))
            taps.append(
                {"event_id": str(uuid.uuid4()), "occurred_at": at.isoformat(), "status": status}
            )
        if n % 5 == 0:
            taps.append(taps.pop(2))  # in_transit arrives after out_for_delivery
        if n % 7 == 0:
            taps.insert(2, dict(taps[1]))  # the same tap again: the app retried
        parcels.append(Parcel(sid, registration, taps, contacts))
    return parcels


def _ms(iso: str) -> int:
    return int(datetime.fromisoformat(iso).timestamp() * 1000)


# -- one stack --------------------------------------------------------------------------


@dataclass
class Figures:
    scenario: str
    events: int = 0
    expected: int = 0
    sent: int = 0
    duplicated: int = 0
    lost: int = 0
    unexpected: int = 0
    kills: int = 0
    in_doubt: int = 0
    seconds: float = 0.0
    extra: dict[str, object] = field(default_factory=dict)

    def line(self) -> str:
        more = "".join(f", {k} {v}" for k, v in self.extra.items())
        return (
            f"{self.scenario}: events {self.events}, notices expected {self.expected}, "
            f"sent {self.sent}, duplicated {self.duplicated}, lost {self.lost}, "
            f"unexpected {self.unexpected}, kills {self.kills}, in doubt {self.in_doubt}{more}, "
            f"{self.seconds:.0f} s"
        )


@dataclass(frozen=True)
class Shown:
    """A probe's tap: the seconds from its 202 until it was shown (a figure), and whether
    the fault lasted when it was accepted and when it was shown."""

    lag_s: float
    faulted_when_accepted: bool
    faulted_when_shown: bool


@dataclass
class Stack:
    settings: Settings
    services: Services
    sms: SmsSandbox
    mail: MailSandbox
    webhooks: WebhookSandbox
    redis: Redis
    broker: processes.Server
    redis_server: processes.Server
    workdir: Path
    exits: AsyncExitStack
    accepted: Counter[str] = field(default_factory=Counter)  # event id -> 202s
    refused: Counter[int] = field(default_factory=Counter)  # HTTP status -> times

    @property
    def ingest_url(self) -> str:
        return f"http://127.0.0.1:{self.services.ports['ingest']}"

    @property
    def status_url(self) -> str:
        return f"http://127.0.0.1:{self.services.ports['status_api']}"

    @property
    def hooks_url(self) -> str:
        return f"http://127.0.0.1:{self.services.ports['hooks']}"

    def start_all(
        self, trackers: int = 1, notifiers: int = 1, env: dict[str, str] | None = None
    ) -> None:
        for name, n in (
            ("ingest", 1),
            ("status_api", 1),
            ("hooks", 1),
            ("tracker", trackers),
            ("notifier", notifiers),
        ):
            for _ in range(n):
                self.services.start(name, **(env or {}))

    async def ready(self, timeout_s: float = 60.0) -> None:
        async with aiohttp.ClientSession() as http:
            deadline = time.monotonic() + timeout_s
            for url in (self.ingest_url, self.status_url, self.hooks_url):
                while True:
                    try:
                        async with http.get(url + "/readyz") as resp:
                            if resp.status == 200:
                                break
                    except aiohttp.ClientError:
                        pass
                    self._none_exited()
                    assert time.monotonic() < deadline, f"{url} not ready"
                    await asyncio.sleep(0.2)

    def _none_exited(self) -> None:
        for name, instances in self.services.running.items():
            for proc in instances:
                assert proc.poll() is None, f"{name} exited:\n{self.services.logs(name)[-3000:]}"

    async def restart_redis_empty(self) -> None:
        """kill -9 of redis-server, and a new one on the same port with no data."""
        self.redis_server.proc.kill()
        self.redis_server.proc.wait()
        port = int(self.settings.redis_url.rsplit(":", 1)[1].split("/")[0])
        self.redis_server = self.exits.enter_context(processes.redis_server(self.workdir, port))
        await self.redis.connection_pool.disconnect()  # ours were to the old server

    async def run(self, *args: str) -> str:
        """A `shipnotify` command with this stack's settings; its output."""
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "shipnotify",
            *args,
            env={**os.environ, **self.settings.to_env()},
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        out, _ = await proc.communicate()
        assert proc.returncode == 0, out.decode()
        return out.decode()

    async def snapshot(self, parcels: list[Parcel]) -> dict[str, object]:
        """Every shipment's state and timeline hashes, as Redis holds them."""
        pipe = self.redis.pipeline(transaction=False)
        for parcel in parcels:
            state, timeline, *_ = shipment_keys(parcel.shipment_id)
            pipe.hgetall(state)
            pipe.hgetall(timeline)
        replies = await pipe.execute()
        return {p.shipment_id: replies[2 * i : 2 * i + 2] for i, p in enumerate(parcels)}

    # -- couriers

    async def drive(
        self,
        parcels: list[Parcel],
        over_s: float,
        skip: int = 0,
        upto: int | None = None,
        *,
        api_key: str = API_KEY,
    ) -> None:
        """Sends every parcel's requests in order, the parcels spread over `over_s`; each
        request is repeated, as the driver app does, until it is accepted. `api_key`: the
        registrations' (an account's: the shipments are the account's)."""
        token = issue_courier_token(self.settings.courier_token_secret, "chaos-courier", 3600)
        headers = {"X-Api-Key": api_key, "Authorization": f"Bearer {token}"}
        connector = aiohttp.TCPConnector(limit=64)
        async with aiohttp.ClientSession(connector=connector, headers=headers) as http:
            t0 = time.monotonic()

            async def one(i: int, parcel: Parcel) -> None:
                await asyncio.sleep(max(0.0, t0 + over_s * i / len(parcels) - time.monotonic()))
                for path, body in list(parcel.requests())[skip:upto]:
                    await self._until_accepted(http, path, body)

            await asyncio.gather(*(one(i, p) for i, p in enumerate(parcels)))

    async def _until_accepted(
        self, http: aiohttp.ClientSession, path: str, body: dict[str, Any]
    ) -> None:
        while True:
            try:
                async with http.post(self.ingest_url + path, json=body) as resp:
                    if resp.status == 202:
                        self.accepted[body["event_id"]] += 1
                        return
                    assert resp.status in (429, 503), f"{resp.status}: {await resp.text()}"
                    assert resp.headers.get("Retry-After"), "a refusal without Retry-After"
                    self.refused[resp.status] += 1
                    await asyncio.sleep(float(resp.headers["Retry-After"]))
            except (aiohttp.ClientError, TimeoutError):
                self.refused[0] += 1  # the service is restarting: try again
                await asyncio.sleep(0.5)

    async def probe(
        self, parcels: list[Parcel], every_s: float, faulted: Callable[[], bool]
    ) -> list[Shown]:
        """Sends the parcels one by one, each tap after the last is shown: for each tap, the
        seconds from its 202 until status_api shows the status it led to, and whether a
        fault lasted (`faulted`) at each end."""
        lags = []
        token = issue_courier_token(self.settings.courier_token_secret, "probe-courier", 3600)
        headers = {"X-Api-Key": API_KEY, "Authorization": f"Bearer {token}"}
        async with aiohttp.ClientSession(headers=headers) as http:
            for parcel in parcels:
                model = Shipment()
                url = self.status_url + "/v1/track/" + self._tracking_id(parcel.shipment_id)
                for path, body in parcel.requests():
                    await self._until_accepted(http, path, body)
                    accepted, during = time.monotonic(), faulted()
                    model.apply(
                        body["event_id"],
                        Status(body.get("status", "registered")),
                        _ms(body["occurred_at"]),
                    )
                    assert model.status is not None
                    await self._until_shown(http, url, model.status)
                    lags.append(Shown(time.monotonic() - accepted, during, faulted()))
                await asyncio.sleep(every_s)
        return lags

    async def _until_shown(self, http: aiohttp.ClientSession, url: str, status: Status) -> None:
        for _ in range(3000):  # 30 s
            async with http.get(url) as resp:
                if resp.status == 200 and (await resp.json())["status"] == status.value:
                    return
            await asyncio.sleep(0.01)
        raise AssertionError(f"{url} did not show {status} within 30 s")

    async def public_side(self, parcel: Parcel) -> dict[str, Any]:
        """What status_api answers now for a shipment: readiness, the page, the JSON and the
        first event of its live updates."""
        url = self.status_url
        tid = self._tracking_id(parcel.shipment_id)
        seen: dict[str, Any] = {}
        timeout = aiohttp.ClientTimeout(total=10)
        async with aiohttp.ClientSession(timeout=timeout) as http:
            async with http.get(url + "/readyz") as resp:
                seen["ready"] = resp.status
            async with http.get(f"{url}/t/{tid}") as resp:
                seen["page"] = (resp.status, resp.content_type)
            async with http.get(f"{url}/v1/track/{tid}") as resp:
                seen["json"] = (resp.status, (await resp.json()).get("status"))
            async with http.get(f"{url}/v1/track/{tid}/events") as resp:
                first = b""
                while not first.endswith(b"\n\n"):
                    first += await resp.content.readline()
                seen["live"] = (resp.status, first.split(b"\n")[1])
        return seen

    def _tracking_id(self, shipment_id: str) -> str:
        return tracking_id_for(self.settings.tracking_id_secret, shipment_id)

    # -- a business customer

    async def open_account(
        self, name: str, endpoint: str, event_types: list[str] | None = None
    ) -> ChaosAccount:
        """An account made through the operator API, with one endpoint at the webhook
        sandbox (which is given its secret); returns once the tracker applied both."""
        operator = {"X-Api-Key": API_KEY}
        async with aiohttp.ClientSession(self.ingest_url, headers=operator) as http:
            async with http.post("/v1/accounts", json={"name": name}) as resp:
                assert resp.status == 201, await resp.text()
                made = await resp.json()
            body = {
                "url": self.webhooks.url(endpoint),
                "event_types": event_types or [],
                "description": "the fault scenarios' webhook sandbox",
            }
            path = f"/v1/accounts/{made['account_id']}/webhooks"
            async with http.post(path, json=body) as resp:
                assert resp.status == 201, await resp.text()
                added = await resp.json()
        self.webhooks.trust(endpoint, added["secret"])
        account = ChaosAccount(made["account_id"], made["key"], added["endpoint_id"], endpoint)
        digest = hashlib.sha256(account.key.encode()).hexdigest()
        for _ in range(300):  # 30 s
            if await self.redis.exists(api_key_key(digest)) and await self.redis.hexists(
                account_endpoints_key(account.account_id), account.endpoint_id
            ):
                return account
            await asyncio.sleep(0.1)
        raise AssertionError(f"{account} was never applied")

    def webhooks_taken(self, endpoint: str) -> list[ReceivedWebhook]:
        """The requests to `endpoint` the sandbox verified and took (answered 2xx)."""
        return [
            r
            for r in self.webhooks.received
            if r.endpoint == endpoint and r.verified and r.answered and r.answered < 300
        ]

    async def settle_webhooks(
        self, endpoint: str, expected: set[tuple[str, str]], timeout_s: float = 180
    ) -> None:
        """Waits until every expected (shipment, status) was taken at `endpoint`, every event
        applied and every job taken, and then for the sandbox to hear nothing for 3 s: a
        late retry of a message taken already has come by then."""
        s = self.settings
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if (
                expected <= set(status_changes(self.webhooks_taken(endpoint)))
                and await consumed(s, s.tracker_group, s.events_topic)
                and await consumed(s, s.notifier_group, s.notifications_topic)
            ):
                break
            await asyncio.sleep(0.25)
        heard = -1
        while heard != len(self.webhooks.received) and time.monotonic() < deadline:
            heard = len(self.webhooks.received)
            await asyncio.sleep(3)

    def verify_webhooks(
        self, endpoint: str, expected: set[tuple[str, str]], figures: Figures
    ) -> None:
        """Every request verified; every expected message taken at least once; a message
        taken twice, only ever under one webhook-id and with the same bytes."""
        received = [r for r in self.webhooks.received if r.endpoint == endpoint]
        taken = self.webhooks_taken(endpoint)
        by_id = Counter(r.webhook_id for r in taken)
        ids_of = status_changes(taken)
        bodies: dict[str, set[str]] = {}
        for r in received:
            bodies.setdefault(r.webhook_id, set()).add(r.body)
        refused = [r for r in received if not r.verified]
        lost = expected - set(ids_of)
        figures.extra["webhooks expected"] = len(expected)
        figures.extra["taken"] = len(taken)
        figures.extra["duplicated"] = sum(c - 1 for c in by_id.values() if c > 1)
        figures.extra["refused"] = len(refused)
        figures.extra["lost"] = len(lost)
        figures.extra["tries"] = len(received)
        assert not refused, [(r.webhook_id, r.reason) for r in refused[:5]]
        assert not lost, sorted(lost)[:5]
        assert set(ids_of) == expected, sorted(set(ids_of) - expected)[:5]
        twice = {c: ids for c, ids in ids_of.items() if len(ids) > 1}
        assert not twice, list(twice.items())[:5]  # a duplicate under another webhook-id
        changed = {i: b for i, b in bodies.items() if len(b) > 1}
        assert not changed, [(i, sorted(b)) for i, b in list(changed.items())[:2]]  # bytes differ

    # -- the count

    def delivered(self) -> Counter[str]:
        """Notification id -> times it reached a provider."""
        got: Counter[str] = Counter()
        for m in self.sms.messages:
            got[parse_qs(urlsplit(m.status_callback or "").query)["n"][0]] += 1
        for mail in self.mail.messages:
            got[mail.message_id.strip("<>").split("@")[0]] += 1
        return got

    async def settle(
        self, parcels: list[Parcel], timeout_s: float = 120, *, also: set[str] | None = None
    ) -> None:
        """Waits for every expected notice (`also`: more than the parcels' statuses call
        for), and for the services to have nothing left to do: every event applied and its
        jobs sent (the tracker committed them), every job taken (the notifier committed
        them) and no notice due, in flight or leased to a notifier that was killed. A
        duplicate, if there were one, has been sent by then."""
        expected = set().union(*(p.expected()[2] for p in parcels)) | (also or set())
        book = NoticeBook(self.redis, self.settings.notifications_topic)
        s = self.settings
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if (
                expected <= set(self.delivered())
                and await consumed(s, s.tracker_group, s.events_topic)
                and await consumed(s, s.notifier_group, s.notifications_topic)
                and await consumed(s, s.feedback_group, s.feedback_topic)
                and await book.pending() == 0  # in this order: a job is due before its commit
            ):
                return
            await asyncio.sleep(0.25)

    async def verify(
        self,
        parcels: list[Parcel],
        figures: Figures,
        *,
        also: set[str] | None = None,
        doubted: set[str] | None = None,
    ) -> None:
        """Fills in the figures; then asserts every notice once (`also`: more than the
        parcels' statuses call for) and every shipment right. `doubted`: notices found in
        doubt before Redis lost what it knew of them."""
        expected: set[str] = set(also or ())
        wrong = []
        store = TrackingStore(self.redis)
        for parcel in parcels:
            status, timeline, notices = parcel.expected()
            expected |= notices
            got = await store.shipment(parcel.shipment_id)
            ids = {text(k) for k in await self.redis.hkeys(shipment_keys(parcel.shipment_id)[1])}
            if (
                got is None
                or got.status != status
                or ids != set(timeline)
                or Counter(e.status for e in got.timeline) != Counter(timeline.values())
            ):
                wrong.append(parcel.shipment_id)
        delivered = self.delivered()
        figures.events = sum(len(p.taps) + 1 for p in parcels)
        figures.expected = len(expected)
        figures.sent = sum(delivered[n] > 0 for n in expected)
        figures.duplicated = sum(c - 1 for c in delivered.values() if c > 1)
        figures.lost = len(expected - set(delivered))
        figures.unexpected = len(set(delivered) - expected)
        figures.kills = self.services.kills
        in_doubt = await self.in_doubt_ids(parcels) | (doubted or set())
        figures.in_doubt = len(in_doubt)
        figures.extra.setdefault("wrong shipments", len(wrong))
        REPORT.append(figures.line())
        assert not wrong, f"{len(wrong)} shipments with a wrong state or timeline: {wrong[:5]}"
        assert figures.lost == 0, await self._why_lost(parcels, expected - set(delivered))
        assert figures.unexpected == 0, figures.line()
        sms_dupes = sum(c - 1 for c in Counter(self._sms_ids()).values() if c > 1)
        assert sms_dupes == 0, f"{sms_dupes} SMS sent twice"
        # Email cannot be looked up after a crash mid-send: only such notices may repeat.
        repeated = {n for n, c in delivered.items() if c > 1}
        assert repeated <= in_doubt, figures.line()

    async def _why_lost(self, parcels: list[Parcel], lost: set[str]) -> str:
        book = NoticeBook(self.redis, self.settings.notifications_topic)
        states = {}
        for parcel in parcels:
            for nid, state in (await book.of_shipment(parcel.shipment_id)).items():
                if nid in lost:
                    states[nid] = state
        missing = len(lost) - len(states)
        return f"lost {len(lost)}, never claimed {missing}, pending {await book.pending()}: " + (
            "; ".join(f"{n}: {s}" for n, s in list(states.items())[:5])
        )

    def _sms_ids(self) -> list[str]:
        return [
            parse_qs(urlsplit(m.status_callback or "").query)["n"][0] for m in self.sms.messages
        ]

    async def in_doubt_ids(self, parcels: list[Parcel]) -> set[str]:
        """Notices whose sender died while sending them."""
        book = NoticeBook(self.redis, self.settings.notifications_topic)
        ids = set()
        for parcel in parcels:
            states = await book.of_shipment(parcel.shipment_id)
            ids |= {nid for nid, state in states.items() if state.get("d")}
        return ids


REPORT: list[str] = []


@dataclass(frozen=True)
class ChaosAccount:
    account_id: str
    key: str
    endpoint_id: str
    endpoint: str  # its name at the webhook sandbox


def status_changes(received: list[ReceivedWebhook]) -> dict[tuple[str, str], set[str]]:
    """(shipment id, status) of each `shipment.status_changed` request -> the webhook-ids
    it came under."""
    found: dict[tuple[str, str], set[str]] = {}
    for r in received:
        if r.type == "shipment.status_changed":
            change = (r.shipment_id, str(r.data.get("status")))
            found.setdefault(change, set()).add(r.webhook_id)
    return found


# -- what the services report at /metrics

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


async def scrape(http: aiohttp.ClientSession, port: int) -> Samples:
    async with http.get(f"http://127.0.0.1:{port}/metrics") as resp:
        assert resp.status == 200
        assert resp.content_type == "text/plain"
        text = await resp.text()
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def total(samples: Samples, name: str, **labels: str) -> float:
    want = set(labels.items())
    return sum(v for (n, got), v in samples.items() if n == name and want <= got)


@asynccontextmanager
async def stack(workdir: Path, **overrides: Any) -> AsyncIterator[Stack]:
    """A fresh broker, redis-server, SMTP server and SMS sandbox; services not yet started."""
    async with AsyncExitStack() as exits:
        broker = exits.enter_context(processes.broker(workdir))
        redis_server = exits.enter_context(processes.redis_server(workdir))
        mail = exits.enter_context(MailSandbox())
        sms = await exits.enter_async_context(SmsSandbox(ACCOUNT, TOKEN).running())
        webhooks = await exits.enter_async_context(WebhookSandbox(keep=1_000_000).running())
        ports = {name: processes.free_port() for name in ("ingest", "status_api", "hooks")}
        status_base = f"http://127.0.0.1:{ports['status_api']}"
        hooks_base = f"http://127.0.0.1:{ports['hooks']}"
        settings = Settings(
            kafka_bootstrap=broker.address,
            kafka_partitions=6,
            kafka_send_timeout_s=3.0,
            kafka_session_timeout_ms=2000,
            redis_url=redis_server.address,
            api_keys=(API_KEY,),
            courier_token_secret="chaos-courier-token-secret-" + "x" * 32,
            tracking_id_secret="chaos-tracking-id-secret",
            opt_out_secret="chaos-opt-out-secret",
            public_url=status_base,
            webhook_url=hooks_base,
            **at_sandboxes(sms, mail),
            mail_from="Chaos Carrier <notices@carrier.example>",
            sms_per_second=2000.0,
            emails_per_second=2000.0,
            send_timeout_s=2.0,
            retry_first_s=0.5,
            retry_max_delay_s=4.0,
            quiet_hours="",
            track_requests_per_minute=1_000_000,
            webhook_allow_loopback=True,  # the endpoints are the webhook sandbox's
            webhook_timeout_s=2.0,
            webhook_retry_max_delay_s=4.0,
            log_level="info",
        ).with_(**overrides)
        redis = Redis.from_url(settings.redis_url)
        exits.push_async_callback(redis.aclose)
        services = Services(settings, workdir, ports)
        exits.callback(services.stop_all)
        yield Stack(
            settings, services, sms, mail, webhooks, redis, broker, redis_server, workdir, exits
        )


@contextmanager
def timed(figures: Figures) -> Iterator[None]:
    t0 = time.monotonic()
    try:
        yield
    finally:
        figures.seconds = time.monotonic() - t0
