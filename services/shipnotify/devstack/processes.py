"""Child servers of the local stack and the tests: Apache Kafka and redis-server, on free
loopback ports, stopped with their parent."""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import ctypes
import random
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from shipnotify import kafka
from shipnotify.config import Settings
from shipnotify.devstack import kafka_broker

_PR_SET_PDEATHSIG = 1


@dataclass(frozen=True)
class Server:
    address: str  # host:port for the broker, a redis:// URL for Redis
    proc: subprocess.Popen[bytes]

    def stop(self) -> None:
        stop(self.proc)


_GIVEN: set[int] = set()  # the ports this process handed out: never twice


def free_port() -> int:
    """A loopback port nobody listens on, below the kernel's range of ephemeral ports: a port
    from that range (what binding to port 0 gives) may be taken, before the server that was
    to listen on it starts, by any client's outgoing connection (a broker's, Redis's)."""
    low = _ephemeral_low()
    for _ in range(200):
        port = _PORTS.randrange(max(1024, low - 12_000), low)
        if port in _GIVEN:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        _GIVEN.add(port)
        return port
    raise RuntimeError("no free loopback port below the ephemeral range")


_PORTS = random.Random()  # seeded by the OS: processes side by side pick apart


def _ephemeral_low() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768  # Linux's default


def _die_with_parent() -> None:
    # Linux: the child gets SIGTERM when its parent dies, even by kill -9.
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def _spawn(args: list[str], log_path: Path, cwd: Path | None = None) -> subprocess.Popen[bytes]:
    with log_path.open("ab") as out:  # the child keeps its own descriptor
        return subprocess.Popen(
            args,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=cwd,
            preexec_fn=_die_with_parent,
            start_new_session=True,  # Ctrl-C goes to us, not them
        )


def _tail(log_path: Path, count: int = 15) -> str:
    """The end of a child's log without Java's stack frames, after its first error, if any
    (the broker's reason to stop comes first; what follows is its shutdown)."""
    lines = [
        line
        for line in log_path.read_text(errors="replace").splitlines()
        if not _STACK_FRAME.match(line)
    ]
    first = next((i for i, line in enumerate(lines) if _ERROR.search(line)), len(lines))
    return "\n".join([*lines[first : first + 2], "...", *lines[-count:]])


_STACK_FRAME = re.compile(r"\s+(at |\.\.\. \d+ more)")
_ERROR = re.compile(r"\] (ERROR|FATAL) ")


def _wait_for_port(
    port: int, proc: subprocess.Popen[bytes], log_path: Path, timeout_s: float
) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{log_path.stem} exited: {_tail(log_path)}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise RuntimeError(f"{log_path.stem} did not listen on {port} within {timeout_s}s")


def stop(proc: subprocess.Popen[bytes], timeout_s: float = 5.0) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextlib.contextmanager
def broker(workdir: Path, port: int | None = None, *, timeout_s: float = 60.0) -> Iterator[Server]:
    """Apache Kafka, one node in KRaft mode (kafka_broker), on loopback; yields its bootstrap
    address once it answers (its metadata, a group coordinator). Its storage is in a new
    folder of `workdir`. A start that fails or takes longer than `timeout_s` raises with the
    broker's reason and leaves no JVM behind; so does leaving the context."""
    java, classpath = kafka_broker.java(), kafka_broker.classpath()
    port = port or free_port()
    node = Path(tempfile.mkdtemp(prefix=f"kafka-{port}-", dir=workdir))
    config = node / "server.properties"
    settings = kafka_broker.node_settings(port, _another_port(port), node / "data")
    config.write_text(kafka_broker.properties(settings))
    log_path = workdir / f"kafka-{port}.log"
    fmt = kafka_broker.format_command(java, classpath, config, kafka_broker.new_cluster_id())
    _formatted_storage(fmt, node / "data", log_path, timeout_s)
    proc = _spawn(kafka_broker.start_command(java, classpath, config), log_path, node)
    address = f"127.0.0.1:{port}"
    try:
        _wait_until_answering(address, proc, log_path, timeout_s)
        yield Server(address, proc)
    finally:
        stop(proc)


_formatted: dict[str, Path] = {}  # "storage": this process's freshly formatted one, to copy


def _formatted_storage(fmt: list[str], data: Path, log_path: Path, timeout_s: float) -> None:
    """Formats a node's storage, or copies the one this process formatted first: the tool
    is a JVM start of its own (1.6 s), and a new one-node cluster's storage holds nothing of
    its ports or paths."""
    if "storage" not in _formatted:
        _run("formatting its storage", fmt, log_path, data.parent, timeout_s)
        kept = Path(tempfile.mkdtemp(prefix="shipnotify-kafka-storage-")) / "data"
        shutil.copytree(data, kept)
        atexit.register(shutil.rmtree, kept.parent, ignore_errors=True)
        _formatted["storage"] = kept
        return
    shutil.copytree(_formatted["storage"], data)


