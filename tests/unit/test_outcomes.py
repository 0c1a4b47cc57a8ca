from __future__ import annotations

from shipnotify.notifier.outcomes import Failed, redact


def test_provider_reasons_lose_phone_numbers_and_emails() -> None:
    failed = Failed(
        "twilio 400 21211: The 'To' number +40721234567 is not a valid phone number.",
        permanent=True,
        code="21211",
    )
    assert "+40721234567" not in failed.reason
    assert failed.reason.endswith("The 'To' number <phone> is not a valid phone number.")
    assert redact("smtp 550: <ana.pop+x@mail.example.com> refused") == "smtp 550: <<email>> refused"
    assert redact("twilio 500 20500: Internal error") == "twilio 500 20500: Internal error"
