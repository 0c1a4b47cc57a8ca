"""The case page's forms: take the case (the operator's name), a note, close it (an outcome
and a cause, from the lists hooks' case API takes, and a note). Each carries its session's
token (else 403); each change is the feedback event hooks' API appends
(web/case_changes.py), refused for a closed case (409) or a bad field (422: the page naming
it), appended acks=all (503: the page saying nothing was recorded). The answer, a 303 to the
case's page, waits until the tracker has applied the change (3 s at most), so that the page
shows it; it says so when the change is not applied yet. A note and a closing are the
operator's who took the case (else the one signed in): the forms ask for no name twice."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from datetime import UTC, datetime

from aiohttp import web
from pydantic import ValidationError

from shipnotify import backoff, logs
from shipnotify.console import cases, view
from shipnotify.console.resources import FEEDBACK
from shipnotify.console.sessions import Viewer
from shipnotify.i18n import mark
from shipnotify.store import UNREACHABLE
from shipnotify.store.feedback import Case
from shipnotify.web import ApiError, case_changes, parse_form, validation_error
from shipnotify.web import event_log as topics
from shipnotify.web.case_changes import CloseCase, NoteCase, TakeCase

log = logs.get(__name__)
APPLIED_WAIT_S = 3.0
_FIELDS = ("operator", "note", "outcome", "cause")
PROBLEMS = {
    "operator": mark("console.cases.problem.operator"),
    "note": mark("console.cases.problem.note"),
    "outcome": mark("console.cases.problem.outcome"),
    "cause": mark("console.cases.problem.cause"),
    "case": mark("console.cases.problem.closed"),
    "kafka": mark("console.cases.problem.unavailable"),
}


async def take(request: web.Request) -> web.StreamResponse:
    return await _change(request, "take")


async def note(request: web.Request) -> web.StreamResponse:
    return await _change(request, "note")


async def close(request: web.Request) -> web.StreamResponse:
    return await _change(request, "close")


def change_of(
    action: str, form: Mapping[str, str], case: Case, viewer: Viewer
) -> TakeCase | NoteCase | CloseCase:
    """The change a form asks for, checked as hooks' API checks it; ApiError (422) naming
    each bad field. Pure."""
    given = {k: form[k] for k in _FIELDS if k in form}
    author = {"operator": case.taken_by or viewer.name}
    try:
        if action == "take":
            return TakeCase.model_validate({"operator": given.get("operator", "").strip()})
        if action == "note":
            return NoteCase.model_validate({**author, "note": given.get("note", "")})
        fields = {k: given[k] for k in ("outcome", "cause", "note") if given.get(k)}
        return CloseCase.model_validate({**author, **fields})
    except ValidationError as e:
        raise validation_error(e) from None


def applied(change: TakeCase | NoteCase | CloseCase, before: Case) -> Callable[[Case], bool]:
    """Whether a case read since shows the change."""
    if isinstance(change, TakeCase):
        return lambda now: now.state != "open" and now.taken_by == change.operator
    if isinstance(change, NoteCase):
        return lambda now: len(now.notes) > len(before.notes) or now.state == "closed"
    return lambda now: now.state == "closed"


async def _change(request: web.Request, action: str) -> web.StreamResponse:
    viewer = await view.viewer(request)
    form = await parse_form(request)
    if not viewer.allows(form.get("csrf", "")):
        raise web.HTTPForbidden(text="a stale form: open the case again", content_type="text/plain")
    case = await cases.case_of(request, viewer)
    try:
        case_changes.open_only(case)
        change = change_of(action, form, case, viewer)
        event = case_changes.change_event(case, change, datetime.now(UTC))
        await topics.append_feedback(request, [event])
    except ApiError as e:
        fields = {"case": ""} if e.status == 409 else e.fields
        problems = {f: PROBLEMS.get(f, PROBLEMS["kafka"]) for f in fields}
        return await cases.render_case(
            request, viewer, case, problems=problems, posted=form, status=e.status
        )
    log.info("case changed", case_id=case.case_id, event_id=event.event_id, action=action)
    done = await _until_applied(request, case.case_id, applied(change, case))
    location = view.link(
        cases.CASE_PATH.format(case_id=case.case_id),
        view.language(request),
        done="applied" if done else "pending",
    )
    return view.see_other(location)


async def _until_applied(request: web.Request, case_id: str, shows: Callable[[Case], bool]) -> bool:
    """Whether the tracker applied the change within APPLIED_WAIT_S (a few ms, as a rule);
    the change is durable either way."""
    try:
        async with asyncio.timeout(APPLIED_WAIT_S):
            async for _ in backoff.attempts(first_s=0.01, cap_s=0.2):
                found = await request.app[FEEDBACK].case(case_id)
                if found is not None and shows(found):
                    return True
    except (*UNREACHABLE, TimeoutError):
        pass
    log.warning("case change not yet applied", case_id=case_id)
    return False
