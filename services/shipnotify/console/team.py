"""A business customer's team (`/console/team`) as one form: each member's name, role, email,
phone, language, time zone, channels and the statuses they hear; a member changed, one added
(the empty row at the end), one removed (its box ticked). Saving appends the whole team as
the account API's `set_team` appends it (web/account_changes.py: the same rules; a bad field
is the page again naming it, 422), then the 303 back waits until the tracker applied it.
The form carries the digest of the team it was made from: a team changed meanwhile is not
overwritten unseen (409, the page as it now stands). A team member edits their own
account's team; the operator any account's, chosen."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any, get_args

from aiohttp import web
from pydantic import ValidationError

from shipnotify import logs
from shipnotify.console import account_choice, view, webhooks
from shipnotify.console.resources import REDIS
from shipnotify.console.sessions import Viewer
from shipnotify.i18n import LANGUAGES, mark, text
from shipnotify.i18n.labels import STATUS_LABELS
from shipnotify.model.status import Status
from shipnotify.store.keys import account_key
from shipnotify.store.replies import text as reply_text
from shipnotify.v1 import accounts_pb2 as apb
from shipnotify.v1 import shipment_events_pb2 as pb
from shipnotify.web import ApiError, parse_form, validation_error
from shipnotify.web import event_log as topics
from shipnotify.web.account_changes import MAX_TEAM, Team, team_set
from shipnotify.web.contacts import CourierStatus

log = logs.get(__name__)

TEAM = "/console/team"
FIELDS = ("name", "role", "email", "phone", "locale", "time_zone", "channels")
STATUSES: tuple[str, ...] = get_args(CourierStatus)  # what a member may hear, in order
# the channels, in the order preferred: "" is every channel the member has an address for
CHANNELS = ("", "email", "sms", "email,sms", "sms,email")
_CHANNEL = {pb.CHANNEL_SMS: "sms", pb.CHANNEL_EMAIL: "email"}
PROBLEMS = {
    "name": mark("console.team.problem.name"),
    "role": mark("console.team.problem.role"),
    "email": mark("console.team.problem.email"),
    "phone": mark("console.team.problem.phone"),
    "locale": mark("console.team.problem.locale"),
    "time_zone": mark("console.team.problem.time_zone"),
    "channels": mark("console.team.problem.channels"),
    "statuses": mark("console.team.problem.statuses"),
    "member": mark("console.team.problem.reachable"),
    "members": mark("console.team.problem.too_many"),
    "team": mark("console.team.problem.changed"),
    "kafka": mark("console.team.problem.unavailable"),
}
NAMED = (
    mark("console.team.name"),
    mark("console.team.role"),
    mark("console.team.email"),
    mark("console.team.phone"),
    mark("console.team.statuses"),
    mark("console.team.channels.any"),
    mark("console.team.channels.email"),
    mark("console.team.channels.sms"),
    mark("console.team.channels.email,sms"),
    mark("console.team.channels.sms,email"),
)


def rows_of(members: Sequence[apb.TeamMember]) -> list[dict[str, Any]]:
    """The form's rows of a team as kept. Pure."""
    return [
        {
            "name": m.name,
            "role": m.role,
            "email": m.email,
            "phone": m.phone,
            "locale": m.locale,
            "time_zone": m.time_zone,
            "channels": ",".join(_CHANNEL.get(c, "") for c in m.channels),
            "hears": [Status.from_proto(s).value for s in m.statuses],
            "remove": False,
        }
        for m in members
    ]


def posted_rows(form: Mapping[str, str]) -> list[dict[str, Any]]:
    """The form's rows as sent (`m-<i>-<field>`, `m-<i>-hears-<status>`, `m-<i>-remove`),
    in order, the empty ones left out. Pure."""
    count = min(int(form["rows"]), MAX_TEAM + 1) if form.get("rows", "").isdigit() else 0
    rows = []
    for i in range(count):
        row: dict[str, Any] = {f: form.get(f"m-{i}-{f}", "").strip() for f in FIELDS}
        row["hears"] = [s for s in STATUSES if form.get(f"m-{i}-hears-{s}")]
        row["remove"] = bool(form.get(f"m-{i}-remove"))
        if any(row[f] for f in ("name", "role", "email", "phone")) or row["remove"]:
            rows.append(row)
    return rows


