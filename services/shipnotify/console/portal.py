"""The business customer's pages of the console beside the figures: the webhook endpoints
with their delivery logs and replays (webhooks.py) and the team (team.py). Their routes, for
app.py's table."""

from __future__ import annotations

from pydantic import BaseModel

from shipnotify.console import team, webhooks
from shipnotify.web import Route

_PAGE: dict[int, tuple[str, type[BaseModel] | None]] = {
    200: ("the page (HTML)", None),
    303: ("not signed in: to the sign-in page", None),
}
_QUERY = [
    {"name": name, "in": "query", "required": False, "schema": {"type": "string"}, "description": d}
    for name, d in (
        ("account", "the operator's choice of account; a team member's own, whatever is asked"),
        ("page", "the operator's list of accounts to choose from: its page, from 1"),
        ("lang", "en, ru or ro; by default the browser's"),
    )
]
_FORM: dict[int, tuple[str, type[BaseModel] | None]] = {
    303: (
        "appended to the accounts topic: back to the page (once the tracker applied it, or"
        " after 3 s saying it is not yet)",
        None,
    ),
    403: ("a stale form (not the session's token)", None),
    404: ("no such account or endpoint, or another account's", None),
    422: ("a bad field: the page naming it", None),
    503: ("Kafka did not acknowledge: nothing recorded; the page saying so", None),
}
ROUTES = [
    Route(
        "GET",
        webhooks.WEBHOOKS,
        webhooks.endpoint_list,
        "Console: the account's webhook endpoints, each with its latest tries",
        {**_PAGE, 404: ("no such account: the page saying so", None)},
        parameters=_QUERY,
        tag="console",
    ),
    Route(
        "GET",
        webhooks.ENDPOINT_PATH,
        webhooks.endpoint_page,
        "Console: a webhook endpoint, its delivery log (50 tries a page, `before=` the next;"
        " `csv=log`: the latest 1000 as CSV) and the form that sends messages again",
        {**_PAGE, 404: ("no such endpoint, or another account's; or no such table", None)},
        parameters=[
            *_QUERY,
            {
                "name": "before",
                "in": "query",
                "required": False,
                "schema": {"type": "string"},
                "description": "the tries older than this log entry (the page's `older` link)",
            },
            {
                "name": "csv",
                "in": "query",
                "required": False,
                "schema": {"type": "string", "enum": ["log"]},
                "description": "the log as CSV",
            },
        ],
        tag="console",
    ),
    Route(
        "POST",
        webhooks.REPLAY_PATH,
        webhooks.replay,
        "Console: send again one message, or every message since a time, to the endpoint (a"
        " form, posted to the endpoint's page; the account API's replay)",
        _FORM,
        tag="console",
    ),
    Route(
        "GET",
        team.TEAM,
        team.team_page,
        "Console: the account's team, as a form",
        {**_PAGE, 404: ("no such account", None)},
        parameters=_QUERY,
        tag="console",
    ),
    Route(
        "POST",
        team.TEAM,
        team.save,
        "Console: the account's whole team (a form; the account API's set_team)",
        {**_FORM, 409: ("the team changed since the form was made: the page as it stands", None)},
        tag="console",
    ),
]
