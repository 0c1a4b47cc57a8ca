"""The console's webhooks and team pages on Apache Kafka and redis-server, the tracker running:
a team edited in the console is applied by the tracker's accounts consumer; a replay from
an endpoint's page is delivered again, verified, to a real webhook endpoint on loopback
(the notifier running) with the same webhook-id; stale forms (403), bad fields (422, named),
a team changed meanwhile (409) and another account's endpoint (404) change nothing."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer
from redis.asyncio import Redis

from shipnotify.config import Settings
from shipnotify.console import app as console_app
from shipnotify.console.resources import SESSIONS
from shipnotify.console.sessions import COOKIE, Viewer
from shipnotify.devstack.mail_sandbox import MailSandbox
from shipnotify.devstack.sms_sandbox import SmsSandbox
from shipnotify.devstack.webhook_sandbox import WebhookSandbox
from shipnotify.notifier import service as notifier
from shipnotify.store import accounts as stored
from shipnotify.store.accounts import AccountStore
from shipnotify.store.keys import endpoint_log_key
from shipnotify.v1 import accounts_pb2 as apb
from shipnotify.v1 import shipment_events_pb2 as pb
from shipnotify.web.event_log import EVENT_LOG
from tests.offsets import read_all

from .conftest import Api, api_key, eventually, running_tracker, unique
from .test_console import sign_in

SMS_ACCOUNT, SMS_TOKEN = "AC" + "0" * 32, "sandbox-auth-token"
DANA = apb.TeamMember(
    name="Dana",
    role="logistics",
    email="dana@shop.example",
    locale="ro",
    time_zone="Europe/Chisinau",
    channels=[pb.CHANNEL_EMAIL],
)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.with_(time_zone="Europe/Chisinau", webhook_allow_loopback=True)


@dataclass
class Console:
    client: Api
    settings: Settings
    redis: Redis
    csrf: str

    async def page(self, path: str, status: int = 200) -> str:
        got = await self.client.get(path)
        html = await got.text()
        assert got.status == status, html
        return html

    async def post(self, path: str, form: dict[str, str]) -> tuple[int, str, str]:
        got = await self.client.post(path, data={"csrf": self.csrf, **form}, allow_redirects=False)
        return got.status, got.headers.get("Location", ""), await got.text()

    async def appended(self, account: str) -> list[apb.AccountEvent]:
        records = await read_all(self.settings, self.settings.accounts_topic)
        events = [apb.AccountEvent.FromString(r.value) for r in records]
        return [e for e in events if e.account_id == account]


@pytest.fixture
async def console(settings: Settings, redis: Redis) -> AsyncIterator[Console]:
    app = console_app.init_app(settings, redis=redis)
    async with running_tracker(settings), TestClient(TestServer(app)) as client:
        await eventually(lambda: _ready(app))
        yield Console(client, settings, redis, await sign_in(client))


async def _ready(app: object) -> bool:
    return bool(app[EVENT_LOG].ready)  # type: ignore[index]


async def an_account(redis: Redis, *members: apb.TeamMember, endpoint: str = "") -> str:
    """An account with a team and an endpoint (`endpoint`: its url), as the tracker keeps
    them."""
    account = f"acct_{uuid.uuid4().hex[:12]}"
    events = [apb.AccountEvent(account_id=account, created=apb.AccountCreated(name="Shop"))]
    events.append(apb.AccountEvent(account_id=account, team_set=apb.TeamSet(members=members)))
    if endpoint:
        made = apb.Endpoint(
            endpoint_id=f"ep_{uuid.uuid4().hex[:12]}",
            url=endpoint,
            secrets=[apb.EndpointSecret(secret="whsec_" + "QUJD" * 8)],
        )
        events.append(
            apb.AccountEvent(account_id=account, endpoint_set=apb.EndpointSet(endpoint=made))
        )
    for e in events:
        e.event_id = str(uuid.uuid4())
        e.occurred_at.GetCurrentTime()
        e.recorded_at.GetCurrentTime()
    await AccountStore(redis).apply(events)
    return account


def team_form(html: str) -> dict[str, str]:
    """The team form's fields as the page fills them (text, chosen options, ticked boxes)."""
    form = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', html))
    form |= dict(
        re.findall(r'<input type="(?:text|email|tel)" name="([^"]+)" value="([^"]*)"', html)
    )
    for name, options in re.findall(r'<select name="([^"]+)"[^>]*>(.*?)</select>', html, re.S):
        chosen = re.search(r'<option value="([^"]*)" selected', options)
        form[name] = chosen.group(1) if chosen else ""
    for name in re.findall(r'<input type="checkbox" name="([^"]+)" value="1" checked', html):
        form[name] = "1"
    form.pop("lang", None)
    return form


