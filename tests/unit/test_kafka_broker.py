"""The launcher's decisions about Apache Kafka, without starting it."""

from __future__ import annotations

from pathlib import Path

import pytest

from shipnotify.devstack import kafka_broker


def test_a_missing_classpath_says_how_to_resolve_it(tmp_path: Path) -> None:
    with pytest.raises(kafka_broker.NotInstalled, match="make kafka-jars"):
        kafka_broker.classpath(tmp_path / "classpath.txt")


def test_a_classpath_naming_a_missing_jar_says_how_to_resolve_it(tmp_path: Path) -> None:
    jar = tmp_path / "kafka-clients.jar"
    jar.write_bytes(b"PK")
    listed = tmp_path / "classpath.txt"
    listed.write_text(f"{jar}:{tmp_path / 'gone.jar'}\n")
    with pytest.raises(kafka_broker.NotInstalled, match=r"gone\.jar.*make kafka-jars"):
        kafka_broker.classpath(listed)
    listed.write_text(f"{jar}\n")
    assert kafka_broker.classpath(listed) == str(jar)


def test_the_node_listens_and_keeps_its_log_where_it_is_told(tmp_path: Path) -> None:
    settings = kafka_broker.node_settings(9092, 9093, tmp_path / "data")
    text = kafka_broker.properties(settings)
    assert "listeners=PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093\n" in text
    assert "advertised.listeners=PLAINTEXT://127.0.0.1:9092\n" in text
    assert "controller.quorum.voters=1@127.0.0.1:9093\n" in text
    assert f"log.dirs={tmp_path / 'data'}\n" in text


def test_the_version_is_the_pom_s(tmp_path: Path) -> None:
    pom = tmp_path / "pom.xml"
    pom.write_text(
        "<project><properties><kafka.version>4.9.1</kafka.version></properties></project>"
    )
    assert kafka_broker.version(pom) == "4.9.1"
    pom.write_text("<project/>")
    with pytest.raises(ValueError, match=r"kafka\.version"):
        kafka_broker.version(pom)


def test_a_cluster_id_never_reads_as_an_option() -> None:
    """One id in 64 would start with '-' as plain base64; the storage tool then refuses it."""
    ids = [kafka_broker.new_cluster_id() for _ in range(3000)]
    assert not [i for i in ids if i.startswith("-")]
    assert {len(i) for i in ids} == {22}
    assert len(set(ids)) == len(ids)
