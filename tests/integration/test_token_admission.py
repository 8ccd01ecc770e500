"""Token admission on PostgreSQL: concurrent claims share one budget, refusals are learned, in SQL.

Every request is 1,000 estimated bytes at 0.5 tokens per byte: 500 estimated tokens each.
"""

from __future__ import annotations

import asyncio
import uuid

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from services.submitter.accumulator import GroupKey
from services.submitter.store import PostgresSubmitterStore
from services.submitter.token_budget import ModelBudget
from shared.lifecycle import BatchStatus, RequestStatus
from shared.tokens import TokenRate
from tests.pipeline import rows, scalar

MODEL = "gpt-4o-mini"
BUDGET = ModelBudget(MODEL, 7_000, TokenRate(0.5))
PENDING = RequestStatus.PENDING_BATCHING.value


async def seed(engine: AsyncEngine, company: str, n: int, *, size: int = 1_000) -> None:
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO sessions (id, company_id, started_at, content_hash, message_count) "
                "SELECT :c || '-' || g, :c, now(), 'h', 1 FROM generate_series(1, :n) g"
            ),
            {"c": company, "n": n},
        )
        await conn.execute(
            text(
                "INSERT INTO ai_processing_requests (id, session_id, company_id, processing_type, model, "
                "revision, status, attempt, approx_bytes, requested_at) "
                "SELECT gen_random_uuid(), :c || '-' || g, :c, 'summary', :m, 'initial', :s, 1, :b, "
                "now() + make_interval(secs => g) FROM generate_series(1, :n) g"
            ),
            {"c": company, "n": n, "m": MODEL, "s": PENDING, "b": size},
        )


async def holding(engine: AsyncEngine) -> int:
    """What the submitter counts enqueued: batches claimed or in flight."""
    return int(await scalar(
        engine, "SELECT coalesce(sum(estimated_tokens), 0) FROM provider_batches WHERE status = ANY(:h)",
        h=["PENDING_SUBMISSION", "VALIDATING", "IN_PROGRESS", "FINALIZING", "CANCELLING"],
    ))  # fmt: skip


async def claim_until_refused(store: PostgresSubmitterStore, company: str) -> int:
    total = 0
    while n := await store.claim(uuid.uuid4(), GroupKey(company, MODEL), max_requests=3, max_bytes=10**9,
                                 budget=BUDGET):  # fmt: skip
        total += n
    return total


async def test_concurrent_claims_for_one_model_never_pass_its_budget(engine: AsyncEngine) -> None:
    for company in ("a", "b", "c", "d"):
        await seed(engine, company, 40)
    store = PostgresSubmitterStore(engine)
    # Eight claimers, two per company, all at once: each sees the batches the others committed.
    claimed = await asyncio.gather(*(claim_until_refused(store, c) for c in "abcdabcd"))
    assert sum(claimed) == 14  # 7,000 / 500
    assert await holding(engine) == 7_000
    per_company = dict(await rows(engine, "SELECT company_id, sum(estimated_tokens) FROM provider_batches "
                                          "GROUP BY company_id"))  # fmt: skip
    # Fair shares of 7,000 among four equal backlogs: 1,750 each. A company may go over its share by
    # less than one request (2,000), which the last one to claim makes up for (at least 1,000).
    assert len(per_company) == 4 and all(1_000 <= int(t) <= 2_000 for t in per_company.values())
    # The batch's estimate is the sum of its requests' estimates, each TokenRate(0.5).estimate(1,000).
    mismatched = await scalar(
        engine,
        "SELECT count(*) FROM provider_batches b WHERE estimated_tokens <> "
        "(SELECT sum(r.est_tokens) FROM ai_processing_requests r WHERE r.batch_id = b.id)",
    )
    assert mismatched == 0
    assert await scalar(engine, "SELECT array_agg(DISTINCT est_tokens) FROM ai_processing_requests "
                                "WHERE est_tokens IS NOT NULL") == [500]  # fmt: skip

    # Half the batches finish: the freed budget is shared again, still never past the limit.
    async with engine.begin() as conn:
        await conn.execute(text(
            "UPDATE provider_batches SET status = :done, submitted_at = now(), error_codes = '{}' "
            "WHERE id IN (SELECT id FROM provider_batches ORDER BY created_at LIMIT 3)"), {"done": "COMPLETED"})
    freed = 7_000 - await holding(engine)
    again = await asyncio.gather(*(claim_until_refused(store, c) for c in "abcdabcd"))
    assert sum(again) * 500 == freed
    assert await holding(engine) == 7_000


