"""deploy/k8s: both overlays render (kubectl's kustomize), every object is valid against the
Kubernetes schema, and what the manifests say of the image, ports, commands and settings
matches the code."""

from __future__ import annotations

import base64
import functools
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from shipnotify import cli
from shipnotify import web as sweb
from shipnotify.config import VARIABLES, Settings
from shipnotify.devstack import kafka_broker

ROOT = Path(__file__).resolve().parents[2]
OVERLAYS = ["dev", "prod"]
DEPLOYABLES = {"ingest", "tracker", "status_api", "hooks", "notifier", "console"}
SETTING_NAMES = set(VARIABLES.values())
# Prod's secrets come from outside: for the settings' check, stand-ins of each one's kind.
STAND_INS = {
    "SHIPNOTIFY_TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
    "SHIPNOTIFY_COURIER_TOKEN_SECRET": "x" * 32,
}
NEEDS = {  # what each service refuses to start without
    "ingest": ("api_keys", "courier_token_secret", "tracking_id_secret"),
    "notifier": (
        "twilio_account_sid",
        "twilio_auth_token",
        "twilio_from",
        "smtp_host",
        "opt_out_secret",
    ),
    # the webhooks' signatures; the opt-out list's keyed hash
    "hooks": ("twilio_auth_token", "opt_out_secret"),
    "status_api": (),
    "tracker": ("opt_out_secret",),  # the surveys' keyed hashes of numbers
    "console": ("api_keys",),  # the operator signs in with it
}


@functools.cache
def rendered(overlay: str) -> list[dict[str, Any]]:
    kubectl = shutil.which("kubectl", path=str(Path(sys.executable).parent)) or "kubectl"
    out = subprocess.run(
        [kubectl, "kustomize", str(ROOT / "deploy" / "k8s" / "overlays" / overlay)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    return [d for d in yaml.safe_load_all(out) if d]


def of_kind(overlay: str, kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in rendered(overlay) if d["kind"] == kind}


def service_name(k8s_name: str) -> str:
    return k8s_name.replace("-", "_")  # DNS names have no '_'


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_object_is_valid_against_the_kubernetes_schema(overlay: str) -> None:
    docs = rendered(overlay)
    assert len(docs) >= 4 * 4 + 2
    for doc in docs:
        kubernetes_validate.validate(doc, "1.37.0", strict=True)  # raises on any error


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_each_service_has_its_objects(overlay: str) -> None:
    for kind in ("Deployment", "Service", "ServiceAccount", "PodDisruptionBudget"):
        assert set(map(service_name, of_kind(overlay, kind))) == DEPLOYABLES, kind
    hpas = of_kind(overlay, "HorizontalPodAutoscaler")
    assert set(map(service_name, hpas)) == {"ingest", "status_api", "hooks", "console"}
    for hpa in hpas.values():
        assert hpa["spec"]["scaleTargetRef"]["name"] in of_kind(overlay, "Deployment")


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_containers_run_the_image_as_the_code_expects(overlay: str) -> None:
    dockerfile = (ROOT / "deploy" / "Dockerfile").read_text()
    uid = int(dockerfile.rsplit("\nUSER ", 1)[1].split(":")[0])
    config = of_kind(overlay, "ConfigMap")
    for name, deployment in of_kind(overlay, "Deployment").items():
        pod = deployment["spec"]["template"]["spec"]
        (container,) = pod["containers"]
        assert container["image"].rsplit("/", 1)[-1].split(":")[0] == "shipnotify"
        args = cli._parser().parse_args(container["args"])
        assert args.command == service_name(name)  # one name per deployable
        env = _environment(container, config)
        (port,) = container["ports"]
        assert port["containerPort"] == int(env["SHIPNOTIFY_HTTP_PORT"])
        assert env["SHIPNOTIFY_HTTP_HOST"] == "0.0.0.0"  # noqa: S104 (a pod's own interface)
        paths = {r.path for r in sweb._COMMON}
        assert container["livenessProbe"]["httpGet"]["path"] in paths
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
        assert pod["securityContext"]["runAsNonRoot"]
        assert pod["securityContext"]["runAsUser"] == uid
        assert container["securityContext"]["readOnlyRootFilesystem"]
        assert container["resources"]["limits"]["memory"]
        annotations = deployment["spec"]["template"]["metadata"]["annotations"]
        assert annotations["prometheus.io/path"] == "/metrics"
        assert annotations["prometheus.io/port"] == env["SHIPNOTIFY_HTTP_PORT"]
        for service in of_kind(overlay, "Service").values():
            if service["metadata"]["name"] == name:
                assert service["spec"]["ports"][0]["targetPort"] == port["name"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_variable_is_a_setting_and_each_service_has_what_it_needs(overlay: str) -> None:
    config = of_kind(overlay, "ConfigMap")
    secrets = of_kind(overlay, "Secret")
    for name, deployment in of_kind(overlay, "Deployment").items():
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        env = _environment(container, config)
        from_secret = {
            e["name"]: e["valueFrom"]["secretKeyRef"]
            for e in container.get("env", [])
            if "valueFrom" in e
        }
        assert set(env) | set(from_secret) <= SETTING_NAMES
        for ref in from_secret.values():
            assert ref["name"] == "shipnotify-secrets"
            if overlay == "dev":  # generated here; prod's comes from outside, same keys
                assert ref["key"] in secrets["shipnotify-secrets"]["data"] or ref.get("optional")
        given = env | {
            k: _secret_value(secrets, ref) if overlay == "dev" else STAND_INS.get(k, "set")
            for k, ref in from_secret.items()
            if not ref.get("optional")
        }
        settings = Settings.from_env(given)
        settings.require(*NEEDS[service_name(name)])


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_status_api_is_given_no_secret(overlay: str) -> None:
    (container,) = of_kind(overlay, "Deployment")["status-api"]["spec"]["template"]["spec"][
        "containers"
    ]
    assert [e for e in container.get("env", []) if "valueFrom" in e] == []
    assert all("secretRef" not in source for source in container.get("envFrom", []))


def test_prod_runs_the_scale_out_the_readme_plans() -> None:
    deployments = of_kind("prod", "Deployment")
    assert deployments["tracker"]["spec"]["replicas"] == 3
    assert deployments["notifier"]["spec"]["replicas"] == 2
    (config,) = of_kind("prod", "ConfigMap").values()
    assert int(config["data"]["SHIPNOTIFY_KAFKA_PARTITIONS"]) >= 3  # none of them idle
    assert config["data"]["SHIPNOTIFY_KAFKA_IDEMPOTENCE"] == "true"
    assert Settings.from_env(config["data"]).redis_cluster


def _environment(container: dict[str, Any], config: dict[str, dict[str, Any]]) -> dict[str, str]:
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        env |= config[source["configMapRef"]["name"]]["data"]
    env |= {e["name"]: e["value"] for e in container.get("env", []) if "value" in e}
    return env


def _secret_value(secrets: dict[str, dict[str, Any]], ref: dict[str, str]) -> str:
    return base64.b64decode(secrets[ref["name"]]["data"][ref["key"]]).decode()


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_manifests_name_the_kafka_version_the_tests_run(overlay: str) -> None:
    (config,) = of_kind(overlay, "ConfigMap").values()
    assert config["metadata"]["annotations"]["shipnotify/kafka-version"] == kafka_broker.version()
