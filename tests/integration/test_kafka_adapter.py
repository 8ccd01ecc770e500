"""The Kafka adapter against the real broker and database: consumer loop, producer, topic administration.

Every consumer-loop test runs ``shared.kafka.consumer.ConsumerLoop`` exactly as a service does
(``make_consumer`` + ``make_producer`` for the DLQ + ``decode``) with a handler that writes each record
it handles into a table of the test's own database, so "handled" means "committed in PostgreSQL".
Assertions are about what a user of the pipeline sees: which records were handled (at least once,
none missing), what sits on ``<topic>.dlq``, and which offsets the group committed.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import signal
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.structs import RecordMetadata
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.events import DeadLetter, SessionEvent, decode
from shared.kafka.connection import client_options
from shared.kafka.consumer import ConsumerLoop, Delivery, Handler, Rejection, make_consumer
from shared.kafka.producer import make_producer
from shared.kafka.topics import ensure_topics, topic_names
from shared.settings import Settings, Topics
from tests.pipeline import read_all

REPO_ROOT = Path(__file__).resolve().parents[2]
PARTITIONS = 3  # what the ``settings`` fixture creates
STOP_HANG_S = 30.0  # generous: a consumer loop that has not returned this long after stop hangs


# --------------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------------


def event(tag: str, i: int) -> dict[str, Any]:
    """A valid ``session.events`` payload; company ids vary so records spread over the partitions."""
    return {
        "event_id": f"{tag}-{i}",
        "company_id": f"co-{tag}-{i % 11}",
        "session_id": f"s-{tag}-{i}",
        "started_at": "2026-05-01T10:00:00Z",
        "messages": [{"role": "user", "content": f"hello {i}"}],
    }


def encoded(e: dict[str, Any]) -> tuple[bytes, bytes]:
    return str(e["company_id"]).encode(), orjson.dumps(e)


async def send_raw(
    settings: Settings, records: Iterable[tuple[bytes | None, bytes | None]], topic: str | None = None
) -> list[RecordMetadata]:
    """Produce (key, value) pairs as they are (any bytes, or a None tombstone); returns where each landed."""
    producer = make_producer(settings, client_id="test-raw-publisher")
    await producer.start()
    try:
        futures = [
            await producer.send(topic or settings.topics.session_events, value, key=key)
            for key, value in records
        ]
        return list(await asyncio.gather(*futures))
    finally:
        await producer.stop()


async def send_events(settings: Settings, events: Iterable[dict[str, Any]]) -> list[RecordMetadata]:
    return await send_raw(settings, (encoded(e) for e in events))


async def committed_offsets(settings: Settings, group: str, topic: str) -> dict[int, int | None]:
    """The group's committed offset per partition (None = never committed). Does not join the group."""
    consumer = AIOKafkaConsumer(**client_options(settings), group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        return {p: await consumer.committed(TopicPartition(topic, p)) for p in range(PARTITIONS)}
    finally:
        await consumer.stop()


async def end_offsets(settings: Settings, topic: str) -> dict[int, int]:
    consumer = AIOKafkaConsumer(**client_options(settings), group_id=None)
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in range(PARTITIONS)]
        return {tp.partition: o for tp, o in (await consumer.end_offsets(tps)).items()}
    finally:
        await consumer.stop()


async def eventually(check: Callable[[], Awaitable[bool]], what: str, timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s}s waiting until {what}")
        await asyncio.sleep(0.05)


HANDLED_DDL = """
CREATE TABLE handled (
    id bigserial PRIMARY KEY,
    member text NOT NULL,
    topic text NOT NULL,
    part int NOT NULL,
    off bigint NOT NULL,
    event_id text NOT NULL
)"""
INSERT_HANDLED = text(
    "INSERT INTO handled (member, topic, part, off, event_id) VALUES (:member, :topic, :part, :off, :event_id)"
)


@pytest.fixture
async def db(engine: AsyncEngine) -> AsyncEngine:
    async with engine.begin() as conn:
        await conn.execute(text(HANDLED_DDL))
    return engine


async def handled(engine: AsyncEngine, member: str | None = None) -> list[Any]:
    sql = "SELECT member, topic, part, off, event_id FROM handled"
    async with engine.connect() as conn:
        if member is None:
            return list((await conn.execute(text(sql + " ORDER BY id"))).all())
        return list((await conn.execute(text(sql + " WHERE member = :m ORDER BY id"), {"m": member})).all())


