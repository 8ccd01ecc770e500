"""Helpers for tests that drive the pipeline: publish events, run services, wait, and read outcomes."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Iterable, Sequence
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.kafka.connection import client_options
from shared.kafka.producer import make_producer
from shared.settings import Settings


async def publish(
    settings: Settings, events: Iterable[dict[str, Any] | bytes], topic: str | None = None
) -> int:
    producer = make_producer(settings, client_id="test-publisher")
    await producer.start()
    try:
        futures = []
        for e in events:
            if isinstance(e, bytes):
                value, key = e, None
            else:
                value, key = orjson.dumps(e), str(e.get("company_id", "")).encode() or None
            futures.append(await producer.send(topic or settings.topics.session_events, value, key=key))
        await asyncio.gather(*futures)
        return len(futures)
    finally:
        await producer.stop()


@contextlib.asynccontextmanager
async def running_services(
    settings: Settings, services: Sequence[str] = ("producer", "submitter", "poller", "ingester")
) -> AsyncIterator[asyncio.Event]:
    """Run services in this event loop (fast feedback); e2e tests run them as separate processes."""
    from services.ingester.main import run as ingester
    from services.poller.main import run as poller
    from services.producer.main import run as producer
    from services.submitter.main import run as submitter

    mains = {"producer": producer, "submitter": submitter, "poller": poller, "ingester": ingester}
    stop = asyncio.Event()
    tasks = [asyncio.create_task(mains[name](settings, stop), name=name) for name in services]
    try:
        yield stop
    finally:
        stop.set()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        errors = [r for r in results if isinstance(r, BaseException)]
        if errors:
            raise errors[0]


async def scalar(engine: AsyncEngine, sql: str, **params: Any) -> Any:
    async with engine.connect() as conn:
        return (await conn.execute(text(sql), params)).scalar()


async def rows(engine: AsyncEngine, sql: str, **params: Any) -> list[Any]:
    async with engine.connect() as conn:
        return list((await conn.execute(text(sql), params)).all())


async def request_status_counts(engine: AsyncEngine) -> dict[str, int]:
    return {
        r.status: r.n
        for r in await rows(
            engine, "SELECT status, count(*) AS n FROM ai_processing_requests GROUP BY status"
        )
    }


async def wait_until_terminal(
    engine: AsyncEngine, expected_requests: int, timeout_s: float
) -> dict[str, int]:
    """Wait until ``expected_requests`` exist and none is still pending or in a batch."""
    deadline = time.monotonic() + timeout_s
    counts: dict[str, int] = {}
    while time.monotonic() < deadline:
        counts = await request_status_counts(engine)
        done = counts.get("PROCESSING_COMPLETE", 0) + counts.get("PROCESSING_FAILED", 0)
        if sum(counts.values()) >= expected_requests and done == sum(counts.values()):
            outbox = await scalar(engine, "SELECT count(*) FROM outbox")
            if outbox == 0:
                return counts
        await asyncio.sleep(0.25)
    raise AssertionError(f"pipeline did not finish in {timeout_s}s: {counts}")


async def read_all(settings: Settings, topic: str, partitions: int = 3) -> list[ConsumerRecord]:
    """Every record currently in ``topic`` (up to the high watermark of each partition)."""
    consumer = AIOKafkaConsumer(
        **client_options(settings), group_id=None, enable_auto_commit=False, auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in range(partitions)]
        consumer.assign(tps)
        end = await consumer.end_offsets(tps)
        await consumer.seek_to_beginning(*tps)
        out: list[ConsumerRecord] = []
        deadline = time.monotonic() + 15
        while [tp for tp in tps if await consumer.position(tp) < end[tp]]:
            assert time.monotonic() < deadline, f"could not read {topic} up to {end}"
            for records in (await consumer.getmany(timeout_ms=200)).values():
                out.extend(records)
        return out
    finally:
        await consumer.stop()