async def test_a_team_edited_in_the_console_is_applied_by_the_accounts_consumer(
    console: Console,
) -> None:
    account = await an_account(console.redis, DANA)
    html = await console.page(f"/console/team?lang=en&account={account}")
    assert 'value="dana@shop.example"' in html
    assert 'data-testid="new-member"' in html
    form = team_form(html)
    assert form["m-0-channels"] == "email"
    form |= {"m-0-role": "warehouse", "m-0-hears-delivered": "1", "m-0-hears-picked_up": "1"}
    form |= {"m-1-name": "Mia", "m-1-phone": "+40721234567", "m-1-locale": "ru"}
    status, location, body = await console.post("/console/team?lang=en", form)
    assert body == ""
    assert (status, location) == (303, f"/console/team?lang=en&account={account}&done=applied")
    team = await stored.team(console.redis, account)
    assert [(m.name, m.role) for m in team] == [("Dana", "warehouse"), ("Mia", "")]
    assert list(team[0].statuses) == [pb.STATUS_PICKED_UP, pb.STATUS_DELIVERED]
    assert (team[1].phone, team[1].locale, list(team[1].channels)) == (
        "+40721234567",
        "ru",
        [pb.CHANNEL_SMS],
    )
    [event] = [e for e in await console.appended(account) if e.WhichOneof("body") == "team_set"]
    assert list(event.team_set.members) == team  # the whole team, as the API appends it
    shown = await console.page(location)
    assert 'data-testid="flash"' in shown
    assert 'value="+40721234567"' in shown

    # Dana removed: the team is Mia alone
    form = team_form(shown) | {"m-0-remove": "1"}
    status, _, _ = await console.post("/console/team?lang=ro", form)
    assert status == 303
    assert [m.name for m in await stored.team(console.redis, account)] == ["Mia"]


async def test_a_bad_field_is_named_on_the_page_and_nothing_appended(console: Console) -> None:
    account = await an_account(console.redis, DANA)
    form = team_form(await console.page(f"/console/team?lang=ru&account={account}"))
    form |= {"m-1-name": "Mia", "m-1-email": "mia-at-shop"}
    status, _, html = await console.post(f"/console/team?lang=ru&account={account}", form)
    assert status == 422, html
    assert f'href="/console/team?lang=ro&amp;account={account}"' in html  # the switch keeps it
    assert 'data-testid="problem-1.email"' in html
    assert "Это не адрес эл. почты" in html
    assert 'value="mia-at-shop"' in html  # what was typed is kept
    assert await console.appended(account) == []
    assert list(await stored.team(console.redis, account)) == [DANA]


async def test_a_team_changed_meanwhile_is_not_overwritten(console: Console) -> None:
    account = await an_account(console.redis, DANA)
    form = team_form(await console.page(f"/console/team?lang=en&account={account}"))
    first = form | {"m-0-role": "first"}
    assert (await console.post("/console/team?lang=en", first))[0] == 303
    status, _, html = await console.post("/console/team?lang=en", form | {"m-0-role": "second"})
    assert status == 409
    assert 'data-testid="problem-team"' in html
    assert 'value="first"' in html  # the team as it now stands
    assert [m.role for m in await stored.team(console.redis, account)] == ["first"]


