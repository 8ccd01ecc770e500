"""Helpers to EXPLAIN the statements the code really runs, on representative data.

``captured_plan`` calls a repository function inside a transaction that is rolled back, records the
statements it sent to the driver, and EXPLAINs the one that matches: a test of a plan then follows
the repository's SQL as it changes, instead of a copy that could drift from it. ``seed_plan_data``
fills a database with a few thousand rows in the proportions of a running pipeline (mostly resolved
requests and processed batches, a small live part), then ANALYZEs, so the planner sees real sizes.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.lifecycle import BatchStatus, RequestStatus

SESSIONS = 5_000
REQUESTS = 10_000  # two processing types per session
BATCHES = 300
EVENTS = 20_000


async def seed_plan_data(conn: AsyncConnection) -> None:
    """Batches 1-250 and 281-300 processed, 251-265 in flight, 266-275 finished but not ingested,
    276-280 unsubmitted; requests 85 % complete, 3 % failed, 7 % pending, 5 % in a live batch."""
    await conn.execute(
        text(
            "INSERT INTO sessions (id, company_id, started_at, content_hash, message_count) "
            "SELECT 's' || i, 'c' || (i % 6), now() - make_interval(hours => i % 500), 'h', 4 "
            "FROM generate_series(0, :n - 1) AS i"
        ),
        {"n": SESSIONS},
    )
    await conn.execute(
        text(
            'INSERT INTO session_messages (company_id, session_id, role, content, "order") '
            "SELECT 'c' || (i % 6), 's' || i, 'user', 'hello ' || i, o FROM generate_series(0, :n - 1) AS i, "
            "generate_series(0, 3) AS o"
        ),
        {"n": SESSIONS},
    )
    b = BatchStatus
    await conn.execute(
        text(
            """
            INSERT INTO provider_batches (id, company_id, model, provider, status, request_count,
                poll_count, submit_attempts, provider_batch_id, input_file_id, output_file_id,
                created_at, completed_at, next_poll_at)
            SELECT md5('b' || i)::uuid, 'c' || (i % 6), 'gpt-4o-mini', 'openai',
                   CASE WHEN i BETWEEN 251 AND 260 THEN :in_progress
                        WHEN i BETWEEN 261 AND 265 THEN :validating
                        WHEN i BETWEEN 266 AND 270 THEN :completed
                        WHEN i BETWEEN 271 AND 273 THEN :failed
                        WHEN i BETWEEN 274 AND 275 THEN :expired
                        WHEN i BETWEEN 276 AND 280 THEN :unsubmitted
                        ELSE :processed END,
                   0, 1, 1,
                   CASE WHEN i BETWEEN 276 AND 280 THEN NULL ELSE 'pb-' || i END,
                   'file-in-' || i, 'file-out-' || i,
                   now() - make_interval(hours => 300 - i),
                   CASE WHEN i BETWEEN 251 AND 265 OR i BETWEEN 276 AND 280 THEN NULL
                        ELSE now() - make_interval(hours => 299 - i) END,
                   CASE WHEN i BETWEEN 251 AND 265 THEN now() + make_interval(secs => i) END
            FROM generate_series(1, :n) AS i
            """
        ),
        {
            "n": BATCHES,
            "in_progress": b.IN_PROGRESS.value,
            "validating": b.VALIDATING.value,
            "completed": b.COMPLETED.value,
            "failed": b.FAILED.value,
            "expired": b.EXPIRED.value,
            "unsubmitted": b.PENDING_SUBMISSION.value,
            "processed": b.PROCESSED.value,
        },
    )
    r = RequestStatus
    await conn.execute(
        text(
            """
            INSERT INTO ai_processing_requests (id, session_id, company_id, processing_type, model, revision,
                status, attempt, approx_bytes, prompt_tokens, completion_tokens, requested_at, batch_id)
            SELECT md5('r' || i)::uuid, 's' || (i % :s), 'c' || ((i % :s) % 6),
                   CASE WHEN i < :s THEN 'full_analysis' ELSE 'summary' END, 'gpt-4o-mini', 'initial',
                   CASE WHEN i % 100 < 85 THEN :complete WHEN i % 100 < 88 THEN :failed
                        WHEN i % 100 < 95 THEN :pending ELSE :claimed END,
                   1, 500, 1000 + i % 100, 200, now() - make_interval(mins => i),
                   CASE WHEN i % 100 < 88 THEN md5('b' || (1 + i % 250))::uuid
                        WHEN i % 100 < 95 THEN NULL ELSE md5('b' || (251 + i % 15))::uuid END
            FROM generate_series(0, :n - 1) AS i
            """
        ),
        {
            "n": REQUESTS,
            "s": SESSIONS,
            "complete": r.PROCESSING_COMPLETE.value,
            "failed": r.PROCESSING_FAILED.value,
            "pending": r.PENDING_BATCHING.value,
            "claimed": r.BATCHING_IN_PROGRESS.value,
        },
    )
    await conn.execute(
        text(
            "INSERT INTO ai_batch_items (batch_id, request_id, attempt) "
            "SELECT batch_id, id, 1 FROM ai_processing_requests WHERE batch_id IS NOT NULL"
        )
    )
    await conn.execute(
        text(
            "INSERT INTO processed_events (consumer_group, event_id, processed_at) "
            "SELECT 'batchline-producer', 'e-' || i, now() - make_interval(days => i % 16, secs => i) "
            "FROM generate_series(1, :n) AS i"
        ),
        {"n": EVENTS},
    )
    await conn.execute(
        text(
            "INSERT INTO outbox (topic, key, payload) SELECT 'request.pending', NULL, 'x'::bytea "
            "FROM generate_series(1, 50)"
        )
    )
    for table in (
        "sessions",
        "session_messages",
        "provider_batches",
        "ai_processing_requests",
        "ai_batch_items",
        "processed_events",
        "outbox",
    ):
        await conn.execute(text("ANALYZE " + table))


def batch_uuid(i: int) -> str:
    """The id ``seed_plan_data`` gave batch ``i`` (md5 of ``'b' || i`` read as a uuid; an id, not a hash)."""
    return str(uuid.UUID(hashlib.md5(f"b{i}".encode()).hexdigest()))


Call = Callable[[AsyncConnection], Awaitable[Any]]


async def captured_plan(conn: AsyncConnection, call: Call, marker: str, *, seqscan: bool = False) -> str:
    """EXPLAIN of the statement ``call`` ran whose text contains ``marker`` (its effects rolled back)."""
    sent: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, _ctx: Any, _many: bool) -> None:
        sent.append((statement, parameters))

    sync = conn.sync_connection
    assert sync is not None
    async with conn.begin_nested() as savepoint:
        event.listen(sync, "before_cursor_execute", record)
        try:
            await call(conn)
        finally:
            event.remove(sync, "before_cursor_execute", record)
        await savepoint.rollback()
    matches = [(s, p) for s, p in sent if marker in s]
    assert len(matches) == 1, f"{len(matches)} statements contain {marker!r}: {[s for s, _ in sent]}"
    statement, parameters = matches[0]
    return await explain(conn, statement, parameters, seqscan=seqscan)


async def explain(conn: AsyncConnection, statement: str, parameters: Any, *, seqscan: bool = False) -> str:
    """EXPLAIN a driver-level statement; ``seqscan=False`` makes any index the planner can use win."""
    await conn.exec_driver_sql("SET LOCAL enable_seqscan = " + ("on" if seqscan else "off"))
    rows = await conn.exec_driver_sql("EXPLAIN " + statement, parameters)
    await conn.exec_driver_sql("SET LOCAL enable_seqscan = on")
    return "\n".join(row[0] for row in rows)