async def handled_ids(engine: AsyncEngine, member: str | None = None) -> set[str]:
    return {r.event_id for r in await handled(engine, member)}


async def record(engine: AsyncEngine, member: str, batch: Sequence[Delivery[SessionEvent]]) -> None:
    """What a real handler does: apply the batch in one database transaction."""
    async with engine.begin() as conn:
        await conn.execute(
            INSERT_HANDLED,
            [
                {
                    "member": member,
                    "topic": d.topic,
                    "part": d.partition,
                    "off": d.offset,
                    "event_id": d.event.event_id,
                }
                for d in batch
            ],
        )


def recording_handler(engine: AsyncEngine, member: str) -> Handler[SessionEvent]:
    async def handle(batch: Sequence[Delivery[SessionEvent]]) -> Sequence[Rejection]:
        await record(engine, member, batch)
        return []

    return handle


@dataclass
class Member:
    name: str
    group: str
    consumer: AIOKafkaConsumer
    loop: ConsumerLoop[SessionEvent]
    stop: asyncio.Event
    task: asyncio.Task[None]
    expect_failure: bool = False

    def assigned(self) -> set[int]:
        return {tp.partition for tp in self.consumer.assignment()}

    async def stopped(self, timeout_s: float = 20.0) -> None:
        """Graceful stop (what SIGTERM does): set the event and wait for ``run`` to return."""
        self.stop.set()
        await asyncio.wait_for(asyncio.shield(self.task), timeout_s)


@contextlib.asynccontextmanager
async def member(
    settings: Settings,
    name: str,
    handle: Handler[SessionEvent],
    *,
    group: str | None = None,
    topic: str | None = None,
    **loop_options: Any,
) -> AsyncIterator[Member]:
    """One consumer-group member running the service loop in this event loop."""
    group = group or settings.group_id("adapter")
    dlq = make_producer(settings, client_id=f"{name}-dlq")
    await dlq.start()
    consumer = make_consumer(client_options(settings), group, client_id=f"{name}-consumer")
    options: dict[str, Any] = {"poll_timeout_ms": 100, "retry_backoff_s": (0.05, 0.2), "poison_after": 3}
    options.update(loop_options)
    loop: ConsumerLoop[SessionEvent] = ConsumerLoop(
        consumer=consumer,
        dlq_producer=dlq,
        topics=[topic or settings.topics.session_events],
        group_id=group,
        decode=partial(decode, SessionEvent),
        handle=handle,
        **options,
    )
    stop = asyncio.Event()
    task = asyncio.create_task(loop.run(stop), name=name)
    m = Member(name, group, consumer, loop, stop, task)
    try:
        yield m
    finally:
        stop.set()
        try:
            # A hang detector, not a speed bound: a loop that does not return within 30 s of its stop
            # event hangs on stop, and that fails the test (the task is cancelled so the run can go on).
            done, _ = await asyncio.wait({task}, timeout=STOP_HANG_S)
            if not done:
                task.cancel()
                await asyncio.wait({task}, timeout=STOP_HANG_S)
                raise AssertionError(f"consumer loop {name!r} did not stop within {STOP_HANG_S}s of stop")
        finally:
            await dlq.stop()
        if not m.expect_failure and not task.cancelled() and task.exception() is not None:
            raise task.exception()  # type: ignore[misc]


async def dead_letters(settings: Settings, topic: str | None = None) -> list[DeadLetter]:
    dlq = Topics.dlq(topic or settings.topics.session_events)
    return [DeadLetter.model_validate_json(r.value) for r in await read_all(settings, dlq)]


# --------------------------------------------------------------------------------------------------
# 1. undecodable records
# --------------------------------------------------------------------------------------------------


