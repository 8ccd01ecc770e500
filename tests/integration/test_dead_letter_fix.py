"""The README's dead-letter procedure, literally: read the letter, fix the event, re-publish it.

Regression: the producer recorded an event id as processed in the same transaction that refused
the event, so the fixed event, re-published under its id as the README advises, was skipped as a
duplicate. Only accepted events are recorded now; a replay must still change nothing.

Events go in through a plain aiokafka producer (what an operator's tool would be), not the
project's publish helper, so nothing here depends on how batchline itself keys or encodes.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest
from aiokafka import AIOKafkaProducer
from sqlalchemy.ext.asyncio import AsyncEngine

from services.producer.service import ProducerConfig, SessionEventsHandler
from shared.events import SessionEvent, decode
from shared.kafka.consumer import Delivery
from shared.kafka.replay import reset_to_earliest
from shared.settings import Settings, Topics
from tests.integration.test_producer_submitter import wait_for
from tests.pipeline import read_all, rows, running_services, scalar

#: Tables the producer writes; compared row by row (every column, timestamps included) around a replay.
TABLES = ("sessions", "session_messages", "ai_processing_requests", "processed_events", "outbox")


def session_event(event_id: str, company: str, session: str, **changes: Any) -> dict[str, Any]:
    return {
        "schema_version": 1,
        "event_id": event_id,
        "company_id": company,
        "session_id": session,
        "started_at": "2026-05-01T10:00:00Z",
        "ended_at": None,
        "messages": [{"role": "user", "content": "my payslip is wrong"}, {"role": "assistant", "content": "..."}],
        "processing_types": ["sentiment_analysis", "summary"],
        "models": ["gpt-4o-mini"],
        **changes,
    }


@pytest.fixture
async def upstream(settings: Settings) -> AsyncIterator[AIOKafkaProducer]:
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers, acks="all")
    await producer.start()
    yield producer
    await producer.stop()


async def send(producer: AIOKafkaProducer, topic: str, value: bytes, key: bytes | None) -> None:
    await producer.send_and_wait(topic, value, key=key)


async def letters(settings: Settings, expected: int, timeout_s: float = 30) -> list[dict[str, Any]]:
    """Every letter on ``session.events.dlq``, once at least ``expected`` arrived."""
    found: list[dict[str, Any]] = []
    for _ in range(int(timeout_s / 0.5)):
        dlq = Topics.dlq(settings.topics.session_events)
        found = [orjson.loads(r.value) for r in await read_all(settings, dlq, settings.topic_partitions)]
        if len(found) >= expected:
            return found
        await asyncio.sleep(0.5)
    raise AssertionError(f"{len(found)} letters, expected {expected}")


def original(letter: dict[str, Any]) -> dict[str, Any]:
    """Step 2 of the README: the letter's ``value``, base64-decoded, is the original event."""
    assert not letter["truncated"]
    event: dict[str, Any] = orjson.loads(base64.b64decode(letter["value"]))
    return event


async def requests_of(engine: AsyncEngine, session: str) -> list[tuple[str, str, str]]:
    found = await rows(
        engine,
        "SELECT company_id, processing_type, status FROM ai_processing_requests "
        "WHERE session_id = :s ORDER BY processing_type",
        s=session,
    )
    return [(r.company_id, r.processing_type, r.status) for r in found]


async def table_rows(engine: AsyncEngine) -> dict[str, list[Any]]:
    return {
        t: [r[0] for r in await rows(engine, f"SELECT row_to_json(x)::text FROM {t} x ORDER BY 1")]
        for t in TABLES
    }


async def test_refused_events_fixed_and_republished_under_their_event_id_are_processed(
    settings: Settings, engine: AsyncEngine, upstream: AIOKafkaProducer
) -> None:
    topic = settings.topics.session_events
    async with running_services(settings, services=("producer",)):
        await send(upstream, topic, orjson.dumps(session_event("e-acme", "acme", "s-42")), b"acme")
        await wait_for(engine, "SELECT count(*) FROM sessions", 1)
        # Refused by the handler: s-42 is acme's. Refused by the contract: started_at is no datetime.
        collision = session_event("e-globex", "globex", "s-42")
        broken = session_event("e-initech", "initech", "s-7", started_at="yesterday")
        for bad in (collision, broken):
            await send(upstream, topic, orjson.dumps(bad), bad["company_id"].encode())
        by_event = {original(letter)["event_id"]: letter for letter in await letters(settings, 2)}
        assert by_event["e-globex"]["error"] == "session_id belongs to another company"
        assert "started_at: Input should be a valid datetime" in by_event["e-initech"]["error"]

        # Step 2: correct what the error names, keep the event id. Step 3: publish, keyed by company.
        fixed_collision = {**original(by_event["e-globex"]), "session_id": "globex-s-42"}
        fixed_broken = {**original(by_event["e-initech"]), "started_at": "2026-05-01T09:00:00Z"}
        for fixed in (fixed_collision, fixed_broken):
            await send(upstream, topic, orjson.dumps(fixed), fixed["company_id"].encode())
        await wait_for(engine, "SELECT count(*) FROM ai_processing_requests", 6)
        await asyncio.sleep(1)  # nothing else may arrive, nor another letter
        assert len(await letters(settings, 2)) == 2

    sessions = {r.id: r.company_id for r in await rows(engine, "SELECT id, company_id FROM sessions")}
    assert sessions == {"s-42": "acme", "globex-s-42": "globex", "s-7": "initech"}
    for session, company in (("globex-s-42", "globex"), ("s-7", "initech")):
        assert await requests_of(engine, session) == [
            (company, "sentiment_analysis", "PENDING_BATCHING"),
            (company, "summary", "PENDING_BATCHING"),
        ]
        messages = await scalar(engine, "SELECT count(*) FROM session_messages WHERE session_id = :s", s=session)
        assert messages == 2
    assert await requests_of(engine, "s-42") == [
        ("acme", "sentiment_analysis", "PENDING_BATCHING"),
        ("acme", "summary", "PENDING_BATCHING"),
    ]
    processed = {r.event_id for r in await rows(engine, "SELECT event_id FROM processed_events")}
    assert processed == {"e-acme", "e-globex", "e-initech"}


