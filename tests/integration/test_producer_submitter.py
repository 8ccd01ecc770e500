"""Producer idempotency and tenant isolation; submitter claims that never overlap."""

from __future__ import annotations

import asyncio
import base64
import uuid
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer
from sqlalchemy.ext.asyncio import AsyncEngine

from services.submitter import repository as sub_repo
from services.submitter.accumulator import GroupKey
from shared.kafka.connection import client_options
from shared.settings import Settings, Topics
from tests.pipeline import publish, running_services, scalar


def event(session: str, company: str = "acme", n: int = 2, **extra: Any) -> dict[str, Any]:
    return {
        "event_id": f"{session}-{n}-{extra.get('reanalyze', False)}-{company}",
        "company_id": company, "session_id": session, "started_at": "2026-05-01T10:00:00Z",
        "messages": [{"role": "user" if i % 2 == 0 else "assistant", "content": f"message {i}"} for i in range(n)],
        **extra,
    }


async def wait_for(engine: AsyncEngine, sql: str, expected: int, timeout_s: float = 30, **params: Any) -> None:
    value = None
    for _ in range(int(timeout_s / 0.2)):
        value = await scalar(engine, sql, **params)
        if value == expected:
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"{sql} -> {value}, expected {expected}")


async def read_dlq(settings: Settings, expected: int) -> list[dict[str, Any]]:
    consumer = AIOKafkaConsumer(Topics.dlq(settings.topics.session_events), **client_options(settings),
                                auto_offset_reset="earliest", enable_auto_commit=False)
    await consumer.start()
    try:
        letters: list[dict[str, Any]] = []
        for _ in range(50):
            batch = await consumer.getmany(timeout_ms=200)
            letters += [orjson.loads(r.value) for records in batch.values() for r in records]
            if len(letters) >= expected:
                break
        return letters
    finally:
        await consumer.stop()


async def test_duplicates_and_reanalysis_rules(settings: Settings, engine: AsyncEngine) -> None:
    async with running_services(settings, services=("producer",)):
        await publish(settings, [event("s1"), event("s1"), event("s2", processing_types=["summary", "categorization"],
                                                                  models=["gpt-4o", "gpt-4o-mini"])])
        await wait_for(engine, "SELECT count(*) FROM ai_processing_requests", 5)
        # New messages without re-analysis: the conversation is updated, no new request.
        await publish(settings, [event("s1", n=4)])
        await wait_for(engine, "SELECT message_count FROM sessions WHERE id = 's1'", 4)
        # Re-analysis asked: exactly one new request, even if the event is delivered twice.
        await publish(settings, [event("s1", n=4, reanalyze=True)] * 2)
        await wait_for(engine, "SELECT count(*) FROM ai_processing_requests WHERE session_id = 's1'", 2)
        await asyncio.sleep(1)
    assert await scalar(engine, "SELECT count(*) FROM ai_processing_requests") == 6
    assert await scalar(engine, "SELECT count(*) FROM outbox WHERE topic = :t", t=settings.topics.request_pending) == 0


async def test_session_cannot_move_to_another_company(settings: Settings, engine: AsyncEngine) -> None:
    async with running_services(settings, services=("producer",)):
        await publish(settings, [event("shared-id", company="acme")])
        await wait_for(engine, "SELECT count(*) FROM sessions", 1)
        await publish(settings, [event("shared-id", company="intruder", n=6)])
        letters = await read_dlq(settings, 1)
    assert [letter["error"] for letter in letters] == ["session_id belongs to another company"]
    assert orjson.loads(base64.b64decode(letters[0]["value"]))["company_id"] == "intruder"
    assert await scalar(engine, "SELECT company_id || ':' || message_count FROM sessions") == "acme:2"


async def test_concurrent_claims_never_share_a_request(settings: Settings, engine: AsyncEngine) -> None:
    async with running_services(settings, services=("producer",)):
        await publish(settings, [event(f"s{i}") for i in range(300)])
        await wait_for(engine, "SELECT count(*) FROM ai_processing_requests", 300)

    async def claim_all() -> int:
        total = 0
        while True:
            async with engine.begin() as conn:
                n = await sub_repo.claim(conn, uuid.uuid4(), GroupKey("acme", settings.default_model),
                                         max_requests=7, max_bytes=10**9)
            if n == 0:
                return total
            total += n

    counts = await asyncio.gather(*(claim_all() for _ in range(4)))
    assert sum(counts) == 300
    assert await scalar(engine, "SELECT count(*) FROM ai_batch_items") == 300
    assert await scalar(engine, "SELECT count(DISTINCT request_id) FROM ai_batch_items") == 300
    assert await scalar(engine, "SELECT max(request_count) FROM provider_batches") <= 7
