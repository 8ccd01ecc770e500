"""A chunk's statements reach its requests by primary key, not by scanning the batch.

A chunk names 2,000 requests of a batch that may hold 50,000. When the planner thought the batch
small (no statistics for a new batch id, or a batch that really is small next to the chunk's id list)
it scanned the whole batch through ``ix_requests_batch`` and filtered it by the ids, for each chunk.
Here the batch is small and the chunk long (its ids plus ids of no request), the case where that
plan looked cheapest: the statements as the repository sends them must still use the primary key.
"""

from __future__ import annotations

import uuid

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.ingester import repository as ingester
from services.ingester.results import LineOutcome, Usage
from shared.lifecycle import RequestStatus, Resolution
from tests.integration.plan_capture import Call, captured_plan, seed_plan_data
from tests.integration.test_hot_query_plans import LIVE

CHUNK = 2_000


async def chunk_ids(conn: AsyncConnection) -> list[str]:
    rows = await conn.execute(
        text("SELECT id::text FROM ai_processing_requests WHERE batch_id = :bid"), {"bid": LIVE}
    )
    own = [r[0] for r in rows]
    assert own, "the seeded batch must claim requests"
    return own + [str(uuid.uuid4()) for _ in range(CHUNK - len(own))]


def success(cid: str) -> LineOutcome:
    return LineOutcome(cid, {"sentiment": "positive"}, None, Usage(1, 1, 2))


def retry(cid: str) -> tuple[str, Resolution, Usage]:
    return cid, Resolution(RequestStatus.PENDING_BATCHING, attempt=2, error="e", retry_after_s=1.0), Usage()


async def test_chunk_statements_find_their_requests_by_primary_key(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await seed_plan_data(conn)
    async with engine.connect() as conn:
        ids = await chunk_ids(conn)
        cases: list[tuple[str, Call, str]] = [
            ("lock", lambda c: ingester.lock_sessions(c, LIVE, ids), "FROM sessions s"),
            ("successes", lambda c: ingester.apply_successes(c, LIVE, [success(i) for i in ids]), "WITH u AS"),
            ("failures", lambda c: ingester.apply_resolutions(c, LIVE, [retry(i) for i in ids]), "make_interval"),
        ]
        failures = []
        for what, call, marker in cases:
            plan = await captured_plan(conn, call, marker, seqscan=True)
            if "pk_ai_processing_requests" not in plan or "ix_requests_batch" in plan:
                failures.append(f"{what}:\n{plan}")
    assert not failures, "\n\n".join(failures)
