from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from shipnotify.config import VARIABLES, ConfigError, Settings, unknown

# Each kind of value: the variables of that kind, values it takes, values it refuses.
KINDS: dict[str, tuple[list[str], list[str], list[str]]] = {
    "time zone": (
        ["SHIPNOTIFY_TIME_ZONE"],
        ["UTC", "Europe/Chisinau", "America/New_York"],
        ["", "Mars/Olympus", "+02:00", "../etc/passwd"],
    ),
    "port": (
        ["SHIPNOTIFY_HTTP_PORT", "SHIPNOTIFY_SMTP_PORT"],
        ["1", "8080", "65535"],
        ["0", "70000", "-1", "x", "", "80.5"],
    ),
    "positive whole number": (
        [
            "SHIPNOTIFY_KAFKA_PARTITIONS",
            "SHIPNOTIFY_TRACKER_BATCH_SIZE",
            "SHIPNOTIFY_KAFKA_SESSION_TIMEOUT_MS",
            "SHIPNOTIFY_SENDS_IN_FLIGHT",
            "SHIPNOTIFY_RETRY_MAX_AGE_S",
            "SHIPNOTIFY_REDIS_MAX_CONNECTIONS",
            "SHIPNOTIFY_RETENTION_DAYS",
            "SHIPNOTIFY_STALE_DAYS",
            "SHIPNOTIFY_MAX_BODY_BYTES",
            "SHIPNOTIFY_MAX_BATCH_EVENTS",
            "SHIPNOTIFY_TRACK_REQUESTS_PER_MINUTE",
            "SHIPNOTIFY_MAX_TAP_AGE_DAYS",
            "SHIPNOTIFY_COURIER_TOKEN_TTL_S",
            "SHIPNOTIFY_SURVEY_EVERY_DAYS",
            "SHIPNOTIFY_SURVEY_ANSWER_DAYS",
            "SHIPNOTIFY_WEBHOOK_MAX_AGE_S",
            "SHIPNOTIFY_WEBHOOKS_PER_ENDPOINT",
            "SHIPNOTIFY_WEBHOOK_ROTATION_S",
            "SHIPNOTIFY_WEBHOOK_LOG_DAYS",
            "SHIPNOTIFY_FIGURES_DAYS",
            "SHIPNOTIFY_CONSOLE_SESSION_S",
        ],
        ["1", "86400"],
        ["0", "-1", "1.5", "ten", ""],
    ),
    "whole number, 0 allowed": (
        [
            "SHIPNOTIFY_KAFKA_FETCH_MAX_WAIT_MS",
            "SHIPNOTIFY_SURVEY_DELAY_S",
            "SHIPNOTIFY_CALLBACK_HOURS",
        ],
        ["0", "5", "500"],
        ["-1", "0.5", "x"],
    ),
    "positive duration or rate": (
        [
            "SHIPNOTIFY_KAFKA_SEND_TIMEOUT_S",
            "SHIPNOTIFY_SMS_PER_SECOND",
            "SHIPNOTIFY_EMAILS_PER_SECOND",
            "SHIPNOTIFY_PUSHES_PER_SECOND",
            "SHIPNOTIFY_SEND_TIMEOUT_S",
            "SHIPNOTIFY_RETRY_FIRST_S",
            "SHIPNOTIFY_RETRY_MAX_DELAY_S",
            "SHIPNOTIFY_LIVE_KEEPALIVE_S",
            "SHIPNOTIFY_WEBHOOK_TIMEOUT_S",
            "SHIPNOTIFY_WEBHOOK_RETRY_MAX_DELAY_S",
            "SHIPNOTIFY_WEBHOOK_DISABLE_AFTER_DAYS",
            "SHIPNOTIFY_WEBHOOKS_PER_SECOND",
        ],
        ["0.25", "10", "1e6"],
        ["0", "-1", "-0.5", "nan", "inf", "soon", ""],
    ),
    "boolean": (
        [
            "SHIPNOTIFY_KAFKA_IDEMPOTENCE",
            "SHIPNOTIFY_KAFKA_CREATE_TOPICS",
            "SHIPNOTIFY_SMTP_STARTTLS",
            "SHIPNOTIFY_REDIS_CLUSTER",
            "SHIPNOTIFY_WEBHOOK_ALLOW_LOOPBACK",
        ],
        ["true", "false", "True", "yes", "no", "1", "0", "on", "off"],
        ["maybe", "", "2", "enabled"],
    ),
    "kafka bootstrap servers": (
        ["SHIPNOTIFY_KAFKA_BOOTSTRAP"],
        ["kafka:9092", "127.0.0.1:9092", "k-0.kafka:9092,k-1.kafka:9092", "[::1]:9092"],
        ["", "kafka", "kafka:0", "kafka:x", "kafka:70000", "a b:1", "kafka:9092,", "h:1/x"],
    ),
    "kafka topic": (
        [
            "SHIPNOTIFY_EVENTS_TOPIC",
            "SHIPNOTIFY_EVENTS_DEAD_LETTER_TOPIC",
            "SHIPNOTIFY_NOTIFICATIONS_TOPIC",
            "SHIPNOTIFY_NOTIFICATIONS_DEAD_LETTER_TOPIC",
            "SHIPNOTIFY_FEEDBACK_TOPIC",
            "SHIPNOTIFY_FEEDBACK_DEAD_LETTER_TOPIC",
            "SHIPNOTIFY_ACCOUNTS_TOPIC",
            "SHIPNOTIFY_ACCOUNTS_DEAD_LETTER_TOPIC",
        ],
        ["a", "test.1a2b.shipnotify.notifications.v1", "A_b-c"],
        ["", "a b", "..", "t/x", "x" * 250],
    ),
    "consumer group": (
        [
            "SHIPNOTIFY_TRACKER_GROUP",
            "SHIPNOTIFY_NOTIFIER_GROUP",
            "SHIPNOTIFY_FEEDBACK_GROUP",
            "SHIPNOTIFY_ACCOUNTS_GROUP",
        ],
        ["shipnotify-tracker", "g"],
        [""],
    ),
    "base URL (http or https)": (
        ["SHIPNOTIFY_PUBLIC_URL"],
        ["http://127.0.0.1:8080", "https://track.carrier.example/", "http://status_api:8080"],
        ["", "track.carrier.example", "ftp://x", "http://", "http://x?a=1", "http://x#t"],
    ),
    "base URL or empty": (
        [
            "SHIPNOTIFY_WEBHOOK_URL",
            "SHIPNOTIFY_INGEST_URL",
            "SHIPNOTIFY_CONSOLE_URL",
            "SHIPNOTIFY_TWILIO_API_URL",
            "OTEL_EXPORTER_OTLP_ENDPOINT",
        ],
        ["", "http://sms_sandbox:8080", "https://collector.example:4318"],
        ["x", "grpc://collector:4317", "http://:80", "http://x:70000", "http://x?q"],
    ),
    "redis URL": (
        ["SHIPNOTIFY_REDIS_URL"],
        ["redis://127.0.0.1:6379/0", "rediss://redis", "redis://h:1", "unix:///run/redis.sock"],
        ["", "http://redis:6379", "redis://h:99999", "redis://h/zero", "unix://", "redis"],
    ),
    "host": (
        ["SHIPNOTIFY_HTTP_HOST"],
        ["127.0.0.1", "0.0.0.0", "::", "localhost", "sms_sandbox", "status-api.ns.svc"],  # noqa: S104
        ["", "a b", "http://x", "h:80", "-x"],
    ),
    "host or empty": (
        ["SHIPNOTIFY_SMTP_HOST"],
        ["", "mailpit", "10.1.2.3"],
        ["a b", "smtp://relay"],
    ),
    "quiet hours": (
        ["SHIPNOTIFY_QUIET_HOURS"],
        ["21:00-08:00", "", "12:00-14:30", "0:00-6:00"],
        ["25:00-08:00", "21:00", "late", "21:00-08:60", "21:00+02:00-08:00", "2100-0800"],
    ),
    "survey scale": (["SHIPNOTIFY_SURVEY_SCALE"], ["csat", "nps", "ces"], ["", "CSAT", "stars"]),
    "unhappy CSAT scores": (
        ["SHIPNOTIFY_SURVEY_UNHAPPY_CSAT"],
        ["1-2", "1-1", "1", "2-3", "1-5"],
        ["", "0-2", "1-6", "3-2", "low", "1-2-3", "1,2"],
    ),
    "unhappy NPS scores": (
        ["SHIPNOTIFY_SURVEY_UNHAPPY_NPS"],
        ["0-6", "0-10", "7"],
        ["", "0-11", "-1-6", "6-0"],
    ),
    "unhappy CES scores": (
        ["SHIPNOTIFY_SURVEY_UNHAPPY_CES"],
        ["1-3", "1-7", "2"],
        ["", "0-3", "1-8", "x"],
    ),
    "depots": (
        ["SHIPNOTIFY_DEPOTS"],
        [
            "",
            "north=a@x.example Europe/Chisinau 18:00",
            "north=a@x.example Europe/Chisinau 18:00; *=b@x.example UTC 17:30;",
        ],
        [
            "north",
            "north=a@x.example",
            "north=nobody Europe/Chisinau 18:00",
            "north=a@x.example Mars/Olympus 18:00",
            "north=a@x.example UTC 25:00",
            "=a@x.example UTC 18:00",
        ],
    ),
    "log level": (
        ["SHIPNOTIFY_LOG_LEVEL"],
        ["debug", "info", "warning", "error", "INFO"],
        ["loud", "", "critical", "trace"],
    ),
    "log format": (["SHIPNOTIFY_LOG_FORMAT"], ["json", "console"], ["xml", "", "JSONL"]),
    "proxy networks (CIDR)": (
        ["SHIPNOTIFY_TRUSTED_PROXIES"],
        ["", "10.0.0.0/8", "10.0.0.0/8, 192.168.1.7, 2001:db8::/32"],
        ["10.0.0.1/8", "x", "10.0.0.0/33", "10.0.0.0/8,proxy"],
    ),
    "mail address": (
        ["SHIPNOTIFY_MAIL_FROM"],
        ["shipnotify <notices@localhost>", "notices@carrier.example", "Carrier (dev) <n@c.x>"],
        ["", "nobody", "Name <noat>", "a@b, c@d", "x@", "<@>"],
    ),
    "sms account sid": (
        ["SHIPNOTIFY_TWILIO_ACCOUNT_SID"],
        ["", "AC" + "0f" * 16],
        ["AC123", "MG" + "0" * 32, "AC" + "0" * 31 + "g"],
    ),
    "sms sender": (
        ["SHIPNOTIFY_TWILIO_FROM"],
        ["", "+15005550006", "MG" + "7c" * 16],
        ["15005550006", "+0123", "+1 500 555 0006", "MG12", "Carrier"],
    ),
    "HS256 key (secret)": (
        ["SHIPNOTIFY_COURIER_TOKEN_SECRET"],
        ["", "k" * 32, "ключ" * 4],  # bytes are counted, not characters: 32 here
        ["short", "k" * 31],
    ),
    "VAPID private key (secret)": (
        ["SHIPNOTIFY_VAPID_PRIVATE_KEY"],
        ["", "A" * 43],
        ["A" * 42, "A" * 44, "a+b/" * 11, "AAAA=" * 9],
    ),
    "VAPID public key": (
        ["SHIPNOTIFY_VAPID_PUBLIC_KEY"],
        ["", "BA" + "A" * 85],
        ["AA" + "A" * 85, "BA" + "A" * 84, "BA" + "A" * 85 + "=", "key"],
    ),
    "VAPID subject": (
        ["SHIPNOTIFY_VAPID_SUBJECT"],
        ["", "mailto:ops@carrier.example", "https://carrier.example/contact"],
        ["ops@carrier.example", "http://carrier.example", "mailto:ops", "mailto:a b@c"],
    ),
}
# Any text is a valid value of these: names, or secrets the services only compare and sign with.
FREE_TEXT = {
    "SHIPNOTIFY_SMTP_USERNAME",
    "SHIPNOTIFY_SMTP_PASSWORD",
    "SHIPNOTIFY_TWILIO_AUTH_TOKEN",
    "SHIPNOTIFY_TRACKING_ID_SECRET",
    "SHIPNOTIFY_OPT_OUT_SECRET",
    "SHIPNOTIFY_API_KEYS",
}
SECRET_VARIABLES = {
    "SHIPNOTIFY_API_KEYS",
    "SHIPNOTIFY_COURIER_TOKEN_SECRET",
    "SHIPNOTIFY_TRACKING_ID_SECRET",
    "SHIPNOTIFY_OPT_OUT_SECRET",
    "SHIPNOTIFY_TWILIO_AUTH_TOKEN",
    "SHIPNOTIFY_SMTP_PASSWORD",
    "SHIPNOTIFY_VAPID_PRIVATE_KEY",
}


