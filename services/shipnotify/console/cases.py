"""The call-back cases: the list (open ones soonest due first, overdue ones, closed ones
latest closed first; by depot or courier) and a case's page: its answer and follow-up, who
took it, its notes, its shipment's timeline in the carrier's time zone, whom to call (the
operator alone) and the forms that change it (case_forms.py). A member of an account's team
sees the cases of its account's shipments alone; another's is a 404."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from shipnotify.console import pages, shown, view
from shipnotify.console.resources import FEEDBACK, REDIS, TRACKING, ZONE
from shipnotify.console.sessions import Viewer
from shipnotify.i18n import mark, text
from shipnotify.i18n.questions import REASON
from shipnotify.model import survey_names as names
from shipnotify.store import accounts
from shipnotify.store.feedback import Case, CaseFilter, Survey
from shipnotify.v1 import shipment_events_pb2 as pb
from shipnotify.web.case_changes import CAUSES, OUTCOMES

CASE_PATH = "/console/cases/{case_id}"
STATES = ("open", "overdue", "closed")
LIMIT = 200
_CASE_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_NAME = re.compile(r"[^\x00-\x1f\x7f]{1,128}")  # a depot's or a courier's, as the tracker keeps it

# the texts named by a part of their id (the templates make the rest)
NAMED = (
    mark("console.cases.state.open"),
    mark("console.cases.state.in_progress"),
    mark("console.cases.state.closed"),
    mark("console.cases.filter.open"),
    mark("console.cases.filter.overdue"),
    mark("console.cases.filter.closed"),
    mark("console.cases.outcome.apologised"),
    mark("console.cases.outcome.solved"),
    mark("console.cases.outcome.compensated"),
    mark("console.cases.outcome.could_not_reach"),
    mark("console.cases.cause.courier"),
    mark("console.cases.cause.depot"),
    mark("console.cases.cause.transport"),
    mark("console.cases.cause.address"),
    mark("console.cases.cause.notices"),
    mark("console.cases.cause.customer"),
    mark("console.cases.cause.other"),
    mark("console.cases.problem.state"),
    mark("console.cases.problem.depot"),
    mark("console.cases.problem.courier"),
)


def case_filter(query: Mapping[str, str]) -> tuple[CaseFilter, dict[str, str]]:
    """The list's filter from its query, and each problem by its field (message ids): a
    bad value is left out of the filter. Pure."""
    problems: dict[str, str] = {}
    state = query.get("state", "") or "open"
    if state not in STATES:
        problems["state"] = mark("console.cases.problem.state")
        state = "open"
    chosen: dict[str, str | None] = {}
    for field in ("depot", "courier"):
        raw = query.get(field, "").strip()
        if raw and not _NAME.fullmatch(raw):
            problems[field] = f"console.cases.problem.{field}"
            raw = ""
        chosen[field] = raw or None
    which = CaseFilter(
        state=state,  # type: ignore[arg-type]
        depot=chosen["depot"],
        courier_id=chosen["courier"],
        limit=LIMIT,
    )
    return which, problems


async def case_list(request: web.Request) -> web.Response:
    viewer = await view.viewer(request)
    lang = view.language(request)
    which, problems = case_filter(request.query)
    now_ms = _now_ms()
    found = await _visible(request, viewer, await request.app[FEEDBACK].cases(which, now_ms))
    asked = await asyncio.gather(*(_survey(request, case) for case in found))
    rows = [
        case_view(request, case, survey, lang, now_ms)
        for case, survey in zip(found, asked, strict=True)
    ]
    return view.render(
        request,
        "cases.html",
        lang,
        **await pages.nav(request, viewer, lang, "cases", {}),
        cases=rows,
        action=request.path,
        state=which.state,
        states=[(s, text(lang, f"console.cases.filter.{s}")) for s in STATES],
        depot=which.depot or "",
        courier=which.courier_id or "",
        problems=problems,
        zone=request.app[ZONE].key,
    )


async def case_page(request: web.Request) -> web.Response:
    viewer = await view.viewer(request)
    case = await case_of(request, viewer)
    done = request.query.get("done", "")
    return await render_case(
        request, viewer, case, flash=done if done in ("applied", "pending") else ""
    )


async def render_case(
    request: web.Request,
    viewer: Viewer,
    case: Case,
    *,
    problems: Mapping[str, str] | None = None,
    posted: Mapping[str, str] | None = None,
    flash: str = "",
    status: int = 200,
) -> web.Response:
    """The case's page; `problems` (field -> message id) and `posted` (the form as sent)
    when a form was refused."""
    lang = view.language(request)
    now_ms = _now_ms()
    asked, shipment = await asyncio.gather(
        _survey(request, case), request.app[TRACKING].shipment(case.shipment_id)
    )
    zone = request.app[ZONE]
    timeline = shown.timeline(request, lang, (shipment.timeline if shipment is not None else []))
    base = CASE_PATH.format(case_id=case.case_id)
    page = view.render(
        request,
        "case.html",
        lang,
        **await pages.nav(request, viewer, lang, "cases", {}),
        case=case_view(request, case, asked, lang, now_ms),
        tracking_id=shipment.tracking_id if shipment is not None else "",
        timeline=timeline,
        zone=zone.key,
        customer=_customer(asked) if viewer.operator else None,
        forms={action: view.link(f"{base}/{action}", lang) for action in ("take", "note", "close")},
        outcomes=[(o, text(lang, f"console.cases.outcome.{o}")) for o in OUTCOMES],
        causes=[(c, text(lang, f"console.cases.cause.{c}")) for c in CAUSES],
        back=view.link(pages.CASES, lang),
        problems=problems or {},
        posted=posted or {},
        flash=flash,
        here=base,
    )
    page.set_status(status)
    return page


async def case_of(request: web.Request, viewer: Viewer) -> Case:
    """The case the path names, if the viewer may see it; else 404."""
    case_id = request.match_info["case_id"]
    case = await request.app[FEEDBACK].case(case_id) if _CASE_ID.fullmatch(case_id) else None
    if case is None or not await _may_see(request, viewer, case):
        raise web.HTTPNotFound(text="no such case", content_type="text/plain")
    return case


def case_view(
    request: web.Request, case: Case, asked: Survey | None, lang: str, now_ms: int
) -> dict[str, Any]:
    """What the list and the page show of a case, in `lang`."""
    answer = case.answer or (asked.answer if asked else None)
    follow_up = case.follow_up or (asked.follow_up if asked else None)
    party = asked.sent.party if asked is not None and asked.sent is not None else 0
    closed = None
    if case.closed is not None:
        outcome = names.name_of(names.OUTCOMES, case.closed.outcome)
        cause = names.name_of(names.CAUSES, case.closed.cause)
        closed = {
            "outcome": text(lang, f"console.cases.outcome.{outcome}") if outcome else "",
            "cause": text(lang, f"console.cases.cause.{cause}") if cause else "",
            "note": case.closed.note,
            "by": case.closed.operator,
            "at": shown.when(request, case.closed_at_ms, lang) if case.closed_at_ms else "",
        }
    scale = names.name_of(names.SCALES, answer.scale) if answer else None
    source = names.name_of(names.SOURCES, answer.source) if answer else None
    role = names.name_of(names.PARTIES, party)
    return {
        "case_id": case.case_id,
        "shipment_id": case.shipment_id,
        "link": view.link(CASE_PATH.format(case_id=case.case_id), lang),
        "state": case.state,
        "state_label": text(lang, f"console.cases.state.{case.state}"),
        "overdue": case.overdue(now_ms),
        "opened": shown.when(request, case.opened_at_ms, lang),
        "due": shown.when(request, case.due_at_ms, lang),
        "depot": case.depot,
        "courier": case.courier_id,
        "answer": {
            "scale": scale.upper() if scale else "",
            "score": answer.score,
            "source": text(lang, f"console.channel.{source}") if source else "",
            "party": text(lang, f"console.party.{role}") if role else "",
        }
        if answer is not None
        else None,
        "reason": text(lang, REASON.get(follow_up.reason, "reason.other")) if follow_up else "",
        "comment": follow_up.comment if follow_up else "",
        "taken_by": case.taken_by,
        "notes": [
            {"at": shown.when(request, n.at_ms, lang), "operator": n.operator, "text": n.text}
            for n in case.notes
        ],
        "closed": closed,
    }


def _customer(asked: Survey | None) -> dict[str, str] | None:
    """Whom to call: the person the survey asked, by the phone or the address it went to
    (none for the tracking page's answer: nobody was sent a survey)."""
    sent = asked.sent if asked is not None else None
    if sent is None:
        return None
    by_sms = sent.channel == pb.CHANNEL_SMS
    return {
        "name": sent.name,
        "phone": sent.address if by_sms else "",
        "email": "" if by_sms else sent.address,
    }


async def _may_see(request: web.Request, viewer: Viewer, case: Case) -> bool:
    """The operator sees every case; a team member its account's shipments' alone."""
    if viewer.operator:
        return True
    return await accounts.owner(request.app[REDIS], case.shipment_id) == viewer.account


async def _visible(request: web.Request, viewer: Viewer, found: list[Case]) -> list[Case]:
    if viewer.operator:
        return found
    owners = await accounts.owners(request.app[REDIS], [c.shipment_id for c in found])
    return [c for c, owner in zip(found, owners, strict=True) if owner == viewer.account]


async def _survey(request: web.Request, case: Case) -> Survey | None:
    return await request.app[FEEDBACK].survey(case.shipment_id, case.survey_id)


def _now_ms() -> int:
    return int(datetime.now(UTC).timestamp() * 1000)