async def test_a_refusal_is_learned_in_the_database_and_the_next_claim_is_smaller(engine: AsyncEngine) -> None:
    await seed(engine, "acme", 30)
    store = PostgresSubmitterStore(engine)
    budget = ModelBudget(MODEL, 100_000, TokenRate(0.5))
    key = GroupKey("acme", MODEL)
    assert await store.claim(uuid.uuid4(), key, max_requests=8, max_bytes=10**9, budget=budget) == 8
    assert await store.claim(uuid.uuid4(), key, max_requests=8, max_bytes=10**9, budget=budget) == 8
    first, second = [r.id for r in await rows(engine, "SELECT id FROM provider_batches ORDER BY admitted_enqueued")]
    assert await scalar(engine, "SELECT admitted_enqueued FROM provider_batches WHERE id = :i", i=second) == 4_000
    async with engine.begin() as conn:
        await conn.execute(text("UPDATE provider_batches SET submitted_at = now(), status = :s WHERE id = :i"),
                           {"s": BatchStatus.IN_PROGRESS.value, "i": first})
        await conn.execute(text(
            "UPDATE provider_batches SET submitted_at = now(), status = :s, error_codes = :codes WHERE id = :i"),
            {"s": BatchStatus.FAILED.value, "codes": ["token_limit_exceeded"], "i": second})
    # Refused at 4,000 + 4,000: learned 90% of the 4,000 accepted, all held by the first batch.
    assert await store.claim(uuid.uuid4(), key, max_requests=20, max_bytes=10**9, budget=budget) == 0
    (learned,) = await rows(engine, "SELECT provider, model, learned_limit, tokens_per_byte FROM model_token_limits")
    assert tuple(learned) == ("openai", MODEL, 3_600, 0.5)
    async with engine.begin() as conn:
        await conn.execute(text("UPDATE provider_batches SET status = :s, error_codes = '{}' WHERE id = :i"),
                           {"s": BatchStatus.COMPLETED.value, "i": first})
    # 20 requests would fit the configured 100,000; the learned 3,600 takes 7.
    assert await store.claim(uuid.uuid4(), key, max_requests=20, max_bytes=10**9, budget=budget) == 7
    assert await scalar(engine, "SELECT limit_feedback_at IS NOT NULL FROM provider_batches WHERE id = :i",
                        i=second) is True  # fmt: skip


async def test_a_request_over_the_whole_limit_fails_in_sql_and_usage_calibrates(engine: AsyncEngine) -> None:
    await seed(engine, "acme", 2, size=20_000)  # 10,000 tokens each: over a 7,000 limit
    await seed(engine, "other", 3)
    store = PostgresSubmitterStore(engine)
    assert await store.claim(uuid.uuid4(), GroupKey("acme", MODEL), max_requests=8, max_bytes=10**9,
                             budget=BUDGET) == 0  # fmt: skip
    failed = await rows(engine, "SELECT status, batch_id, est_tokens, error_message FROM ai_processing_requests "
                                "WHERE company_id = 'acme'")  # fmt: skip
    assert {(r.status, r.batch_id, r.est_tokens) for r in failed} == {("PROCESSING_FAILED", None, 10_000)}
    assert all("exceed the enqueued-token limit of gpt-4o-mini (7,000)" in r.error_message for r in failed)
    assert await scalar(engine, "SELECT count(*) FROM provider_batches") == 0

    # Calibration reads first-attempt completions only: 300 tokens over 1,000 bytes, twice.
    async with engine.begin() as conn:
        await conn.execute(text(
            "UPDATE ai_processing_requests SET status = :s, prompt_tokens = 300, completed_at = now(), "
            "attempt = CASE WHEN session_id = 'other-3' THEN 2 ELSE 1 END WHERE company_id = 'other'"),
            {"s": RequestStatus.PROCESSING_COMPLETE.value})
    assert await store.observed_usage(MODEL) == (600, 2_000)
