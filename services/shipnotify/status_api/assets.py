"""The tracking page's stylesheet and script (static/), read once at start-up and served from
memory under names that carry a hash of their content (`page.3f5e0c9a1b2d.css`): a browser
keeps them for a year without asking again, and a changed file gets a new name, so a page
never meets an older script or stylesheet than its own. The service worker alone keeps its
own name (`push-worker.js`), revalidated at each check: a browser finds its new versions at
the URL it registered."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib.resources import files

CACHE_CONTROL = "public, max-age=31536000, immutable"
PREFIX = "/static/"
_TYPES = {".css": "text/css", ".js": "text/javascript"}
# The service worker keeps its name: a browser checks its registration's script URL for a
# new version, so the URL must stay the same (and the answer must be revalidated).
WORKER_SOURCE = "push-worker.js"
WORKER_CACHE_CONTROL = "no-cache"


@dataclass(frozen=True)
class Asset:
    name: str  # the versioned name, e.g. page.3f5e0c9a1b2d.css
    body: bytes
    content_type: str

    @property
    def url(self) -> str:
        return PREFIX + self.name


def versioned(source: str, body: bytes) -> str:
    """`page.css` with the first 12 hex digits of its SHA-256: `page.<digest>.css`."""
    stem, dot, ext = source.rpartition(".")
    return f"{stem}.{hashlib.sha256(body).hexdigest()[:12]}{dot}{ext}"


def _load() -> dict[str, Asset]:
    found = {}
    for file in files("shipnotify.status_api").joinpath("static").iterdir():
        ext = "." + file.name.rpartition(".")[2]
        if ext in _TYPES:
            body = file.read_bytes()
            name = file.name if file.name == WORKER_SOURCE else versioned(file.name, body)
            found[file.name] = Asset(name, body, _TYPES[ext])
    return found


ASSETS = _load()  # by source name: ASSETS["page.css"].url
BY_NAME = {a.name: a for a in ASSETS.values()}  # by the name requested (versioned but one)
WORKER = ASSETS[WORKER_SOURCE]
