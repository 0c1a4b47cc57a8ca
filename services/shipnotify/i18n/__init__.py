"""Everything a user reads, in their language: one gettext catalog per language under
locales/, extracted from the code and the templates and compiled by Babel (`make i18n`).

Message ids are keys (`status.delivered`, `sms.recipient.out_for_delivery`), not English
sentences: the code names a text, every catalog (English too) holds it. A language is
served when its compiled catalog is here; README.md, "Languages", says how to add one.

A catalog may answer a message id with `=` and another id (`=sms.generic`): that language has
no text of its own for the first and says the second's (this package's README).
"""

from __future__ import annotations

import functools
from gettext import GNUTranslations, NullTranslations
from importlib.resources import files
from pathlib import Path

from babel.support import Translations

DOMAIN = "messages"
DEFAULT = "en"
LOCALES = Path(str(files("shipnotify.i18n") / "locales"))
ALIAS = "="  # a text "=other.id": this language says other.id's text there


def _languages() -> tuple[str, ...]:
    found = {p.parent.parent.name for p in LOCALES.glob(f"*/LC_MESSAGES/{DOMAIN}.mo")}
    return (DEFAULT, *sorted(found - {DEFAULT}))


LANGUAGES = _languages()


def mark(message_id: str) -> str:
    """Marks a message id for extraction where the code names it before it looks it up."""
    return message_id


@functools.cache
def translations(lang: str) -> NullTranslations:
    """The catalog of `lang` (one of LANGUAGES), falling back to English for a message it
    lacks (the tests keep every catalog complete; a gap must never show a key)."""
    english = Translations.load(str(LOCALES), [DEFAULT], DOMAIN)
    if not isinstance(english, GNUTranslations):  # an install without its catalogs
        raise LookupError(f"no compiled catalogs in {LOCALES}")
    if lang == DEFAULT:
        return english
    found = Translations.load(str(LOCALES), [lang], DOMAIN)
    if not isinstance(found, GNUTranslations):
        raise LookupError(f"no catalog for language {lang!r}")
    found.add_fallback(english)
    return found


def text(lang: str, message_id: str) -> str:
    """The text of `message_id` in `lang`; where the catalog says `=other.id`, the text of
    `other.id` in `lang` (one step: the tests keep an alias from naming another alias)."""
    found = translations(lang).gettext(message_id)
    if found.startswith(ALIAS):
        return translations(lang).gettext(found.removeprefix(ALIAS))
    return found


def language_for(locale: str) -> str:
    """The language of LANGUAGES for a locale such as "ru-MD" or "ro_MD"; English otherwise."""
    lang = locale.strip().replace("_", "-").split("-")[0].lower()
    return lang if lang in LANGUAGES else DEFAULT


def negotiate(accept_language: str | None) -> str:
    """The best of LANGUAGES for an Accept-Language header (RFC 9110 q-values)."""
    best, best_q = DEFAULT, 0.0
    for part in (accept_language or "").split(","):
        tag, _, params = part.strip().partition(";")
        lang = tag.strip().lower().split("-")[0]
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                continue
        if lang in LANGUAGES and q > best_q:
            best, best_q = lang, q
    return best
