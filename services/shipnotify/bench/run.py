"""The benchmark's run: a fresh local stack (or the Kafka and Redis given), then each
measurement in turn, each beside the raw limit it is compared with."""

from __future__ import annotations

import asyncio
import base64
import collections
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from opentelemetry import trace
from redis.asyncio import Redis
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from shipnotify import kafka, tracing
from shipnotify.bench import console as bench_console
from shipnotify.bench import (
    console_lists,
    cpu,
    hops,
    limits,
    portal,
    providers,
    raw,
    shipments,
    surveys,
)
from shipnotify.bench.figures import Report
from shipnotify.bench.http_load import BARE_ETAG
from shipnotify.config import Settings
from shipnotify.devstack import processes
from shipnotify.devstack.mail_sandbox import MailSandbox
from shipnotify.devstack.services import Services
from shipnotify.devstack.sms_sandbox import SmsSandbox
from shipnotify.devstack.stack import at_sandboxes
from shipnotify.devstack.webhook_sandbox import KEEP, WebhookSandbox
from shipnotify.model import webhooks as wh
from shipnotify.model.ids import tracking_id_for
from shipnotify.model.quiet import zone_of
from shipnotify.store import keys, survey_days
from shipnotify.store.feedback import FeedbackStore, Survey
from shipnotify.store.keys import SHIPMENT_KEY_NAMES, shipment_keys, tracking_key
from shipnotify.store.webhooks import LOG_ENTRIES
from shipnotify.v1 import accounts_pb2 as apb
from shipnotify.web.auth import issue_courier_token

ACCOUNT, TOKEN = "AC" + "be" * 16, "bench-sandbox-token"
API_KEY = "bench-api-key"
HTTP_SERVICES = ("ingest", "status_api", "hooks")  # hooks takes the sandbox's delivery receipts
WEBHOOK_ENDPOINTS = 8  # the webhooks figure's endpoints, all at the webhook sandbox
# The tracker's scripts' Redis time per event when the limits were first measured (README):
# the target is half of it.
SCRIPT_USEC_BASELINE = 38.2


