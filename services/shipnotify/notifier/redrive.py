"""`shipnotify redrive`: sends the notices that gave up (the dead-letter topic) again."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from shipnotify import kafka, logs
from shipnotify.config import Settings
from shipnotify.model.codec import MalformedEvent, decode_job
from shipnotify.notifier import decision
from shipnotify.store import connect, learn_slots
from shipnotify.store.notices import NoticeBook

log = logs.get(__name__)
GROUP = "shipnotify-redrive"


@dataclass
class Redriven:
    jobs: int = 0
    unreadable: int = 0
    cancelled: int = 0  # the shipment's contacts were erased after it was planned


async def redrive(settings: Settings, *, idle_s: float = 3.0, limit: int | None = None) -> Redriven:
    """Moves dead letters back to the jobs topic, each with a fresh age, until none is left
    (nothing new for `idle_s`) or `limit` is reached; commits as it goes."""
    await kafka.ensure_topics(settings)
    redis = connect(settings)
    await learn_slots(redis)
    book = NoticeBook(redis, settings.notifications_topic)
    producer = kafka.producer(settings)
    consumer = kafka.consumer(settings, settings.notifications_dead_letter_topic, GROUP)
    await producer.start()
    await consumer.start()
    done = Redriven()
    try:
        loop = asyncio.get_running_loop()
        quiet_since = loop.time()
        while loop.time() - quiet_since < idle_s and (limit is None or done.jobs < limit):
            batch = await consumer.getmany(timeout_ms=200, max_records=200)
            records = [r for recs in batch.values() for r in recs]
            if not records:
                continue
            quiet_since = loop.time()
            acks = []
            for record in records:
                try:
                    job = decode_job(record.value)
                except MalformedEvent:
                    done.unreadable += 1  # stays in the dead-letter topic's history
                    continue
                if await book.erased_at(job.shipment_id) >= decision.planned_ms(job):
                    # its contacts were erased since: it must never go
                    await book.update(job.shipment_id, job.notification_id, "cancelled")
                    done.cancelled += 1
                    continue
                job.planned_at.GetCurrentTime()
                await book.update(job.shipment_id, job.notification_id, "redriven", force=True)
                acks.append(
                    await producer.send(
                        settings.notifications_topic,
                        key=job.shipment_id.encode(),
                        value=job.SerializeToString(),
                    )
                )
                done.jobs += 1
            await asyncio.gather(*acks)
            await consumer.commit()
    finally:
        await consumer.stop()
        await producer.stop()
        await redis.aclose()
    log.info("redrive done", **vars(done))
    return done