async def test_stale_forms_are_refused(console: Console) -> None:
    account = await an_account(console.redis, DANA, endpoint="http://127.0.0.1:9/in")
    [endpoint] = await stored.endpoints(console.redis, account)
    form = team_form(await console.page(f"/console/team?lang=en&account={account}"))
    for csrf in ("", "not-the-token"):
        got = await console.post("/console/team", form | {"m-0-role": "x", "csrf": csrf})
        assert got[0] == 403
        replay = {"csrf": csrf, "account": account, "message_id": "msg_1"}
        got = await console.post(f"/console/webhooks/{endpoint.endpoint_id}", replay)
        assert got[0] == 403
    assert await console.appended(account) == []


async def test_the_endpoints_page_shows_the_log_and_never_a_secret(console: Console) -> None:
    account = await an_account(console.redis, DANA, endpoint="http://127.0.0.1:9/in")
    [endpoint] = await stored.endpoints(console.redis, account)
    ep = endpoint.endpoint_id
    for attempt, status, error in ((1, 503, ""), (2, 0, "timed out"), (3, 204, "")):
        entry = {"msg": "msg_ab12", "n": "n1", "try": attempt, "status": status, "ms": 40}
        entry |= {"error": error, "at": 1764585000000 + attempt}
        await console.redis.xadd(endpoint_log_key(ep), entry)  # type: ignore[arg-type]
    html = await console.page(f"/console/webhooks?lang=en&account={account}")
    assert "http://127.0.0.1:9/in" in html
    assert "every event type" in html
    assert re.findall(r'data-testid="try-status">(\d+|no answer)', html) == [
        "204",
        "no answer",
        "503",
    ]
    assert "whsec_" not in html
    one = await console.page(f"/console/webhooks/{ep}?lang=ro&account={account}")
    assert "fără răspuns" in one
    assert 'data-testid="replay-form"' in one
    assert "whsec_" not in one
    got = await console.client.get(f"/console/webhooks/{ep}?lang=en&account={account}&csv=log")
    assert got.status == 200
    lines = (await got.text()).splitlines()
    assert lines[0] == "at,message_id,event_type,status,error,attempt,ms"
    assert [line.split(",")[3] for line in lines[1:]] == ["204", "0", "503"]
    unknown = await console.page(f"/console/webhooks?lang=en&account=acct_{uuid.uuid4().hex}", 404)
    assert 'data-testid="problem-account"' in unknown
    # without an account the operator is asked to choose one
    choose = await console.page("/console/webhooks?lang=en")
    assert 'data-testid="account-choice"' in choose
    assert f"account={account}" in choose or 'data-testid="next-page"' in choose


async def test_a_bad_replay_is_named_and_nothing_appended(console: Console) -> None:
    account = await an_account(console.redis, DANA, endpoint="http://127.0.0.1:9/in")
    [endpoint] = await stored.endpoints(console.redis, account)
    path = f"/console/webhooks/{endpoint.endpoint_id}?lang=en&account={account}"
    for form, field in (
        ({}, "body"),
        ({"message_id": "message-1"}, "message_id"),
        ({"since": "soon"}, "since"),
    ):
        status, _, html = await console.post(path, {"account": account, **form})
        assert status == 422, html
        assert f'data-testid="problem-{field}"' in html
    switch = f"/console/webhooks/{endpoint.endpoint_id}?lang=ru&amp;account={account}"
    assert f'href="{switch}"' in html  # the language switch: to the endpoint's page
    assert await console.appended(account) == []


