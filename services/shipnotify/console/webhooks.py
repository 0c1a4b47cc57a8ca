"""A business customer's webhook endpoints (`/console/webhooks`): each endpoint's URL, whether
it is on (and why not), the event types it takes and its latest tries; an endpoint's page
(`/console/webhooks/{id}`): its delivery log, 50 tries a page, newest first, also as CSV,
and the "send again" form: one message, or every message since a time, appended as the
account API's replay appends it (web/account_changes.py), then the 303 back waits until the
tracker applied it. The log is what the notifier keeps (store/webhooks.py), the same the
account API's `deliveries` returns. No secret is ever on a page. A team member sees their
own account's endpoints alone; another's endpoint is a 404."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web
from babel.dates import format_datetime
from pydantic import ValidationError

from shipnotify import logs
from shipnotify.console import account_choice, pages, shown, view
from shipnotify.console.resources import REDIS, ZONE
from shipnotify.console.sessions import Viewer
from shipnotify.i18n import mark, text
from shipnotify.store import webhooks as webhook_log
from shipnotify.store.keys import account_endpoints_key, account_key
from shipnotify.store.replies import text as reply_text
from shipnotify.v1 import accounts_pb2 as apb
from shipnotify.web import ApiError, parse_form, validation_error
from shipnotify.web import event_log as topics
from shipnotify.web.account_changes import Replay, webhooks_replayed

log = logs.get(__name__)

WEBHOOKS = "/console/webhooks"
ENDPOINT_PATH = WEBHOOKS + "/{endpoint_id}"
REPLAY_PATH = ENDPOINT_PATH  # POSTed: "send again" (its answer is the page itself)
LATEST = 5  # tries under each endpoint on the list
LOG_ROWS = 50  # tries a page of an endpoint's log
CSV_ROWS = 1000  # tries in the CSV, as the account API gives at most
SECTION = "webhooks"  # the header's section of both the webhooks and the team pages
_SINCE = "%Y-%m-%dT%H:%M"  # an <input type="datetime-local">'s value
PROBLEMS = {
    "message_id": mark("console.webhooks.problem.message_id"),
    "since": mark("console.webhooks.problem.since"),
    "body": mark("console.webhooks.problem.one"),
    "kafka": mark("console.webhooks.problem.unavailable"),
}
NAMED = (
    mark("console.section.webhooks"),
    mark("console.webhooks.on"),
    mark("console.webhooks.off"),
    mark("console.webhooks.every_type"),
    mark("console.webhooks.no_answer"),
)


async def endpoint_list(request: web.Request) -> web.Response:
    viewer = await view.viewer(request)
    lang = view.language(request)
    account = account_choice.account_of(viewer, request.query)
    context = {**await frame(request, viewer, lang, account), "problems": {}}
    context["zone"] = request.app[ZONE].key
    if not account:
        return view.render(
            request,
            "webhooks.html",
            lang,
            **context,
            **await account_choice.choices(request, request.app[REDIS], WEBHOOKS, lang),
            endpoints=[],
        )
    name, endpoints = await _endpoints(request, account)
    if name is None and viewer.operator:
        context["problems"] = {"account": mark("console.webhooks.problem.account")}
    latest = await webhook_log.tries(
        request.app[REDIS], [e.endpoint_id for e in endpoints], count=LATEST
    )
    types = await webhook_log.event_types(
        request.app[REDIS], {e: [t.message_id for _, t in got] for e, got in latest.items()}
    )
    shown = [
        {
            **endpoint_view(e, lang, request.app[ZONE]),
            "link": view.link(
                ENDPOINT_PATH.format(endpoint_id=e.endpoint_id), lang, account=_own(viewer, account)
            ),
            "tries": [
                try_row(t, types.get(t.message_id, ""), request.app[ZONE], lang)
                for _, t in latest[e.endpoint_id]
            ],
        }
        for e in endpoints
    ]
    page = view.render(
        request,
        "webhooks.html",
        lang,
        **{**context, "account_name": name or ""},
        endpoints=shown,
    )
    if name is None:
        page.set_status(404)  # the page says so, with the choice of another
    return page


async def endpoint_page(request: web.Request) -> web.StreamResponse:
    viewer = await view.viewer(request)
    account, endpoint = await endpoint_of(request, viewer, request.query)
    wanted = request.query.get("csv")
    if wanted is not None:
        if wanted != "log":
            raise web.HTTPNotFound(text=f"no table {wanted[:32]!r}", content_type="text/plain")
        return await _csv(request, endpoint)
    done = request.query.get("done", "")
    return await render_endpoint(
        request, viewer, account, endpoint, flash=done if done in ("applied", "pending") else ""
    )


async def render_endpoint(
    request: web.Request,
    viewer: Viewer,
    account: str,
    endpoint: apb.Endpoint,
    *,
    problems: Mapping[str, str] | None = None,
    posted: Mapping[str, str] | None = None,
    flash: str = "",
    status: int = 200,
) -> web.Response:
    lang = view.language(request)
    before = request.query.get("before", "")
    if not _entry_id(before):
        before = ""
    found = await webhook_log.tries(
        request.app[REDIS], [endpoint.endpoint_id], count=LOG_ROWS + 1, before=before
    )
    entries = found[endpoint.endpoint_id][: LOG_ROWS + 1]
    types = await webhook_log.event_types(
        request.app[REDIS], {endpoint.endpoint_id: [t.message_id for _, t in entries]}
    )
    own = _own(viewer, account)
    path = ENDPOINT_PATH.format(endpoint_id=endpoint.endpoint_id)
    older = (
        view.link(path, lang, account=own, before=entries[LOG_ROWS - 1][0])
        if len(entries) > LOG_ROWS
        else ""
    )
    zone = request.app[ZONE]
    page = view.render(
        request,
        "webhook.html",
        lang,
        **await frame(request, viewer, lang, account),
        endpoint=endpoint_view(endpoint, lang, zone),
        tries=[try_row(t, types.get(t.message_id, ""), zone, lang) for _, t in entries[:LOG_ROWS]],
        older=older,
        newest=view.link(path, lang, account=own) if before else "",
        csv=view.link(path, lang, account=own, csv="log"),
        replay=view.link(path, lang, account=own),
        back=view.link(WEBHOOKS, lang, account=own),
        problems=problems or {},
        posted=posted or {},
        flash=flash,
        zone=zone.key,
    )
    page.set_status(status)
    return page


async def replay(request: web.Request) -> web.StreamResponse:
    """The "send again" form: one message (its id), or every one since a time."""
    viewer = await view.viewer(request)
    form = await parse_form(request)
    if not viewer.allows(form.get("csrf", "")):
        raise web.HTTPForbidden(text="a stale form: open the page again", content_type="text/plain")
    account, endpoint = await endpoint_of(request, viewer, form)
    try:
        asked = replay_of(form, request.app[ZONE])
        event = webhooks_replayed(account, endpoint.endpoint_id, asked)
        await topics.append_accounts(request, [event])
    except ApiError as e:
        problems = {f: PROBLEMS.get(f, PROBLEMS["kafka"]) for f in e.fields}
        return await render_endpoint(
            request, viewer, account, endpoint, problems=problems, posted=form, status=e.status
        )
    log.info("webhooks replayed from the console", account_id=account, event_id=event.event_id)
    done = await account_choice.until_applied(request.app[REDIS], account, event.event_id)
    location = view.link(
        ENDPOINT_PATH.format(endpoint_id=endpoint.endpoint_id),
        view.language(request),
        account=_own(viewer, account),
        done="applied" if done else "pending",
    )
    return view.see_other(location)


def replay_of(form: Mapping[str, str], zone: ZoneInfo) -> Replay:
    """The replay a form asks for, checked as the account API checks it: `since` is the
    carrier's local time (the form's datetime-local); ApiError (422) naming the bad field.
    Pure."""
    given: dict[str, str] = {}
    message_id = form.get("message_id", "").strip()
    if message_id:
        given["message_id"] = message_id
    since = form.get("since", "").strip()
    if since:
        try:
            local = datetime.strptime(since[:16], _SINCE)
        except ValueError:
            raise ApiError(
                422, "invalid_field", "since: not a time", {"since": "not a time"}
            ) from None
        given["since"] = local.replace(tzinfo=zone).isoformat()
    try:
        return Replay.model_validate(given)
    except ValidationError as e:
        raise validation_error(e) from None


async def endpoint_of(
    request: web.Request, viewer: Viewer, asked: Mapping[str, str]
) -> tuple[str, apb.Endpoint]:
    """The account and the endpoint the path names, if the viewer may see them; else 404."""
    account = account_choice.account_of(viewer, asked)
    endpoint_id = request.match_info["endpoint_id"]
    found = None
    if account and account_choice.ACCOUNT.fullmatch(endpoint_id):
        raw = await request.app[REDIS].hget(account_endpoints_key(account), endpoint_id)
        found = apb.Endpoint.FromString(raw) if isinstance(raw, bytes) else None
    if found is None:
        raise web.HTTPNotFound(text="no such endpoint", content_type="text/plain")
    return account, found


def endpoint_view(e: apb.Endpoint, lang: str, zone: ZoneInfo) -> dict[str, Any]:
    """What a page shows of an endpoint: never its secrets."""

    def when(field: str) -> str:
        if not e.HasField(field):  # kept before the tracker dated endpoints
            return ""
        at = getattr(e, field).ToDatetime(UTC).astimezone(zone)
        return format_datetime(at, "d MMM y, HH:mm", locale=lang)

    return {
        "created": when("created_at"),
        "changed": when("changed_at"),
        "id": e.endpoint_id,
        "url": e.url,
        "description": e.description,
        "disabled": e.disabled,
        "why": e.disabled_reason,
        "types": list(e.event_types) or [text(lang, "console.webhooks.every_type")],
    }


def try_row(t: webhook_log.Try, event_type: str, zone: ZoneInfo, lang: str) -> dict[str, Any]:
    """A try as the log shows it: when, the message, its type, the answer, the attempt and
    the latency."""
    at = datetime.fromtimestamp(t.at_ms / 1000, UTC).astimezone(zone)
    ok = 200 <= t.status < 300
    return {
        "at": format_datetime(at, "d MMM y, HH:mm:ss", locale=lang),
        "iso": at.isoformat(),
        "message_id": t.message_id,
        "type": event_type,
        "status": str(t.status) if t.status else text(lang, "console.webhooks.no_answer"),
        "error": t.error,
        "ok": ok,
        "attempt": t.attempt,
        "ms": t.ms,
    }


async def _endpoints(request: web.Request, account: str) -> tuple[str | None, list[apb.Endpoint]]:
    """The account's name (None: no such account) and its endpoints, in one round trip."""
    pipe = request.app[REDIS].pipeline(transaction=False)  # one hash tag
    pipe.hget(account_key(account), "name")
    pipe.hgetall(account_endpoints_key(account))
    name, raw = await pipe.execute()
    endpoints = sorted(map(apb.Endpoint.FromString, raw.values()), key=lambda e: e.endpoint_id)
    return (reply_text(name) if name is not None else None), endpoints


