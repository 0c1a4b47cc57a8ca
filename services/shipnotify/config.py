"""Settings, read once from the environment at the entry point.

This is the only module that knows environment variable names; everything below
the entry point receives a `Settings`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import Field, dataclass, field, fields, replace
from typing import Any

PREFIX = "SHIPNOTIFY_"


class ConfigError(Exception):
    """A setting is missing or malformed; the message names the variable."""


@dataclass(frozen=True)
class Settings:
    # Kafka
    kafka_bootstrap: str = "127.0.0.1:9092"
    # Off by default: the embedded dev broker has no InitProducerId. Turn on for Apache Kafka.
    kafka_idempotence: bool = False
    kafka_create_topics: bool = True
    kafka_partitions: int = 12
    kafka_send_timeout_s: float = 5.0
    events_topic: str = "shipnotify.shipment-events.v1"
    events_dead_letter_topic: str = "shipnotify.shipment-events.v1.dlq"
    notifications_topic: str = "shipnotify.notifications.v1"
    tracker_group: str = "shipnotify-tracker"
    tracker_batch_size: int = 500
    kafka_session_timeout_ms: int = 10_000
    # How long a fetch may wait for records. Apache Kafka answers as soon as records arrive;
    # the embedded broker only when this runs out, so the local stack sets it low.
    kafka_fetch_max_wait_ms: int = 500
    notifications_dead_letter_topic: str = "shipnotify.notifications.v1.dlq"
    notifier_group: str = "shipnotify-notifier"
    # Notices
    twilio_account_sid: str = ""
    twilio_auth_token: str = field(default="", repr=False)  # secrets stay out of reprs
    twilio_from: str = ""  # a sender number in E.164 or a Messaging Service SID (MG...)
    twilio_api_url: str = ""  # only to point at the SMS sandbox; empty: Twilio itself
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    smtp_username: str = ""
    smtp_password: str = field(default="", repr=False)
    smtp_starttls: bool = False
    mail_from: str = "shipnotify <notices@localhost>"
    sms_per_second: float = 10.0
    emails_per_second: float = 20.0
    sends_in_flight: int = 32  # per channel
    send_timeout_s: float = 10.0
    retry_first_s: float = 2.0  # first retry delay; doubles, with jitter, up to the max
    retry_max_delay_s: float = 300.0  # the longest wait between two tries of a notice
    retry_max_age_s: int = 24 * 3600
    quiet_hours: str = "21:00-08:00"  # no SMS then, in the contact's time zone; "" for none
    webhook_url: str = ""  # where the SMS provider reaches status_api; default: public_url
    # Redis
    redis_url: str = "redis://127.0.0.1:6379/0"
    redis_cluster: bool = False  # redis_url is a node of a Redis Cluster
    redis_max_connections: int = 128  # per process; live pages hold one each while open
    retention_days: int = 90
    # A shipment that never reaches a final status: its personal data goes after this.
    stale_days: int = 90
    # HTTP
    http_host: str = "127.0.0.1"
    http_port: int = 8080
    public_url: str = "http://127.0.0.1:8080"
    max_body_bytes: int = 256 * 1024
    max_batch_events: int = 500
    track_requests_per_minute: int = 120  # per client address, on the public tracking routes
    # Proxies (CIDRs) whose Forwarded / X-Forwarded-For is believed; none by default.
    trusted_proxies: tuple[str, ...] = ()
    # A tap may be uploaded this long after it happened (an app offline), no longer.
    max_tap_age_days: int = 30
    live_keepalive_s: float = 15.0
    # Secrets: only ever from the environment.
    api_keys: tuple[str, ...] = field(default=(), repr=False)
    courier_token_secret: str = field(default="", repr=False)
    courier_token_ttl_s: int = 16 * 3600
    tracking_id_secret: str = field(default="", repr=False)
    # Key of the opt-out list's phone-number hash: the list keeps no raw numbers.
    opt_out_secret: str = field(default="", repr=False)
    # Logs
    log_level: str = "info"
    log_format: str = "json"
    # Tracing: spans go to this OTLP endpoint; empty, none are exported. The standard
    # OpenTelemetry variable, without our prefix.
    otel_exporter_otlp_endpoint: str = field(
        default="", metadata={"env": "OTEL_EXPORTER_OTLP_ENDPOINT"}
    )

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        for f in fields(cls):
            name = env_name(f)
            if name in env:
                values[f.name] = _parse(name, env[name], f.default)
        return cls(**values)

    def to_env(self) -> dict[str, str]:
        """The environment that makes the same Settings in a child process."""
        env = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool):
                value = "true" if value else "false"
            elif isinstance(value, tuple):
                value = ",".join(value)
            env[env_name(f)] = str(value)
        return env

    def child_env(self, **extra: str) -> dict[str, str]:
        """This process's environment with these Settings over it (and `extra` over both):
        a child process started with it reads the same Settings."""
        return {**os.environ, **self.to_env(), **extra}

    def in_namespace(self, name: str) -> Settings:
        """These Settings with topics and consumer groups of their own, prefixed with `name`:
        runs that share a broker stay apart (tests, benchmarks)."""
        return self.with_(
            **{
                f.name: f"{name}.{getattr(self, f.name)}"
                for f in fields(self)
                if f.name.endswith(("_topic", "_group"))
            }
        )

    def with_(self, **changes: Any) -> Settings:
        return replace(self, **changes)

    def require(self, *names: str) -> None:
        """Fail fast, naming the variable, when a service starts without a secret it needs."""
        missing = [PREFIX + n.upper() for n in names if not getattr(self, n)]
        if missing:
            raise ConfigError(f"not set: {', '.join(missing)}")


def env_name(f: Field[Any]) -> str:
    """The environment variable of a Settings field."""
    return str(f.metadata.get("env", PREFIX + f.name.upper()))


def _parse(name: str, raw: str, default: object) -> object:
    try:
        if isinstance(default, bool):
            if raw.lower() not in {"1", "0", "true", "false", "yes", "no"}:
                raise ValueError(raw)
            return raw.lower() in {"1", "true", "yes"}
        if isinstance(default, int):
            return int(raw)
        if isinstance(default, float):
            return float(raw)
        if isinstance(default, tuple):
            return tuple(part.strip() for part in raw.split(",") if part.strip())
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a valid {type(default).__name__}") from None
    return raw
