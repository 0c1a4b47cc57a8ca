"""The courier app's static files (static/): read once at start-up and served from memory
under one version, a hash of them all: `/courier/static/<version>/app.js`.

One version for the whole folder, not a hash per file (as status_api's page has): the
scripts are ES modules that import each other by relative name (`./db.js`), and the service
worker precaches the folder as one set; a changed file changes every URL, so a browser never
mixes two versions and keeps each version's files for a year without asking again.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from importlib.resources import files
from importlib.resources.abc import Traversable

PREFIX = "/courier/static/"
CACHE_CONTROL = "public, max-age=31536000, immutable"
# The list of the version's files, for the service worker to precache; made here, not a file.
LISTING = "files.json"
_TYPES = {
    ".js": "text/javascript",
    ".css": "text/css",
    ".png": "image/png",
    ".json": "application/json",
}
_TEXT = frozenset({"text/javascript", "text/css", "application/json"})


@dataclass(frozen=True)
class StaticFile:
    name: str
    body: bytes
    content_type: str

    @property
    def charset(self) -> str | None:
        return "utf-8" if self.content_type in _TEXT else None


@dataclass(frozen=True)
class Shell:
    version: str  # the first 12 hex digits of the SHA-256 of every file's name and content
    by_name: dict[str, StaticFile]

    def url(self, name: str) -> str:
        """The versioned URL of a file of the folder (KeyError for a name it lacks)."""
        return f"{PREFIX}{self.version}/{self.by_name[name].name}"

    def get(self, version: str, name: str) -> StaticFile | None:
        """The file asked for, if the version is this one (an earlier version's is gone)."""
        return self.by_name.get(name) if version == self.version else None


def load(folder: Traversable | None = None) -> Shell:
    """The files of `folder` (by default the app's, static/ in this package)."""
    folder = folder or files("shipnotify.ingest").joinpath("static")
    found = sorted(
        (f.name, f.read_bytes())
        for f in folder.iterdir()
        if "." + f.name.rpartition(".")[2] in _TYPES
    )
    digest = hashlib.sha256()
    for name, body in found:
        digest.update(name.encode() + b"\0" + hashlib.sha256(body).digest())
    version = digest.hexdigest()[:12]
    by_name = {n: StaticFile(n, b, _TYPES["." + n.rpartition(".")[2]]) for n, b in found}
    listing = json.dumps([f"{PREFIX}{version}/{n}" for n in by_name]).encode()
    by_name[LISTING] = StaticFile(LISTING, listing, "application/json")
    return Shell(version, by_name)
