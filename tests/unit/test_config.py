from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from shipnotify.config import ConfigError, Settings, env_name


def test_defaults_without_environment() -> None:
    assert Settings.from_env({}) == Settings()


def test_values_are_parsed_by_type() -> None:
    s = Settings.from_env(
        {
            "SHIPNOTIFY_HTTP_PORT": "9000",
            "SHIPNOTIFY_KAFKA_IDEMPOTENCE": "true",
            "SHIPNOTIFY_API_KEYS": "a, b,,c",
            "SHIPNOTIFY_KAFKA_SEND_TIMEOUT_S": "1.5",
            "OTHER": "ignored",
        }
    )
    assert (s.http_port, s.kafka_idempotence, s.api_keys, s.kafka_send_timeout_s) == (
        9000,
        True,
        ("a", "b", "c"),
        1.5,
    )


def test_a_bad_value_names_its_variable() -> None:
    with pytest.raises(ConfigError, match="SHIPNOTIFY_HTTP_PORT='x'"):
        Settings.from_env({"SHIPNOTIFY_HTTP_PORT": "x"})
    with pytest.raises(ConfigError, match="SHIPNOTIFY_KAFKA_IDEMPOTENCE"):
        Settings.from_env({"SHIPNOTIFY_KAFKA_IDEMPOTENCE": "maybe"})


def test_require_names_missing_secrets() -> None:
    with pytest.raises(ConfigError, match="SHIPNOTIFY_API_KEYS, SHIPNOTIFY_COURIER_TOKEN_SECRET"):
        Settings().require("api_keys", "courier_token_secret")


def test_to_env_round_trips() -> None:
    s = Settings(api_keys=("a", "b"), kafka_idempotence=True, http_port=1, kafka_send_timeout_s=0.5)
    assert Settings.from_env(s.to_env()) == s


def test_a_namespace_gives_every_topic_and_group_its_own_name() -> None:
    spaced = Settings().in_namespace("run-1")
    names = [
        "events_topic",
        "events_dead_letter_topic",
        "notifications_topic",
        "notifications_dead_letter_topic",
        "tracker_group",
        "notifier_group",
    ]
    assert {getattr(spaced, n) for n in names} == {f"run-1.{getattr(Settings(), n)}" for n in names}
    assert spaced.with_(**{n: getattr(Settings(), n) for n in names}) == Settings()


def test_the_readme_lists_every_setting() -> None:
    """README "Operating" is where an operator looks a setting up: every one is there."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme[readme.index("## Operating") :]
    section = section[: section.index("\n## ", 3)]
    listed = set(re.findall(r"(?:SHIPNOTIFY|OTEL)_[A-Z0-9_]+", section))
    names = {env_name(f) for f in dataclasses.fields(Settings)}
    assert names - listed == set()
    assert listed - names == set()
