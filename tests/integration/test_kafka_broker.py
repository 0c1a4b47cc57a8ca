"""The local stack's and the tests' Apache Kafka (devstack/kafka_broker.py, processes.broker):
it answers, keeps what an idempotent acks=all producer sends, and leaves no JVM behind when
its context ends, when its start fails, or when a test session ends."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from aiokafka.record.memory_records import MemoryRecords

from shipnotify import kafka
from shipnotify.config import Settings
from shipnotify.devstack import processes
from tests import jvms
from tests.integration.conftest import read_topic

pytestmark = pytest.mark.redis_agnostic  # its outcome does not depend on Redis: run once

ROOT = Path(__file__).resolve().parents[2]


async def test_a_round_trip_with_acks_all_and_an_idempotent_producer(
    settings: Settings, workdir: Path
) -> None:
    assert settings.kafka_idempotence  # the default
    await kafka.ensure_topics(settings)
    producer = kafka.producer(settings)
    await producer.start()
    try:
        sent = [await producer.send_and_wait(settings.events_topic, b"%d" % i) for i in range(5)]
    finally:
        await producer.stop()
    records = await read_topic(settings, settings.events_topic, 5)
    assert sorted(r.value for r in records) == [b"%d" % i for i in range(5)]
    # The broker keeps them as an idempotent producer's: its id, and a sequence per batch.
    partitions = {m.partition for m in sent}
    batches = await asyncio.to_thread(_batches, workdir, settings.events_topic, partitions)
    assert sum(b.next_offset - b.base_offset for b in batches) == 5
    assert len({b.producer_id for b in batches}) == 1
    assert all(b.producer_id >= 0 and b.base_sequence >= 0 for b in batches)
    assert not any(b.is_transactional for b in batches)


def _batches(workdir: Path, topic: str, partitions: set[int]) -> list[Any]:
    """The record batches in the log segments of the topic's partitions (the files the broker
    writes are record batches end to end, as a fetch returns them)."""
    found = []
    for p in partitions:
        for segment in workdir.glob(f"kafka-*/data/{topic}-{p}/*.log"):
            records = MemoryRecords(segment.read_bytes())
            while (batch := records.next_batch()) is not None:
                found.append(batch)
    return found


def test_leaving_the_context_stops_the_jvm(tmp_path: Path) -> None:
    with processes.broker(tmp_path) as broker:
        assert jvms.naming(tmp_path) == {broker.proc.pid}  # the JVM itself, not a wrapper
        with socket.create_connection(("127.0.0.1", int(broker.address.rsplit(":")[1])), 1):
            pass  # it listens
    assert broker.proc.returncode is not None
    assert jvms.naming(tmp_path) == set()


def test_a_start_that_fails_says_why_and_leaves_no_jvm(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        reason = f"failed to bind to 127.0.0.1:{port}"
        with pytest.raises(RuntimeError, match=reason), processes.broker(tmp_path, port):
            pass
    assert jvms.naming(tmp_path) == set()


def test_the_end_of_a_test_session_leaves_no_jvm(tmp_path: Path) -> None:
    """A pytest session of its own that uses the `broker` fixture, then a look for JVMs."""
    seen = tmp_path / "seen"
    test = tmp_path / "test_uses_the_broker.py"
    test.write_text(
        textwrap.dedent(
            f"""
            from pathlib import Path

            from tests import jvms


            def test_uses_the_broker(broker: str, workdir: Path) -> None:
                pids = jvms.naming(workdir)
                assert len(pids) == 1
                Path({str(seen)!r}).write_text(str(pids.pop()))
            """
        )
    )
    base = tmp_path / "base"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "tests.conftest",
            "-p",
            "no:cacheprovider",
            "-c",
            str(ROOT / "pyproject.toml"),
            "--rootdir",
            str(tmp_path),
            "--basetemp",
            str(base),
            "-q",
            str(test),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    pid = int(seen.read_text())
    assert pid not in jvms.java_processes()
    assert jvms.naming(base) == set()
