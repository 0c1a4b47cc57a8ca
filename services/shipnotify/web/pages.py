"""What the server-rendered pages share: a Jinja2 environment per language (templates in
files, autoescaped, `_()` the catalogs' text), the languages by their own names for a
switch, and JSON safe inside a <script> data block (the pages run no inline code: their
scripts read their settings and words from such a block)."""

from __future__ import annotations

import functools
import json

from babel import Locale
from jinja2 import BytecodeCache, Environment, PackageLoader, StrictUndefined
from jinja2.bccache import Bucket
from markupsafe import Markup

from shipnotify import i18n


def script_json(value: object) -> str:
    """JSON for inside a <script> element: no "</" nor "<!--" can end or derail it."""
    return json.dumps(value).replace("</", "<\\/").replace("<!--", "<\\u0021--")


def own_name(code: str) -> str:
    """A language by its own name, capitalized as a menu shows it: "Русский", "Română"."""
    name = Locale.parse(code).get_display_name(code) or code
    return name[:1].upper() + name[1:]


class _Compiled(BytecodeCache):
    """Templates' compiled code kept in memory by name and source, so that the languages'
    environments (the same templates, made alike) compile each template once, not once a
    language (a page's templates take some 40 ms to compile)."""

    def __init__(self) -> None:
        self._code: dict[str, bytes] = {}

    def load_bytecode(self, bucket: Bucket) -> None:
        code = self._code.get(bucket.key)
        if code is not None:
            bucket.bytecode_from_string(code)  # dropped by the bucket if its source changed

    def dump_bytecode(self, bucket: Bucket) -> None:
        self._code[bucket.key] = bucket.bytecode_to_string()


_COMPILED = _Compiled()


@functools.cache
def environment(package: str, lang: str) -> Environment:
    """The environment of `package`'s templates/ in `lang`: its catalog behind `_()`, every
    value escaped, an undefined name an error."""
    env = Environment(
        loader=PackageLoader(package),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        extensions=["jinja2.ext.i18n"],
        bytecode_cache=_COMPILED,
    )
    # _() says what i18n.text() says (an alias resolved); the i18n extension adds this
    # method, which the type of Environment does not declare.
    env.install_gettext_callables(  # type: ignore[attr-defined]
        functools.partial(i18n.text, lang), i18n.translations(lang).ngettext, newstyle=True
    )
    env.globals.update(lang=lang, languages={c: own_name(c) for c in i18n.LANGUAGES})
    env.filters["script_json"] = lambda value: Markup(script_json(value))  # noqa: S704
    return env
