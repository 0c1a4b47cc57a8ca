from __future__ import annotations

import pytest

from shipnotify.i18n.labels import FAILURE_LABELS, LANGUAGES, STATUS_LABELS, negotiate
from shipnotify.model.status import AttemptFailure, Status


@pytest.mark.parametrize(
    ("header", "lang"),
    [
        (None, "en"),
        ("", "en"),
        ("ru-RU,ru;q=0.9,en;q=0.8", "ru"),
        ("de-DE,de;q=0.9,ro;q=0.5,en;q=0.4", "ro"),
        ("en;q=0.2, ru;q=0.7", "ru"),
        ("fr", "en"),
        ("ru;q=bogus, ro", "ro"),
    ],
)
def test_negotiate_accept_language(header: str | None, lang: str) -> None:
    assert negotiate(header) == lang


def test_every_status_and_failure_has_a_label_in_every_language() -> None:
    for lang in LANGUAGES:
        assert set(STATUS_LABELS[lang]) == set(Status)
        assert set(FAILURE_LABELS[lang]) == set(AttemptFailure)
        assert all(STATUS_LABELS[lang].values())
