"""The transactional outbox against the real broker and database.

``enqueue`` writes rows inside the caller's transaction; ``OutboxRelay`` publishes them (acks=all) and
deletes them only after the broker acknowledged. What a user relies on: committed rows are announced
(at least once, in order per key for one relay), rolled-back or uncommitted rows never are, a row
whose publication was not acknowledged stays, and several relays drain the table together.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import orjson
import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaTimeoutError
from aiokafka.structs import ConsumerRecord
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.db.engine import make_engine
from shared.events import SessionEvent
from shared.kafka.producer import make_producer
from shared.outbox import OutboxRelay, enqueue
from shared.settings import Settings
from tests.pipeline import read_all

PARTITIONS = 3  # what the ``settings`` fixture creates


def session(tag: str, i: int, company: str | None = None) -> SessionEvent:
    return SessionEvent.model_validate(
        {
            "event_id": f"{tag}-{i}",
            "company_id": company or f"co-{i % 5}",
            "session_id": f"s-{tag}-{i}",
            "started_at": "2026-05-01T10:00:00Z",
            "messages": [{"role": "user", "content": f"message {i}"}],
        }
    )


def event_ids(records: list[ConsumerRecord]) -> list[str]:
    return [orjson.loads(r.value)["event_id"] for r in records]


async def outbox_rows(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(text("SELECT count(*) FROM outbox"))).scalar_one())


async def eventually(check: Callable[[], Awaitable[bool]], what: str, timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s}s waiting until {what}")
        await asyncio.sleep(0.05)


async def drained(engine: AsyncEngine) -> bool:
    return await outbox_rows(engine) == 0


@pytest.fixture
async def producer(settings: Settings) -> AsyncIterator[AIOKafkaProducer]:
    p = make_producer(settings, client_id="test-outbox")
    await p.start()
    yield p
    await p.stop()


@contextlib.asynccontextmanager
async def running(relay: OutboxRelay) -> AsyncIterator[asyncio.Event]:
    stop = asyncio.Event()
    task = asyncio.create_task(relay.run(stop))
    try:
        yield stop
    finally:
        stop.set()
        await asyncio.wait_for(task, 20)


async def test_committed_rows_are_published_in_key_order_and_deleted(
    settings: Settings, engine: AsyncEngine, producer: AIOKafkaProducer
) -> None:
    topic = settings.topics.session_events
    events = [session("ok", i) for i in range(30)]
    for chunk in (events[:10], events[10:20], events[20:]):
        async with engine.begin() as conn:
            assert await enqueue(conn, topic, chunk) == len(chunk)
    assert await outbox_rows(engine) == 30

    relay = OutboxRelay(engine, producer, batch_size=7, idle_interval_s=0.05)
    async with running(relay):
        await eventually(lambda: drained(engine), "the outbox is drained")
    assert relay.published == 30

    records = await read_all(settings, topic)
    assert sorted(event_ids(records)) == sorted(e.event_id for e in events), "not each row exactly once"
    for r in records:
        payload = orjson.loads(r.value)
        assert r.key == payload["company_id"].encode()
        assert r.value == next(e for e in events if e.event_id == payload["event_id"]).to_bytes()
    # One company's events stay in the order they were written.
    per_key: dict[bytes, list[str]] = defaultdict(list)
    for r in sorted(records, key=lambda r: (r.partition, r.offset)):
        per_key[r.key].append(orjson.loads(r.value)["event_id"])
    for key, ids in per_key.items():
        assert ids == [e.event_id for e in events if e.key() == key]


async def test_wake_publishes_at_once_and_stop_drains_what_is_left(
    settings: Settings, engine: AsyncEngine, producer: AIOKafkaProducer
) -> None:
    topic = settings.topics.session_events
    # Idle, the relay would sleep ten minutes: publishing within the (generous) 30 s of ``eventually``
    # proves the wake cut that sleep short, without a wall-clock bound.
    relay = OutboxRelay(engine, producer, idle_interval_s=600)
    async with running(relay) as stop:
        await asyncio.sleep(0.3)  # the relay found nothing and idles
        async with engine.begin() as conn:
            await enqueue(conn, topic, [session("woken", i) for i in range(3)])
        relay.wake()
        await eventually(lambda: drained(engine), "the woken relay publishes", timeout_s=30)
        # Rows committed right before a graceful stop are still announced.
        async with engine.begin() as conn:
            await enqueue(conn, topic, [session("late", i) for i in range(4)])
        stop.set()
    assert await outbox_rows(engine) == 0
    assert sorted(event_ids(await read_all(settings, topic))) == sorted(
        [f"woken-{i}" for i in range(3)] + [f"late-{i}" for i in range(4)]
    )


async def test_rolled_back_or_uncommitted_rows_are_never_published(
    settings: Settings, engine: AsyncEngine, producer: AIOKafkaProducer
) -> None:
    topic = settings.topics.session_events

    class Abort(Exception):
        pass

    async def failing_state_change() -> None:
        async with engine.begin() as conn:
            await enqueue(conn, topic, [session("ghost", i) for i in range(5)])
            raise Abort  # the state change failed: its announcement must vanish with it

    with pytest.raises(Abort):
        await failing_state_change()
    async with engine.begin() as conn:
        await enqueue(conn, topic, [session("real", i) for i in range(5)])

    relay = OutboxRelay(engine, producer, idle_interval_s=0.05)
    async with engine.connect() as pending:
        tx = await pending.begin()
        await enqueue(pending, topic, [session("pending", i) for i in range(5)])  # not committed yet
        await relay.publish_once()
        assert await relay.publish_once() == 0  # the uncommitted rows are invisible to the relay
        await tx.rollback()
    async with running(relay):
        await asyncio.sleep(0.3)

    assert await outbox_rows(engine) == 0
    assert sorted(event_ids(await read_all(settings, topic))) == [f"real-{i}" for i in range(5)]
    assert relay.published == 5


class GatedProducer:
    """A real producer whose acknowledgements are held back until ``gate`` opens."""

    def __init__(self, real: AIOKafkaProducer) -> None:
        self.real = real
        self.gate = asyncio.Event()
        self.sent = 0

    async def send(self, topic: str, value: bytes, key: bytes | None = None) -> asyncio.Future[Any]:
        ack = await self.real.send(topic, value, key=key)
        self.sent += 1

        async def acked() -> Any:
            await self.gate.wait()
            return await ack

        return asyncio.ensure_future(acked())


class RejectingProducer:
    """A real producer, except the broker never acknowledges records whose payload contains ``marker``."""

    def __init__(self, real: AIOKafkaProducer, marker: bytes) -> None:
        self.real = real
        self.marker = marker

    async def send(self, topic: str, value: bytes, key: bytes | None = None) -> asyncio.Future[Any]:
        if self.marker in value:
            failed: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
            failed.set_exception(KafkaTimeoutError("no acknowledgement within request_timeout_ms"))
            return failed
        return await self.real.send(topic, value, key=key)


async def test_rows_are_deleted_only_after_the_broker_acknowledged(
    settings: Settings, engine: AsyncEngine, producer: AIOKafkaProducer
) -> None:
    topic = settings.topics.session_events
    events = [session("ack", i) for i in range(8)]
    async with engine.begin() as conn:
        await enqueue(conn, topic, events)

    gated = GatedProducer(producer)
    relay = OutboxRelay(engine, gated)  # type: ignore[arg-type]
    publishing = asyncio.create_task(relay.publish_once())
    await eventually(lambda: _true(gated.sent == 8), "the relay handed every row to the producer")
    await asyncio.sleep(0.3)
    assert await outbox_rows(engine) == 8, "rows were deleted before the broker acknowledged them"
    gated.gate.set()
    assert await asyncio.wait_for(publishing, 10) == 8
    assert await outbox_rows(engine) == 0

    # One record of a chunk is not acknowledged: the whole chunk stays and is published again later.
    more = [session("nack", i) for i in range(6)]
    async with engine.begin() as conn:
        await enqueue(conn, topic, more)
    failing = OutboxRelay(engine, RejectingProducer(producer, b'"nack-3"'))  # type: ignore[arg-type]
    with pytest.raises(KafkaTimeoutError):
        await failing.publish_once()
    assert await outbox_rows(engine) == 6
    assert failing.published == 0

    healthy = OutboxRelay(engine, producer, idle_interval_s=0.05)
    async with running(healthy):
        await eventually(lambda: drained(engine), "a healthy relay publishes the kept rows")
    published = Counter(event_ids(await read_all(settings, topic)))
    assert set(published) == {e.event_id for e in events + more}  # every row at least once
    assert published["nack-3"] == 1


async def _true(value: bool) -> bool:
    return value


async def test_relay_run_survives_a_failing_broker_and_publishes_once_it_recovers(
    settings: Settings, engine: AsyncEngine, producer: AIOKafkaProducer
) -> None:
    topic = settings.topics.session_events
    async with engine.begin() as conn:
        await enqueue(conn, topic, [session("heal", i) for i in range(5)])
    rejecting = RejectingProducer(producer, b'"heal-')
    relay = OutboxRelay(engine, rejecting, idle_interval_s=0.05)  # type: ignore[arg-type]
    async with running(relay):
        await asyncio.sleep(0.3)
        assert await outbox_rows(engine) == 5
        rejecting.marker = b"\x00never"  # the broker is back
        await eventually(lambda: drained(engine), "the relay publishes after the failure", timeout_s=10)
    assert sorted(set(event_ids(await read_all(settings, topic)))) == [f"heal-{i}" for i in range(5)]


async def test_two_relays_drain_the_table_concurrently(
    settings: Settings, engine: AsyncEngine, database_url: str
) -> None:
    """Two processes' relays on one table while writers keep committing: every row goes out, none sticks."""
    topic = settings.topics.session_events
    other_engine = make_engine(database_url, pool_size=2)
    producers = [make_producer(settings, client_id=f"relay-{i}") for i in range(2)]
    for p in producers:
        await p.start()
    relays = [
        OutboxRelay(engine, producers[0], batch_size=10, idle_interval_s=0.02),
        OutboxRelay(other_engine, producers[1], batch_size=10, idle_interval_s=0.02),
    ]
    expected = [f"w{w}-{i}" for w in range(6) for i in range(50)]

    async def writer(w: int) -> None:
        for start in range(0, 50, 5):
            async with engine.begin() as conn:
                await enqueue(conn, topic, [session(f"w{w}", i) for i in range(start, start + 5)])
            await asyncio.sleep(0.01)

    try:
        async with running(relays[0]), running(relays[1]):
            await asyncio.gather(*(writer(w) for w in range(6)))
            await eventually(lambda: drained(engine), "the two relays drain the outbox")
    finally:
        for p in producers:
            await p.stop()
        await other_engine.dispose()

    published = Counter(event_ids(await read_all(settings, topic)))
    assert set(published) == set(expected), "a row was never published"
    assert sum(r.published for r in relays) == len(expected), "a row was claimed by both relays"
    assert all(r.published > 0 for r in relays), "one relay did all the work"
    assert max(published.values()) == 1


