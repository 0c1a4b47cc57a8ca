"""The pages a browser sees before it is signed in (the sign-in forms, a link's page): each
form carries a token that must match the one in a SameSite=Strict cookie set with the page
(a double submit), so another site cannot post them on a browser's behalf."""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Mapping

from aiohttp import web

from shipnotify.console import view

COOKIE = "shipnotify_console_form"
SIGN_IN, ASK = "/console/sign-in", "/console/sign-in/link"


def page(
    request: web.Request, template: str, *, status: int = 200, **context: object
) -> web.Response:
    """A signed-out page with a fresh form token, in the cookie and for its forms."""
    lang = view.language(request)
    token = secrets.token_urlsafe(32)
    shown = {
        "action": view.link(SIGN_IN, lang),
        "ask": view.link(ASK, lang),
        "error": "",
        **context,
    }
    response = view.render(request, template, lang, csrf=token, **shown)
    response.set_status(status)
    view.set_cookie(response, request, COOKIE, token, 3600)
    return response


def checked(request: web.Request, posted: Mapping[str, str]) -> bool:
    """Whether a posted form carries the token of its page's cookie."""
    sent, kept = posted.get("csrf", ""), request.cookies.get(COOKIE, "")
    return bool(sent) and hmac.compare_digest(sent.encode(), kept.encode())


def done(response: web.StreamResponse) -> None:
    """The form's cookie is not needed once signed in."""
    response.del_cookie(COOKIE, path="/console")