def _cases(good: bool) -> list[Any]:
    return [
        pytest.param(variable, value, id=f"{variable}={value[:40]!r}")
        for variables, takes, refuses in KINDS.values()
        for variable in variables
        for value in (takes if good else refuses)
    ]


def test_every_setting_has_a_rule_with_its_cases() -> None:
    """A new setting is given a kind here, or is free text on purpose."""
    listed = [v for variables, _, _ in KINDS.values() for v in variables]
    assert len(listed) == len(set(listed))
    assert set(listed) | FREE_TEXT == set(VARIABLES.values())
    assert not set(listed) & FREE_TEXT


@pytest.mark.parametrize(("variable", "value"), _cases(good=True))
def test_a_good_value_is_taken(variable: str, value: str) -> None:
    Settings.from_env({variable: value})


@pytest.mark.parametrize(("variable", "value"), _cases(good=False))
def test_a_bad_value_is_refused_naming_its_variable(variable: str, value: str) -> None:
    with pytest.raises(ConfigError) as refused:
        Settings.from_env({variable: value})
    message = str(refused.value)
    assert "\n" not in message
    if variable in SECRET_VARIABLES:
        assert message.startswith(f"{variable} (a secret, not shown): should be ")
        assert value not in message
    else:
        assert message.startswith(f"{variable}={value!r}: ")
    assert len(message) > len(f"{variable}={value!r}: ") + 10  # it says what is wrong


