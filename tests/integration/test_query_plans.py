"""Hot queries use their partial indexes, also after many executions of the same prepared statement.

asyncpg prepares every statement; after five executions PostgreSQL may switch a prepared statement to
a generic plan, and a generic plan cannot prove a partial index's predicate from a bound status.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.lifecycle import RequestStatus

PENDING_SCAN = (
    "SELECT id FROM ai_processing_requests "
    "WHERE company_id = :c AND model = :m AND status = :s AND batch_id IS NULL ORDER BY requested_at"
)
PARAMS = {"c": "acme", "m": "gpt-4o-mini", "s": RequestStatus.PENDING_BATCHING.value}


async def test_a_prepared_statement_is_never_given_a_generic_plan(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        for _ in range(8):
            await conn.execute(text(PENDING_SCAN), PARAMS)
        counts = (
            await conn.execute(
                text(
                    "SELECT generic_plans, custom_plans FROM pg_prepared_statements "
                    "WHERE statement LIKE 'SELECT id FROM ai_processing_requests%'"
                )
            )
        ).one()
    assert (counts.generic_plans, counts.custom_plans) == (0, 8)


async def test_the_pending_scan_plan_uses_its_partial_index(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        await conn.execute(text("SET enable_seqscan = off"))  # an empty table would otherwise be scanned
        plan = "\n".join(r[0] for r in await conn.execute(text("EXPLAIN " + PENDING_SCAN), PARAMS))
    assert "ix_requests_pending" in plan, plan