async def test_a_member_sees_and_changes_their_own_account_alone(console: Console) -> None:
    mine = await an_account(console.redis, DANA, endpoint="http://127.0.0.1:9/mine")
    theirs = await an_account(console.redis, DANA, endpoint="http://127.0.0.1:9/theirs")
    [their_endpoint] = await stored.endpoints(console.redis, theirs)
    token, dana = await console.client.app[SESSIONS].begin(Viewer("Dana", account=mine))
    base = str(console.client.make_url("")).rstrip("/")
    async with aiohttp.ClientSession(base, headers={"Cookie": f"{COOKIE}={token}"}) as member:
        ep = their_endpoint.endpoint_id
        async with member.get(f"/console/webhooks/{ep}?lang=en&account={theirs}") as got:
            assert got.status == 404
        async with member.get(f"/console/webhooks/{ep}?lang=en&account={theirs}&csv=log") as got:
            assert got.status == 404
        replay = {"csrf": dana.csrf, "account": theirs, "message_id": "msg_1"}
        async with member.post(f"/console/webhooks/{ep}", data=replay) as got:
            assert got.status == 404
        async with member.get(f"/console/webhooks?lang=en&account={theirs}") as got:
            html = await got.text()
        assert "http://127.0.0.1:9/mine" in html
        assert "/theirs" not in html
        assert 'data-testid="account-choice"' not in html  # a member chooses no account
        async with member.get(f"/console/team?lang=en&account={theirs}") as got:
            form = team_form(await got.text())
        form |= {"csrf": dana.csrf, "account": theirs, "m-0-role": "mine now"}
        async with member.post("/console/team?lang=en", data=form, allow_redirects=False) as got:
            assert got.status == 303
            assert got.headers["Location"] == "/console/team?lang=en&done=applied"
    assert [m.role for m in await stored.team(console.redis, mine)] == ["mine now"]
    assert [m.role for m in await stored.team(console.redis, theirs)] == ["logistics"]
    assert await console.appended(theirs) == []


@asynccontextmanager
async def running_notifier(settings: Settings) -> AsyncIterator[None]:
    stop = asyncio.Event()
    task = asyncio.create_task(notifier.serve(settings, stop))
    try:
        yield
    finally:
        stop.set()
        await task


@pytest.mark.timeout(120)
async def test_a_replay_from_the_console_delivers_the_message_again(
    console: Console, api: Api, mail: MailSandbox
) -> None:
    async with (
        WebhookSandbox().running() as hooks,
        SmsSandbox(SMS_ACCOUNT, SMS_TOKEN).running() as sms,
    ):
        settings = console.settings.with_(
            smtp_host="127.0.0.1",
            smtp_port=mail.port,
            twilio_account_sid=SMS_ACCOUNT,
            twilio_auth_token=SMS_TOKEN,
            twilio_from="+15005550006",
            twilio_api_url=sms.base_url,
        )
        async with running_notifier(settings):
            await _replayed(console, api, settings, hooks)


