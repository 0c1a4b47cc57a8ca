from __future__ import annotations

from typing import get_args

import pytest
from pydantic import ValidationError

from shipnotify.model.status import Status
from shipnotify.web.contacts import Contact, CourierStatus


def test_couriers_may_send_every_status_but_registered() -> None:
    assert set(get_args(CourierStatus)) == {s.value for s in Status} - {"registered"}


def test_contact_channels_default_to_its_addresses() -> None:
    assert Contact(name="A", phone="+40721234567").channels == ["sms"]
    assert Contact(name="A", phone="+40721234567", email="a@example.com").channels == [
        "sms",
        "email",
    ]


def test_a_name_is_kept_without_its_outer_spaces() -> None:
    assert Contact(name="  Ana Popescu ", phone="+40721234567").name == "Ana Popescu"


@pytest.mark.parametrize(
    "fields",
    [
        {"name": "A"},
        {"name": "A", "phone": "0721234567"},
        {"name": "A", "phone": "+40 721 234 567"},  # E.164 has no spaces
        {"name": "A\r\nB", "phone": "+40721234567"},
        {"name": "A", "email": "a@example.com", "channels": ["sms"]},
        {"name": "A", "email": "a@example.com", "channels": ["fax"]},
        {"name": "A", "email": "a@example.com", "locale": "english"},
        {"name": "", "email": "a@example.com"},
    ],
)
def test_bad_contacts_are_refused(fields: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        Contact.model_validate(fields)
