"""Apache Kafka for the local stack, the tests and the benchmark: one node in KRaft mode,
broker and controller, on loopback. What it runs and with which settings is decided here;
processes.broker runs it.

The jars come from Maven (apache-kafka/pom.xml, which pins the version); `make kafka-jars`
resolves them once and writes their classpath to apache-kafka/classpath.txt, so a start never
reaches the network."""

from __future__ import annotations

import base64
import re
import shutil
import uuid
from collections.abc import Mapping
from pathlib import Path

HOME = Path(__file__).with_name("apache-kafka")
POM = HOME / "pom.xml"
CLASSPATH = HOME / "classpath.txt"
LOG_CONFIG = HOME / "log4j2.properties"

SERVER_MAIN = "kafka.Kafka"
STORAGE_TOOL_MAIN = "kafka.tools.StorageTool"

# The settings of the single node, in one place. A node alone can have one replica of
# anything, and nothing is gained by waiting for more members before a group's first
# rebalance; the internal topics get one partition each, as every group and producer of a
# test session shares the one node anyway.
NODE_SETTINGS: Mapping[str, str] = {
    "process.roles": "broker,controller",
    "node.id": "1",
    "controller.listener.names": "CONTROLLER",
    "inter.broker.listener.name": "PLAINTEXT",
    "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
    "offsets.topic.replication.factor": "1",
    "offsets.topic.num.partitions": "1",
    "transaction.state.log.replication.factor": "1",
    "transaction.state.log.min.isr": "1",
    "transaction.state.log.num.partitions": "1",
    "share.coordinator.state.topic.replication.factor": "1",
    "share.coordinator.state.topic.min.isr": "1",
    "min.insync.replicas": "1",
    "group.initial.rebalance.delay.ms": "0",
    # the tests give their consumers a 2 s session, so a killed member is replaced quickly
    "group.min.session.timeout.ms": "500",
    # the services create their topics (kafka.ensure_topics), as an operator would
    "auto.create.topics.enable": "false",
}

# A small heap and C1 only: the start costs about 40% less CPU than with C2 on 2 cores.
JVM_FLAGS = (
    "-Xms128m",
    "-Xmx1g",
    "-XX:+UseSerialGC",
    "-XX:TieredStopAtLevel=1",
    "-XX:+ExitOnOutOfMemoryError",
    "-Djava.awt.headless=true",
)


class NotInstalled(RuntimeError):
    pass


def version(pom: Path = POM) -> str:
    """The Apache Kafka version the pom pins (docker-compose.yml and deploy/ name it too)."""
    found = re.search(r"<kafka\.version>([^<]+)</kafka\.version>", pom.read_text())
    if found is None:
        raise ValueError(f"{pom} names no kafka.version")
    return found[1]


def node_settings(port: int, controller_port: int, data: Path) -> dict[str, str]:
    """Every setting of a node whose clients connect to `port` and whose log is in `data`."""
    return {
        **NODE_SETTINGS,
        "listeners": f"PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}",
        "advertised.listeners": f"PLAINTEXT://127.0.0.1:{port}",
        "controller.quorum.voters": f"1@127.0.0.1:{controller_port}",
        "log.dirs": str(data),
    }


def properties(settings: Mapping[str, str]) -> str:
    """A Java properties file of the settings (values are ports, names and paths)."""
    return "".join(f"{key}={_escaped(value)}\n" for key, value in settings.items())


def _escaped(value: str) -> str:
    return value.replace("\\", "\\\\")  # the one escape a path could need


def new_cluster_id() -> str:
    """A cluster id as Kafka spells one: a UUID in URL-safe base64 without padding, never
    starting with '-' (Kafka's own ids skip those too: the storage tool reads one as an option)."""
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
        if not cluster_id.startswith("-"):
            return cluster_id


def format_command(java: str, classpath: str, config: Path, cluster_id: str) -> list[str]:
    """Formats the node's storage; KRaft starts only on formatted storage."""
    return [
        *_jvm(java, classpath),
        STORAGE_TOOL_MAIN,
        "format",
        "-t",
        cluster_id,
        "-c",
        str(config),
    ]


def start_command(java: str, classpath: str, config: Path) -> list[str]:
    return [*_jvm(java, classpath), SERVER_MAIN, str(config)]


def _jvm(java: str, classpath: str) -> list[str]:
    return [java, *JVM_FLAGS, f"-Dlog4j2.configurationFile={LOG_CONFIG}", "-cp", classpath]


def java() -> str:
    found = shutil.which("java")
    if found is None:
        raise NotInstalled("java is not installed (Debian: apt-get install default-jre-headless)")
    return found


def classpath(path: Path = CLASSPATH) -> str:
    """The resolved jars; raises NotInstalled, saying how to resolve them, when any is missing."""
    hint = f"run `make kafka-jars` (Maven resolves {POM.name} in {HOME})"
    try:
        jars = path.read_text().strip()
    except FileNotFoundError:
        raise NotInstalled(f"Apache Kafka's jars are not resolved: {hint}") from None
    missing = [jar for jar in jars.split(":") if not Path(jar).is_file()]
    if not jars or missing:
        raise NotInstalled(f"Apache Kafka's jars are missing ({missing[:1]}): {hint}")
    return jars
