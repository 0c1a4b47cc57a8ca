"""A business customer's team member signs in to the console by a link emailed through a real
SMTP server, once, and then sees their own account's figures only, on every page, whatever
the address asks for; the operator sees every account."""

from __future__ import annotations

import csv
import io
import re
import uuid
from collections.abc import AsyncIterator, Iterator

import pytest
from aiohttp.test_utils import TestClient, TestServer
from redis.asyncio import Redis

from shipnotify.config import Settings
from shipnotify.console import app as console_app
from shipnotify.console.pages import CSV_TABLES
from shipnotify.devstack.mail_sandbox import MailSandbox
from shipnotify.model.status import Status
from shipnotify.store import TrackingStore
from shipnotify.store.accounts import AccountStore
from shipnotify.store.notice_failures import NoticeFailures
from shipnotify.store.notices import NoticeBook
from shipnotify.v1 import accounts_pb2 as apb

from .conftest import Api
from .test_console import ZONE, _answers, _token, sign_in
from .test_console_operations import shipments
from .test_console_shipments import listed_ids
from .test_dead_letters import registration_event, status_event

BASE = "https://console.carrier.example"


@pytest.fixture
def mail() -> Iterator[MailSandbox]:
    sandbox = MailSandbox()
    sandbox.start()
    yield sandbox
    sandbox.stop()


@pytest.fixture
def team_settings(settings: Settings, mail: MailSandbox) -> Settings:
    return settings.with_(
        time_zone=ZONE.key,
        smtp_host=mail.host,
        smtp_port=mail.port,
        console_url=BASE,
        mail_from="Carrier <console@carrier.example>",
    )


@pytest.fixture
async def console(team_settings: Settings, redis: Redis) -> AsyncIterator[Api]:
    app = console_app.init_app(team_settings, redis=redis)
    async with TestClient(TestServer(app)) as client:
        yield client


async def _team(redis: Redis, account: str, *members: apb.TeamMember) -> None:
    event = apb.AccountEvent(event_id=str(uuid.uuid4()), account_id=account)
    event.created.name = "Shop"
    team = apb.AccountEvent(event_id=str(uuid.uuid4()), account_id=account)
    team.team_set.members.extend(members)
    for e in (event, team):
        e.occurred_at.GetCurrentTime()
        e.recorded_at.GetCurrentTime()
    await AccountStore(redis).apply([event, team])


async def _endpoint(redis: Redis, account: str, url: str) -> str:
    """A webhook endpoint of the account, as the tracker keeps it; its id."""
    endpoint = apb.Endpoint(endpoint_id=f"ep_{uuid.uuid4().hex[:12]}", url=url)
    event = apb.AccountEvent(event_id=str(uuid.uuid4()), account_id=account)
    event.endpoint_set.endpoint.CopyFrom(endpoint)
    event.occurred_at.GetCurrentTime()
    event.recorded_at.GetCurrentTime()
    await AccountStore(redis).apply([event])
    return endpoint.endpoint_id


async def _ask(client: Api, account: str, email: str) -> str:
    form = await client.get("/console/sign-in?lang=en")
    asked = await client.post(
        "/console/sign-in/link?lang=en",
        data={"account": account, "email": email, "csrf": _token(await form.text())},
    )
    assert asked.status == 200
    return await asked.text()


async def _use(client: Api, link: str) -> int:
    path = link.removeprefix(BASE)
    page = await client.get(path)
    if page.status != 200:
        return page.status
    used = await client.post(path, data={"csrf": _token(await page.text())}, allow_redirects=False)
    return used.status


async def test_a_team_member_signs_in_once_by_the_emailed_link(
    console: Api, redis: Redis, mail: MailSandbox
) -> None:
    account = f"acct_{uuid.uuid4().hex[:12]}"
    await _team(redis, account, apb.TeamMember(name="Dana", email="Dana@Shop.example", locale="ro"))
    said = await _ask(console, account, "dana@shop.example")  # any case of the address
    assert "a sign-in link is on its way" in said
    [sent] = mail.messages
    assert sent.rcpt_tos == ("Dana@Shop.example",)
    body = sent.message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert sent.message["Subject"] == "Linkul dvs. de autentificare în consolă"  # her language
    [link] = re.findall(rf"{re.escape(BASE)}/console/sign-in/link/\S+", body)
    assert account in body

    page = await console.get(link.removeprefix(BASE))  # a visit uses nothing
    assert page.status == 200
    assert (await console.get(link.removeprefix(BASE))).status == 200
    assert await _use(console, link) == 303
    overview = await console.get("/console?lang=en")
    assert overview.status == 200
    html = await overview.text()
    assert 'name="account"' not in html  # a member chooses no account
    assert await _use(console, link) == 410  # once only