def test_defaults_without_environment() -> None:
    assert Settings.from_env({}) == Settings()


def test_values_are_parsed_by_type() -> None:
    s = Settings.from_env(
        {
            "SHIPNOTIFY_HTTP_PORT": "9000",
            "SHIPNOTIFY_KAFKA_IDEMPOTENCE": "false",
            "SHIPNOTIFY_API_KEYS": "a, b,,c",
            "SHIPNOTIFY_TRUSTED_PROXIES": "10.0.0.0/8, ::1",
            "SHIPNOTIFY_KAFKA_SEND_TIMEOUT_S": "1.5",
            "SHIPNOTIFY_LOG_LEVEL": "WARNING",
            "OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318",
            "OTHER": "ignored",
        }
    )
    assert (s.http_port, s.kafka_idempotence, s.api_keys, s.kafka_send_timeout_s) == (
        9000,
        False,
        ("a", "b", "c"),
        1.5,
    )
    assert s.trusted_proxies == ("10.0.0.0/8", "::1")  # comma-separated, not JSON
    assert s.log_level == "warning"
    assert s.otel_exporter_otlp_endpoint == "http://collector:4318"


def test_only_the_exact_variable_names_are_read() -> None:
    assert Settings.from_env({"shipnotify_http_port": "1", "SHIPNOTIFY_http_port": "2"}) == (
        Settings()
    )
    assert Settings.from_env({"SHIPNOTIFY_OTEL_EXPORTER_OTLP_ENDPOINT": "http://x"}) == Settings()


