"""Producer idempotency and tenant isolation; submitter claims that never overlap."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from services.submitter import repository as sub_repo
from services.submitter.accumulator import GroupKey
from shared.settings import Settings
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


async def test_the_same_session_id_in_another_company_is_another_session(
    settings: Settings, engine: AsyncEngine
) -> None:
    """Session ids are each company's own: a second company using one is stored beside the first,
    with its own conversation and request, and the first company's session is left as it was."""
    async with running_services(settings, services=("producer",)):
        await publish(settings, [event("shared-id", company="acme")])
        await wait_for(engine, "SELECT count(*) FROM sessions", 1)
        await publish(settings, [event("shared-id", company="other", n=6)])
        await wait_for(engine, "SELECT count(*) FROM ai_processing_requests", 2)
    stored = await scalar(
        engine, "SELECT string_agg(company_id || ':' || message_count, ',' ORDER BY company_id) FROM sessions"
    )
    assert stored == "acme:2,other:6"
    per_company = await scalar(
        engine,
        "SELECT string_agg(r.company_id || ':' || (SELECT count(*) FROM session_messages m "
        "WHERE m.company_id = r.company_id AND m.session_id = r.session_id), ',' ORDER BY r.company_id) "
        "FROM ai_processing_requests r WHERE r.session_id = 'shared-id'",
    )
    assert per_company == "acme:2,other:6"


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