async def test_refused_event_fixed_and_republished_under_a_new_event_id_is_processed(
    settings: Settings, engine: AsyncEngine, upstream: AIOKafkaProducer
) -> None:
    topic = settings.topics.session_events
    async with running_services(settings, services=("producer",)):
        await send(upstream, topic, orjson.dumps(session_event("e-1", "acme", "s-1")), b"acme")
        await wait_for(engine, "SELECT count(*) FROM sessions", 1)
        await send(upstream, topic, orjson.dumps(session_event("e-2", "globex", "s-1")), b"globex")
        (letter,) = await letters(settings, 1)
        assert letter["error"] == "session_id belongs to another company"
        fixed = {**original(letter), "event_id": "e-2-fixed", "session_id": "globex-s-1"}
        await send(upstream, topic, orjson.dumps(fixed), b"globex")
        await wait_for(engine, "SELECT count(*) FROM ai_processing_requests WHERE company_id = 'globex'", 2)
    assert await scalar(engine, "SELECT company_id FROM sessions WHERE id = 'globex-s-1'") == "globex"
    processed = {r.event_id for r in await rows(engine, "SELECT event_id FROM processed_events")}
    assert processed == {"e-1", "e-2-fixed"}


async def test_replay_after_a_fix_and_accepted_events_again_change_no_row(
    settings: Settings, engine: AsyncEngine, upstream: AIOKafkaProducer
) -> None:
    """Accepted events stay duplicates: re-published (same id, even with other content) or replayed
    from the earliest offset, together with the refused original and its fix, nothing changes."""
    topic = settings.topics.session_events
    accepted = session_event("e-1", "acme", "s-1")
    async with running_services(settings, services=("producer",)):
        await send(upstream, topic, orjson.dumps(accepted), b"acme")
        await wait_for(engine, "SELECT count(*) FROM sessions", 1)  # acme owns s-1 before globex names it
        await send(upstream, topic, orjson.dumps(session_event("e-2", "globex", "s-1")), b"globex")
        (letter,) = await letters(settings, 1)
        await send(upstream, topic, orjson.dumps({**original(letter), "session_id": "globex-s-1"}), b"globex")
        await wait_for(engine, "SELECT count(*) FROM ai_processing_requests", 4)
        await wait_for(engine, "SELECT count(*) FROM outbox", 0)
        before = await table_rows(engine)

        await send(upstream, topic, orjson.dumps(accepted), b"acme")
        changed = {**accepted, "messages": [{"role": "user", "content": "other words"}], "reanalyze": True}
        await send(upstream, topic, orjson.dumps(changed), b"acme")
        await asyncio.sleep(2)
    assert await reset_to_earliest(settings, settings.group_id("producer"), [topic]) > 0
    async with running_services(settings, services=("producer",)):
        await asyncio.sleep(4)  # the whole topic again: original, refusal, fix, duplicates
    assert await table_rows(engine) == before
    assert len(await letters(settings, 1)) == 1, "the replay dead-lettered an event again"


async def test_original_and_fix_in_one_consumer_batch(engine: AsyncEngine) -> None:
    """A crash between the letter and the offset commit re-delivers the refused original with its
    fix (same event id) in one batch: the fix is applied, not dropped as the original's duplicate."""
    handler = SessionEventsHandler(
        engine,
        ProducerConfig("one-batch", "t.pending", default_model="gpt-4o-mini", max_conversation_chars=60_000),
        lambda: None,
    )
    owner = session_event("e-1", "acme", "s-1")
    bad = session_event("e-2", "globex", "s-1")
    fix = {**bad, "session_id": "globex-s-1"}
    batch = []
    for offset, e in enumerate((owner, bad, bad, fix)):
        raw = orjson.dumps(e)
        batch.append(Delivery(decode(SessionEvent, raw), "session.events", 0, offset, e["company_id"].encode(), raw))
    rejected = await handler(batch)
    assert [(r.offset, r.reason) for r in rejected] == [(1, "session_id belongs to another company")]
    assert await requests_of(engine, "globex-s-1") == [
        ("globex", "sentiment_analysis", "PENDING_BATCHING"),
        ("globex", "summary", "PENDING_BATCHING"),
    ]
    assert await handler(batch) == [], "a redelivery of the batch must change nothing"
    processed = {r.event_id for r in await rows(engine, "SELECT event_id FROM processed_events")}
    assert processed == {"e-1", "e-2"}
