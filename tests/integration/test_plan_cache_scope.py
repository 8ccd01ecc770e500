"""Plans are reused only inside the transactions that ask for it, never on a pooled connection after.

The engine forces a custom plan for every execution (the partial indexes need it, see
``test_query_plans``); ``reuse_plans`` relaxes that for one transaction whose statements filter on no
status. Were it a plain ``SET``, the connection would go back to the pool in ``auto`` and the next
transaction on it, a submitter's claim say, could run a generic plan that scans instead of using
``ix_requests_pending``.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from shared.db.engine import reuse_plans
from shared.lifecycle import RequestStatus

PENDING_SCAN = (
    "SELECT id FROM ai_processing_requests "
    "WHERE company_id = :c AND model = :m AND status = :s AND batch_id IS NULL ORDER BY requested_at"
)
PARAMS = {"c": "acme", "m": "gpt-4o-mini", "s": RequestStatus.PENDING_BATCHING.value}
COUNTS = text(
    "SELECT generic_plans, custom_plans FROM pg_prepared_statements "
    "WHERE statement LIKE 'SELECT id FROM ai_processing_requests%'"
)


async def mode(conn: AsyncConnection) -> str:
    return str((await conn.execute(text("SHOW plan_cache_mode"))).scalar_one())


async def test_plans_are_reused_in_the_transaction_that_asks(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await reuse_plans(conn)
        assert await mode(conn) == "auto"
        for _ in range(8):
            await conn.execute(text(PENDING_SCAN), PARAMS)
        reused = (await conn.execute(COUNTS)).one()
    # On an empty table the generic plan costs no more than a custom one: PostgreSQL takes it once
    # it has five custom plans to compare, which is the reuse the producer's foreign-key checks get.
    assert reused.generic_plans > 0


async def test_the_next_transaction_on_the_connection_plans_each_run_again(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        async with conn.begin():
            await reuse_plans(conn)
        async with conn.begin():
            assert await mode(conn) == "force_custom_plan"
            for _ in range(8):
                await conn.execute(text(PENDING_SCAN), PARAMS)
            counts = (await conn.execute(COUNTS)).one()
    assert (counts.generic_plans, counts.custom_plans) == (0, 8)
