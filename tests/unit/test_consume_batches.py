"""The tracker's consume loop with a consumer of our own making: the next batch is handled
while Kafka acknowledges the last one's records, the commits stay in order, and a batch
whose records Kafka refused is handled again before it is committed."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from aiokafka import ConsumerRecord, TopicPartition
from aiokafka.errors import KafkaTimeoutError

from shipnotify import metrics
from shipnotify.consumer import batches

TP = TopicPartition("events", 0)


def record(offset: int) -> ConsumerRecord:
    return ConsumerRecord("events", 0, offset, 0, 0, b"s-1", b"x", None, 3, 1, [])


class Consumer:
    """Hands out the given batches, then nothing; keeps what was committed, and when."""

    def __init__(self, batches: list[list[ConsumerRecord]], seen: list[str]) -> None:
        self.batches, self.seen = batches, seen

    async def getmany(self, *, timeout_ms: int, max_records: int) -> dict[Any, Any]:
        await asyncio.sleep(0)
        return {TP: self.batches.pop(0)} if self.batches else {}

    def assignment(self) -> set[TopicPartition]:
        return {TP}

    async def commit(self, offsets: dict[TopicPartition, int]) -> None:
        self.seen.append(f"commit {offsets[TP]}")

    def highwater(self, tp: TopicPartition) -> None:
        return None


class Handler:
    """Handles a batch at once and returns one acknowledgement for it, answered when the
    test says so (`refused`: the first answer for that batch is a failure)."""

    def __init__(self, seen: list[str], refused: int | None = None) -> None:
        self.seen, self.refused = seen, refused
        self.acks: dict[int, list[asyncio.Future[Any]]] = {}

    async def __call__(self, records: Sequence[ConsumerRecord]) -> batches.Acks:
        first = records[0].offset
        self.seen.append(f"handle {first}")
        ack: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.acks.setdefault(first, []).append(ack)
        return [ack]

    def answer(self, first: int) -> None:
        ack = self.acks[first][-1]
        if self.refused == first:
            self.refused = None
            ack.set_exception(KafkaTimeoutError())
        else:
            ack.set_result(None)


async def until(seen: list[str], line: str, times: int = 1) -> None:
    async with asyncio.timeout(2):
        while seen.count(line) < times:  # noqa: ASYNC110 (the loop's own turns, nothing to wait on)
            await asyncio.sleep(0)


async def run(handler: Handler, consumer: Consumer, stop: asyncio.Event) -> asyncio.Task[None]:
    lag = metrics.LagGauge(consumer, "tracker")
    return asyncio.create_task(batches.consume(consumer, handler, stop, batch_size=10, lag=lag))


async def test_the_next_batch_is_handled_while_the_last_is_acknowledged_in_order() -> None:
    seen: list[str] = []
    handler, stop = Handler(seen), asyncio.Event()
    consumer = Consumer([[record(0), record(1)], [record(2)], [record(3)]], seen)
    task = await run(handler, consumer, stop)
    await until(seen, "handle 2")  # while batch 0 waits for Kafka
    assert seen == ["handle 0", "handle 2"]
    handler.answer(2)  # answered first, committed second
    handler.answer(0)
    await until(seen, "handle 3")
    handler.answer(3)
    await until(seen, "commit 4")
    stop.set()
    await task
    assert seen == ["handle 0", "handle 2", "commit 2", "handle 3", "commit 3", "commit 4"]


async def test_a_batch_whose_records_kafka_refused_is_handled_again_then_committed() -> None:
    seen: list[str] = []
    handler, stop = Handler(seen, refused=0), asyncio.Event()
    consumer = Consumer([[record(0)], [record(1)]], seen)
    task = await run(handler, consumer, stop)
    await until(seen, "handle 1")
    handler.answer(0)  # refused: batch 0 again, and its answer waited for
    await until(seen, "handle 0", times=2)
    handler.answer(0)
    handler.answer(1)
    await until(seen, "commit 2")
    stop.set()
    await task
    assert seen == ["handle 0", "handle 1", "handle 0", "commit 1", "commit 2"]


async def test_a_stop_commits_the_batch_whose_records_were_acknowledged() -> None:
    seen: list[str] = []
    handler, stop = Handler(seen), asyncio.Event()
    consumer = Consumer([[record(0)]], seen)
    task = await run(handler, consumer, stop)
    await until(seen, "handle 0")
    stop.set()
    handler.answer(0)
    await task
    assert seen == ["handle 0", "commit 1"]


async def test_a_short_batch_gathers_what_came_meanwhile_when_asked_to() -> None:
    seen: list[str] = []
    handler, stop = Handler(seen), asyncio.Event()
    consumer = Consumer([[record(0)], [record(1), record(2)]], seen)
    lag = metrics.LagGauge(consumer, "feedback")
    task = asyncio.create_task(
        batches.consume(consumer, handler, stop, batch_size=10, lag=lag, gather_s=0.01)
    )
    await until(seen, "handle 0")
    handler.answer(0)
    await until(seen, "commit 3")  # the three records as one batch
    stop.set()
    await task
    assert seen == ["handle 0", "commit 3"]
