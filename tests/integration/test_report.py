"""The report's SQL against a real database: tokens summed per company and model, costs per batch at
the price stored with it (or, for a batch stored without one, today's), priced by hand here.

Default prices (USD per million tokens): gpt-4o-mini 0.15 in / 0.60 out, gpt-4.1-mini 0.40 / 1.60;
the batch price is half the list price.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

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
    "attempt, approx_bytes, prompt_tokens, completion_tokens, total_tokens, batch_id) "
    "VALUES (:id, :session, :company, :ptype, :model, 'r1', :status, 1, 100, :pt, :ct, :tt, :batch)"
)
BATCH_SQL = text(
    "INSERT INTO provider_batches (id, company_id, model, provider, status, request_count, poll_count, "
    "submit_attempts, processed_at, lines_input_tokens, lines_cached_tokens, lines_output_tokens, "
    "price_input_per_million, price_cached_input_per_million, price_output_per_million, price_batch_discount) "
    "VALUES (:id, :company, :model, 'openai', 'PROCESSED', 1, 1, 1, now(), :li, 0, :lo, :pi, :pc, :po, :pd)"
)
#: (company, model, lines' input and output tokens, stored prices in, cached, out, discount or None).
#: acme's gpt-4o-mini batch was processed before prices were stored: it takes today's.
BATCHES: list[tuple[str, str, int, int, tuple[str, str, str, str] | None]] = [
    ("acme", "gpt-4o-mini", 1_000_000, 1_000_000, None),
    ("acme", "gpt-4.1-mini", 2_000_000, 0, ("0.40", "0.10", "1.60", "0.5")),
    ("beta", "mystery-model", 1_000, 1_000, None),
    ("beta", "gpt-4o-mini", 10_000, 5_000, ("0.15", "0.075", "0.60", "0.5")),
]


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
    batch_ids = {(c, m): uuid.uuid4() for c, m, _, _, _ in BATCHES}
    async with engine.begin() as conn:
        await conn.execute(
            BATCH_SQL,
            [
                {"id": batch_ids[(c, m)], "company": c, "model": m, "li": li, "lo": lo}
                | dict(zip(("pi", "pc", "po", "pd"), [Decimal(p) for p in prices] if prices else [None] * 4, strict=True))
                for c, m, li, lo, prices in BATCHES
            ],
        )
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
                "batch": batch_ids.get((company, model)) if pt is not None else None,
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
    assert acme.realtime_cost_usd == Decimal("1.55")
    assert acme.batch_cost_usd == Decimal("0.775")
    assert acme.savings_usd == Decimal("0.775")
    assert acme.unpriced_models == set()
    assert acme.sentiments == {"POSITIVE": 1, "NEGATIVE": 1}
    assert acme.categories == {"LEAVE_VACATION": 2}

    beta = reports["beta"]
    # Only the priced model is costed: 10,000 x 0.15e-6 + 5,000 x 0.60e-6 = 0.0015 + 0.003 = 0.0045.
    assert (beta.prompt_tokens, beta.completion_tokens) == (11_000, 6_000)
    assert beta.realtime_cost_usd == Decimal("0.0045")
    assert beta.batch_cost_usd == Decimal("0.00225")
    assert beta.savings_usd == Decimal("0.00225")
    assert beta.unpriced_models == {"mystery-model"}


async def test_todays_prices_apply_only_to_batches_stored_without_one(engine: AsyncEngine) -> None:
    await seed(engine)
    doubled = Settings.model_validate(
        {"batch_discount": "0.25", "model_prices": {
            "gpt-4o-mini": {"input_per_million": "0.30", "output_per_million": "1.20"},
            "gpt-4.1-mini": {"input_per_million": "9", "output_per_million": "9"},
        }}
    )  # fmt: skip
    async with engine.connect() as conn:
        reports = {r.company_id: r for r in await company_reports(conn, doubled)}
    # acme's unpriced gpt-4o-mini batch at today's prices: 1M x 0.30 + 1M x 1.20 = 1.50, a quarter 0.375;
    # its gpt-4.1-mini batch keeps its stored 0.40 and half: 0.80 and 0.40.
    assert reports["acme"].realtime_cost_usd == Decimal("2.30")
    assert reports["acme"].batch_cost_usd == Decimal("0.775")
    assert reports["acme"].savings_usd == Decimal("1.525")
    # beta's gpt-4o-mini batch was stored at 0.15 / 0.60: unchanged.
    assert reports["beta"].realtime_cost_usd == Decimal("0.0045")


async def test_empty_database_reports_nothing(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        assert await company_reports(conn, Settings()) == []