def team_of(rows: Sequence[Mapping[str, Any]]) -> Team:
    """The team the rows make (those marked removed left out), checked as the account API
    checks it; ApiError (422) whose fields are `<row>.<field>` (the row's number in
    `rows`, from 0), `<row>.member` for a member no channel reaches, or `members`. Pure."""
    kept = [i for i, r in enumerate(rows) if not r["remove"]]
    members = []
    for i in kept:
        r = rows[i]
        given: dict[str, Any] = {
            f: r[f] for f in ("name", "role", "email", "phone", "locale", "time_zone") if r[f]
        }
        given.setdefault("name", "")
        if r["channels"]:
            given["channels"] = r["channels"].split(",")
        if r["hears"]:
            given["statuses"] = list(r["hears"])
        members.append(given)
    try:
        return Team.model_validate({"members": members})
    except ValidationError as e:
        refused = validation_error(e)
    fields: dict[str, str] = {}
    for name, message in refused.fields.items():
        parts = name.split(".")
        if parts[0] != "members" or len(parts) < 2 or not parts[1].isdigit():
            fields["members"] = message
            continue
        row = kept[int(parts[1])]
        field = parts[2] if len(parts) > 2 and parts[2] in PROBLEMS else "member"
        fields.setdefault(f"{row}.{field}", message)
    raise ApiError(422, "invalid_field", refused.message, fields)


def digest(members: Sequence[apb.TeamMember]) -> str:
    """The team's version, as a form carries it."""
    kept = apb.TeamSet(members=members).SerializeToString(deterministic=True)
    return hashlib.sha256(kept).hexdigest()[:24]


async def team_page(request: web.Request) -> web.Response:
    viewer = await view.viewer(request)
    account = account_choice.account_of(viewer, request.query)
    done = request.query.get("done", "")
    return await render_team(
        request, viewer, account, flash=done if done in ("applied", "pending") else ""
    )


async def render_team(
    request: web.Request,
    viewer: Viewer,
    account: str,
    *,
    rows: list[dict[str, Any]] | None = None,
    problems: Mapping[str, str] | None = None,
    flash: str = "",
    status: int = 200,
) -> web.Response:
    lang = view.language(request)
    context = {**await webhooks.frame(request, viewer, lang, account), "problems": {}}
    if not account:
        return view.render(
            request,
            "team.html",
            lang,
            **context,
            **await account_choice.choices(request, request.app[REDIS], TEAM, lang),
        )
    name, members = await _team(request, account)
    if name is None:
        if not viewer.operator:
            raise web.HTTPNotFound(text="no such account", content_type="text/plain")
        context["problems"] = {"account": mark("console.webhooks.problem.account")}
        unknown = view.render(request, "team.html", lang, **context)
        unknown.set_status(404)
        return unknown
    shown = rows if rows is not None else rows_of(members)
    blank = {f: "" for f in FIELDS} | {"hears": [], "remove": False}
    context["problems"] = problems or {}
    page = view.render(
        request,
        "team.html",
        lang,
        **{**context, "account_name": name},
        rows=[*shown, blank] if len(shown) < MAX_TEAM else shown,
        version=digest(members),
        save=view.link(TEAM, lang, account="" if viewer.account else account),
        statuses=[(s, STATUS_LABELS[lang][Status(s)]) for s in STATUSES],
        channels=[(c, text(lang, f"console.team.channels.{c or 'any'}")) for c in CHANNELS],
        langs=LANGUAGES,
        flash=flash,
    )
    page.set_status(status)
    return page


async def save(request: web.Request) -> web.StreamResponse:
    viewer = await view.viewer(request)
    form = await parse_form(request)
    if not viewer.allows(form.get("csrf", "")):
        raise web.HTTPForbidden(text="a stale form: open the page again", content_type="text/plain")
    account = account_choice.account_of(viewer, form)
    if not account:
        raise web.HTTPNotFound(text="no such account", content_type="text/plain")
    name, members = await _team(request, account)
    if name is None:
        raise web.HTTPNotFound(text="no such account", content_type="text/plain")
    rows = posted_rows(form)
    if form.get("version", "") != digest(members):
        problems = {"team": PROBLEMS["team"]}
        return await render_team(request, viewer, account, problems=problems, status=409)
    try:
        event = team_set(account, team_of(rows))
        await topics.append_accounts(request, [event])
    except ApiError as e:
        problems = {k: _problem(k) for k in e.fields} if e.status == 422 else {}
        if e.status != 422:
            problems = {"kafka": PROBLEMS["kafka"]}
        return await render_team(
            request, viewer, account, rows=rows, problems=problems, status=e.status
        )
    log.info("team set from the console", account_id=account, event_id=event.event_id)
    done = await account_choice.until_applied(request.app[REDIS], account, event.event_id)
    location = view.link(
        TEAM,
        view.language(request),
        account="" if viewer.account else account,
        done="applied" if done else "pending",
    )
    return view.see_other(location)


def _problem(field: str) -> str:
    return PROBLEMS.get(field.rpartition(".")[2], PROBLEMS["member"])


async def _team(request: web.Request, account: str) -> tuple[str | None, list[apb.TeamMember]]:
    """The account's name (None: no such account) and its team, in one round trip."""
    name, team = await request.app[REDIS].hmget(account_key(account), ["name", "team"])
    members = list(apb.TeamSet.FromString(team).members) if isinstance(team, bytes) else []
    return (reply_text(name) if name is not None else None), members