async def test_rows_claimed_by_a_busy_relay_are_skipped_not_waited_for(
    settings: Settings, engine: AsyncEngine, producer: AIOKafkaProducer
) -> None:
    """FOR UPDATE SKIP LOCKED: a relay stuck on its chunk does not block the others; if it dies, its
    rows are published by the living."""
    topic = settings.topics.session_events
    async with engine.begin() as conn:
        await enqueue(conn, topic, [session("skip", i) for i in range(20)])

    stuck = GatedProducer(producer)
    busy = OutboxRelay(engine, stuck, batch_size=5)  # type: ignore[arg-type]
    stuck_round = asyncio.create_task(busy.publish_once())
    await eventually(lambda: _true(stuck.sent == 5), "the busy relay holds its chunk")

    other = OutboxRelay(engine, producer, batch_size=100)
    assert await asyncio.wait_for(other.publish_once(), 5) == 15  # the other 15, without waiting
    assert await outbox_rows(engine) == 5

    stuck_round.cancel()  # the busy relay dies: its transaction rolls back and releases the rows
    with contextlib.suppress(asyncio.CancelledError):
        await stuck_round
    async with running(OutboxRelay(engine, producer, idle_interval_s=0.05)):
        await eventually(lambda: drained(engine), "the dead relay's rows are published by another")
    published = Counter(event_ids(await read_all(settings, topic)))
    assert set(published) == {f"skip-{i}" for i in range(20)}
