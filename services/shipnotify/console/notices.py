"""The notices page: find a shipment by its tracking or shipment id and see its notices as
the notice API shows them (kind, channel, party, state, attempts, the provider's id, the
delivery receipt, the error, when), oldest first, beside its timeline, with no phone number
or address; without a search, the notices that failed or were dead-lettered, newest first,
a page at a time (store/notice_failures.py). A failed notice has a "send again" form: the
console appends a NoticeSentAgain to the events topic (it writes no notice state and talks
to no provider); the tracker plans the notice again under a derived id and the notifier
sends it (model/sent_again.py); the 303 back to the shipment waits until the new notice
shows (a few seconds at most). A team member sees and sends again its own account's
shipments' notices alone; another's is a 404."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from shipnotify import backoff, logs
from shipnotify.config import Settings
from shipnotify.console import pages, shown, view
from shipnotify.console.resources import REDIS, TRACKING, ZONE
from shipnotify.console.sessions import Viewer
from shipnotify.i18n import mark, text
from shipnotify.i18n.labels import STATUS_LABELS
from shipnotify.model import sent_again
from shipnotify.model.codec import MAX_ID_LENGTH
from shipnotify.model.status import Status
from shipnotify.store import UNREACHABLE, accounts
from shipnotify.store.notice_failures import NoticeFailures
from shipnotify.store.notices import RANKS, NoticeBook
from shipnotify.web import ApiError, Route, parse_form
from shipnotify.web import event_log as topics

log = logs.get(__name__)
NOTICES = web.AppKey("console_notices", NoticeBook)  # the notices' states, read only
NOTICE_FAILURES = web.AppKey("console_notice_failures", NoticeFailures)  # read only
PATH = "/console/notices"
SEND_AGAIN_PATH = "/console/notices/send-again"
PAGE_ROWS = 50
MAX_PAGE = 200  # 10,000 failed notices back: past that, a search finds the shipment
APPLIED_WAIT_S = 5.0  # the tracker plans it, the notifier takes it: tens of ms, as a rule
_ID = re.compile(r"[^\x00-\x20\x7f]+")  # a tracking or shipment id: no space, no control
_ACCOUNT = re.compile(r"[A-Za-z0-9_-]{1,64}")  # as filters.py checks it
_NID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
KINDS = ("status", "survey", "follow_up", "apology", "case_alert", "endpoint_disabled")
CHANNELS = ("sms", "email", "push", "webhook")

# the texts named by a part of their id (the templates make the rest)
NAMED = (
    mark("console.section.notices"),
    mark("console.notices.kind.status"),
    mark("console.notices.kind.survey"),
    mark("console.notices.kind.follow_up"),
    mark("console.notices.kind.apology"),
    mark("console.notices.kind.case_alert"),
    mark("console.notices.kind.endpoint_disabled"),
    mark("console.notices.channel.sms"),
    mark("console.notices.channel.email"),
    mark("console.notices.channel.push"),
    mark("console.notices.channel.webhook"),
    mark("console.notices.state.sending"),
    mark("console.notices.state.retrying"),
    mark("console.notices.state.deferred"),
    mark("console.notices.state.redriven"),
    mark("console.notices.state.sent"),
    mark("console.notices.state.queued"),
    mark("console.notices.state.delivered"),
    mark("console.notices.state.undelivered"),
    mark("console.notices.state.failed"),
    mark("console.notices.state.rejected"),
    mark("console.notices.state.opted_out"),
    mark("console.notices.state.superseded"),
    mark("console.notices.state.cancelled"),
    mark("console.notices.state.gone"),
    mark("console.notices.state.throttled"),
    mark("console.notices.state.dead"),
    mark("console.notices.state.removed"),
    mark("console.notices.state.disabled"),
    mark("console.notices.problem.q"),
    mark("console.notices.problem.page"),
    mark("console.notices.problem.not_found"),
    mark("console.notices.problem.not_again"),
    mark("console.notices.problem.already"),
    mark("console.notices.problem.unavailable"),
)


def install(app: web.Application, settings: Settings) -> None:
    """The page's stores, on the console's Redis client (app.install sets it first)."""
    client = app[REDIS]
    app[NOTICES] = NoticeBook(client, settings.notifications_topic)
    app[NOTICE_FAILURES] = NoticeFailures(client, keep_days=settings.retention_days)


def search_of(query: Mapping[str, str]) -> tuple[str, str, int, dict[str, str]]:
    """The page's search (`q`), shipment and page number from its query, and each problem
    by its field (message ids): a bad value is left out. Pure."""
    problems: dict[str, str] = {}
    found = {}
    for field in ("q", "shipment"):
        raw = query.get(field, "").strip()
        if raw and not (len(raw) <= MAX_ID_LENGTH and _ID.fullmatch(raw)):
            problems[field] = mark("console.notices.problem.q")
            raw = ""
        found[field] = raw
    page = 1
    if raw_page := query.get("page", ""):
        if raw_page.isdigit() and 1 <= int(raw_page) <= MAX_PAGE:
            page = int(raw_page)
        else:
            problems["page"] = mark("console.notices.problem.page")
    return found["q"], found["shipment"], page, problems


def account_of(query: Mapping[str, str], own_account: str) -> tuple[str, dict[str, str]]:
    """Whose failed notices: the operator's choice (`account`, "" every account's), a team
    member's own whatever is asked; a bad one named. Pure."""
    if own_account:
        return own_account, {}
    account = query.get("account", "").strip()
    if account and not _ACCOUNT.fullmatch(account):
        return "", {"account": mark("console.bad_account")}
    return account, {}


