"""The report's SQL against a real database: tokens summed per company and model, priced by hand here.

Default prices (USD per million tokens): gpt-4o-mini 0.15 in / 0.60 out, gpt-4.1-mini 0.40 / 1.60;
the batch price is half the list price.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from cli.report import company_reports
from shared.settings import Settings

SESSION_SQL = text(
    "INSERT INTO sessions (id, company_id, started_at, content_hash, message_count, sentiment, category, language) "
    "VALUES (:id, :company, now(), 'h', 2, :sentiment, :category, :language)"
)
REQUEST_SQL = text(
    "INSERT INTO ai_processing_requests (id, session_id, company_id, processing_type, model, revision, status, "
    "attempt, approx_bytes, prompt_tokens, completion_tokens, total_tokens) "
    "VALUES (:id, :session, :company, :ptype, :model, 'r1', :status, 1, 100, :pt, :ct, :tt)"
)


async def seed(engine: AsyncEngine) -> None:
    sessions = [
        ("acme-1", "acme", "POSITIVE", "LEAVE_VACATION", "en"),
        ("acme-2", "acme", "NEGATIVE", "LEAVE_VACATION", "de"),
        ("beta-1", "beta", None, None, None),
    ]
    requests: list[tuple[str, str, str, str, str, int | None, int | None]] = [
        # session, company, processing type, model, status, prompt tokens, completion tokens
        ("acme-1", "acme", "full_analysis", "gpt-4o-mini", "PROCESSING_COMPLETE", 600_000, 100_000),
        ("acme-2", "acme", "full_analysis", "gpt-4o-mini", "PROCESSING_COMPLETE", 400_000, 900_000),
        ("acme-1", "acme", "summary", "gpt-4.1-mini", "PROCESSING_FAILED", 2_000_000, 0),
        ("acme-2", "acme", "summary", "gpt-4.1-mini", "PENDING_BATCHING", None, None),  # no tokens yet
        ("beta-1", "beta", "full_analysis", "mystery-model", "PROCESSING_COMPLETE", 1_000, 1_000),
        ("beta-1", "beta", "summary", "gpt-4o-mini", "PROCESSING_COMPLETE", 10_000, 5_000),
    ]
    async with engine.begin() as conn:
        await conn.execute(
            SESSION_SQL,
            [
                {"id": i, "company": c, "sentiment": s, "category": cat, "language": lang}
                for i, c, s, cat, lang in sessions
            ],
        )
        params: list[dict[str, Any]] = [
            {
                "id": uuid.uuid4(),
                "session": session,
                "company": company,
                "ptype": ptype,
                "model": model,
                "status": status,
                "pt": pt,
                "ct": ct,
                "tt": None if pt is None or ct is None else pt + ct,
            }
            for session, company, ptype, model, status, pt, ct in requests
        ]
        await conn.execute(REQUEST_SQL, params)


async def test_costs_and_savings_per_company(engine: AsyncEngine) -> None:
    await seed(engine)
    async with engine.connect() as conn:
        reports = {r.company_id: r for r in await company_reports(conn, Settings())}
    assert sorted(reports) == ["acme", "beta"]

    acme = reports["acme"]
    assert acme.sessions == 2
    assert acme.requests == {"PROCESSING_COMPLETE": 2, "PROCESSING_FAILED": 1, "PENDING_BATCHING": 1}
    assert (acme.prompt_tokens, acme.completion_tokens) == (3_000_000, 1_000_000)
    # gpt-4o-mini: 1,000,000 in x 0.15 + 1,000,000 out x 0.60 = 0.75; gpt-4.1-mini: 2,000,000 x 0.40 = 0.80.
    # Failed requests spent their tokens too: they are paid for.
    assert acme.realtime_cost_usd == pytest.approx(1.55)
    assert acme.batch_cost_usd == pytest.approx(0.775)
    assert acme.savings_usd == pytest.approx(0.775)
    assert acme.unpriced_models == set()
    assert acme.sentiments == {"POSITIVE": 1, "NEGATIVE": 1}
    assert acme.categories == {"LEAVE_VACATION": 2}

    beta = reports["beta"]
    # Only the priced model is costed: 10,000 x 0.15e-6 + 5,000 x 0.60e-6 = 0.0015 + 0.003 = 0.0045.
    assert (beta.prompt_tokens, beta.completion_tokens) == (11_000, 6_000)
    assert beta.realtime_cost_usd == pytest.approx(0.0045)
    assert beta.batch_cost_usd == pytest.approx(0.00225)
    assert beta.savings_usd == pytest.approx(0.00225)
    assert beta.unpriced_models == {"mystery-model"}


async def test_batch_discount_setting_scales_the_batch_cost(engine: AsyncEngine) -> None:
    await seed(engine)
    async with engine.connect() as conn:
        reports = {r.company_id: r for r in await company_reports(conn, Settings(batch_discount=0.25))}
    assert reports["acme"].realtime_cost_usd == pytest.approx(1.55)
    assert reports["acme"].batch_cost_usd == pytest.approx(0.3875)  # a quarter of 1.55
    assert reports["acme"].savings_usd == pytest.approx(1.1625)


async def test_empty_database_reports_nothing(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        assert await company_reports(conn, Settings()) == []
