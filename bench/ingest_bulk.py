"""Benchmark: resolving batch results set-based (what the ingester does) vs. one query per line
(what the seed did). Prints rows/s for both and the ratio; asserts nothing.

Run: ``make bench`` (uses the database of ``batchline dev up``, or BATCHLINE_DATABASE_URL), or
``python -m bench.ingest_bulk --rows 20000``. A scratch database is created and dropped.
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid

import asyncpg
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from devtools.infra.postgres import resolve_database_url
from services.ingester import repository as repo
from services.ingester.results import LineOutcome, Usage
from shared.db.engine import make_engine
from shared.db.migrate import upgrade
from shared.settings import Settings

ANSWER = {
    "sentiment": "POSITIVE",
    "category": "LEAVE_VACATION",
    "summary": "Asked about leave.",
    "language": "en",
}


async def seed(engine: AsyncEngine, n: int, prefix: str) -> tuple[uuid.UUID, list[uuid.UUID]]:
    batch_id = uuid.uuid4()
    ids = [uuid.uuid4() for _ in range(n)]
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO sessions (id, company_id, started_at, content_hash, message_count) "
                "SELECT :p || g, 'acme', now(), 'h', 2 FROM generate_series(1, :n) g"
            ),
            {"n": n, "p": prefix},
        )
        await conn.execute(
            text(
                "INSERT INTO provider_batches (id, company_id, model, provider, status, request_count, poll_count, "
                "submit_attempts) VALUES (:b, 'acme', 'm', 'openai', 'COMPLETED', :n, 0, 1)"
            ),
            {"b": batch_id, "n": n},
        )
        await conn.execute(
            text(
                "INSERT INTO ai_processing_requests (id, session_id, company_id, processing_type, model, revision, status, "
                "batch_id, attempt, approx_bytes) SELECT u.id, :p || u.i, 'acme', 'full_analysis', 'm', 'r', "
                "'BATCHING_IN_PROGRESS', :b, 1, 100 FROM unnest(CAST(:ids AS uuid[])) WITH ORDINALITY AS u(id, i)"
            ),
            {"b": batch_id, "ids": ids, "p": prefix},
        )
    return batch_id, ids


async def set_based(engine: AsyncEngine, batch_id: uuid.UUID, ids: list[uuid.UUID], chunk: int) -> float:
    outcomes = [LineOutcome(str(i), ANSWER, None, Usage(100, 20, 120)) for i in ids]
    started = time.perf_counter()
    async with engine.begin() as conn:
        for start in range(0, len(outcomes), chunk):
            await repo.apply_successes(conn, batch_id, outcomes[start : start + chunk])
    return time.perf_counter() - started


async def per_row(engine: AsyncEngine, ids: list[uuid.UUID]) -> float:
    started = time.perf_counter()
    async with engine.begin() as conn:
        for i in ids:  # the seed's shape: update the request, read it back, update its session
            await conn.execute(
                text(
                    "UPDATE ai_processing_requests SET status = 'PROCESSING_COMPLETE', success = true, prompt_tokens = 100, "
                    "completion_tokens = 20, total_tokens = 120, completed_at = now() WHERE id = :id"
                ),
                {"id": i},
            )
            company_id, session_id = (
                await conn.execute(
                    text("SELECT company_id, session_id FROM ai_processing_requests WHERE id = :id"), {"id": i}
                )
            ).one()
            await conn.execute(
                text(
                    "UPDATE sessions SET sentiment = :s, category = :c, summary = :m, language = :l "
                    "WHERE company_id = :cid AND id = :sid"
                ),
                {
                    "s": "POSITIVE",
                    "c": "LEAVE_VACATION",
                    "m": "Asked about leave.",
                    "l": "en",
                    "cid": company_id,
                    "sid": session_id,
                },
            )
    return time.perf_counter() - started


async def main(rows: int, chunk: int) -> None:
    admin = make_url(resolve_database_url(Settings()))
    name = f"bench_{uuid.uuid4().hex[:8]}"
    plain = admin.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    conn = await asyncpg.connect(plain)
    await conn.execute(f'CREATE DATABASE "{name}"')
    url = admin.set(database=name).render_as_string(hide_password=False)
    try:
        await asyncio.to_thread(upgrade, url)
        engine = make_engine(url)
        batch_a, ids_a = await seed(engine, rows, "a")
        _, ids_b = await seed(engine, rows, "b")
        fast = await set_based(engine, batch_a, ids_a, chunk)
        slow = await per_row(engine, ids_b)
        await engine.dispose()
    finally:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.close()
    print(f"rows: {rows}, chunk: {chunk}")
    print(f"set-based (ingester):  {fast:7.2f}s  {rows / fast:9.0f} rows/s")
    print(f"query per row (seed):  {slow:7.2f}s  {rows / slow:9.0f} rows/s")
    print(f"ratio: set-based is {slow / fast:.1f}x faster")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--chunk", type=int, default=2_000)
    args = parser.parse_args()
    asyncio.run(main(args.rows, args.chunk))