async def test_an_address_off_the_team_gets_the_same_answer_and_no_mail(
    console: Api, redis: Redis, mail: MailSandbox
) -> None:
    account = f"acct_{uuid.uuid4().hex[:12]}"
    await _team(redis, account, apb.TeamMember(name="Dana", email="dana@shop.example"))
    on_team = await _ask(console, account, "dana@shop.example")
    off_team = await _ask(console, account, "eve@elsewhere.example")
    unknown = await _ask(console, f"acct_{uuid.uuid4().hex[:12]}", "dana@shop.example")
    strip = re.compile(r'value="[^"]+"')  # the forms' fresh tokens aside
    assert strip.sub("", on_team) == strip.sub("", off_team) == strip.sub("", unknown)
    assert len(mail.messages) == 1
    assert (await console.get("/console/sign-in/link/made-up-token")).status == 410


async def test_a_request_for_a_link_without_its_forms_token_is_refused(
    console: Api, redis: Redis, mail: MailSandbox
) -> None:
    account = f"acct_{uuid.uuid4().hex[:12]}"
    await _team(redis, account, apb.TeamMember(name="Dana", email="dana@shop.example"))
    asked = await console.post(
        "/console/sign-in/link",
        data={"account": account, "email": "dana@shop.example", "csrf": "made-up"},
    )
    assert asked.status == 403
    bad = await console.get("/console/sign-in?lang=en")
    wrong = await console.post(
        "/console/sign-in/link?lang=en",
        data={"account": "a b", "email": "nobody", "csrf": _token(await bad.text())},
    )
    assert wrong.status == 422
    assert mail.messages == []


async def _member(
    team_settings: Settings, redis: Redis, mail: MailSandbox, account: str, email: str
) -> TestClient:  # type: ignore[type-arg]
    app = console_app.init_app(team_settings, redis=redis)
    client: TestClient = TestClient(TestServer(app))  # type: ignore[type-arg]
    await client.start_server()
    await _ask(client, account, email)
    body = mail.messages[-1].message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    [link] = re.findall(rf"{re.escape(BASE)}/console/sign-in/link/\S+", body)
    assert await _use(client, link) == 303
    return client


async def test_every_page_shows_a_member_their_own_account_only(
    console: Api, team_settings: Settings, redis: Redis, mail: MailSandbox
) -> None:
    mine, theirs = (f"acct_{uuid.uuid4().hex[:12]}" for _ in range(2))
    await _team(redis, mine, apb.TeamMember(name="Dana", email="dana@shop.example"))
    await _team(redis, theirs, apb.TeamMember(name="Eve", email="eve@theirs.example"))
    await _endpoint(redis, mine, "https://shop.example/mine")
    their_endpoint = await _endpoint(redis, theirs, "https://theirs.example/hooks")
    at = await _answers(team_settings, redis, mine, [5, 4])
    await _answers(team_settings, redis, theirs, [1, 1, 1, 2])
    await shipments(team_settings, redis, mine, at.date(), delivered=2, covered=2)
    await shipments(team_settings, redis, theirs, at.date(), delivered=3, covered=0)
    my_notice = await _failed_notice(team_settings, redis, mine)
    their_notice = await _failed_notice(team_settings, redis, theirs)
    member = await _member(team_settings, redis, mail, mine, "dana@shop.example")
    try:
        # the notices: the failed list, a shipment's and a search, its account's alone
        for asked_for in ("", theirs):
            page = await member.get(f"/console/notices?lang=en&account={asked_for}")
            listed = await page.text()
            assert my_notice[1] in listed
            assert their_notice[1] not in listed
        for sid, nid, tracking_id in (my_notice, their_notice):
            shown = await member.get(f"/console/notices?lang=en&shipment={sid}")
            found = await member.get(f"/console/notices?lang=en&q={tracking_id}")
            if nid == my_notice[1]:
                assert shown.status == 200
                assert nid in await shown.text()
                assert found.status == 200  # the redirect, followed
            else:
                assert shown.status == 404
                assert found.status == 200  # the search again, saying it found none
                assert 'data-testid="problem-q"' in await found.text()
        day = at.date().isoformat()
        for asked_for in ("", theirs):  # the address may name another account: no matter
            query = f"lang=en&from={day}&to={day}&account={asked_for}"
            for table in CSV_TABLES:
                got = await member.get(f"/console/satisfaction?{query}&csv={table}")
                assert got.status == 200, table
                rows = list(csv.DictReader(io.StringIO(await got.text())))
                if table in ("depot", "channel", "party", "hour"):
                    assert [r["answers"] for r in rows] == ["2"], (table, rows)
            for path in ("/console", "/console/satisfaction"):
                page = await member.get(f"{path}?{query}")
                assert page.status == 200
                html = await page.text()
                assert "100.0" in html  # mine: 2 of 2 satisfied
                if path == "/console":  # and 2 of 2 delivered covered, not theirs' 0 of 3
                    assert "2 of 2 delivered" in html
                    assert "of 3 delivered" not in html
            # the webhooks and the team: mine alone; another's endpoint is a 404
            hooks = await member.get(f"/console/webhooks?{query}")
            html = await hooks.text()
            assert hooks.status == 200
            assert "https://shop.example/mine" in html
            assert "theirs.example" not in html
            team = await member.get(f"/console/team?{query}")
            html = await team.text()
            assert team.status == 200
            assert "dana@shop.example" in html
            assert "eve@theirs.example" not in html
            for tail in ("", "&csv=log"):
                other = await member.get(f"/console/webhooks/{their_endpoint}?{query}{tail}")
                assert other.status == 404
        await _shipments_are_mine_only(member, redis, mine, theirs, day)
        # the operator chooses: the other account's answers
        await sign_in(console)
        theirs_csv = await console.get(
            f"/console/satisfaction?lang=en&from={day}&to={day}&account={theirs}&csv=depot"
        )
        rows = list(csv.DictReader(io.StringIO(await theirs_csv.text())))
        assert [(r["answers"], r["value"]) for r in rows] == [("4", "0.0")]
        theirs_page = await console.get(f"/console?lang=en&from={day}&to={day}&account={theirs}")
        assert "0 of 3 delivered" in await theirs_page.text()
        every = await (await console.get("/console/notices?lang=en")).text()
        assert my_notice[1] in every
        assert their_notice[1] in every
        chosen = await (await console.get(f"/console/notices?lang=en&account={theirs}")).text()
        assert my_notice[1] not in chosen
        assert their_notice[1] in chosen
    finally:
        await member.close()


