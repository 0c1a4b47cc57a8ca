"""Who is signed in to the console: a session in Redis under the SHA-256 of a random token
that only the browser's cookie holds (HttpOnly, SameSite=Strict, Secure over https), with
the CSRF token its forms carry. A session ends when signed out or `console_session_s` after
it began, whatever happens in between."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

from redis.asyncio import Redis

from shipnotify.store.keys import console_session_key
from shipnotify.store.replies import text

COOKIE = "shipnotify_console"


@dataclass(frozen=True)
class Viewer:
    """Who a session is: the operator (every account's data) or a member of one account's
    team (that account's data alone)."""

    name: str
    account: str = ""  # "": the operator
    csrf: str = ""

    @property
    def operator(self) -> bool:
        return not self.account

    def allows(self, csrf: str) -> bool:
        return bool(csrf) and hmac.compare_digest(csrf, self.csrf)


class Sessions:
    def __init__(self, redis: Redis, *, lifetime_s: int) -> None:
        self._redis = redis
        self._lifetime_s = lifetime_s

    async def begin(self, viewer: Viewer) -> tuple[str, Viewer]:
        """A new session for `viewer`; its token (for the cookie) and the viewer with the
        session's CSRF token."""
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        key = console_session_key(_digest(token))
        pipe = self._redis.pipeline(transaction=True)  # one key
        began = str(int(time.time()))
        pipe.hset(
            key,
            mapping={"name": viewer.name, "account": viewer.account, "csrf": csrf, "began": began},
        )
        pipe.expire(key, self._lifetime_s)
        await pipe.execute()
        return token, Viewer(viewer.name, viewer.account, csrf)

    async def find(self, token: str | None) -> Viewer | None:
        if not token or len(token) > 100:
            return None
        found = await self._redis.hgetall(console_session_key(_digest(token)))
        if not found:
            return None
        got = {text(k): text(v) for k, v in found.items()}
        return Viewer(got.get("name", ""), got.get("account", ""), got.get("csrf", ""))

    async def end(self, token: str | None) -> None:
        if token and len(token) <= 100:
            await self._redis.delete(console_session_key(_digest(token)))


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