async def notices_page(request: web.Request) -> web.StreamResponse:
    viewer = await view.viewer(request)
    lang = view.language(request)
    q, shipment_id, page, problems = search_of(request.query)
    account, bad_account = account_of(request.query, viewer.account)
    problems |= bad_account
    if q and not problems:
        found = await _find(request, viewer, q)
        if found is not None:
            raise web.HTTPSeeOther(view.link(PATH, lang, shipment=found))
        problems["q"] = mark("console.notices.problem.not_found")
    if shipment_id and not problems:
        if not await _may_see(request, viewer, shipment_id):
            raise web.HTTPNotFound(text="no such shipment", content_type="text/plain")
        done = request.query.get("done", "")
        return await render_shipment(
            request, viewer, shipment_id, flash=done if done in ("applied", "pending") else ""
        )
    return await _failed_list(request, viewer, lang, q, account, page, problems)


async def _failed_list(
    request: web.Request,
    viewer: Viewer,
    lang: str,
    q: str,
    account: str,
    page: int,
    problems: dict[str, str],
) -> web.Response:
    """The failed and dead-lettered notices, newest first, a page of PAGE_ROWS: two round
    trips (the page of the index, then the notices themselves)."""
    listed = await request.app[NOTICE_FAILURES].page(
        account, offset=(page - 1) * PAGE_ROWS, limit=PAGE_ROWS
    )
    docs = await request.app[NOTICES].some(
        [(n.shipment_id, n.notification_id) for n in listed.notices]
    )
    rows = []
    for failed, doc in zip(listed.notices, docs, strict=True):
        if doc is None:  # its shipment's keys have expired meanwhile
            continue
        row = notice_view(request, failed.shipment_id, failed.notification_id, doc, lang)
        row["ended"] = shown.when(request, failed.at_ms, lang, shown.SECONDS)
        row["shipment_link"] = view.link(PATH, lang, shipment=failed.shipment_id)
        rows.append(row)
    more = listed.total > page * PAGE_ROWS
    return view.render(
        request,
        "notices.html",
        lang,
        **await pages.nav(request, viewer, lang, "notices", {}),
        action=PATH,
        q=q,
        problems=problems,
        failed=rows,
        total=listed.total,
        account=account if viewer.operator else "",
        older=view.link(PATH, lang, account=account, page=str(page + 1)) if more else "",
        newer=view.link(PATH, lang, account=account, page=str(page - 1)) if page > 1 else "",
        send_again=view.link(SEND_AGAIN_PATH, lang),
        zone=request.app[ZONE].key,
    )