async def _shipments_are_mine_only(
    member: TestClient,  # type: ignore[type-arg]
    redis: Redis,
    mine: str,
    theirs: str,
    day: str,
) -> None:
    """The shipments page, its CSV and a shipment's page, asked every way for the other
    account's shipments: the member's own alone (the two accounts' shipments share one
    tracking id here, which leads to theirs: a search by it finds nothing)."""
    own = set(await listed_ids(redis, mine))
    other = await listed_ids(redis, theirs)
    # the answered ones, the coverage ones, the one of a failed notice (picked up)
    assert (len(own), len(other)) == (5, 8)
    delivered = set(await listed_ids(redis, mine, "delivered"))
    for asked_for in ("", theirs):
        base = f"/console/shipments?lang=en&account={asked_for}"
        every = f"{base}&from={day}&to={day}&status=delivered"
        for query in (base, every, f"{base}&q={other[0]}", f"{base}&q={'d' * 20}"):
            page = await member.get(query)
            assert page.status == 200
            html = await page.text()
            shown = set(re.findall(r'data-testid="shipment-row" data-shipment="([^"]+)"', html))
            assert shown <= own, query
            listed = html.split('data-testid="shipments"', 1)[1]  # the search box says what it was
            assert not any(sid in listed for sid in other), query
        assert (
            set(re.findall(r'data-shipment="([^"]+)"', await (await member.get(every)).text()))
            == delivered
        )
        got = await member.get(f"{every}&csv=1")
        assert {r["shipment_id"] for r in csv.DictReader(io.StringIO(await got.text()))} == (
            delivered
        )
    for sid in other:
        assert (await member.get(f"/console/shipments/{sid}?lang=en")).status == 404
    for sid in own:
        assert (await member.get(f"/console/shipments/{sid}?lang=en")).status == 200


async def _failed_notice(settings: Settings, redis: Redis, account: str) -> tuple[str, str, str]:
    """A shipment of `account`, picked up, whose SMS to its recipient gave up (a dead
    letter), on the failed notices' list: (shipment id, notification id, tracking id)."""
    sid = f"team-{uuid.uuid4().hex[:10]}"
    registered = registration_event(sid)
    registered.registered.account_id = account
    registered.registered.tracking_id = f"TRK{uuid.uuid4().hex[:17]}"
    status = status_event(sid, Status.PICKED_UP)
    await TrackingStore(redis).apply([registered, status])
    nid = str(uuid.uuid4())
    book = NoticeBook(redis, settings.notifications_topic)
    meta = {"c": "sms", "p": "recipient", "st": "picked_up", "ev": status.event_id}
    await book.claim(sid, nid, meta, 5.0, planned_ms=status.recorded_at.ToMilliseconds())
    await book.update(sid, nid, "dead", {"e": "gave up after 3 attempts: 500"})
    await NoticeFailures(redis, keep_days=settings.retention_days).add(sid, nid)
    return sid, nid, registered.registered.tracking_id
