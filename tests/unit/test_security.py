"""Security properties without I/O: courier token verification, the API key comparison,
where secrets come from, and services that refuse to start without them.

test_auth covers expired tokens, HS512, alg "none", a missing exp and a wrong secret;
test_config covers Settings.require's message. This adds what they leave out.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import os
import re
from pathlib import Path
from typing import Any

import jwt
import pytest

from shipnotify import cli, logs
from shipnotify.config import PREFIX, ConfigError, Settings
from shipnotify.hooks import notices
from shipnotify.ingest import app as ingest_app
from shipnotify.notifier import service as notifier_service
from shipnotify.web import ApiError, auth, callers
from shipnotify.web.auth import AUDIENCE, check_api_key, courier_id_from
from tests.vapid_keys import key_pair

SECRET = "s3cret-for-tests-" + "x" * 48
CLAIMS = {"sub": "courier-1", "aud": AUDIENCE, "iat": 1, "exp": 2**40}
SECRETS = (
    "api_keys",
    "courier_token_secret",
    "tracking_id_secret",
    "opt_out_secret",
    "twilio_auth_token",
    "smtp_password",
    "opt_out_secret",
)
PACKAGE = Path(auth.__file__).resolve().parents[1]


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def handmade(header: dict[str, Any], claims: dict[str, Any], signature: bytes = b"") -> str:
    return (
        f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}.{_b64(signature)}"
    )


def hmac_signed(header: dict[str, Any], claims: dict[str, Any], key: str = SECRET) -> str:
    """Signed with HMAC-SHA256 and our secret, whatever the header says: what a verifier
    that trusted the header's alg would accept."""
    unsigned = handmade(header, claims).rsplit(".", 1)[0]
    mac = hmac.new(key.encode(), unsigned.encode(), hashlib.sha256).digest()
    return f"{unsigned}.{_b64(mac)}"


def without(name: str) -> dict[str, Any]:
    return {k: v for k, v in CLAIMS.items() if k != name}


def test_a_well_formed_hs256_token_is_accepted() -> None:
    """The control for the refusals below: the same construction with alg HS256 passes."""
    token = hmac_signed({"alg": "HS256", "typ": "JWT"}, CLAIMS)
    assert courier_id_from(f"Bearer {token}", SECRET) == "courier-1"


@pytest.mark.parametrize(
    ("token", "reason"),
    [
        # alg confusion: the header names an asymmetric or no algorithm
        (hmac_signed({"alg": "RS256", "typ": "JWT"}, CLAIMS), "alg value is not allowed"),
        (
            handmade({"alg": "RS256", "typ": "JWT"}, CLAIMS, b"\x00" * 256),
            "alg value is not allowed",
        ),
        (hmac_signed({"alg": "ES256"}, CLAIMS), "alg value is not allowed"),
        (handmade({"alg": "None"}, CLAIMS), "alg value is not allowed"),
        (handmade({"alg": "NONE"}, CLAIMS), "alg value is not allowed"),
        (handmade({"alg": "none"}, CLAIMS, b"sig"), "alg value is not allowed"),
        (hmac_signed({"typ": "JWT"}, CLAIMS), "Algorithm not specified"),
        (hmac_signed({"alg": "hs256"}, CLAIMS), "alg value is not allowed"),
        # HS256 named, but not signed with our secret
        (handmade({"alg": "HS256"}, CLAIMS), "invalid token"),
        (hmac_signed({"alg": "HS256"}, CLAIMS, key=SECRET + "x"), "Signature verification"),
        # required claims
        (jwt.encode(without("sub"), SECRET, algorithm="HS256"), '"sub"'),
        (jwt.encode(without("exp"), SECRET, algorithm="HS256"), '"exp"'),
        (jwt.encode(without("iat"), SECRET, algorithm="HS256"), '"iat"'),
        (jwt.encode(without("aud"), SECRET, algorithm="HS256"), '"aud"'),
        (jwt.encode({**CLAIMS, "aud": "shipnotify:admin"}, SECRET, algorithm="HS256"), "Audience"),
        (jwt.encode({**CLAIMS, "sub": 42}, SECRET, algorithm="HS256"), "Subject must be a string"),
        (jwt.encode({**CLAIMS, "exp": 1}, SECRET, algorithm="HS256"), "token expired"),
    ],
)
def test_tokens_not_hs256_or_without_the_required_claims_are_refused(
    token: str, reason: str
) -> None:
    with pytest.raises(ApiError) as raised:
        courier_id_from(f"Bearer {token}", SECRET)
    assert raised.value.status == 401
    assert reason in raised.value.message
    assert raised.value.headers["WWW-Authenticate"] == 'Bearer realm="shipnotify"'


def test_verification_pins_hs256() -> None:
    assert auth.ALGORITHM == "HS256"
    header = jwt.get_unverified_header(auth.issue_courier_token(SECRET, "c", 60))
    assert header["alg"] == "HS256"


def test_api_keys_are_compared_in_constant_time_against_every_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    compared: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        compared.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    check_api_key("k1", ["k1", "k2", "k3"])  # a match on the first key still compares all
    assert compared == [(b"k1", b"k1"), (b"k1", b"k2"), (b"k1", b"k3")]
    compared.clear()
    with pytest.raises(ApiError) as raised:
        check_api_key("k4", ["k1", "k2", "k3"])
    assert raised.value.status == 401
    assert len(compared) == 3
    # the operator endpoint of hooks (and ingest) checks keys through web/callers.py, which
    # compares the operator's keys with the same function
    assert vars(notices)["callers"] is callers
    assert vars(callers)["auth"].check_api_key is check_api_key


@pytest.mark.parametrize("presented", [None, "", " ", "anything"])
def test_no_configured_key_lets_nothing_in(presented: str | None) -> None:
    with pytest.raises(ApiError) as raised:
        check_api_key(presented, ())
    assert raised.value.status == 401


