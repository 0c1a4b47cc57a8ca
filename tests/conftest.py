"""Fixtures that start the real broker and redis-server on free loopback ports."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import hypothesis
import pytest
from redis.asyncio import Redis

from shipnotify.config import Settings
from shipnotify.devstack import processes
from shipnotify.store import connect, learn_slots

# No timing in tests (speed is the benchmark's): hypothesis's 200 ms per example deadline
# failed a property test on a busy machine once. pytest-timeout still stops a hang.
hypothesis.settings.register_profile("shipnotify", deadline=None, print_blob=True)
hypothesis.settings.load_profile("shipnotify")


@pytest.fixture(scope="session")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("servers")


@pytest.fixture(scope="session")
def broker(workdir: Path) -> Iterator[str]:
    with processes.broker(workdir) as server:
        yield server.address


# SHIPNOTIFY_TEST_REDIS_CLUSTER=1: the same tests against a three-master Redis Cluster
CLUSTER = os.environ.get("SHIPNOTIFY_TEST_REDIS_CLUSTER") == "1"


@pytest.fixture(scope="session")
def redis_url(workdir: Path) -> Iterator[str]:
    if CLUSTER:
        with processes.redis_cluster(workdir) as nodes:
            yield nodes[0].address
        return
    with processes.redis_server(workdir) as server:
        yield server.address


@pytest.fixture
def settings(broker: str, redis_url: str) -> Settings:
    """Settings of one test: its own topics and groups, so tests never see each other's
    records, and its own secrets, so that its opt-outs and tracking ids (Redis keys made
    from a keyed hash) are its own too."""
    run = uuid.uuid4().hex[:8]
    return Settings(
        kafka_bootstrap=broker,
        kafka_partitions=3,
        kafka_send_timeout_s=3.0,
        kafka_session_timeout_ms=2000,  # a consumer stopped without leaving is replaced soon
        redis_url=redis_url,
        redis_cluster=CLUSTER,
        api_keys=("test-key",),
        courier_token_secret="test-courier-secret-" + "x" * 40,
        tracking_id_secret=f"test-tracking-secret-{run}",
        opt_out_secret=f"test-opt-out-secret-{run}",
        public_url="http://tracking.test",
        track_requests_per_minute=1_000_000,  # the rate limit has its own test
        quiet_hours="",  # no test hangs on the hour it runs; the quiet-hours tests set their own
    ).in_namespace(f"test.{run}")


@pytest.fixture
async def redis(settings: Settings) -> AsyncIterator[Redis]:
    client = connect(settings)
    await learn_slots(client)
    yield client
    await client.aclose()


# -- the fault suite's figures (tests/chaos), printed at the end of the run
FIGURES: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when == "teardown":
        FIGURES.extend(str(v) for k, v in report.user_properties if k == "figures")


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if FIGURES:
        terminalreporter.section("fault injection: figures")
        for line in FIGURES:
            terminalreporter.write_line(line)
