"""The console's notices page on Apache Kafka, redis-server, the SMS sandbox (the real twilio
library, signed receipts) and a real SMTP server, the tracker and the notifier running: a
notice that fails for good shows in the failed list; "send again" appends a request to the
events topic, the tracker plans the notice again under a new id, and the notifier sends it
once, also when the request is delivered twice; a contact erased since cancels it; a stale
form is a 403, another account's notice a 404."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from html import unescape

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer
from redis.asyncio import Redis

from shipnotify import kafka
from shipnotify.console import app as console_app
from shipnotify.console.resources import SESSIONS
from shipnotify.console.sessions import COOKIE, Viewer
from shipnotify.model import sent_again
from shipnotify.store.keys import failed_notices_key, owner_key
from shipnotify.store.notice_failures import NoticeFailures
from shipnotify.store.notices import now_ms
from shipnotify.v1 import shipment_events_pb2 as pb
from shipnotify.web.event_log import EVENT_LOG
from tests.offsets import read_all

from .conftest import Api, api_key, eventually, running_tracker, unique
from .test_console import sign_in
from .test_notifications import (
    RECIPIENT_PHONE,
    SENDER_PHONE,
    Stack,
    running_notifier,
    stack,  # noqa: F401 (a fixture)
    until,
)

DAY_MS = 86_400_000
UNDELIVERABLE = "+15005550030"  # the sandbox accepts it, then its receipt says undelivered


@dataclass
class Console:
    client: Api
    csrf: str
    stack: Stack

    async def page(self, query: str) -> tuple[int, str]:
        got = await self.client.get(f"/console/notices?lang=en&{query}", allow_redirects=False)
        return got.status, await got.text()

    async def send_again(
        self, sid: str, nid: str, csrf: str | None = None
    ) -> aiohttp.ClientResponse:
        return await self.client.post(
            "/console/notices/send-again?lang=en",
            data={
                "csrf": self.csrf if csrf is None else csrf,
                "shipment": sid,
                "notification": nid,
            },
            allow_redirects=False,
        )

    async def states(self, sid: str) -> dict[str, str]:
        return {nid: d["s"] for nid, d in (await self.stack.book.of_shipment(sid)).items()}

    async def listed(self) -> set[str]:
        found = await NoticeFailures(self.stack.redis, keep_days=30).page("", offset=0, limit=50)
        return {n.notification_id for n in found.notices}


@pytest.fixture
async def console(stack: Stack) -> AsyncIterator[Console]:  # noqa: F811
    app = console_app.init_app(stack.settings, redis=stack.redis)
    async with TestClient(TestServer(app)) as client:
        await eventually(lambda: _ready(app))
        yield Console(client, await sign_in(client), stack)


async def _ready(app: object) -> bool:
    return bool(app[EVENT_LOG].ready)  # type: ignore[index]


def rows(html: str, testid: str) -> dict[str, str]:
    """A table's rows by their notice's id: the row's markup."""
    found = re.findall(
        rf'<tr data-testid="{testid}" data-notice="([0-9a-f-]+)"(.*?)</tr>', html, re.S
    )
    return {nid: body for nid, body in found}


async def test_a_dead_notice_is_listed_and_sent_again_once_even_if_asked_twice(
    console: Console,
) -> None:
    parts = console.stack
    # the first failure gives up; the SMS lane's breaker pauses it a second at most
    settings = parts.settings.with_(
        retry_max_age_s=1,
        retry_max_delay_s=1.0,
        webhook_timeout_s=2.0,  # a lease of 6 s
    )
    sid = unique("again")
    parts.sms.fail_for(600.0, status=500)
    async with running_tracker(settings), running_notifier(settings):
        tracking_id = await parts.register(sid)
        await parts.tap(sid, "picked_up")  # the sender: SMS and email; the recipient: SMS

        async def dead() -> dict[str, str] | None:
            states = await console.states(sid)
            return states if sorted(states.values()) == ["dead", "dead", "sent"] else None

        states = await eventually(dead)
        parts.sms.clear_faults()
        [dead_sms, _] = [nid for nid, s in states.items() if s == "dead"]
        [email] = [nid for nid, s in states.items() if s == "sent"]
        assert {dead_sms, *states} - {email} <= await console.listed()

        # the failed list, newest first, with the send-again forms
        status, html = await console.page("")
        assert status == 200
        assert dead_sms in rows(html, "failed-row")
        # found by its tracking id: to the shipment's notices, no phone number or address
        status, _ = await console.page(f"q={tracking_id}")
        assert status == 303
        status, html = await console.page(f"shipment={sid}")
        assert status == 200
        shown = rows(html, "notice-row")
        assert set(shown) == set(states)
        assert 'data-testid="send-again"' in shown[dead_sms]
        assert 'data-testid="send-again"' not in shown[email]
        assert 'data-testid="step"' in html  # the timeline beside
        for personal in (SENDER_PHONE, RECIPIENT_PHONE, "ana@example.com", "Мария"):
            assert personal not in unescape(html)

        # refused: a stale form, a notice that did not fail, another account's member
        assert (await console.send_again(sid, dead_sms, csrf="stale")).status == 403
        assert (await console.send_again(sid, email)).status == 409
        token, mia = await console.client.app[SESSIONS].begin(
            Viewer("Mia", account="acct_someoneelse")
        )
        base = str(console.client.make_url("")).rstrip("/")
        async with aiohttp.ClientSession(base, headers={"Cookie": f"{COOKIE}={token}"}) as member:
            async with member.get(f"/console/notices?lang=en&shipment={sid}") as got:
                assert got.status == 404
            async with member.post(
                "/console/notices/send-again?lang=en",
                data={"csrf": mia.csrf, "shipment": sid, "notification": dead_sms},
                allow_redirects=False,
            ) as got:
                assert got.status == 404
        assert await console.states(sid) == states  # nothing asked

        sent_before = len(parts.sms.messages)
        # clicked twice at once: one copy (the second may find the first's on its way)
        both = await asyncio.gather(*(console.send_again(sid, dead_sms) for _ in range(2)))
        assert sorted(r.status for r in both) in ([303, 303], [303, 409])
        [posted, *_] = [r for r in both if r.status == 303]
        assert "done=applied" in posted.headers["Location"]
        assert f"shipment={sid}" in posted.headers["Location"]
        await until(lambda: len(parts.sms.messages) == sent_before + 1)
        requests = [
            e
            for r in await read_all(settings, settings.events_topic)
            if (e := pb.ShipmentEvent.FromString(r.value)).shipment_id == sid
            and e.WhichOneof("body") == "notice_sent_again"
        ]
        assert {r.event_id for r in requests} == {sent_again.request_id(dead_sms)}  # one
        request = requests[0]
        again = sent_again.sent_again_id(dead_sms, request.event_id)

        async def delivered() -> bool:
            return (await console.states(sid)).get(again) == "delivered"

        await eventually(delivered)  # its receipt came back through the signed webhook
        assert dead_sms not in await console.listed()  # sent again and sent: off the list
        # clicked twice: no second copy
        _, html = await console.page(f"shipment={sid}")
        assert 'data-testid="send-again"' not in rows(html, "notice-row")[dead_sms]
        twice = await console.send_again(sid, dead_sms)
        assert twice.status == 409
        assert 'data-testid="problem-notification"' in await twice.text()

        # the same request delivered again (a producer's retry): planned again, sent once
        producer = kafka.producer(settings)
        await producer.start()
        try:
            await producer.send_and_wait(
                settings.events_topic, request.SerializeToString(), key=sid.encode()
            )
        finally:
            await producer.stop()
        # two requests at once are one request (one id) made at two times: their jobs differ
        # in planned_at, so the second may find the first's claim and be found sent only
        # once that claim's lease ends (6 s here)
        await eventually(parts.settled, timeout_s=30)
        await parts.sms.settled()
    assert len(parts.sms.messages) == sent_before + 1
    states_now = await console.states(sid)
    assert len(states_now) == len(states) + 1
    _, html = await console.page(f"shipment={sid}")
    assert 'data-state="delivered"' in rows(html, "notice-row")[again]