async def render_shipment(
    request: web.Request,
    viewer: Viewer,
    shipment_id: str,
    *,
    problems: Mapping[str, str] | None = None,
    flash: str = "",
    status: int = 200,
) -> web.Response:
    """A shipment's notices, oldest first, beside its timeline; one round trip each."""
    lang = view.language(request)
    shipment, states = await asyncio.gather(
        request.app[TRACKING].shipment(shipment_id),
        request.app[NOTICES].of_shipment(shipment_id),
    )
    if shipment is None and not states:
        raise web.HTTPNotFound(text="no such shipment", content_type="text/plain")
    zone = request.app[ZONE]
    notices = [
        notice_view(request, shipment_id, nid, doc, lang)
        for nid, doc in sorted(states.items(), key=lambda i: (i[1].get("t", 0), i[0]))
    ]
    # a failed notice may go again while it is on the failed list (a copy sent takes it
    # off) and no copy of it is on its way
    failed = [n["notification_id"] for n in notices if n["again"]]
    listed = await request.app[NOTICE_FAILURES].listed(shipment_id, failed)
    still = {nid for nid, on in zip(failed, listed, strict=True) if on}
    for n in notices:
        nid = n["notification_id"]
        n["again"] = nid in still and not sent_again.copy_on_its_way(nid, states)
    timeline = shown.timeline(
        request, lang, (shipment.timeline if shipment is not None else []), shown.SECONDS
    )
    page = view.render(
        request,
        "notices_shipment.html",
        lang,
        **await pages.nav(request, viewer, lang, "notices", {}),
        action=PATH,
        q="",
        shipment_id=shipment_id,
        tracking_id=shipment.tracking_id if shipment is not None else "",
        notices=notices,
        timeline=timeline,
        zone=zone.key,
        send_again=view.link(SEND_AGAIN_PATH, lang),
        back=view.link(PATH, lang),
        problems=problems or {},
        flash=flash,
        here=PATH if status != 200 else None,  # a form's answer: the switch to the list
    )
    page.set_status(status)
    return page


def notice_view(
    request: web.Request, shipment_id: str, nid: str, doc: Mapping[str, Any], lang: str
) -> dict[str, Any]:
    """What the pages show of a notice (as NoticeBook.of_shipment spells it), in `lang`:
    no address, none being stored."""
    kind = str(doc.get("kind", "status"))
    channel, state, receipt = doc.get("c"), str(doc.get("s", "?")), doc.get("r")
    status, party = doc.get("st"), doc.get("p")
    kind_label = text(lang, f"console.notices.kind.{kind}") if kind in KINDS else kind
    status_label = STATUS_LABELS[lang][Status(status)] if status in _STATUSES else ""
    channel_label = text(lang, f"console.notices.channel.{channel}") if channel in CHANNELS else ""
    party_label = text(lang, f"console.party.{party}") if party in sent_again.PARTIES else ""
    return {
        "shipment_id": shipment_id,
        "notification_id": nid,
        # a status notice: the status it told; the survey loop's and a team's: their kind
        "what": status_label if kind == "status" else kind_label,
        "to": " · ".join(x for x in (party_label, channel_label) if x),
        "state": state,
        "state_label": text(lang, f"console.notices.state.{state}") if state in RANKS else state,
        "failed": state in sent_again.FAILED,
        "attempts": int(doc.get("n", 0)),
        "provider_id": str(doc.get("id", "")),
        "receipt": text(lang, f"console.notices.state.{receipt}") if receipt in RANKS else "",
        "error": str(doc.get("e", "")),
        "updated": shown.when(request, int(doc["t"]), lang, shown.SECONDS) if doc.get("t") else "",
        "again": sent_again.may_send_again(doc),
    }


_STATUSES = frozenset(s.value for s in Status)


async def send_again(request: web.Request) -> web.StreamResponse:
    """The form of a failed notice: a NoticeSentAgain appended to the events topic, then
    a 303 to its shipment once the new notice shows there (or the wait ran out)."""
    viewer = await view.viewer(request)
    form = await parse_form(request)
    if not viewer.allows(form.get("csrf", "")):
        raise web.HTTPForbidden(text="a stale form: open the page again", content_type="text/plain")
    shipment_id, nid = form.get("shipment", "").strip(), form.get("notification", "").strip()
    if not (_ID.fullmatch(shipment_id) and len(shipment_id) <= MAX_ID_LENGTH):
        raise web.HTTPUnprocessableEntity(text="shipment: not a shipment id")
    if not _NID.fullmatch(nid):
        raise web.HTTPUnprocessableEntity(text="notification: not a notification id")
    if not await _may_see(request, viewer, shipment_id):
        raise web.HTTPNotFound(text="no such notice", content_type="text/plain")
    notices = await request.app[NOTICES].of_shipment(shipment_id)
    notice = notices.get(nid)
    if notice is None:
        raise web.HTTPNotFound(text="no such notice", content_type="text/plain")
    refused = ""
    if not sent_again.may_send_again(notice):
        refused = mark("console.notices.problem.not_again")
    elif (
        sent_again.copy_on_its_way(nid, notices)
        or not (await request.app[NOTICE_FAILURES].listed(shipment_id, [nid]))[0]
    ):
        refused = mark("console.notices.problem.already")
    if refused:
        problems = {"notification": refused}
        return await render_shipment(request, viewer, shipment_id, problems=problems, status=409)
    event = sent_again.request(
        shipment_id, nid, notice, viewer.account or "operator", datetime.now(UTC)
    )
    try:
        await topics.append(request, [event])
    except ApiError:
        problems = {"kafka": mark("console.notices.problem.unavailable")}
        return await render_shipment(request, viewer, shipment_id, problems=problems, status=503)
    again = sent_again.sent_again_id(nid, event.event_id)
    log.info(
        "notice sent again asked",
        shipment_id=shipment_id,
        notification_id=nid,
        again=again,
        event_id=event.event_id,
    )
    done = await _until_shown(request, shipment_id, again)
    lang = view.language(request)
    return view.see_other(
        view.link(PATH, lang, shipment=shipment_id, done="applied" if done else "pending")
    )