def test_settings_made_in_code_do_not_read_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SHIPNOTIFY_HTTP_PORT", "9999")
    assert Settings().http_port == 8080
    assert Settings.from_env().http_port == 9999  # os.environ, when asked


def test_the_error_is_one_line_naming_each_bad_variable() -> None:
    with pytest.raises(ConfigError) as refused:
        Settings.from_env(
            {
                "SHIPNOTIFY_HTTP_PORT": "70000",
                "SHIPNOTIFY_LOG_LEVEL": "loud",
                "SHIPNOTIFY_QUIET_HOURS": "25:00-08:00",
                "SHIPNOTIFY_SEND_TIMEOUT_S": "-1",
                "SHIPNOTIFY_PUBLIC_URL": "http://track.example",  # good: not listed
            }
        )
    parts = str(refused.value).split("; ")
    assert [p.split("=", 1)[0] for p in parts] == [
        "SHIPNOTIFY_SEND_TIMEOUT_S",
        "SHIPNOTIFY_QUIET_HOURS",
        "SHIPNOTIFY_HTTP_PORT",
        "SHIPNOTIFY_LOG_LEVEL",
    ]  # in the order of the settings
    assert parts[0] == "SHIPNOTIFY_SEND_TIMEOUT_S='-1': should be greater than 0"
    assert parts[1] == (
        "SHIPNOTIFY_QUIET_HOURS='25:00-08:00': should be HH:MM-HH:MM on a 24-hour clock,"
        " or empty for none"
    )
    assert parts[2] == "SHIPNOTIFY_HTTP_PORT='70000': should be less than or equal to 65535"
    assert parts[3].startswith("SHIPNOTIFY_LOG_LEVEL='loud': should be 'debug', 'info'")


def test_a_bad_network_is_named_among_the_proxies() -> None:
    with pytest.raises(ConfigError, match=r"10\.0\.0\.1/8 has host bits set"):
        Settings.from_env({"SHIPNOTIFY_TRUSTED_PROXIES": "192.168.0.0/16,10.0.0.1/8"})