async def _csv(request: web.Request, endpoint: apb.Endpoint) -> web.Response:
    found = await webhook_log.tries(request.app[REDIS], [endpoint.endpoint_id], count=CSV_ROWS)
    entries = found[endpoint.endpoint_id]
    types = await webhook_log.event_types(
        request.app[REDIS], {endpoint.endpoint_id: [t.message_id for _, t in entries]}
    )
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["at", "message_id", "event_type", "status", "error", "attempt", "ms"])
    for _, t in entries:
        at = datetime.fromtimestamp(t.at_ms / 1000, UTC).isoformat()
        kind = types.get(t.message_id, "")
        writer.writerow(
            [at, t.message_id, kind, t.status, shown.csv_cell(t.error), t.attempt, t.ms]
        )
    return shown.csv_response(out.getvalue(), f"deliveries-{endpoint.endpoint_id}.csv")


def _entry_id(raw: str) -> bool:
    """A stream entry's id, as the "older" link gives it."""
    ms, _, seq = raw.partition("-")
    return ms.isdigit() and seq.isdigit() and len(raw) <= 41


def _own(viewer: Viewer, account: str) -> str:
    """The account for a link: the operator's choice travels in it, a member's does not."""
    return "" if viewer.account else account


async def frame(request: web.Request, viewer: Viewer, lang: str, account: str) -> dict[str, Any]:
    """The header, and the webhooks and team pages' own tabs (keeping the operator's
    account)."""
    own = _own(viewer, account)
    return {
        **await pages.nav(request, viewer, lang, SECTION, {}),
        "account": account,
        "account_name": "",
        "choose": view.link(request.path, lang),
        "tabs": [
            ("webhooks", view.link(WEBHOOKS, lang, account=own)),
            ("team", view.link("/console/team", lang, account=own)),
        ],
    }