async def _until_shown(request: web.Request, shipment_id: str, nid: str) -> bool:
    """Whether the notice sent again shows among its shipment's within APPLIED_WAIT_S; it is
    asked for durably either way."""
    try:
        async with asyncio.timeout(APPLIED_WAIT_S):
            async for _ in backoff.attempts(first_s=0.02, cap_s=0.25):
                if nid in await request.app[NOTICES].of_shipment(shipment_id):
                    return True
    except (*UNREACHABLE, TimeoutError):
        pass
    log.warning("notice sent again not yet shown", shipment_id=shipment_id, notification_id=nid)
    return False


async def _find(request: web.Request, viewer: Viewer, q: str) -> str | None:
    """The shipment a search names (its tracking id, else its id), if the viewer may see it."""
    tracking = request.app[TRACKING]
    shipment_id = await tracking.shipment_id_for(q)
    if shipment_id is None and await tracking.shipment(q) is not None:
        shipment_id = q
    if shipment_id is None or not await _may_see(request, viewer, shipment_id):
        return None
    return shipment_id


async def _may_see(request: web.Request, viewer: Viewer, shipment_id: str) -> bool:
    """The operator sees every shipment; a team member its account's alone."""
    if viewer.operator:
        return True
    return await accounts.owner(request.app[REDIS], shipment_id) == viewer.account


ROUTES = [
    Route(
        "GET",
        PATH,
        notices_page,
        "Console: find a shipment by its tracking or shipment id (`q`) and see its notices"
        " beside its timeline (`shipment`); without either, the failed and dead-lettered"
        " notices, newest first, 50 a page (`page`)",
        {
            200: ("the page (HTML)", None),
            303: ("a search found the shipment: to its notices; or not signed in", None),
            404: (
                "no such shipment, or another account's (a search finding none: the page, 200)",
                None,
            ),
        },
        parameters=[
            {"name": name, "in": "query", "required": False, "schema": schema, "description": d}
            for name, schema, d in (
                ("q", {"type": "string"}, "a tracking id or a shipment id"),
                ("shipment", {"type": "string"}, "a shipment's id: its notices"),
                ("page", {"type": "integer", "minimum": 1}, "the failed notices' page"),
                ("account", {"type": "string"}, "the operator's choice of one account's"),
                ("lang", {"type": "string"}, "en, ru or ro; by default the browser's"),
            )
        ],
        tag="console",
    ),
    Route(
        "POST",
        SEND_AGAIN_PATH,
        send_again,
        "Console: send a failed or dead-lettered notice again (a form: shipment, notification"
        " and the session's token): appended to the events topic, planned again by the"
        " tracker under a new id",
        {
            303: (
                "appended: to the shipment's notices (once the new notice shows, or after 5 s"
                " saying it is not yet)",
                None,
            ),
            403: ("a stale form (not the session's token)", None),
            404: ("no such notice, or another account's", None),
            409: (
                "the notice may not be sent again, or was (its copy sent or on its way): the"
                " page saying so",
                None,
            ),
            422: ("a shipment or notification that cannot be one", None),
            503: ("Kafka did not acknowledge: nothing recorded; the page saying so", None),
        },
        tag="console",
    ),
]
