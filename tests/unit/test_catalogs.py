"""The gettext catalogs: extracted from the code as it is, complete in every language,
compiled from what the .po files say; and the README's steps to add a language work."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po, write_po

from shipnotify import i18n

ROOT = Path(__file__).resolve().parents[2]
I18N = ROOT / "services" / "shipnotify" / "i18n"


def po(path: Path) -> Catalog:
    with path.open("rb") as f:
        return read_po(f)


def extracted() -> set[str]:
    with (I18N / "babel.cfg").open() as f:
        method_map, options_map = parse_mapping_cfg(f)  # type: ignore[no-untyped-call]
    keywords = {"mark": None, "_": None, "gettext": None, "ngettext": (1, 2)}
    found = extract_from_dir(
        str(ROOT / "services" / "shipnotify"), method_map, options_map, keywords=keywords
    )
    return {message for _, _, message, _, _ in found if isinstance(message, str)}


def ids(catalog: Catalog) -> set[str]:
    return {str(m.id) for m in catalog if m.id}


def test_the_template_holds_what_the_code_and_templates_name() -> None:
    assert ids(po(I18N / "messages.pot")) == extracted(), "run make i18n"


@pytest.mark.parametrize("lang", i18n.LANGUAGES)
def test_every_catalog_is_complete(lang: str) -> None:
    catalog = po(I18N / "locales" / lang / "LC_MESSAGES" / "messages.po")
    assert ids(catalog) == ids(po(I18N / "messages.pot")), "run make i18n"
    untranslated = [m.id for m in catalog if m.id and (not m.string or m.fuzzy)]
    assert untranslated == [], f"{lang}: translate these"
    for m in catalog:
        if m.id:  # the placeholders a text is formatted with are the same in every language
            assert placeholders(str(m.string)) <= placeholders(english(str(m.id))), m.id


@pytest.mark.parametrize("lang", i18n.LANGUAGES)
def test_an_alias_names_a_text(lang: str) -> None:
    catalog = po(I18N / "locales" / lang / "LC_MESSAGES" / "messages.po")
    texts = {str(m.id): str(m.string) for m in catalog if m.id}
    for message_id, said in texts.items():
        if said.startswith(i18n.ALIAS):
            named = said.removeprefix(i18n.ALIAS)
            assert named in texts, f"{lang}: {message_id} names no message"
            assert not texts[named].startswith(i18n.ALIAS), (
                f"{lang}: {message_id}: an alias's alias"
            )


@pytest.mark.parametrize("lang", i18n.LANGUAGES)
def test_every_compiled_catalog_says_what_its_po_says(lang: str) -> None:
    folder = I18N / "locales" / lang / "LC_MESSAGES"
    with (folder / "messages.mo").open("rb") as f:
        compiled = {str(m.id): m.string for m in read_mo(f) if m.id}
    assert compiled == {str(m.id): m.string for m in po(folder / "messages.po") if m.id}


def test_languages_are_the_compiled_catalogs_english_first() -> None:
    assert i18n.LANGUAGES[0] == "en"
    assert set(i18n.LANGUAGES) == {"en", "ru", "ro"}


def placeholders(text: str) -> set[str]:
    return set(re.findall(r"\{(\w+)\}", text))


def english(message_id: str) -> str:
    return i18n.text("en", message_id)


# -- the README's steps, followed on a copy of the checkout ---------------------------------

FIXTURE = {  # Ukrainian; the SMS's status name transliterated, as SMS texts fit GSM-7
    "status.delivered": "Доставлено",
    "status.in_transit": "У дорозі",  # noqa: RUF001
    "sms.status.in_transit": "U dorozi",
}


def readme_steps() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("### Add a language", 1)[1]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block is not None
    return [line.split("#", 1)[0].strip() for line in block[1].splitlines() if line.strip()]


def translate(path: Path) -> None:
    """What a translator does between the steps: every msgstr filled (here: the fixture's
    words, and English for the rest)."""
    catalog = po(path)
    for message in catalog:
        if message.id:
            message.string = FIXTURE.get(str(message.id), english(str(message.id)))
    with path.open("wb") as f:
        write_po(f, catalog, width=0)


def test_the_readme_steps_add_a_language(tmp_path: Path) -> None:
    steps = readme_steps()
    assert steps == ["make language CODE=uk", "make i18n"]
    shutil.copy(ROOT / "Makefile", tmp_path)
    shutil.copytree(
        ROOT / "services" / "shipnotify",
        tmp_path / "services" / "shipnotify",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    (tmp_path / ".venv").symlink_to(Path(sys.executable).parents[1])
    new = tmp_path / "services/shipnotify/i18n/locales/uk/LC_MESSAGES/messages.po"

    run(steps[0], tmp_path)
    assert new.exists()
    translate(new)
    run(steps[1], tmp_path)

    served = subprocess.run(
        [
            sys.executable,
            "-c",
            "from shipnotify.i18n import LANGUAGES, language_for, negotiate\n"
            "from shipnotify.i18n.labels import STATUS_LABELS\n"
            "from shipnotify.model.status import Status\n"
            "from shipnotify.notifier.texts import email, sms_text\n"
            "print(LANGUAGES, language_for('uk-UA'), negotiate('uk;q=0.9, ru;q=0.5'),"
            " STATUS_LABELS['uk'][Status.DELIVERED])\n"
            "url = 'https://trk.carrier.example/t/1'\n"
            "print(sms_text('uk-UA', 'recipient', Status.IN_TRANSIT, tracking_url=url))\n"
            "mail = email('uk-UA', 'recipient', Status.IN_TRANSIT, tracking_url=url)\n"
            "print(mail.subject, '<html lang=\"uk\">' in mail.html, sep='|')\n"
            "print(sms_text('uk', 'sender', Status.DELIVERED, tracking_url=url))",
        ],
        env={**os.environ, "PYTHONPATH": str(tmp_path / "services")},
        capture_output=True,
        text=True,
        check=False,
    )
    assert served.returncode == 0, served.stderr
    languages, sms, mail, english = served.stdout.splitlines()
    assert languages.split() == ["('en',", "'ro',", "'ru',", "'uk')", "uk", "uk", "Доставлено"]
    # an SMS and an email in the new language: its words, English where it took English's
    assert sms == "Parcel update: U dorozi. Track it: https://trk.carrier.example/t/1"
    assert mail == "Parcel update: У дорозі|True"  # noqa: RUF001
    assert english == (
        "Your parcel has been delivered to the recipient. Thank you! "
        "Details: https://trk.carrier.example/t/1"
    )


def run(step: str, cwd: Path) -> None:
    done = subprocess.run(step.split(), cwd=cwd, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