@dataclass(frozen=True)
class Options:
    events: int = 30_000  # loaded into the events topic for the throughput figures
    shipments: int = 5_000  # the events are theirs, registration and hub scans among them
    rate: float = 500.0  # taps a second: the saturation search's first rate
    seconds: float = 20.0  # how long each fixed-rate and HTTP measurement runs
    saturation_seconds: float = 60.0  # the saturation search's time, its levels and pauses
    webhooks: int = 5_000  # signed messages for the webhooks figure
    surveys: int = 2_000  # survey SMS sent and answered, for the survey loop's figures
    console_shipments: int = 1_000_000  # a year of them, for the console's figures
    kafka: str = ""  # a given broker instead of starting one
    redis: str = ""  # a given Redis instead of a local redis-server
    out: Path = Path("shipnotify-bench.json")

    @property
    def events_each(self) -> int:
        return max(shipments.MIN_EVENTS, self.events // self.shipments)

    @classmethod
    def smoke(cls, **given: Any) -> Options:
        smoke = {
            "events": 600,
            "shipments": 100,
            "rate": 100.0,
            "seconds": 2.0,
            "saturation_seconds": 4.0,
            "webhooks": 200,
            "surveys": 100,
            "console_shipments": 10_000,
        }
        return cls(**smoke | given)


async def run(options: Options, base: Settings) -> Report:
    report = Report({k: str(v) for k, v in vars(options).items()})
    with tempfile.TemporaryDirectory(prefix="shipnotify-bench-") as tmp:
        async with _stack(options, base, Path(tmp)) as stack:
            with stack.progress:
                await stack.measure(report)
    return report


@dataclass
class Stack:
    options: Options
    settings: Settings
    services: Services
    sms: SmsSandbox
    mail: MailSandbox
    hooks: WebhookSandbox
    redis: Redis
    workdir: Path
    progress: Progress
    run_id: str
    pids: dict[str, int] = field(default_factory=dict)  # service -> its process
    _late: int = 0  # taps whose SMS did not arrive in time
    _parcels: int = 0  # shipments made so far: the next one's number
    _planned: int = 0  # notices the saturation search's accepted taps called for
    _loop_late: list[float] = field(default_factory=list)  # the bench's own loop, ms late

    # -- the whole run, in order

    async def measure(self, report: Report) -> None:
        o = self.options
        parcels = shipments.parcels(self.run_id, o.shipments, o.events_each)
        await self._http_services()
        await self._raw_redis(report)
        self._parcels = len(parcels)
        events = await self._load(parcels)
        consume = await self._phase("raw consume", events, self._raw_consume(events))
        report.add("aiokafka consume, events topic", consume, "records/s", beside="raw limit")
        await self._tracker(report, events, consume)
        await self._notifier(report, parcels)
        await self._webhooks(report)
        await self._surveys(report)
        saturation = await self._saturation(report)
        await self._latency(report, saturation / 2)
        await self._status_api(report, parcels)
        await self._console(report)
        self._memory(report)
        report.details["sent"] = {"sms": len(self.sms.messages), "email": len(self.mail.messages)}
        await self._redis_per_shipment(report, parcels)

    async def _phase(self, name: str, total: int, work: Any, unit: str = "/s") -> Any:
        self._task = self.progress.add_task(name, total=total)
        result = await work
        shown = f"{result:,.0f}{unit}" if isinstance(result, float) else ""
        self.progress.update(self._task, completed=total, description=f"{name} {shown}")
        return result

    def _tick(self, n: int = 1) -> None:
        self.progress.advance(self._task, n)

    # -- raw limits

    async def _raw_redis(self, report: Report) -> None:
        seconds = min(3.0, self.options.seconds / 4)
        pipelined = await self._phase("raw redis", 1, raw.redis_pipelined(self.redis, seconds))
        trips = await raw.redis_round_trips(self.redis, seconds)
        report.add("redis, pipelined (1000 a trip)", pipelined, "commands/s", beside="raw limit")
        report.add("redis, one command a trip", trips, "round trips/s", beside="raw limit")

    async def _load(self, parcels: list[shipments.Parcel]) -> int:
        """Writes the shipments' events to the events topic as ingest would, each with the
        trace context of a tap of its own."""
        producer = kafka.producer(self.settings)
        taps = tracing.tracer()
        await producer.start()
        total = sum(len(p.walk) for p in parcels)
        self._task = self.progress.add_task("load events topic", total=total)
        try:
            for i in range(0, len(parcels), 200):
                acks = []
                for parcel in parcels[i : i + 200]:
                    for event in shipments.events(parcel, self.settings.tracking_id_secret):
                        acks.append(
                            await producer.send(
                                self.settings.events_topic,
                                key=parcel.shipment_id.encode(),
                                value=event.SerializeToString(),
                                headers=tracing.headers(
                                    trace.set_span_in_context(taps.start_span("tap"))
                                ),
                            )
                        )
                await asyncio.gather(*acks)
                self._tick(len(acks))
        finally:
            await producer.stop()
        return total

    async def _raw_consume(self, events: int) -> float:
        return await raw.consume_rate(self.settings, self.settings.events_topic, events, self._tick)

    # -- the consumers

    async def _tracker(self, report: Report, events: int, consume: float) -> None:
        """The tracker applying the loaded events, beside what Redis spent on them: its
        scripts' time (INFO commandstats) and its main thread's CPU (INFO cpu), read before
        the tracker starts and once it has committed the last event (nothing else writes
        meanwhile)."""
        stats, used = await self.redis.info("commandstats"), await self.redis.info("cpu")
        proc = self.services.start("tracker")
        self.pids["tracker"] = proc.pid
        marks = [cpu.mark(proc.pid)]  # from its start, then from its first commit (as its rate)
        rate = await self._phase(
            "tracker",
            events,
            self._until_committed(
                self.settings.tracker_group, events, lambda: marks.append(cpu.mark(proc.pid))
            ),
        )
        spent, counted, since = _spent(marks, cpu.mark(proc.pid), rate, events, "commit")
        cost = limits.redis_cost(
            stats,
            await self.redis.info("commandstats"),
            used,
            await self.redis.info("cpu"),
            events,
        )
        report.details["redis_cost"] = {
            "events": events,
            "script_calls": cost.script_calls,
            "script_usec": cost.script_usec,
            "main_thread_cpu_usec": cost.cpu_usec,
            "commands": cost.commands,  # a script's commands are within EVALSHA's time too
        }
        report.add(
            "redis, tracker's scripts per event",
            cost.script_usec_per_event,
            "µs/event",
            beside=f"EVALSHA (INFO commandstats), {cost.script_calls} calls for {events} events;"
            f" the target half the {SCRIPT_USEC_BASELINE:.1f} first measured (README)",
            at_most=SCRIPT_USEC_BASELINE / 2,
        )
        report.add(
            "redis main thread per event",
            cost.cpu_usec_per_event,
            "µs/event",
            beside=f"every command and its I/O (INFO cpu): {cost.cpu_limit:,.0f} events/s a core",
        )
        limit = cost.limit
        report.add("one-Redis limit", limit, "events/s", beside="1e6 / the scripts' µs per event")
        report.add(
            "tracker, one process",
            rate,
            "events/s",
            beside=f"{rate / limit if limit else 0:.2f} of the one-Redis limit,"
            f" {rate / consume:.2f} of raw consume",
        )
        report.add(
            "tracker / one-Redis limit", rate / limit if limit else 0.0, "ratio", at_least=0.5
        )
        per_event = max(spent.process_s * 1e6 / max(counted, 1.0), 1e-3)
        report.add(
            "tracker CPU per event",
            per_event,
            "µs/event",
            beside=f"its user and system time {since}; {spent.process_cores:.2f} of a core while"
            f" applying, the machine's {os.cpu_count()} cores {spent.busy_cores:.2f} busy;"
            f" {1e6 / per_event:,.0f} events/s a core of its own"
            f" ({1e6 / per_event / limit if limit else 0:.2f} of the one-Redis limit)",
        )

    async def _until_committed(
        self, group: str, total: int, at_first: Callable[[], None] = lambda: None
    ) -> float:
        """Events a second the group commits, from its first commit to its last."""
        admin = AIOKafkaAdminClient(bootstrap_servers=self.settings.kafka_bootstrap)
        await admin.start()
        try:

            async def committed() -> int:
                offsets = await admin.list_consumer_group_offsets(group)
                return sum(kafka.offsets_on(offsets, self.settings.events_topic).values())

            return await self._rate_until(committed, total, at_first=at_first)
        finally:
            await admin.close()

    async def _notifier(self, report: Report, parcels: list[shipments.Parcel]) -> None:
        expected = sum(p.notices for p in parcels)
        proc = self.services.start("notifier")
        self.pids["notifier"] = proc.pid
        marks = [cpu.mark(proc.pid)]  # from its start, then from its first notice (as its rate)

        async def sent() -> int:
            return self._sent()

        rate = await self._phase(
            "notifier",
            expected,
            self._rate_until(sent, expected, at_first=lambda: marks.append(cpu.mark(proc.pid))),
        )
        spent = _spent(marks, cpu.mark(proc.pid), rate, expected, "notice")
        await asyncio.sleep(1)  # a notice sent twice would show by now
        report.add("notices sent", self._sent(), "notices", beside=f"{expected} expected")
        # the same SMS and emails again, by the same clients alone (bench/providers.py)
        sms, mail = self.sms.messages, self.mail.messages
        again = providers.plan(providers.Clients.of(self.settings), sms=sms, mail=mail)
        alone, result = await self._replay("provider clients", again, sent)
        report.details["provider_clients"] = result
        failed = sum(result["failed"].values())
        report.add(
            "provider clients alone",
            alone,
            "notices/s",
            beside=f"the twilio library and aiosmtplib: the notifier's {len(sms)} SMS and"
            f" {len(mail)} emails again, {self.settings.sends_in_flight} in flight a channel,"
            f" no Kafka or Redis" + (f"; {failed} FAILED" if failed else ""),
        )
        report.add(
            "notifier, one process",
            rate,
            "notices/s",
            beside=f"{rate / alone:.2f} of the provider clients alone, to the local sandboxes",
        )
        report.add("notifier / provider clients alone", rate / alone, "ratio", at_least=0.7)
        _cpu_beside_alone(report, "notifier CPU per notice", spent, result, "notice")

    async def _replay(
        self, name: str, sends: providers.Plan, count: Callable[[], Awaitable[int]]
    ) -> tuple[float, dict[str, Any]]:
        """The sends made by the provider clients alone, from a process of their own as the
        notifier is; their rate counted at the sandboxes (`count`) as the notifier's is."""
        path = self.workdir / f"{name.replace(' ', '-')}.json"
        sends.write(path)
        base = await count()
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "shipnotify.bench.providers",
            str(path),
            stdout=asyncio.subprocess.PIPE,
        )
        done = asyncio.create_task(proc.communicate())

        async def arrived() -> int:
            return await count() - base

        total = len(sends.sends)
        rate = await self._phase(name, total, self._rate_until(arrived, total, gave_up=done.done))
        out, _ = await done
        if proc.returncode != 0:
            raise RuntimeError(f"the provider clients failed ({proc.returncode})")
        result: dict[str, Any] = json.loads(out)
        return rate, result

    async def _webhooks(self, report: Report) -> None:
        """The same notifier's webhook lane: messages to an account's endpoints, planned on
        the notifications topic as the tracker plans them, each signed and sent to the
        webhook sandbox, which verifies it with the Standard Webhooks library; counted
        there. Several endpoints, so that the lane is measured, not one endpoint's bound
        (webhooks_per_endpoint)."""
        total, hooks = self.options.webhooks, self.hooks
        account = "acct_" + uuid.uuid4().hex[:12]
        endpoints = []
        for _ in range(WEBHOOK_ENDPOINTS):
            endpoint_id = "ep_" + uuid.uuid4().hex[:12]
            secret = "whsec_" + base64.b64encode(os.urandom(24)).decode()
            hooks.trust(endpoint_id, secret)
            endpoint = apb.Endpoint(
                endpoint_id=endpoint_id,
                url=hooks.url(endpoint_id),
                secrets=[apb.EndpointSecret(secret=secret)],
            )
            await self.redis.hset(
                keys.account_endpoints_key(account), endpoint_id, endpoint.SerializeToString()
            )
            endpoints.append(endpoint)
        jobs = []
        for n in range(total):
            shipment_id = f"bench-wh-{self.run_id}-{n}"
            message = wh.make(
                wh.STATUS_CHANGED,
                str(uuid.uuid4()),
                account_id=account,
                shipment_id=shipment_id,
                tracking_id=tracking_id_for(shipment_id, self.settings.tracking_id_secret),
                version=1,
                at=datetime.now(UTC),
                data={"status": "in_transit"},
            )
            (job,) = wh.fan_out(message, [endpoints[n % len(endpoints)]])
            jobs.append((shipment_id, job))
        await self._produce_jobs(jobs)

        async def received() -> int:
            return len(hooks.received)

        pid = self.pids["notifier"]
        marks = [cpu.mark(pid)]
        rate = await self._phase(
            "webhooks",
            total,
            self._rate_until(received, total, at_first=lambda: marks.append(cpu.mark(pid))),
        )
        spent = _spent(marks, cpu.mark(pid), rate, total, "webhook")
        verified = sum(r.verified and r.answered == 204 for r in hooks.received)
        report.details["webhooks"] = {"received": len(hooks.received), "verified": verified}
        # the same messages again, by the same client alone (bench/providers.py)
        again = providers.plan(
            providers.Clients.of(self.settings),
            webhooks=hooks.received[-total:],
            urls={e.endpoint_id: e.url for e in endpoints},
            secrets={e.endpoint_id: e.secrets[0].secret for e in endpoints},
        )
        alone, result = await self._replay("webhook client", again, received)
        report.details["webhook_client"] = result
        failed = sum(result["failed"].values())
        report.add(
            "webhook client alone",
            alone,
            "webhooks/s",
            beside=f"aiohttp, each signed with the Standard Webhooks library: the same {total}"
            f" again, {self.settings.sends_in_flight} in flight,"
            f" {self.settings.webhooks_per_endpoint} an endpoint, no Kafka or Redis"
            + (f"; {failed} FAILED" if failed else ""),
        )
        report.add(
            "webhooks per second per process",
            rate,
            "webhooks/s",
            beside=f"signed, {verified} of {total} verified at a loopback receiver;"
            f" {rate / alone:.2f} of the client alone",
        )
        report.add("webhook lane / webhook client alone", rate / alone, "ratio", at_least=0.7)
        _cpu_beside_alone(report, "notifier CPU per webhook", spent, result, "webhook")

    async def _surveys(self, report: Report) -> None:
        """Survey SMS planned on the notifications topic, timed as they reach the SMS sandbox
        (the notifier's survey lane: claim, send, SurveySent on the feedback topic); once
        the tracker's feedback consumer has applied those, every phone answers by SMS, as
        fast as hooks takes them (32 at once), timed until the consumer has applied every
        answer: answers a second through hooks, Kafka and the consumer into Redis."""
        asked = surveys.asked(self.run_id, self.options.surveys)
        phones = {a.phone for a in asked}
        before = len(self.sms.messages)

        async def sent() -> int:
            return sum(m.to in phones for m in self.sms.messages[before:])

        await self._produce_jobs([(a.shipment_id, a.job) for a in asked])
        rate = await self._phase("surveys", len(asked), self._rate_until(sent, len(asked)))
        report.add(
            "surveys sent a second",
            rate,
            "surveys/s",
            beside="SMS, each told to the feedback topic (SurveySent) before it is final",
        )
        # each survey applied, so that hooks finds each phone's (a SurveySent is told after
        # its SMS went)
        await until_surveys(self.redis, asked, lambda s: s.sent is not None)
        inbound = f"{self.settings.webhook_url}/v1/twilio/inbound"
        gate = asyncio.Semaphore(32)
        refused, replies = 0, collections.Counter[str]()

        async def answer(phone: str) -> None:
            nonlocal refused
            async with gate:
                status, said = await self.sms.send_inbound(
                    inbound, from_=phone, to=self.settings.twilio_from, body=surveys.ANSWER
                )
            refused += status != 200
            replies[said[-80:]] += 1
            self._tick()

        self._task = self.progress.add_task("answers", total=len(asked))
        t0 = time.monotonic()
        await asyncio.gather(*(answer(a.phone) for a in asked))
        taken = time.monotonic() - t0
        await self._feedback_applied()
        applied = time.monotonic() - t0
        sample = asked[:: max(1, len(asked) // 50)]
        recorded = await surveys_kept(self.redis, sample, lambda s: s.answer is not None)
        report.details["surveys"] = {
            "refused": refused,
            "answered_sample": recorded,
            "replies": dict(replies),
        }
        report.add(
            "answers a second",
            len(asked) / applied,
            "answers/s",
            beside=f"SMS replies through hooks ({len(asked) / taken:,.0f}/s taken) to Redis"
            f" by the feedback consumer; {refused} refused; a sample of {recorded[1]}:"
            f" {recorded[0]} recorded",
        )

    async def _produce_jobs(self, jobs: list[tuple[str, Any]]) -> None:
        producer = kafka.producer(self.settings)
        await producer.start()
        try:
            acks = [
                await producer.send(
                    self.settings.notifications_topic,
                    key=sid.encode(),
                    value=job.SerializeToString(),
                )
                for sid, job in jobs
            ]
            await asyncio.gather(*acks)
        finally:
            await producer.stop()

    async def _feedback_applied(self, timeout_s: float = 120.0) -> None:
        """Until the tracker's feedback consumer has committed everything on its topic."""
        settings = self.settings
        deadline = time.monotonic() + timeout_s
        while not await kafka.consumed(settings, settings.feedback_group, settings.feedback_topic):
            if time.monotonic() > deadline:
                raise TimeoutError(f"the feedback consumer did not catch up in {timeout_s:.0f} s")
            await asyncio.sleep(0.05)

    async def _rate_until(
        self,
        count: Callable[[], Awaitable[int]],
        total: int,
        gave_up: Callable[[], bool] = lambda: False,
        at_first: Callable[[], None] = lambda: None,
    ) -> float:
        """Polls count() until it reaches total (or the sender gave up): the rate from its
        first rise (the start-up left out) to the end, or from the call when the first rise
        was the end."""
        done, t0 = 0, time.monotonic()
        first: tuple[float, int] | None = None
        while done < total:
            ended = gave_up()  # before the count: what it sent has arrived by then
            await asyncio.sleep(0.05)
            now = await count()
            self._tick(now - done)
            done = now
            if done and first is None:
                first = (time.monotonic(), done)
                at_first()
            if ended:
                break
        if first is None:
            raise RuntimeError("nothing arrived")
        if first[1] >= total:
            first = (t0, 0)
        return (done - first[1]) / max(time.monotonic() - first[0], 1e-3)

    def _sent(self) -> int:
        return len(self.sms.messages) + len(self.mail.messages)

    # -- the HTTP services

    async def _http_services(self) -> None:
        for name in HTTP_SERVICES:
            self.pids[name] = self.services.start(name).pid
        async with aiohttp.ClientSession() as http:
            for name in HTTP_SERVICES:
                url = f"http://127.0.0.1:{self.services.ports[name]}/readyz"
                for _ in range(600):
                    try:
                        async with http.get(url) as resp:
                            if resp.status == 200:
                                break
                    except aiohttp.ClientError:
                        pass
                    await asyncio.sleep(0.1)
                else:
                    raise RuntimeError(f"{name} did not become ready: {self.services.logs(name)}")

    # -- the whole pipeline: its saturation rate, and the latency at half of it

    async def _saturation(self, report: Report) -> float:
        """The highest fixed tap rate at which the notifier's backlog stays flat: levels of
        taps through ingest, each a few seconds at one rate, up by doubling from `--rate`
        and then bisecting (limits.RateSearch), within `--saturation-seconds`. The backlog
        is the notices the accepted taps call for less those at the sandboxes."""
        o = self.options
        level_s = min(4.0, max(1.0, o.saturation_seconds / 12))
        search = limits.RateSearch(o.rate, floor=5.0)
        base, self._planned = self._sent(), 0

        def backlog() -> int:
            return self._planned - (self._sent() - base)

        levels: list[dict[str, Any]] = []
        self._task = self.progress.add_task("saturation", total=o.saturation_seconds)
        t0 = time.monotonic()
        while (rate := search.next()) is not None:
            if time.monotonic() - t0 + level_s > o.saturation_seconds:
                break
            level = await self._level(rate, level_s, backlog)
            kept_up = limits.flat(level)
            search.saw(rate, kept_up)
            levels.append(
                {
                    "rate": rate,
                    "accepted": level.accepted,
                    "notices_per_second": level.notices_per_second,
                    "growth_per_second": limits.growth(level),
                    "last_backlog": level.backlog[-1][1] if level.backlog else 0,
                    "flat": kept_up,
                }
            )
            # what is left drains before the next level, for as long as a level lasts
            await self._drained(backlog, level_s)
            self.progress.update(
                self._task,
                completed=min(time.monotonic() - t0, o.saturation_seconds),
                description=f"saturation {search.best:,.0f}/s",
            )
        await self._drained(backlog, 60.0)  # the latency is measured on an empty pipeline
        spent = time.monotonic() - t0
        self.progress.update(self._task, completed=o.saturation_seconds)
        best = search.best
        report.details["saturation"] = {"levels": levels, "seconds": spent, "left": backlog()}
        tried = ", ".join(f"{x['rate']:.0f} {'flat' if x['flat'] else 'rising'}" for x in levels)
        report.add(
            "saturation, taps through ingest",
            best,
            "taps/s",
            beside=f"the highest rate at which the notifier's backlog stays flat;"
            f" {len(levels)} levels of {level_s:.0f} s in {spent:.0f} s: {tried}"
            + ("" if search.flat is not None else "; none flat: half the lowest"),
        )
        return best

    async def _level(self, rate: float, seconds: float, backlog: Callable[[], int]) -> limits.Level:
        """Taps at `rate` for `seconds`, the backlog sampled all along."""
        count = max(1, round(rate * seconds / shipments.MIN_EVENTS))
        parcels = self._new_parcels(count)
        notices = 0
        answered: list[float] = []  # when each tap was accepted
        samples: list[tuple[float, float]] = []

        def accepted(parcel: shipments.Parcel, step: int) -> None:
            nonlocal notices
            answered.append(time.monotonic())
            notices += parcel.notices_at(step)
            self._planned += parcel.notices_at(step)

        t0 = time.monotonic()

        async def sample() -> None:
            while True:
                samples.append((time.monotonic() - t0, float(backlog())))
                await asyncio.sleep(0.1)

        sampler = asyncio.create_task(sample())
        try:
            await self._taps(parcels, rate, accepted)
        finally:
            sampler.cancel()
        elapsed = max(time.monotonic() - t0, 1e-3)
        samples.append((elapsed, float(backlog())))
        # the pace ingest kept, from its first answer to its last (its latency left out)
        taken = answered[-1] - answered[0] if len(answered) > 1 else 0.0
        pace = (len(answered) - 1) / taken if taken > 0 else rate
        return limits.Level(rate, pace, notices / elapsed, samples)

    async def _drained(self, backlog: Callable[[], int], limit_s: float) -> None:
        deadline = time.monotonic() + limit_s
        while backlog() > 0 and time.monotonic() < deadline:  # noqa: ASYNC110 (polled: no event says it)
            await asyncio.sleep(0.1)

    def _new_parcels(self, count: int) -> list[shipments.Parcel]:
        """Shipments not yet used in this run, walked by taps through ingest."""
        first, self._parcels = self._parcels, self._parcels + count
        return shipments.parcels(self.run_id, count, shipments.MIN_EVENTS, first=first)

    async def _latency(self, report: Report, rate: float) -> None:
        """Tap to SMS at `rate` (half the saturation rate), beside a bare Kafka producer
        and consumer at the same rate."""
        o = self.options
        total = max(shipments.MIN_EVENTS, int(rate * o.seconds))
        kafka_ms = await self._phase(
            "raw kafka latency",
            total,
            raw.produce_consume_latency(
                self.settings, f"bench.latency.{self.run_id}", rate, total / rate, self._tick
            ),
        )
        parcels = self._new_parcels(max(1, total // shipments.MIN_EVENTS))
        since = await hops.starts(self.settings)
        busy = self._cores_busy()
        accepted, arrived = await self._phase("tap to SMS", total, self._taps_to_sms(parcels, rate))
        cores, each = busy()
        tap_ms = [(arrived[n] - accepted[n]) * 1000 for n in arrived]
        taken = await hops.measured(self.settings, since, arrived_s=arrived, accepted_s=accepted)
        for name, values in (("kafka produce to consume", kafka_ms), ("tap to SMS", tap_ms)):
            q = _percentiles(values)
            for p in ("p50", "p95", "p99"):
                limit = 50.0 if name == "tap to SMS" and p == "p99" else None
                report.add(
                    f"{name}, {p}",
                    q[p],
                    "ms",
                    beside=f"at {rate:.0f} a second, half the saturation rate;"
                    f" {len(values)} samples",
                    at_most=limit,
                )
        for name, values, what in (
            ("tracker's hop", taken.tracker, "the event appended to its SMS's job appended"),
            ("notifier's hop", taken.notifier, "the job appended to the SMS at the provider"),
            ("ingest's answer", taken.answer, "the event appended to the bench reading its 202"),
        ):
            q = _percentiles(values)
            for p in ("p50", "p99"):
                report.add(
                    f"tap to SMS, {name}, {p}",
                    q[p],
                    "ms",
                    beside=f"{what} (the records' CreateTime); {len(values)} samples",
                )
        shares = ", ".join(f"{name} {used:.2f}" for name, used in each.items())
        report.add(
            "cores busy during tap to SMS",
            cores,
            "cores",
            beside=f"of {os.cpu_count()}: {shares}; the rest Kafka, Redis and the system's",
        )
        q = _percentiles(self._loop_late)
        report.add(
            "the bench's own event loop, late, p99",
            q["p99"],
            "ms",
            beside=f"p50 {q['p50']:.1f} ms: how late the process that times the SMS's arrival"
            f" and taps woke, every {hops.TICK_S * 1000:.0f} ms of the phase",
        )
        report.add(
            "SMS later than 60 s",
            self._late,
            "SMS",
            beside="not counted in the percentiles",
            at_most=0,
        )
        report.details["latency_ms"] = {
            "rate": rate,
            "kafka": _percentiles(kafka_ms),
            "tap_to_sms": _percentiles(tap_ms),
            "samples": len(tap_ms),
            "hops": {
                "samples": len(taken.tracker),
                "tracker": _percentiles(taken.tracker),
                "notifier": _percentiles(taken.notifier),
                "ingest_answer": _percentiles(taken.answer),
            },
        }

    def _cores_busy(self) -> Callable[[], tuple[float, dict[str, float]]]:
        """From now: the machine's cores busy, and each service's and the bench's share."""
        pids = {
            name: [p.pid for p in procs] for name, procs in self.services.running.items() if procs
        } | {"the bench": [os.getpid()]}
        first = cpu.mark(os.getpid())
        marks = {name: [cpu.mark(pid) for pid in each] for name, each in pids.items()}

        def since() -> tuple[float, dict[str, float]]:
            spent = cpu.between(first, cpu.mark(os.getpid()))
            shares = {
                name: sum(cpu.cores_since(m, pid) for m, pid in zip(ms, pids[name], strict=True))
                for name, ms in marks.items()
            }
            return spent.busy_cores, shares

        return since

    async def _taps_to_sms(
        self, parcels: list[shipments.Parcel], rate: float
    ) -> tuple[dict[str, float], dict[str, float]]:
        """The couriers' taps at `rate` a second, open loop: when each SMS's tap was answered
        202 and when the SMS reached the sandbox (seconds since the epoch, by notification
        id)."""
        accepted: dict[str, float] = {}  # SMS notification id -> when its tap was accepted

        def tapped(parcel: shipments.Parcel, step: int) -> None:
            notice = parcel.sms_notice(step)
            if notice:
                accepted[notice] = time.time()
            self._tick()

        watch = asyncio.create_task(hops.loop_lateness(self._loop_late))
        try:
            await self._taps(parcels, rate, tapped)
            arrived = await self._until_arrived(set(accepted))
        finally:
            watch.cancel()
        self._late = len(accepted) - len(arrived)
        return accepted, arrived

    async def _taps(
        self,
        parcels: list[shipments.Parcel],
        rate: float,
        accepted: Callable[[shipments.Parcel, int], None],
    ) -> None:
        """The parcels' registrations and couriers' taps through ingest at `rate` a second,
        open loop, a shipment's next tap 0.2 s after its last; `accepted(parcel, step)` as
        each is answered 202."""
        token = issue_courier_token(self.settings.courier_token_secret, "bench-courier", 3600)
        headers = {"X-Api-Key": API_KEY, "Authorization": f"Bearer {token}"}
        base = f"http://127.0.0.1:{self.services.ports['ingest']}"
        wave = max(1, int(rate / 5))  # a shipment's next tap comes 0.2 s after its last
        schedule = [
            (parcel, step, request)
            for i in range(0, len(parcels), wave)
            for step in range(shipments.MIN_EVENTS)
            for parcel in parcels[i : i + wave]
            for request in [list(shipments.requests(parcel))[step]]
        ]
        async with aiohttp.ClientSession(
            headers=headers, connector=aiohttp.TCPConnector(limit=256)
        ) as http:

            async def tap(
                parcel: shipments.Parcel,
                step: int,
                path: str,
                body: Any,
                after: asyncio.Task[None] | None,
            ) -> None:
                if after is not None:  # as an app does: a shipment's taps in order, each
                    await after  # once the last was answered (else a late one notifies no one)
                async with http.post(base + path, json=body) as resp:
                    if resp.status != 202:
                        raise RuntimeError(f"ingest answered {resp.status}: {await resp.text()}")
                accepted(parcel, step)

            t0 = time.monotonic()
            last: dict[str, asyncio.Task[None]] = {}  # each shipment's latest request
            for i, (parcel, step, (path, body)) in enumerate(schedule):
                await asyncio.sleep(max(0.0, t0 + i / rate - time.monotonic()))
                before = last.get(parcel.shipment_id)
                last[parcel.shipment_id] = asyncio.create_task(
                    tap(parcel, step, path, body, before)
                )
            await asyncio.gather(*last.values())

    async def _until_arrived(self, wanted: set[str], timeout_s: float = 60) -> dict[str, float]:
        """When each wanted SMS reached the sandbox; those that did not within timeout_s of
        the last tap are left out (and counted as late)."""
        deadline = time.monotonic() + timeout_s
        while True:
            arrived = {}
            for m in self.sms.messages:
                notice = (m.status_callback or "").rsplit("n=", 1)[-1]
                if notice in wanted:
                    arrived[notice] = m.created_at.timestamp()
            if len(arrived) == len(wanted) or time.monotonic() > deadline:
                return arrived
            await asyncio.sleep(0.1)

    # -- status API

    async def _status_api(self, report: Report, parcels: list[shipments.Parcel]) -> None:
        """Every delivered shipment polled in turn, as their pages do, each with its ETag."""
        paths = [
            f"/v1/track/{tracking_id_for(self.settings.tracking_id_secret, p.shipment_id)}?lang=en"
            for p in parcels
        ]
        ours = f"http://127.0.0.1:{self.services.ports['status_api']}"
        etags = []
        async with aiohttp.ClientSession(ours) as http:
            for path in paths:
                async with http.get(path) as resp:
                    if resp.status != 200:
                        text = await resp.text()
                        raise RuntimeError(f"status_api answered {resp.status}: {text}")
                    etags.append(resp.headers["ETag"])
        port = processes.free_port()
        bare = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "shipnotify.bench.http_load", "bare", str(port)
        )
        try:
            await _until_listening(port)
            bare_url = f"http://127.0.0.1:{port}"
            seconds = self.options.seconds / 2
            self._task = self.progress.add_task("status API", total=4 * seconds)
            ticker = asyncio.create_task(self._clock())
            try:
                ours_304 = await _hit(ours, list(zip(paths, etags, strict=True)), seconds)
                bare_304 = await _hit(bare_url, [(p, BARE_ETAG) for p in paths], seconds)
                ours_200 = await _hit(ours, [(p, "") for p in paths], seconds)
                bare_200 = await _hit(bare_url, [(p, "") for p in paths], seconds)
            finally:
                ticker.cancel()
        finally:
            bare.terminate()
            await bare.wait()
        for answer, what, ours_, bare_ in (
            ("304", "ETag matches", ours_304, bare_304),
            ("200", "full body", ours_200, bare_200),
        ):
            ratio = ours_["rate"] / bare_["rate"]
            report.add(
                f"bare aiohttp handler, {answer}", bare_["rate"], "requests/s", beside="raw limit"
            )
            report.add(
                f"status API, {answer} ({what})",
                ours_["rate"],
                "requests/s",
                beside=f"{ratio:.2f} of bare",
            )
            if answer == "304":  # what polling pages make; the target is set for it
                report.add("status API / bare, 304", ratio, "ratio", at_least=0.6)
        report.details["status_api"] = {
            "ours_304": ours_304,
            "bare_304": bare_304,
            "ours_200": ours_200,
            "bare_200": bare_200,
        }

    async def _console(self, report: Report) -> None:
        """The console's pages for a year of a million shipments' surveys (bench/console.py)."""
        zone = zone_of(self.settings.time_zone)
        today = survey_days.today(zone)
        shipments = self.options.console_shipments
        answers = await self._phase(
            "console's year",
            1,
            bench_console.year_of_answers(self.redis, zone, shipments=shipments, today=today),
            unit=" answers",
        )
        await bench_console.year_of_operations(self.redis, shipments=shipments, today=today)
        times = await bench_console.page_times(self.settings, self.redis, today=today, requests=20)
        report.details["console"] = {"answers": answers, **times}
        for page, what in (
            ("overview", "overview"),
            ("satisfaction", "satisfaction page (heatmap, cuts, pain map, trend)"),
        ):
            report.add(
                f"console {what}, a year",
                times[page]["p50"],
                "ms (p50)",
                beside=f"{shipments:,} shipments, {answers:,} answers;"
                f" p95 {times[page]['p95']:.0f} ms; the first {times[page]['first']:.0f} ms",
                at_most=100,
            )
        await self._console_lists(report, zone)

    async def _console_lists(self, report: Report, zone: ZoneInfo) -> None:
        """The console's lists on a year's history (bench/console_lists.py): the failed
        notices, a shipment's notices, webhook endpoints and a delivery log, the shipments."""
        o = self.options
        failures = o.console_shipments * 6 // 100  # six notices a shipment, one in a hundred
        tries = min(LOG_ENTRIES, o.console_shipments // 100)
        listed = o.console_shipments // 10
        now_ms = int(time.time() * 1000)
        pages = await self._phase(
            "console's lists",
            1,
            console_lists.year_of_failures(
                self.redis, self.settings, failures=failures, now_ms=now_ms
            ),
        )
        pages |= await console_lists.endpoints_with_tries(self.redis, tries=tries, now_ms=now_ms)
        await portal.year_of_shipments(self.redis, shipments=listed, now_ms=now_ms)
        views = await portal.views(self.redis, zone, shipments=listed, now_ms=now_ms)
        pages |= {"shipments": views["newest"], "shipments_month": views["status_month"]}
        kept_a_year = self.settings.with_(retention_days=365)
        times = await bench_console.timed(kept_a_year, self.redis, pages, requests=20)
        report.details["console_lists"] = times
        for page, what, beside in (
            ("failed_notices", "failed notices, newest", f"{failures:,} failed in a year"),
            ("failed_notices_deep", "failed notices, the deepest page", f"{failures:,} failed"),
            ("failed_notices_account", "failed notices, one account's", f"{failures:,} failed"),
            (
                "shipment_notices",
                "a shipment's notices",
                f"{console_lists.STEPS} statuses, {2 * console_lists.STEPS} notices",
            ),
            ("webhooks", "webhook endpoints", f"{console_lists.ENDPOINTS} with their latest tries"),
            ("webhook_log", "an endpoint's delivery log", f"{tries:,} tries"),
            ("webhook_log_older", "an endpoint's delivery log, older", f"{tries:,} tries"),
            ("shipments", "shipments, newest", f"{listed:,} shipments in a year"),
            (
                "shipments_month",
                "shipments, one account's delivered in a month",
                f"{listed:,} shipments in a year",
            ),
        ):
            t = times[page]
            report.add(
                f"console {what}",
                t["p50"],
                "ms (p50)",
                beside=f"{beside}; p95 {t['p95']:.0f} ms; the first {t['first']:.0f} ms",
                at_most=100,
            )

    async def _clock(self) -> None:
        while True:
            await asyncio.sleep(0.5)
            self.progress.advance(self._task, 0.5)

    # -- memory

    def _memory(self, report: Report) -> None:
        for name, pid in self.pids.items():
            mb = _peak_rss_kb(pid) / 1024
            report.add(f"{name}, peak RSS", mb, "MB", at_most=250)

    async def _redis_per_shipment(self, report: Report, parcels: list[shipments.Parcel]) -> None:
        """Every key a delivered shipment leaves in Redis, its full timeline and its notices'
        states among them, by MEMORY USAGE, over a sample."""
        sample = parcels[:: max(1, len(parcels) // 500)]
        by_key: dict[str, int] = {}
        for parcel in sample:
            sid = parcel.shipment_id
            tid = tracking_id_for(self.settings.tracking_id_secret, sid)
            keys = [*shipment_keys(sid), tracking_key(tid)]
            names = [*SHIPMENT_KEY_NAMES, "tracking link"]
            for name, key in zip(names, keys, strict=True):
                by_key[name] = by_key.get(name, 0) + int(
                    await self.redis.memory_usage(key, samples=0) or 0
                )
        per = {name: total / len(sample) for name, total in by_key.items()}
        report.add(
            "redis per delivered shipment",
            sum(per.values()),
            "bytes",
            beside=f"{len(sample[0].walk)} events, {sample[0].notices} notices",
            at_most=2048,
        )
        report.details["redis_bytes_per_shipment"] = per
        info = await self.redis.info("memory")
        report.details["redis_used_memory"] = info["used_memory"]


async def surveys_kept(
    redis: Redis, asked: list[surveys.Asked], such: Callable[[Survey], bool]
) -> tuple[int, int]:
    """How many of the surveys Redis has such (sent, answered), of how many."""
    store, found = FeedbackStore(redis, b""), []
    for at in range(0, len(asked), 50):  # a few connections, not one a survey
        some = asked[at : at + 50]
        found += await asyncio.gather(*(store.survey(a.shipment_id, a.job.survey_id) for a in some))
    return sum(s is not None and such(s) for s in found), len(asked)


async def until_surveys(
    redis: Redis, asked: list[surveys.Asked], such: Callable[[Survey], bool], timeout_s: float = 60
) -> None:
    deadline = time.monotonic() + timeout_s
    while (kept := await surveys_kept(redis, asked, such))[0] < len(asked):
        if time.monotonic() > deadline:
            raise TimeoutError(f"{kept[0]} of {kept[1]} surveys in Redis after {timeout_s} s")
        await asyncio.sleep(0.1)


def _spent(
    marks: list[cpu.Mark], last: cpu.Mark, rate: float, total: int, unit: str
) -> tuple[cpu.Spent, float, str]:
    """A process's CPU over a phase timed as `_rate_until` times it: from the first `unit`
    (its mark) to the last, with the count it made meanwhile; or from the start, when all
    came at once (a short run)."""
    spent = cpu.between(marks[-1], last)
    if len(marks) > 1 and spent.process_s:
        return spent, rate * spent.wall_s, f"from its first {unit} to its last"
    return cpu.between(marks[0], last), total, "from its start, the start-up included"


def _cpu_beside_alone(
    report: Report, name: str, spent: tuple[cpu.Spent, float, str], alone: dict[str, Any], unit: str
) -> None:
    """The notifier's CPU per `unit` beside its clients' alone (bench/providers.py): how
    much more than the sends themselves it spends on each."""
    used, counted, since = spent
    per = max(used.process_s * 1e6 / max(counted, 1.0), 1e-3)
    alone_per = alone["cpu_s"] * 1e6 / max(sum(alone["sent"].values()), 1)
    alone_cores = alone["cpu_s"] / max(alone["seconds"], 1e-3)
    report.add(
        name,
        per,
        f"µs/{unit}",
        beside=f"its user and system time {since}, {used.process_cores:.2f} of a core;"
        f" {per / max(alone_per, 1e-3):.1f} times the clients' alone ({alone_per:.0f} µs a"
        f" {unit}, {alone_cores:.2f} of a core)",
    )


def _percentiles(values: list[float]) -> dict[str, float]:
    if len(values) < 2:
        v = values[0] if values else 0.0
        return {"p50": v, "p95": v, "p99": v}
    q = statistics.quantiles(values, n=100, method="inclusive")
    return {"p50": q[49], "p95": q[94], "p99": q[98]}


def _peak_rss_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


async def _hit(base: str, targets: list[tuple[str, str]], seconds: float) -> dict[str, Any]:
    """The load from a process of its own, so that it does not share a core's time with
    the sandboxes."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "shipnotify.bench.http_load",
        "hit",
        base,
        "--seconds",
        str(seconds),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await proc.communicate(json.dumps(targets).encode())
    result: dict[str, Any] = json.loads(out)
    return result


async def _until_listening(port: int) -> None:
    for _ in range(200):
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        except OSError:
            await asyncio.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port}")


@asynccontextmanager
async def _stack(options: Options, base: Settings, workdir: Path) -> AsyncIterator[Stack]:
    async with AsyncExitStack() as exits:
        bootstrap = options.kafka or exits.enter_context(processes.broker(workdir)).address
        redis_url = options.redis or exits.enter_context(processes.redis_server(workdir)).address
        mail = exits.enter_context(MailSandbox())
        hooks = await exits.enter_async_context(
            WebhookSandbox(keep=max(KEEP, 2 * options.webhooks)).running()  # sent twice
        )
        sms = await exits.enter_async_context(
            SmsSandbox(ACCOUNT, TOKEN, callback_delay_s=0.5).running()
        )
        ports = {name: processes.free_port() for name in ("ingest", "status_api", "hooks")}
        status_base = f"http://127.0.0.1:{ports['status_api']}"
        run_id = uuid.uuid4().hex[:8]
        settings = base.in_namespace(f"bench.{run_id}").with_(
            kafka_bootstrap=bootstrap,
            kafka_partitions=6,
            kafka_session_timeout_ms=2000,
            redis_url=redis_url,
            api_keys=(API_KEY,),
            courier_token_secret="bench-courier-token-secret-" + "x" * 32,
            tracking_id_secret="bench-tracking-id-secret",  # noqa: S106 (the local stack's)
            opt_out_secret="bench-opt-out-secret",  # noqa: S106 (the local stack's)
            public_url=status_base,
            webhook_url=f"http://127.0.0.1:{ports['hooks']}",
            **at_sandboxes(sms, mail),
            mail_from="Bench Carrier <notices@carrier.example>",
            # the providers' account limits are not ours to measure
            sms_per_second=1e6,
            emails_per_second=1e6,
            webhooks_per_second=1e6,
            webhook_allow_loopback=True,  # the endpoints are the local webhook sandbox
            quiet_hours="",
            track_requests_per_minute=1_000_000_000,
            log_level="warning",
        )
        await _create_topic(settings, f"bench.latency.{run_id}")
        redis = Redis.from_url(redis_url)
        exits.push_async_callback(redis.aclose)
        services = Services(settings, workdir, ports)
        exits.callback(services.stop_all)
        progress = Progress(
            TextColumn("{task.description:<18}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=Console(stderr=True),
        )
        yield Stack(options, settings, services, sms, mail, hooks, redis, workdir, progress, run_id)


async def _create_topic(settings: Settings, name: str) -> None:
    await kafka.ensure_topics(settings)
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, settings.kafka_partitions, 1)])
    finally:
        await admin.close()