async def test_undecodable_records_go_to_the_dlq_with_reason_and_the_loop_goes_on(
    settings: Settings, db: AsyncEngine
) -> None:
    good = [event("good", i) for i in range(10)]
    not_json = (b"bad-1", b"{this is not json")
    missing_company = event("bad", 2)
    del missing_company["company_id"]
    missing_field = (b"bad-2", orjson.dumps(missing_company))
    bad_utf8 = (b"bad-3", b'{"event_id": "caf\xe9\xff", "company_id": "c"}')
    tombstone = (b"bad-4", None)
    bad = [not_json, missing_field, bad_utf8, tombstone]
    interleaved = [
        encoded(good[0]),
        encoded(good[1]),
        not_json,
        *map(encoded, good[2:5]),
        missing_field,
        bad_utf8,
        encoded(good[5]),
        tombstone,
        *map(encoded, good[6:]),
    ]
    placed = await send_raw(settings, interleaved)
    where = {value: md for (_, value), md in zip(interleaved, placed, strict=True)}

    async with member(settings, "m1", recording_handler(db, "m1")) as m:
        await eventually(lambda: _has(db, {e["event_id"] for e in good}), "every good record is handled")
        await eventually(lambda: _true(m.loop.stats["dead_lettered"] >= 4), "4 records are dead-lettered")

        letters = await dead_letters(settings)
        assert len(letters) == 4
        by_key = {base64.b64decode(letter.key or ""): letter for letter in letters}
        assert set(by_key) == {key for key, _ in bad}
        for key, value in bad:
            letter = by_key[key]  # type: ignore[index]
            assert letter.value == (base64.b64encode(value).decode() if value is not None else None)
            assert letter.topic == settings.topics.session_events
            assert (letter.partition, letter.offset) == (where[value].partition, where[value].offset)
            assert letter.consumer_group == m.group
        assert "not valid JSON" in by_key[b"bad-1"].error
        assert "company_id" in by_key[b"bad-2"].error
        assert "required" in by_key[b"bad-2"].error.lower()
        assert "UTF-8" in by_key[b"bad-3"].error
        assert "tombstone" in by_key[b"bad-4"].error

        # The loop keeps consuming after the bad records.
        later = [event("later", i) for i in range(5)]
        await send_events(settings, later)
        await eventually(lambda: _has(db, {e["event_id"] for e in later}), "records after the bad ones")

    assert await handled_ids(db) == {e["event_id"] for e in good + later}
    assert len(await dead_letters(settings)) == 4, "a dead-lettered record was dead-lettered again"


async def _has(engine: AsyncEngine, ids: set[str], member_name: str | None = None) -> bool:
    return ids <= await handled_ids(engine, member_name)


async def _true(value: bool) -> bool:
    return value


# --------------------------------------------------------------------------------------------------
# 2. crash before commit re-delivers; clean stop commits
# --------------------------------------------------------------------------------------------------


class Crash(BaseException):
    """Stands in for the process dying: nothing in the loop may treat it as a handled batch."""


@pytest.mark.parametrize("how", ["process-dies", "task-cancelled"])
async def test_crash_after_db_commit_before_offset_commit_redelivers(
    settings: Settings, db: AsyncEngine, how: str
) -> None:
    events = [event("c", i) for i in range(12)]
    await send_events(settings, events)
    in_handler = asyncio.Event()

    async def handle_then_die(batch: Sequence[Delivery[SessionEvent]]) -> Sequence[Rejection]:
        await record(db, "doomed", batch)  # the database transaction committed ...
        in_handler.set()
        if how == "process-dies":
            raise Crash  # ... and the process dies before the loop commits the offsets
        await asyncio.Event().wait()  # ... or the task is cancelled there
        return []

    group = settings.group_id("crash")
    async with member(settings, "doomed", handle_then_die, group=group) as doomed:
        doomed.expect_failure = True
        await asyncio.wait_for(in_handler.wait(), 20)
        if how == "task-cancelled":
            doomed.task.cancel()
        with pytest.raises((Crash, asyncio.CancelledError)):
            await asyncio.wait_for(asyncio.shield(doomed.task), 20)

    first_batch = await handled_ids(db, "doomed")
    assert first_batch, "the doomed member handled nothing"
    assert set((await committed_offsets(settings, group, settings.topics.session_events)).values()) == {None}

    async with member(settings, "heir", recording_handler(db, "heir"), group=group):
        await eventually(lambda: _has(db, {e["event_id"] for e in events}, "heir"), "the heir handles all")
    assert first_batch <= await handled_ids(db, "heir"), (
        "records handled before the crash were not re-delivered"
    )