def test_secrets_default_to_empty() -> None:
    defaults = {name: f.default for name, f in Settings.model_fields.items()}
    for name in SECRETS:
        assert defaults[name] in ("", ()), name
        assert getattr(Settings.from_env({}), name) in ("", ()), name


def _from_env(name: str) -> str:
    return f"from-env-{name}-" + "x" * 32  # long enough for the courier token key


def test_secrets_are_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in SECRETS:
        monkeypatch.setenv(PREFIX + name.upper(), _from_env(name))
    monkeypatch.setenv(PREFIX + "API_KEYS", "key-a, key-b")
    settings = Settings.from_env()  # os.environ
    assert settings.api_keys == ("key-a", "key-b")
    for name in SECRETS[1:]:
        assert getattr(settings, name) == _from_env(name)


def test_secrets_stay_out_of_the_settings_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    """A failing test or a logged Settings must not print them."""
    for name in SECRETS:
        monkeypatch.setenv(PREFIX + name.upper(), _from_env(name))
    shown = repr(Settings.from_env())
    for name in SECRETS:
        assert _from_env(name) not in shown, name
    assert "kafka_bootstrap=" in shown  # the rest is still there


def test_only_config_reads_the_environment() -> None:
    """Settings.from_env is the one place secrets enter: no other module of the package
    reads environment variables."""
    readers = re.compile(r"\benviron\b|\bgetenv\b|\bdotenv\b")
    offenders = [
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if "v1" not in path.parts
        and path.name != "config.py"
        and readers.search(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []


def test_ingest_refuses_to_start_without_each_of_its_secrets() -> None:
    complete = Settings(api_keys=("k",), courier_token_secret="c" * 32, tracking_id_secret="t")
    ingest_app.init_app(complete)  # the control: builds (connects to nothing yet)
    for name, empty in (("api_keys", ()), ("courier_token_secret", ""), ("tracking_id_secret", "")):
        with pytest.raises(ConfigError, match=PREFIX + name.upper()):
            ingest_app.init_app(complete.with_(**{name: empty}))
    with pytest.raises(ConfigError, match="at least 32 bytes"):  # no such Settings are made
        complete.with_(courier_token_secret="c" * 31)


async def test_the_notifier_refuses_to_start_without_the_sms_provider_secrets() -> None:
    settings = Settings(
        twilio_account_sid="AC" + "0" * 32, twilio_from="+15005550006", opt_out_secret="o"
    )
    async with asyncio.timeout(5):  # it fails before reaching for Kafka
        with pytest.raises(ConfigError, match="SHIPNOTIFY_TWILIO_AUTH_TOKEN"):
            await notifier_service.serve(settings, asyncio.Event())


async def test_the_notifier_refuses_a_vapid_key_that_is_no_pair_or_has_no_subject() -> None:
    private, public = key_pair()
    other_private, other_public = key_pair()
    settings = Settings(
        opt_out_secret="o",
        vapid_private_key=private,
        vapid_public_key=public,
        vapid_subject="mailto:ops@carrier.example",
    )
    notifier_service.check(settings, providers=False)  # the control
    # the pair is checked when both keys are set
    notifier_service.check(settings.with_(vapid_private_key="", vapid_subject=""), providers=False)
    notifier_service.check(
        settings.with_(vapid_private_key=other_private, vapid_public_key=""), providers=False
    )
    wrong = {
        "SHIPNOTIFY_VAPID_PUBLIC_KEY: not the public key of SHIPNOTIFY_VAPID_PRIVATE_KEY": {
            "vapid_public_key": other_public
        },
        "not set: SHIPNOTIFY_VAPID_SUBJECT": {"vapid_subject": ""},
        "SHIPNOTIFY_VAPID_SUBJECT: Missing 'sub'": {"vapid_subject": "mailto:ops@carrier"},
        "SHIPNOTIFY_VAPID_PRIVATE_KEY: not a P-256 private key": {"vapid_private_key": "A" * 43},
        "SHIPNOTIFY_VAPID_PUBLIC_KEY: not a P-256 public key": {
            "vapid_public_key": "BA" + "A" * 85
        },
    }
    for message, changes in wrong.items():
        with pytest.raises(ConfigError, match=re.escape(message)) as refused:
            notifier_service.check(settings.with_(**changes), providers=False)
        assert private not in str(refused.value)
    async with asyncio.timeout(5):  # at start, before reaching for Kafka
        with pytest.raises(ConfigError, match="SHIPNOTIFY_VAPID_PUBLIC_KEY"):
            await notifier_service.serve(
                settings.with_(vapid_public_key=other_public), asyncio.Event(), senders=[]
            )


@pytest.mark.parametrize(
    ("command", "missing"),
    [
        (
            "ingest",
            "SHIPNOTIFY_API_KEYS, SHIPNOTIFY_COURIER_TOKEN_SECRET, SHIPNOTIFY_TRACKING_ID_SECRET",
        ),
        (
            "notifier",
            "SHIPNOTIFY_OPT_OUT_SECRET, SHIPNOTIFY_TWILIO_ACCOUNT_SID,"
            " SHIPNOTIFY_TWILIO_AUTH_TOKEN, SHIPNOTIFY_TWILIO_FROM",
        ),
    ],
)
def test_the_command_exits_2_naming_the_missing_secrets(
    command: str,
    missing: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for name in [n for n in os.environ if n.startswith(PREFIX)]:
        monkeypatch.delenv(name)
    monkeypatch.setattr(logs, "configure", lambda *args, **kwargs: None)  # keep the test's logs
    assert cli.main([command]) == 2
    assert f"configuration error: not set: {missing}" in capsys.readouterr().err
