"""A record that can never be applied goes to its topic's dead-letter topic, as it came,
with the reason in a `reason` header and where it came from, in its own trace."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaProducer, ConsumerRecord

from shipnotify import logs, tracing

log = logs.get(__name__)


@dataclass(frozen=True)
class DeadLetter:
    record: ConsumerRecord
    reason: str
    why: str  # a label: malformed, refused, conflict


async def send(producer: AIOKafkaProducer, topic: str, letter: DeadLetter) -> asyncio.Future[Any]:
    """Enqueues the letter; the future resolves once the broker has it."""
    record, reason, why = letter.record, letter.reason, letter.why
    log.warning(
        "dead letter", reason=reason, why=why, partition=record.partition, offset=record.offset
    )
    headers = [
        ("reason", reason.encode()),
        ("source.topic", record.topic.encode()),
        ("source.partition", str(record.partition).encode()),
        ("source.offset", str(record.offset).encode()),
        *tracing.carried(record.headers),  # the letter stays in its record's trace
    ]
    future: asyncio.Future[Any] = await producer.send(
        topic, key=record.key, value=record.value or b"", headers=headers
    )
    return future