async def _answers(probe: Settings) -> bool:
    """The cluster's metadata, then a group coordinator: on a new node the first question
    about a group makes the offsets topic, so asked here, no service's first join waits."""
    if not await kafka.reachable(probe, timeout_s=1.0):
        return False
    await kafka.committed(probe, "shipnotify-broker-start", probe.events_topic)
    return True


def _listening(address: str) -> bool:
    host, port = address.rsplit(":", 1)
    with contextlib.suppress(OSError), socket.create_connection((host, int(port)), 0.2):
        return True
    return False


def _another_port(taken: int) -> int:
    while (port := free_port()) == taken:
        pass
    return port


def _run(what: str, args: list[str], log_path: Path, cwd: Path, timeout_s: float) -> None:
    """Runs a command to its end, its output to the log; raises with the log's tail."""
    proc = _spawn(args, log_path, cwd)
    try:
        code = proc.wait(timeout_s)
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"{log_path.stem}: {what} took over {timeout_s}s") from None
    finally:
        stop(proc)  # after an interrupt too: the child is in a session of its own
    if code != 0:
        raise RuntimeError(f"{log_path.stem}: {what} failed: {_tail(log_path)}")


def _wait_until_answering(
    address: str, proc: subprocess.Popen[bytes], log_path: Path, timeout_s: float
) -> None:
    """Polls with real Kafka requests until the broker answers (see _answers)."""
    probe = Settings(kafka_bootstrap=address)
    deadline = time.monotonic() + timeout_s
    # In a thread of its own: the caller may be running an event loop (`shipnotify dev`).
    with ThreadPoolExecutor(1, thread_name_prefix="kafka-probe") as pool:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"{log_path.stem} exited: {_tail(log_path)}")
            # Kafka binds its listener late in its start: till then, no client and its logs.
            if _listening(address) and pool.submit(asyncio.run, _answers(probe)).result():
                return
            time.sleep(0.05)
    raise RuntimeError(
        f"{log_path.stem} did not answer on {address} within {timeout_s}s: {_tail(log_path)}"
    )


@contextlib.contextmanager
def redis_server(
    workdir: Path, port: int | None = None, *, cluster: bool = False, data: Path | None = None
) -> Iterator[Server]:
    """redis-server on loopback with an append-only file (in `data`, or a new folder);
    yields its URL. With `cluster`, a node in cluster mode that owns no slots yet (see
    redis_cluster)."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("redis-server is not installed (Debian: apt-get install redis-server)")
    port = port or free_port()
    data = data or Path(tempfile.mkdtemp(prefix="redis-", dir=workdir))
    log_path = workdir / f"redis-{port}.log"
    args = [binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(data)]
    args += ["--save", "", "--appendonly", "yes", "--appendfsync", "everysec"]
    args += ["--protected-mode", "yes"]
    if cluster:
        args += ["--cluster-enabled", "yes", "--cluster-config-file", str(data / "nodes.conf")]
    proc = _spawn(args, log_path)
    try:
        _wait_for_port(port, proc, log_path, 20)
        yield Server(f"redis://127.0.0.1:{port}/0", proc)
    finally:
        stop(proc)


@contextlib.contextmanager
def redis_cluster(workdir: Path, masters: int = 3) -> Iterator[list[Server]]:
    """A Redis Cluster of `masters` nodes on loopback, the slots split between them; yields
    the nodes (any one's URL reaches the whole cluster)."""
    with contextlib.ExitStack() as nodes:
        servers = [
            nodes.enter_context(redis_server(workdir, _cluster_port(), cluster=True))
            for _ in range(masters)
        ]
        addresses = [s.address.removeprefix("redis://").removesuffix("/0") for s in servers]
        subprocess.run(
            ["redis-cli", "--cluster", "create", *addresses, "--cluster-yes"],
            check=True,
            capture_output=True,
            timeout=30,
        )
        for _ in range(200):  # every node knows the others and agrees on the slots
            if _cluster_ready(addresses):
                break
            time.sleep(0.05)
        else:
            raise RuntimeError(f"the Redis Cluster did not come up on {addresses}")
        yield servers


def _cluster_ready(addresses: list[str]) -> bool:
    """Every node's view is whole: state ok, every node known, every slot's owner agreed on
    (a client that hears MOVED from a node still learning the layout reconnects mid-command)."""
    for address in addresses:
        host, port = address.split(":")
        info = subprocess.run(
            ["redis-cli", "-h", host, "-p", port, "cluster", "info"],
            capture_output=True,
            text=True,
            timeout=5,
        ).stdout
        if "cluster_state:ok" not in info or f"cluster_known_nodes:{len(addresses)}" not in info:
            return False
    check = subprocess.run(  # asks every node for its slots and compares them
        ["redis-cli", "--cluster", "check", addresses[0]], capture_output=True, text=True, timeout=5
    )
    return check.returncode == 0 and "All nodes agree about slots configuration" in check.stdout


def _cluster_port() -> int:
    """A free port whose cluster bus port (10,000 higher) is free too."""
    for _ in range(100):
        port = free_port()
        if port <= 55535 and _bindable(port + 10000):
            return port
    raise RuntimeError("no free port pair for a Redis Cluster node")


def _bindable(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True
