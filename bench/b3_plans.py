"""B3's two statements as PostgreSQL runs them: ``EXPLAIN (ANALYZE, BUFFERS)`` of the claim and the file rows.

A scratch database is seeded as ``bench.b3_submit`` seeds it. The claim is the submitter's own
(``repository.claim``, the connection wrapped so its claim statement runs with the prefix), rolled
back and repeated ``--runs`` times; then one batch is claimed for real and the file's row query
(``batch_file``) is explained the same number of times. The trigger lines at the end of each plan are
where the reference checks show (one per row for a foreign key, one per statement for 0007s's).

Run: ``python -m bench.b3_plans [--requests 50000] [--runs 2]``.
"""

from __future__ import annotations

import argparse
import asyncio
import uuid
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from bench.b3_submit import seed
from bench.scratch import scratch_database
from services.submitter import batch_file, repository
from shared.db.engine import make_engine
from shared.settings import Settings

EXPLAIN = "EXPLAIN (ANALYZE, BUFFERS) "


class _Explained(Exception):
    """Raised after the claim statement's plan is printed: its transaction is rolled back."""


class _ExplainClaim:
    """An ``AsyncConnection`` stand-in that explains the claim's statement instead of running it."""

    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def execute(self, statement: Any, params: Any = None) -> Any:
        sql = str(getattr(statement, "text", ""))
        if "WITH candidates" in sql:
            plan = await self._conn.execute(text(EXPLAIN + sql), params)
            print("\n".join(str(r[0]) for r in plan))
            raise _Explained
        return await self._conn.execute(statement, params)


async def main(n: int, runs: int) -> None:
    base = Settings()
    async with scratch_database(base) as url:
        settings = base.model_copy(update={"database_url": url})
        key = await seed(url, settings, n)
        engine = make_engine(url, pool_size=2)
        try:
            for run in range(runs):
                print(f"-- claim, run {run + 1}")
                async with engine.connect() as conn:
                    trans = await conn.begin()
                    try:
                        wrapped: Any = _ExplainClaim(conn)
                        await repository.claim(wrapped, uuid.uuid4(), key, max_requests=n, max_bytes=1 << 40)
                    except _Explained:
                        pass
                    await trans.rollback()
            batch_id = uuid.uuid4()
            async with engine.begin() as conn:
                await repository.claim(conn, batch_id, key, max_requests=n, max_bytes=1 << 40)
            for run in range(runs):
                print(f"-- file rows, run {run + 1}")
                async with engine.begin() as conn:
                    await conn.execute(batch_file._FILE_WORK_MEM)
                    plan = await conn.execute(
                        text(EXPLAIN + batch_file._ROWS.text), {"bid": batch_id, "claimed": batch_file.CLAIMED}
                    )
                    print("\n".join(str(r[0]) for r in plan))
        finally:
            await engine.dispose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args()
    asyncio.run(main(args.requests, args.runs))