async def test_clean_stop_commits_so_the_next_member_gets_nothing_already_processed(
    settings: Settings, db: AsyncEngine
) -> None:
    topic = settings.topics.session_events
    group = settings.group_id("clean")
    first = [event("first", i) for i in range(20)]
    await send_events(settings, first)
    async with member(settings, "m1", recording_handler(db, "m1"), group=group) as m1:
        await eventually(lambda: _has(db, {e["event_id"] for e in first}, "m1"), "m1 handles everything")
        await m1.stopped(timeout_s=5)
    end = await end_offsets(settings, topic)
    assert await committed_offsets(settings, group, topic) == end

    second = [event("second", i) for i in range(10)]
    await send_events(settings, second)
    async with member(settings, "m2", recording_handler(db, "m2"), group=group):
        await eventually(
            lambda: _has(db, {e["event_id"] for e in second}, "m2"), "m2 handles the new records"
        )
    assert await handled_ids(db, "m2") == {e["event_id"] for e in second}


async def test_stop_during_transient_retries_is_prompt_and_leaves_the_batch_for_redelivery(
    settings: Settings, db: AsyncEngine
) -> None:
    topic = settings.topics.session_events
    group = settings.group_id("stuck")
    events = [event("s", i) for i in range(6)]
    await send_events(settings, events)
    calls = 0

    async def database_down(batch: Sequence[Delivery[SessionEvent]]) -> Sequence[Rejection]:
        nonlocal calls
        calls += 1
        raise ConnectionError("database is down")

    # The first failure is followed by a 10-minute backoff: a stop that waited it out would trip the
    # 30 s hang detector of ``stopped`` (no wall-clock bound needed to prove the stop was prompt).
    backoff = (600.0, 600.0)
    async with member(settings, "stuck", database_down, group=group, retry_backoff_s=backoff) as m:
        await eventually(lambda: _true(calls >= 1), "the handler failed once and the loop backs off")
        await m.stopped(timeout_s=STOP_HANG_S)
        assert calls == 1, "the handler was retried although the loop should still be backing off"
        assert m.loop.stats["handler_retries"] == 1
        assert m.loop.stats["dead_lettered"] == 0
    assert set((await committed_offsets(settings, group, topic)).values()) == {None}
    assert sum((await end_offsets(settings, Topics.dlq(topic))).values()) == 0

    async with member(settings, "next", recording_handler(db, "next"), group=group):
        await eventually(
            lambda: _has(db, {e["event_id"] for e in events}, "next"), "the batch is re-delivered"
        )


CHILD = r"""
import asyncio, json, sys
from functools import partial
from sqlalchemy import text
from shared.db.engine import make_engine
from shared.events import SessionEvent, decode
from shared.kafka.connection import client_options
from shared.kafka.consumer import ConsumerLoop, make_consumer
from shared.kafka.producer import make_producer
from shared.runtime import install_signal_handlers
from shared.settings import Settings

INSERT = text("INSERT INTO handled (member, topic, part, off, event_id) "
              "VALUES (:member, :topic, :part, :off, :event_id)")

async def main(cfg):
    settings = Settings(kafka_bootstrap_servers=cfg["bootstrap"], database_url=cfg["db"])
    engine = make_engine(cfg["db"], pool_size=2)
    dlq = make_producer(settings, client_id="child-dlq")
    await dlq.start()
    stop = asyncio.Event()
    install_signal_handlers(stop)

    async def handle(batch):
        async with engine.begin() as conn:
            await conn.execute(INSERT, [{"member": "child", "topic": d.topic, "part": d.partition,
                                         "off": d.offset, "event_id": d.event.event_id} for d in batch])
        if cfg["hang_after_db_commit"]:
            await asyncio.Event().wait()
        return []

    loop = ConsumerLoop(consumer=make_consumer(client_options(settings), cfg["group"], client_id="child"),
                        dlq_producer=dlq, topics=[cfg["topic"]], group_id=cfg["group"],
                        decode=partial(decode, SessionEvent), handle=handle, poll_timeout_ms=100)
    try:
        await loop.run(stop)
    finally:
        await dlq.stop()
        await engine.dispose()
    print("child stopped", loop.stats, flush=True)

asyncio.run(main(json.loads(sys.argv[1])))
"""