async def test_an_undelivered_notice_is_listed_and_an_erased_contact_cancels_it_sent_again(
    console: Console,
) -> None:
    parts = console.stack
    sid = unique("erased")
    async with running_tracker(parts.settings), running_notifier(parts.settings):
        await parts.register(sid, recipient_phone=UNDELIVERABLE)
        await parts.tap(sid, "out_for_delivery")  # the recipient's SMS alone

        async def undelivered() -> str | None:
            found = [n for n, s in (await console.states(sid)).items() if s == "undelivered"]
            return found[0] if found else None

        nid = await eventually(undelivered)  # the receipt said so, through hooks

        async def listed() -> bool:  # hooks lists it once it has the receipt's state
            return nid in await console.listed()

        await eventually(listed)
        _, html = await console.page("")
        assert 'data-testid="send-again"' in rows(html, "failed-row")[nid]

        erased = await parts.api.delete(
            f"/v1/shipments/{sid}/contacts", headers=api_key(parts.settings)
        )
        assert erased.status == 202

        async def gone() -> bool:
            return not await parts.redis.exists("{shp:" + sid + "}:parties")

        await eventually(gone)
        sent_before = len(parts.sms.messages)
        posted = await console.send_again(sid, nid)
        assert posted.status == 303
        assert "done=applied" in posted.headers["Location"]
        await eventually(parts.settled)
    states = await console.states(sid)
    assert sorted(states.values()) == ["cancelled", "undelivered"]
    assert len(parts.sms.messages) == sent_before
    assert nid in await console.listed()  # nothing went: still failed


async def test_the_failed_list_is_newest_first_by_account_and_trimmed_past_the_retention(
    redis: Redis,
) -> None:
    failures = NoticeFailures(redis, keep_days=30)
    account = f"acct_{uuid.uuid4().hex[:12]}"
    mine, carriers = unique("fl-acct"), unique("fl-carrier")
    await redis.set(owner_key(mine), account)  # as ingest sets it at registration
    now = now_ms()
    old = [str(uuid.uuid4()) for _ in range(2)]
    new = [str(uuid.uuid4()) for _ in range(3)]
    await failures.add(mine, old[0], now - 31 * DAY_MS)  # past the retention: never shown
    await failures.add(carriers, old[1], now - 31 * DAY_MS)
    await failures.add(mine, new[0], now - 3000)
    await failures.add(carriers, new[1], now - 2000)
    await failures.add(mine, new[2], now - 1000)
    await failures.add(mine, new[0], now)  # listed again: it keeps its first time

    everyone = await failures.page("", offset=0, limit=50)
    ours = [n.notification_id for n in everyone.notices if n.shipment_id in (mine, carriers)]
    assert ours == [new[2], new[1], new[0]]  # newest first, the old ones trimmed
    own = await failures.page(account, offset=0, limit=50)
    assert [n.notification_id for n in own.notices] == [new[2], new[0]]
    assert own.total == 2
    assert (await failures.page(account, offset=1, limit=1)).notices[0].notification_id == new[0]
    assert await redis.zscore(failed_notices_key(account), f"{mine} {old[0]}") is None

    await failures.remove(mine, new[2])  # sent again, and sent
    left = await failures.page(account, offset=0, limit=50)
    assert [n.notification_id for n in left.notices] == [new[0]]