async def _replayed(console: Console, api: Api, settings: Settings, hooks: WebhookSandbox) -> None:
    made = await api.post("/v1/accounts", json={"name": "Shop"}, headers=api_key(settings))
    assert made.status == 201, await made.text()
    account, key = (await made.json())["account_id"], (await made.json())["key"]
    endpoint = await api.post(
        f"/v1/accounts/{account}/webhooks",
        json={"url": hooks.url("shop"), "event_types": ["shipment.status_changed"]},
        headers={"X-Api-Key": key},
    )
    assert endpoint.status == 201, await endpoint.text()
    ep, secret = (await endpoint.json())["endpoint_id"], (await endpoint.json())["secret"]
    hooks.trust("shop", secret)
    sid = unique("console-replay")
    contact = {"name": "Ion", "email": "ion@example.com"}
    body = {"shipment_id": sid, "sender": {"contacts": [contact]}}
    body["recipient"] = {"contacts": [contact]}
    registered = await api.post("/v1/shipments", json=body, headers={"X-Api-Key": key})
    assert registered.status == 202, await registered.text()

    async def first() -> list[str]:
        return [r.webhook_id for r in hooks.received if r.shipment_id == sid]

    [webhook_id] = await eventually(first)
    page = await console.page(f"/console/webhooks/{ep}?lang=en&account={account}")
    assert webhook_id in page  # the try, in the log
    assert "shipment.status_changed" in page

    status, location, _ = await console.post(
        f"/console/webhooks/{ep}?lang=en", {"account": account, "message_id": webhook_id}
    )
    assert (status, location) == (
        303,
        f"/console/webhooks/{ep}?lang=en&account={account}&done=applied",
    )

    async def again() -> list[bool]:
        got = [r.verified for r in hooks.received if r.webhook_id == webhook_id]
        return got if len(got) == 2 else []

    assert await eventually(again) == [True, True]
    [replayed] = [
        e for e in await console.appended(account) if e.WhichOneof("body") == "webhooks_replayed"
    ]
    assert replayed.webhooks_replayed == apb.WebhooksReplayed(endpoint_id=ep, message_id=webhook_id)

    async def logged() -> bool:
        html = await console.page(f"/console/webhooks/{ep}?lang=en&account={account}")
        return html.count(f'data-message="{webhook_id}"') == 2

    await eventually(logged)  # the second try, in the log too


async def test_kafka_unreachable_records_nothing_and_the_page_says_so(
    settings: Settings, redis: Redis
) -> None:
    account = await an_account(redis, DANA, endpoint="http://127.0.0.1:9/in")
    [endpoint] = await stored.endpoints(redis, account)
    nowhere = settings.with_(kafka_bootstrap="127.0.0.1:9")  # nothing listens there
    app = console_app.init_app(nowhere, redis=redis)
    async with TestClient(TestServer(app)) as client:
        csrf = await sign_in(client)
        page = await client.get(f"/console/team?lang=en&account={account}")
        form = team_form(await page.text()) | {"csrf": csrf, "m-0-role": "lost"}
        saved = await client.post(f"/console/team?lang=en&account={account}", data=form)
        assert saved.status == 503
        assert 'data-testid="problem-kafka"' in await saved.text()
        replay = {"csrf": csrf, "account": account, "message_id": "msg_1"}
        sent = await client.post(f"/console/webhooks/{endpoint.endpoint_id}?lang=en", data=replay)
        assert sent.status == 503
        assert 'data-testid="problem-kafka"' in await sent.text()
    assert list(await stored.team(redis, account)) == [DANA]


async def test_the_log_is_shown_50_tries_a_page_newest_first(console: Console) -> None:
    account = await an_account(console.redis, DANA, endpoint="http://127.0.0.1:9/in")
    [endpoint] = await stored.endpoints(console.redis, account)
    ep = endpoint.endpoint_id
    pipe = console.redis.pipeline(transaction=False)
    for n in range(55):
        entry = {"msg": f"msg_{n:04x}", "n": "n", "try": 1, "status": 204, "ms": 3}
        pipe.xadd(endpoint_log_key(ep), entry | {"error": "", "at": 1764585000000 + n})  # type: ignore[arg-type]
    await pipe.execute()
    first = await console.page(f"/console/webhooks/{ep}?lang=en&account={account}")
    shown = re.findall(r'data-testid="try" data-message="msg_([0-9a-f]+)"', first)
    assert shown == [f"{n:04x}" for n in range(54, 4, -1)]  # the newest 50
    [older] = re.findall(r'href="([^"]+)" data-testid="older"', first)
    second = await console.page(older.replace("&amp;", "&"))
    assert re.findall(r'data-testid="try" data-message="msg_([0-9a-f]+)"', second) == [
        f"{n:04x}" for n in range(4, -1, -1)
    ]
    assert 'data-testid="older"' not in second
    assert 'data-testid="newest"' in second
    listed = await console.page(f"/console/webhooks?lang=en&account={account}")
    assert len(re.findall(r'data-testid="try"', listed)) == 5  # the latest few on the list