@contextlib.asynccontextmanager
async def child_process(
    settings: Settings, engine: AsyncEngine, group: str, log: Path, *, hang_after_db_commit: bool
) -> AsyncIterator[asyncio.subprocess.Process]:
    cfg = {
        "bootstrap": settings.kafka_bootstrap_servers,
        "db": engine.url.render_as_string(hide_password=False),
        "topic": settings.topics.session_events,
        "group": group,
        "hang_after_db_commit": hang_after_db_commit,
    }
    with log.open("wb") as out:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            CHILD,
            json.dumps(cfg),
            cwd=REPO_ROOT,
            stdout=out,
            stderr=out,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    try:
        yield proc
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


async def test_sigkilled_process_records_are_redelivered_to_the_group(
    settings: Settings, db: AsyncEngine, tmp_path: Path
) -> None:
    """A real crash: the process is SIGKILLed after its database commit; no ``finally`` runs."""
    group = settings.group_id("killed")
    events = [event("k", i) for i in range(12)]
    await send_events(settings, events)
    async with child_process(settings, db, group, tmp_path / "child.log", hang_after_db_commit=True) as proc:
        await eventually(lambda: _nonempty(db, "child"), "the child committed a batch to the database", 30)
        proc.send_signal(signal.SIGKILL)
        await proc.wait()
    lost_with_the_process = await handled_ids(db, "child")
    assert set((await committed_offsets(settings, group, settings.topics.session_events)).values()) == {None}

    # The session timeout (10 s) evicts the dead member; the survivor then gets every partition.
    async with member(settings, "survivor", recording_handler(db, "survivor"), group=group):
        await eventually(
            lambda: _has(db, {e["event_id"] for e in events}, "survivor"), "the survivor handles all", 30
        )
    assert lost_with_the_process <= await handled_ids(db, "survivor")


async def test_sigterm_stops_gracefully_and_commits_what_was_processed(
    settings: Settings, db: AsyncEngine, tmp_path: Path
) -> None:
    topic = settings.topics.session_events
    group = settings.group_id("sigterm")
    events = [event("t", i) for i in range(15)]
    await send_events(settings, events)
    log = tmp_path / "child.log"
    async with child_process(settings, db, group, log, hang_after_db_commit=False) as proc:
        await eventually(
            lambda: _has(db, {e["event_id"] for e in events}, "child"), "the child handles all", 30
        )
        proc.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(proc.wait(), 10)
    assert code == 0, log.read_text()
    assert "child stopped" in log.read_text()
    assert await committed_offsets(settings, group, topic) == await end_offsets(settings, topic)


async def _nonempty(engine: AsyncEngine, member_name: str) -> bool:
    return bool(await handled(engine, member_name))


# --------------------------------------------------------------------------------------------------
# 3. rebalance
# --------------------------------------------------------------------------------------------------


async def test_partitions_move_to_the_remaining_member_without_losing_records(
    settings: Settings, db: AsyncEngine
) -> None:
    topic = settings.topics.session_events
    group = settings.group_id("rebalance")
    published: set[str] = set()

    async def publish(tag: str, n: int) -> set[int]:
        batch = [event(tag, i) for i in range(n)]
        placed = await send_events(settings, batch)
        published.update(e["event_id"] for e in batch)
        return {md.partition for md in placed}

    async with member(settings, "a", recording_handler(db, "a"), group=group) as a:
        await eventually(lambda: _true(a.assigned() == {0, 1, 2}), "a owns every partition")
        await publish("one", 30)
        async with member(settings, "b", recording_handler(db, "b"), group=group) as b:
            await publish("two", 30)  # while b joins: the group rebalances under load
            await eventually(
                lambda: _true(
                    bool(a.assigned())
                    and bool(b.assigned())
                    and a.assigned() | b.assigned() == {0, 1, 2}
                    and not a.assigned() & b.assigned()
                ),
                "a and b share the partitions",
            )
            await publish("three", 30)
            await eventually(lambda: _has(db, published), "records published with two members are handled")
            moved = a.assigned()
            await a.stopped(timeout_s=10)
            await eventually(lambda: _true(b.assigned() == {0, 1, 2}), "b takes a's partitions over")
            partitions = await publish("four", 60)
            assert moved <= partitions
            await eventually(lambda: _has(db, published), "every record is handled after a left")
            assert {r.part for r in await handled(db, "b") if r.event_id.startswith("four-")} == {0, 1, 2}
            await b.stopped(timeout_s=10)

    assert published <= await handled_ids(db), "records were lost in the rebalance"
    assert await committed_offsets(settings, group, topic) == await end_offsets(settings, topic)


