"""The README's dead-letter procedure, literally: read the letter, fix the event, re-publish it.

Regression: the producer recorded an event id as processed in the same transaction that refused
the event, so the fixed event, re-published under its id as the README advises, was skipped as a
duplicate. Only accepted events are recorded; a replay must still change nothing. Since sessions
are tenant-scoped, a session id another company also uses is no reason for a letter any more (the
event is stored as its own company's session): letters are contract violations.

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


async def requests_of(engine: AsyncEngine, company: str, session: str) -> list[tuple[str, str, str]]:
    found = await rows(
        engine,
        "SELECT company_id, processing_type, status FROM ai_processing_requests "
        "WHERE company_id = :c AND session_id = :s ORDER BY processing_type",
        c=company,
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
        # Accepted: globex's own s-42 (acme's s-42 is another session). Refused by the contract:
        # started_at is no datetime.
        same_id = session_event("e-globex", "globex", "s-42")
        broken = session_event("e-initech", "initech", "s-7", started_at="yesterday")
        for sent in (same_id, broken):
            await send(upstream, topic, orjson.dumps(sent), sent["company_id"].encode())
        (letter,) = await letters(settings, 1)
        assert original(letter)["event_id"] == "e-initech"
        assert "started_at: Input should be a valid datetime" in letter["error"]

        # Step 2: correct what the error names, keep the event id. Step 3: publish, keyed by company.
        fixed = {**original(letter), "started_at": "2026-05-01T09:00:00Z"}
        await send(upstream, topic, orjson.dumps(fixed), fixed["company_id"].encode())
        await wait_for(engine, "SELECT count(*) FROM ai_processing_requests", 6)
        await asyncio.sleep(1)  # nothing else may arrive, nor another letter
        assert len(await letters(settings, 1)) == 1

    sessions = {(r.company_id, r.id) for r in await rows(engine, "SELECT id, company_id FROM sessions")}
    assert sessions == {("acme", "s-42"), ("globex", "s-42"), ("initech", "s-7")}
    for company, session in sorted(sessions):
        assert await requests_of(engine, company, session) == [
            (company, "sentiment_analysis", "PENDING_BATCHING"),
            (company, "summary", "PENDING_BATCHING"),
        ]
        messages = await scalar(
            engine,
            "SELECT count(*) FROM session_messages WHERE company_id = :c AND session_id = :s",
            c=company,
            s=session,
        )
        assert messages == 2
    processed = {r.event_id for r in await rows(engine, "SELECT event_id FROM processed_events")}
    assert processed == {"e-acme", "e-globex", "e-initech"}


async def test_refused_event_fixed_and_republished_under_a_new_event_id_is_processed(
    settings: Settings, engine: AsyncEngine, upstream: AIOKafkaProducer
) -> None:
    topic = settings.topics.session_events
    async with running_services(settings, services=("producer",)):
        await send(upstream, topic, orjson.dumps(session_event("e-1", "acme", "s-1")), b"acme")
        await wait_for(engine, "SELECT count(*) FROM sessions", 1)
        broken = session_event("e-2", "globex", "s-1", messages=[])
        await send(upstream, topic, orjson.dumps(broken), b"globex")
        (letter,) = await letters(settings, 1)
        assert "messages: List should have at least 1 item" in letter["error"], letter["error"]
        fixed = {**original(letter), "event_id": "e-2-fixed", "messages": [{"role": "user", "content": "hi"}]}
        await send(upstream, topic, orjson.dumps(fixed), b"globex")
        await wait_for(engine, "SELECT count(*) FROM ai_processing_requests WHERE company_id = 'globex'", 2)
    assert await scalar(engine, "SELECT count(*) FROM sessions WHERE id = 's-1'") == 2
    assert await scalar(engine, "SELECT message_count FROM sessions WHERE company_id = 'globex'") == 1
    processed = {r.event_id for r in await rows(engine, "SELECT event_id FROM processed_events")}
    assert processed == {"e-1", "e-2-fixed"}


async def test_replay_after_a_fix_and_accepted_events_again_change_no_row(
    settings: Settings, engine: AsyncEngine, upstream: AIOKafkaProducer
) -> None:
    """Accepted events stay duplicates: re-published (same id, even with other content) or replayed
    from the earliest offset, together with the refused original and its fix, nothing changes. The
    broken original is read again by the replay and breaks the contract again: its letter is
    written again, for the same record (same offset), and no other event is dead-lettered."""
    topic = settings.topics.session_events
    accepted = session_event("e-1", "acme", "s-1")
    async with running_services(settings, services=("producer",)):
        await send(upstream, topic, orjson.dumps(accepted), b"acme")
        await wait_for(engine, "SELECT count(*) FROM sessions", 1)
        broken = session_event("e-2", "globex", "s-1", started_at="yesterday")
        await send(upstream, topic, orjson.dumps(broken), b"globex")
        (letter,) = await letters(settings, 1)
        fix = {**original(letter), "started_at": "2026-05-01T09:00:00Z"}
        await send(upstream, topic, orjson.dumps(fix), b"globex")
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
    again = await letters(settings, 2)
    assert {(x["partition"], x["offset"]) for x in again} == {(letter["partition"], letter["offset"])}, (
        "the replay dead-lettered another event"
    )


async def test_one_session_id_of_two_companies_and_copies_in_one_consumer_batch(engine: AsyncEngine) -> None:
    """What used to be a refused original and its fix in one batch: globex's s-1 beside acme's s-1
    (once dead-lettered as a collision) is accepted in the same batch, a copy of it is applied once,
    and the whole batch redelivered changes nothing."""
    handler = SessionEventsHandler(
        engine,
        ProducerConfig("one-batch", "t.pending", default_model="gpt-4o-mini", max_conversation_chars=60_000),
        lambda: None,
    )
    acme = session_event("e-1", "acme", "s-1")
    globex = session_event("e-2", "globex", "s-1")
    batch = []
    for offset, e in enumerate((acme, globex, globex)):
        raw = orjson.dumps(e)
        batch.append(Delivery(decode(SessionEvent, raw), "session.events", 0, offset, e["company_id"].encode(), raw))
    assert await handler(batch) == []
    for company in ("acme", "globex"):
        assert await requests_of(engine, company, "s-1") == [
            (company, "sentiment_analysis", "PENDING_BATCHING"),
            (company, "summary", "PENDING_BATCHING"),
        ]
    before = await table_rows(engine)
    assert await handler(batch) == [], "a redelivery of the batch must change nothing"
    assert await table_rows(engine) == before
    processed = {r.event_id for r in await rows(engine, "SELECT event_id FROM processed_events")}
    assert processed == {"e-1", "e-2"}
