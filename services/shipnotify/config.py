"""Settings, read once from the environment at the entry point.

This is the only module that knows environment variable names; everything below
the entry point receives a `Settings`. Every value is checked by its kind (setting_kinds.py)
when Settings are made, so that a bad one stops a service before it listens or connects.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from pydantic import Field, ModelWrapValidatorHandler, ValidationError, model_validator
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from shipnotify.model import survey
from shipnotify.setting_kinds import (
    AccountSid,
    BaseUrl,
    Csv,
    Depots,
    Group,
    Host,
    Hs256Key,
    KafkaBootstrap,
    LogFormat,
    LogLevel,
    MailAddress,
    Networks,
    NonNegative,
    OptionalBaseUrl,
    OptionalHost,
    Port,
    Positive,
    PositiveReal,
    QuietHours,
    RedisUrl,
    SmsSender,
    SurveyScale,
    TimeZone,
    Topic,
    UnhappyCes,
    UnhappyCsat,
    UnhappyNps,
    VapidPrivateKey,
    VapidPublicKey,
    VapidSubject,
)

PREFIX = "SHIPNOTIFY_"


class ConfigError(Exception):
    """A setting is missing or malformed; the message names the variable."""


def _secret(default: Any) -> Any:
    """A secret: kept out of reprs and error messages (the one marker is repr=False)."""
    return Field(default=default, repr=False)


class Settings(BaseSettings):
    """Keyword arguments make Settings of those values and the defaults; only `from_env`
    reads the environment. Either way every value is checked, and a bad one raises
    ConfigError naming its variable."""

    model_config = SettingsConfigDict(
        env_prefix=PREFIX,
        frozen=True,
        extra="forbid",
        validate_by_name=True,  # the OTel field by its name in code, by its alias in the env
        validate_by_alias=True,
    )

    # Kafka
    kafka_bootstrap: KafkaBootstrap = "127.0.0.1:9092"
    # Idempotent producers (with acks=all): a retried send is never written twice.
    kafka_idempotence: bool = True
    kafka_create_topics: bool = True
    kafka_partitions: Positive = 12
    kafka_send_timeout_s: PositiveReal = 5.0
    events_topic: Topic = "shipnotify.shipment-events.v1"
    events_dead_letter_topic: Topic = "shipnotify.shipment-events.v1.dlq"
    notifications_topic: Topic = "shipnotify.notifications.v1"
    tracker_group: Group = "shipnotify-tracker"
    tracker_batch_size: Positive = 500
    kafka_session_timeout_ms: Positive = 10_000
    # How long a fetch may wait for records; Kafka answers as soon as records arrive. 0: a
    # fetch answers at once.
    kafka_fetch_max_wait_ms: NonNegative = 500
    notifications_dead_letter_topic: Topic = "shipnotify.notifications.v1.dlq"
    notifier_group: Group = "shipnotify-notifier"
    feedback_topic: Topic = "shipnotify.feedback.v1"
    feedback_dead_letter_topic: Topic = "shipnotify.feedback.v1.dlq"
    feedback_group: Group = "shipnotify-tracker-feedback"
    accounts_topic: Topic = "shipnotify.accounts.v1"
    accounts_dead_letter_topic: Topic = "shipnotify.accounts.v1.dlq"
    accounts_group: Group = "shipnotify-tracker-accounts"
    # Notices
    twilio_account_sid: AccountSid = ""
    twilio_auth_token: str = _secret("")
    twilio_from: SmsSender = ""  # a sender number in E.164 or a Messaging Service SID (MG...)
    twilio_api_url: OptionalBaseUrl = ""  # only to point at the SMS sandbox; empty: Twilio itself
    smtp_host: OptionalHost = "127.0.0.1"
    smtp_port: Port = 25
    smtp_username: str = ""
    smtp_password: str = _secret("")
    smtp_starttls: bool = False
    mail_from: MailAddress = "shipnotify <notices@localhost>"
    sms_per_second: PositiveReal = 10.0
    emails_per_second: PositiveReal = 20.0
    pushes_per_second: PositiveReal = 50.0
    sends_in_flight: Positive = 32  # per channel
    send_timeout_s: PositiveReal = 10.0
    retry_first_s: PositiveReal = 2.0  # first retry delay; doubles, with jitter, up to the max
    retry_max_delay_s: PositiveReal = 300.0  # the longest wait between two tries of a notice
    retry_max_age_s: Positive = 24 * 3600
    quiet_hours: QuietHours = "21:00-08:00"  # no SMS or push then, in the contact's zone; "": none
    webhook_url: OptionalBaseUrl = ""  # where providers and pages reach hooks; "": public_url
    # Business customers' webhook endpoints (Standard Webhooks): each try's timeout, how long
    # a message is retried (backoff with jitter, never sooner than a Retry-After), sends in
    # flight to one endpoint, after how many days of failing an endpoint is disabled, how
    # long a rotated-out secret still signs, and how long the delivery log keeps a message.
    webhook_timeout_s: PositiveReal = 15.0
    webhook_max_age_s: Positive = 80 * 3600
    webhook_retry_max_delay_s: PositiveReal = 3600.0
    webhooks_per_endpoint: Positive = 4
    webhook_disable_after_days: PositiveReal = 5.0
    webhook_rotation_s: Positive = 24 * 3600
    webhook_log_days: Positive = 30
    webhooks_per_second: PositiveReal = 200.0
    # Only the local stack and tests: endpoints may be http:// and resolve to loopback.
    webhook_allow_loopback: bool = False
    # Web Push (RFC 8292): the application server's key pair, base64url (the private key's
    # 32 bytes; the public key's uncompressed point, which the tracking page subscribes
    # with), and the contact the push services may write to (mailto: or https:).
    vapid_private_key: VapidPrivateKey = _secret("")
    vapid_public_key: VapidPublicKey = ""
    vapid_subject: VapidSubject = ""
    # Surveys and call-backs. The question asked after delivery, and which of its scores
    # are unhappy (each opens a call-back case), per scale.
    survey_scale: SurveyScale = "csat"
    survey_unhappy_csat: UnhappyCsat = "1-2"
    survey_unhappy_nps: UnhappyNps = "0-6"
    survey_unhappy_ces: UnhappyCes = "1-3"
    survey_delay_s: NonNegative = 2 * 3600  # after delivery; then in the contact's waking hours
    survey_every_days: Positive = 30  # a person (phone or email) is asked at most this often
    survey_answer_days: Positive = (
        7  # a survey takes answers (a later replaces an earlier) this long
    )
    # Depots: each one's supervisor (who gets the call-back alerts), time zone and closing
    # time: "north=a@x.example Europe/Chisinau 18:00; *=b@x.example UTC 17:00" (* = any other).
    depots: Depots = ""
    callback_hours: NonNegative = 0  # a case is due this many hours after it opened; 0: at closing
    # The carrier's own time zone: the console's days, weekdays and hours are its.
    time_zone: TimeZone = "UTC"
    figures_days: Positive = 400  # the console's per-day figures are kept this long
    console_session_s: Positive = 8 * 3600  # a console session ends this long after sign-in
    console_url: OptionalBaseUrl = ""  # where the console's sign-in links lead; "": public_url
    # Redis
    redis_url: RedisUrl = "redis://127.0.0.1:6379/0"
    redis_cluster: bool = False  # redis_url is a node of a Redis Cluster
    redis_max_connections: Positive = 128  # per process; live pages hold one each while open
    retention_days: Positive = 90
    # A shipment that never reaches a final status: its personal data goes after this.
    stale_days: Positive = 90
    # HTTP
    http_host: Host = "127.0.0.1"
    http_port: Port = 8080
    public_url: BaseUrl = "http://127.0.0.1:8080"
    ingest_url: OptionalBaseUrl = ""  # where couriers' phones reach the app; "": public_url
    max_body_bytes: Positive = 256 * 1024
    max_batch_events: Positive = 500
    track_requests_per_minute: Positive = 120  # per client address, on the public tracking routes
    # Proxies (CIDRs) whose Forwarded / X-Forwarded-For is believed; none by default.
    trusted_proxies: Networks = ()
    # A tap may be uploaded this long after it happened (an app offline), no longer.
    max_tap_age_days: Positive = 30
    live_keepalive_s: PositiveReal = 15.0
    # Secrets: only ever from the environment.
    api_keys: Csv = _secret(())
    courier_token_secret: Hs256Key = _secret("")
    courier_token_ttl_s: Positive = 16 * 3600
    tracking_id_secret: str = _secret("")
    # Key of the opt-out list's phone-number hash: the list keeps no raw numbers.
    opt_out_secret: str = _secret("")
    # Logs
    log_level: LogLevel = "info"
    log_format: LogFormat = "json"
    # Tracing: spans go to this OTLP endpoint; empty, none are exported. The standard
    # OpenTelemetry variable, without our prefix.
    otel_exporter_otlp_endpoint: OptionalBaseUrl = Field(
        default="", validation_alias="OTEL_EXPORTER_OTLP_ENDPOINT"
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Keywords only: Settings made in code (tests, the dev stack) never take up whatever
        # the process's environment holds. from_env adds the environment explicitly.
        return (init_settings,)

    @model_validator(mode="wrap")
    @classmethod
    def _as_config_error(cls, given: Any, handler: ModelWrapValidatorHandler[Settings]) -> Any:
        # Not a ValueError, so pydantic lets it through as it is: one line naming each variable
        try:
            return handler(given)
        except ValidationError as e:
            raise ConfigError(_described(e, given)) from None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """The Settings of this environment (the process's, unless another is given)."""
        return cls(**_Environment(cls, os.environ if env is None else env)())

    def to_env(self) -> dict[str, str]:
        """The environment that makes the same Settings in a child process."""
        return {VARIABLES[name]: _text(getattr(self, name)) for name in VARIABLES}

    def child_env(self, **extra: str) -> dict[str, str]:
        """This process's environment with these Settings over it (and `extra` over both):
        a child process started with it reads the same Settings."""
        return {**os.environ, **self.to_env(), **extra}

    def in_namespace(self, name: str) -> Settings:
        """These Settings with topics and consumer groups of their own, prefixed with `name`:
        runs that share a broker stay apart (tests, benchmarks)."""
        return self.with_(
            **{
                field: f"{name}.{getattr(self, field)}"
                for field in VARIABLES
                if field.endswith(("_topic", "_group"))
            }
        )

    def with_(self, **changes: Any) -> Settings:
        """These Settings with some values changed, checked like any others."""
        return type(self)(**{**{name: getattr(self, name) for name in VARIABLES}, **changes})

    def survey_rules(self) -> survey.Rules:
        """The survey settings as the survey rules (model/survey.py) take them."""
        return survey.Rules(
            scale=survey.SCALE_NAMES[self.survey_scale],
            unhappy={
                scale: survey.parse_range(getattr(self, f"survey_unhappy_{name}"), scale)
                for name, scale in survey.SCALE_NAMES.items()
            },
            delay=timedelta(seconds=self.survey_delay_s),
            every_days=self.survey_every_days,
            answer_days=self.survey_answer_days,
            depots=survey.parse_depots(self.depots),
            callback_hours=self.callback_hours,
        )

    def require(self, *names: str) -> None:
        """Fail fast, naming the variable, when a service starts without a secret it needs."""
        missing = [VARIABLES[n] for n in names if not getattr(self, n)]
        if missing:
            raise ConfigError(f"not set: {', '.join(missing)}")


def _variable(name: str) -> str:
    alias = Settings.model_fields[name].validation_alias
    return alias if isinstance(alias, str) else PREFIX + name.upper()


# Each setting's environment variable, by field name, in the order of the fields.
VARIABLES: Mapping[str, str] = {name: _variable(name) for name in Settings.model_fields}
_FIELD_OF = {key: name for name, var in VARIABLES.items() for key in (name, var)}


def env_name(field: str) -> str:
    """The environment variable of a Settings field."""
    return VARIABLES[field]


def unknown(env: Mapping[str, str] | None = None) -> list[str]:
    """Variables with our prefix that name no setting (a misspelling is read as nothing),
    each with the setting it is likeliest meant to be."""
    known = {v.removeprefix(PREFIX) for v in VARIABLES.values()}
    given = sorted(n for n in (os.environ if env is None else env) if n.startswith(PREFIX))
    found = []
    for name in (n for n in given if n.removeprefix(PREFIX) not in known):
        near = difflib.get_close_matches(name.removeprefix(PREFIX), known, n=1)
        found.append(f"{name} (did you mean {PREFIX}{near[0]}?)" if near else name)
    return found


class _Environment(EnvSettingsSource):
    """pydantic-settings' environment source over a given mapping (os.environ or a test's),
    taking only our variables, spelt exactly."""

    def __init__(self, settings_cls: type[BaseSettings], env: Mapping[str, str]) -> None:
        self._given = env
        super().__init__(settings_cls)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        # The source matches names case-insensitively (lower-cased); ours are exact.
        return {var.lower(): self._given[var] for var in VARIABLES.values() if var in self._given}


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple):
        return ",".join(value)  # comma-separated, as from_env reads it
    return str(value)


def _described(error: ValidationError, given: Any) -> str:
    """One line: each bad variable with its value as given (not a secret's) and what is
    wrong, separated by '; '."""
    given = given if isinstance(given, Mapping) else {}
    wrong: dict[str, list[str]] = {}
    for e in error.errors(include_url=False):
        key = str(e["loc"][0]) if e["loc"] else ""
        name = _FIELD_OF.get(key)
        if name is None:
            head = key
        elif not Settings.model_fields[name].repr:
            head = f"{VARIABLES[name]} (a secret, not shown)"
        elif key in given:
            head = f"{VARIABLES[name]}={given[key]!r}"
        else:
            head = VARIABLES[name]
        wrong.setdefault(head, []).append(
            "not a setting" if e["type"] == "extra_forbidden" else _message(e["msg"])
        )
    return "; ".join(f"{head}: {', '.join(messages)}" for head, messages in wrong.items())


def _message(msg: str) -> str:
    # pydantic's "Input should be ..." reads like the kinds' own "should be ..."
    msg = msg.removeprefix("Value error, ").replace("Input should", "should", 1)
    return " ".join(msg.split())  # one line, whatever a message holds