async def test_batch_in_flight_during_a_rebalance_is_committed_before_the_partitions_move(
    settings: Settings, db: AsyncEngine
) -> None:
    """on_partitions_revoked waits for the batch in hand and commits it, so the new owner does not redo it."""
    group = settings.group_id("inflight")
    events = [event("f", i) for i in range(30)]
    await send_events(settings, events)
    in_handler = asyncio.Event()
    in_flight: list[Delivery[SessionEvent]] = []

    async def slow(batch: Sequence[Delivery[SessionEvent]]) -> Sequence[Rejection]:
        if not in_flight:
            in_flight.extend(batch)
            in_handler.set()
            await asyncio.sleep(4)  # longer than the heartbeat interval: the rebalance starts meanwhile
        await record(db, "a", batch)
        return []

    async with member(settings, "a", slow, group=group) as a:
        await asyncio.wait_for(in_handler.wait(), 20)
        async with member(settings, "b", recording_handler(db, "b"), group=group) as b:
            await eventually(lambda: _true(bool(b.assigned())), "b gets partitions")
            taken_over = b.assigned()
            await eventually(lambda: _has(db, {e["event_id"] for e in events}), "everything is handled")
            await b.stopped()
        await a.stopped()
    assert taken_over & {d.partition for d in in_flight}, "b took none of the in-flight batch's partitions"
    redone = {d.event.event_id for d in in_flight} & await handled_ids(db, "b")
    assert not redone, f"records of the batch in flight during the rebalance were handled again: {redone}"
    assert await handled_ids(db) == {e["event_id"] for e in events}


# --------------------------------------------------------------------------------------------------
# 4. handler failures
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("failures", [2, 8])  # 8 > poison_after (3) several times over: never dead-lettered
async def test_transient_handler_failures_are_retried_without_dead_lettering(
    settings: Settings, db: AsyncEngine, failures: int
) -> None:
    topic = settings.topics.session_events
    events = [event("tr", i) for i in range(8)]
    await send_events(settings, events)
    calls = 0

    async def flaky(batch: Sequence[Delivery[SessionEvent]]) -> Sequence[Rejection]:
        nonlocal calls
        calls += 1
        if calls <= failures:
            raise ConnectionError("connection refused")
        await record(db, "m", batch)
        return []

    async with member(settings, "m", flaky) as m:
        await eventually(lambda: _has(db, {e["event_id"] for e in events}), "the records are handled")
        assert m.loop.stats["handler_retries"] == failures
        assert m.loop.stats["dead_lettered"] == 0
    assert sum((await end_offsets(settings, Topics.dlq(topic))).values()) == 0


async def test_poison_record_is_dead_lettered_and_the_rest_of_its_batch_is_handled(
    settings: Settings, db: AsyncEngine
) -> None:
    events = [event("p", i) for i in range(12)]
    poison = events[5]
    placed = await send_events(settings, events)
    attempts: list[int] = []

    async def rejects_poison(batch: Sequence[Delivery[SessionEvent]]) -> Sequence[Rejection]:
        attempts.append(len(batch))
        if any(d.event.event_id == poison["event_id"] for d in batch):
            raise ValueError(f"cannot apply {poison['event_id']}")  # rolls the whole batch back
        await record(db, "m", batch)
        return []

    async with member(settings, "m", rejects_poison) as m:
        others = {e["event_id"] for e in events} - {poison["event_id"]}
        await eventually(lambda: _has(db, others), "the other records of the batch are handled")
        await eventually(
            lambda: _true(m.loop.stats["dead_lettered"] == 1), "the poison record is dead-lettered"
        )
        assert max(attempts) > 1, "the test wanted the poison record inside a multi-record batch"
        letters = await dead_letters(settings)
        assert len(letters) == 1
        letter = letters[0]
        assert "handler error" in letter.error
        assert "ValueError" in letter.error
        assert poison["event_id"] in letter.error
        assert base64.b64decode(letter.value or "") == orjson.dumps(poison)
        md = placed[events.index(poison)]
        assert (letter.partition, letter.offset) == (md.partition, md.offset)

        later = [event("after-poison", i) for i in range(4)]
        await send_events(settings, later)
        await eventually(
            lambda: _has(db, {e["event_id"] for e in later}), "the loop goes on after the poison"
        )
    assert poison["event_id"] not in await handled_ids(db)