def test_no_secret_value_is_ever_shown() -> None:
    secret = "hunter2-is-a-bad-key"
    with pytest.raises(ConfigError) as refused:
        Settings.from_env({"SHIPNOTIFY_COURIER_TOKEN_SECRET": secret, "SHIPNOTIFY_HTTP_PORT": "0"})
    assert secret not in str(refused.value)
    assert "SHIPNOTIFY_COURIER_TOKEN_SECRET (a secret, not shown)" in str(refused.value)
    with pytest.raises(ConfigError) as refused:
        Settings().with_(courier_token_secret=secret)
    assert secret not in str(refused.value)


def test_settings_made_in_code_are_checked_too() -> None:
    with pytest.raises(ConfigError, match=r"^SHIPNOTIFY_HTTP_PORT=0: should be greater"):
        Settings(http_port=0)
    with pytest.raises(ConfigError, match=r"^SHIPNOTIFY_QUIET_HOURS='late': "):
        Settings().with_(quiet_hours="late")
    with pytest.raises(ConfigError, match=r"^http_prot: not a setting$"):
        Settings().with_(http_prot=9000)


def test_settings_are_frozen() -> None:
    with pytest.raises(ValueError, match="frozen"):
        Settings().http_port = 1


def test_require_names_missing_secrets() -> None:
    with pytest.raises(ConfigError, match="SHIPNOTIFY_API_KEYS, SHIPNOTIFY_COURIER_TOKEN_SECRET"):
        Settings().require("api_keys", "courier_token_secret")


def test_to_env_round_trips() -> None:
    s = Settings(
        api_keys=("a", "b"), kafka_idempotence=False, http_port=1, kafka_send_timeout_s=0.5
    )
    assert Settings.from_env(s.to_env()) == s


def test_to_env_round_trips_every_setting_changed() -> None:
    changed = Settings().with_(
        kafka_bootstrap="a:1,b:2",
        kafka_idempotence=False,
        kafka_create_topics=False,
        smtp_starttls=True,
        redis_cluster=True,
        kafka_fetch_max_wait_ms=0,
        twilio_account_sid="AC" + "1" * 32,
        twilio_from="+15005550006",
        twilio_api_url="http://sms:8080",
        smtp_host="",
        mail_from="Carrier <n@carrier.example>",
        sms_per_second=1e6,
        quiet_hours="",
        webhook_url="https://hooks.example/x",
        redis_url="unix:///run/redis.sock",
        trusted_proxies=("10.0.0.0/8", "::1/128"),
        api_keys=("k1", "k2"),
        courier_token_secret="c" * 40,
        log_level="debug",
        log_format="console",
        otel_exporter_otlp_endpoint="http://collector:4318",
    )
    assert Settings.from_env(changed.to_env()) == changed
    assert changed.to_env()["SHIPNOTIFY_TRUSTED_PROXIES"] == "10.0.0.0/8,::1/128"
    assert changed.to_env()["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://collector:4318"


def test_a_namespace_gives_every_topic_and_group_its_own_name() -> None:
    spaced = Settings().in_namespace("run-1")
    names = [
        "events_topic",
        "events_dead_letter_topic",
        "notifications_topic",
        "notifications_dead_letter_topic",
        "feedback_topic",
        "feedback_dead_letter_topic",
        "tracker_group",
        "notifier_group",
        "feedback_group",
        "accounts_topic",
        "accounts_dead_letter_topic",
        "accounts_group",
    ]
    assert {getattr(spaced, n) for n in names} == {f"run-1.{getattr(Settings(), n)}" for n in names}
    assert spaced.with_(**{n: getattr(Settings(), n) for n in names}) == Settings()


def test_the_readme_lists_every_setting() -> None:
    """README "Operating" is where an operator looks a setting up: every one is there."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme[readme.index("## Operating") :]
    section = section[: section.index("\n## ", 3)]
    listed = set(re.findall(r"(?:SHIPNOTIFY|OTEL)_[A-Z0-9_]+", section))
    names = set(VARIABLES.values())
    assert names - listed == set()
    assert listed - names == set()


def test_a_misspelt_variable_is_named_with_the_likely_setting() -> None:
    env = {"SHIPNOTIFY_HTTP_PROT": "9000", "SHIPNOTIFY_HTTP_PORT": "9001", "PATH": "/bin"}
    assert unknown(env) == ["SHIPNOTIFY_HTTP_PROT (did you mean SHIPNOTIFY_HTTP_PORT?)"]
    assert unknown({"SHIPNOTIFY_NOTHING_LIKE_IT_AT_ALL": "1"}) == [
        "SHIPNOTIFY_NOTHING_LIKE_IT_AT_ALL"
    ]
    assert unknown({name: "x" for name in VARIABLES.values()}) == []