async def test_records_the_handler_rejects_are_dead_lettered_with_its_reason(
    settings: Settings, db: AsyncEngine
) -> None:
    events = [event("r", i) for i in range(6)]
    await send_events(settings, events)

    async def rejects_one(batch: Sequence[Delivery[SessionEvent]]) -> Sequence[Rejection]:
        keep = [d for d in batch if d.event.event_id != "r-3"]
        await record(db, "m", keep)
        return [Rejection.of(d, "unknown company co-r-3") for d in batch if d.event.event_id == "r-3"]

    async with member(settings, "m", rejects_one) as m:
        await eventually(
            lambda: _true(m.loop.stats["dead_lettered"] == 1), "the rejected record is dead-lettered"
        )
        await eventually(lambda: _has(db, {e["event_id"] for e in events} - {"r-3"}), "the rest is handled")
    letters = await dead_letters(settings)
    assert [letter.error for letter in letters] == ["unknown company co-r-3"]
    assert base64.b64decode(letters[0].value or "") == orjson.dumps(events[3])


# --------------------------------------------------------------------------------------------------
# 5. producer
# --------------------------------------------------------------------------------------------------


async def test_producer_waits_for_all_replicas_and_is_idempotent(settings: Settings) -> None:
    producer = make_producer(settings, client_id="test-idempotent")
    assert producer._sender._acks == -1  # "all"
    assert producer._txn_manager is not None  # enable_idempotence=True
    await producer.start()
    try:
        md = await (await producer.send(settings.topics.batch_created, b"{}", key=b"k"))
        # The broker registered an idempotent producer id: retried sends are de-duplicated by sequence.
        assert producer._txn_manager.has_pid()
        assert producer._txn_manager.producer_id >= 0
    finally:
        await producer.stop()
    records = await read_all(settings, settings.topics.batch_created)
    assert [(r.partition, r.offset, r.value) for r in records] == [(md.partition, md.offset, b"{}")]


# --------------------------------------------------------------------------------------------------
# 7. topic administration (`batchline topics create`)
# --------------------------------------------------------------------------------------------------


async def describe(settings: Settings, names: Sequence[str]) -> dict[str, int]:
    """name -> partition count, as the broker reports it."""
    admin = AIOKafkaAdminClient(**client_options(settings), client_id="test-describe")
    await admin.start()
    try:
        found = await admin.describe_topics(list(names))
    finally:
        await admin.close()
    return {t["topic"]: len(t["partitions"]) for t in found if t["error_code"] == 0}


async def test_ensure_topics_creates_every_topic_and_dlq_twin_once(
    make_settings: Callable[..., Settings],
) -> None:
    fresh = make_settings(topic_prefix=f"t{uuid.uuid4().hex[:10]}.", topic_partitions=2)
    names = topic_names(fresh)
    assert sorted(names) == sorted(fresh.topics.all() + [f"{t}.dlq" for t in fresh.topics.all()])

    first = await ensure_topics(fresh)
    assert first == dict.fromkeys(names, True)
    assert await describe(fresh, names) == dict.fromkeys(names, 2)

    second = await ensure_topics(fresh, partitions=5)
    assert second == dict.fromkeys(names, False)
    assert await describe(fresh, names) == dict.fromkeys(names, 2), "an existing topic was altered"


async def test_ensure_topics_partitions_option_and_concurrent_runs(
    make_settings: Callable[..., Settings],
) -> None:
    fresh = make_settings(topic_prefix=f"t{uuid.uuid4().hex[:10]}.", topic_partitions=1)
    names = topic_names(fresh)
    one, two = await asyncio.gather(ensure_topics(fresh, partitions=4), ensure_topics(fresh, partitions=4))
    for name in names:
        assert [one[name], two[name]].count(True) == 1, f"{name}: created by both or by neither"
    assert await describe(fresh, names) == dict.fromkeys(names, 4)


async def test_settings_fixture_topics_have_the_configured_partitions(settings: Settings) -> None:
    assert settings.topic_partitions == PARTITIONS
    assert await describe(settings, topic_names(settings)) == dict.fromkeys(topic_names(settings), PARTITIONS)
    assert await ensure_topics(settings) == dict.fromkeys(topic_names(settings), False)
