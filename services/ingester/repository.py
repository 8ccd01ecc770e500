"""Bulk SQL of the ingester, and :class:`PostgresIngestStore`, its implementation of the store port.

One statement per chunk of results, never a query per line. Every write is guarded by the batch id
and the claimed status (``batch_id = :bid AND status = ANY(:from)``, the source set of a
``lifecycle.Move``): a line can only resolve a request that is in this batch right now, and resolving
twice is impossible, whichever ingester (or replay, or restart after a crash) comes second. The moves
are built at import, so a write the lifecycle forbids fails when the module loads; no SQL here spells
a status.

Lock order: a chunk's transaction first locks the sessions of its requests with the producer's own
statement shape (``ORDER BY company_id, id FOR UPDATE``, same columns, same collation), and only then touches
request and session rows. Sessions are thus always locked in one global order by everyone who locks
several, and no request row is held while waiting for a session: no deadlock with the producer (which
holds sessions while it inserts requests) nor with another ingester of the same batch.

Plans: a chunk's statements reach its requests through the primary key only, never through the
batch, whatever the planner knows. Without statistics for the batch id (a batch new to them, a
scratch database) the planner estimated ``batch_id = :bid`` at a few dozen rows and scanned the
batch's 50,000 through ``ix_requests_batch`` for every chunk of 2,000. So the lock looks each id up
in a ``LATERAL`` subquery kept unflattened (``OFFSET 0``), and the writes match ``id = ANY(ARRAY(...))``
(an array the planner cannot size: estimated small, it takes the primary key) with the batch guard
written ``(batch_id = :bid) IS TRUE``, the same test that no index can serve.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.ingester.batches import mark_processed, overdue_unprocessed, read_batch, store_setback
from services.ingester.ports import (
    Announce,
    Applied,
    BatchRow,
    Charge,
    Decided,
    Finished,
    Member,
    Repending,
    Setback,
)
from services.ingester.results import LineOutcome, Usage
from shared.analysis import ProcessingType
from shared.lifecycle import BATCH_TERMINAL, Move, RequestStatus, Resolution, request_move
from shared.outbox import enqueue

#: The writes of the ingester on requests: a claimed request completes, goes back to pending or fails
#: for good (the batch's own writes are in ``batches``).
COMPLETE = request_move(RequestStatus.PROCESSING_COMPLETE, RequestStatus.BATCHING_IN_PROGRESS)
RETRY = request_move(RequestStatus.PENDING_BATCHING, RequestStatus.BATCHING_IN_PROGRESS)
FAIL = request_move(RequestStatus.PROCESSING_FAILED, RequestStatus.BATCHING_IN_PROGRESS)
#: Requests of a batch the ingester may still resolve (the common source of the three moves).
OPEN = list(COMPLETE.sources)
if not OPEN == list(RETRY.sources) == list(FAIL.sources):
    raise ImportError("the ingester's moves must share one source set: its write guard")


#: The history revision of an analysis stored before sessions recorded theirs (none completed).
UNKNOWN_REVISION = "unknown"


async def batch_members(conn: AsyncConnection, batch_id: uuid.UUID) -> dict[str, Member]:
    """Every request that went into the batch (its items, and any row still pointing at it).

    Resolved ones are included so that, when a re-ingest after a crash reads the files again, their
    lines are recognised (and skipped) instead of being counted as unreadable. Ids come as text: the
    driver's 50,000 UUID objects and their ``str()`` cost more than the statement, and nothing of the
    batch can start before this returns.
    """
    rows = await conn.execute(
        text(
            """
            SELECT r.id::text, r.processing_type, r.attempt, r.session_id, i.line,
                   (r.batch_id = :bid AND r.status = ANY(:open)) IS TRUE AS open
            FROM ai_processing_requests r
            LEFT JOIN ai_batch_items i ON i.batch_id = :bid AND i.request_id = r.id
            WHERE r.id IN (SELECT request_id FROM ai_batch_items WHERE batch_id = :bid
                           UNION SELECT id FROM ai_processing_requests WHERE batch_id = :bid)
            """
        ),
        {"bid": batch_id, "open": OPEN},
    )
    types = {t.value: t for t in ProcessingType}  # a dict lookup, not the enum's call, per row
    return {
        rid: Member(types[ptype], attempt, session_id, is_open, line)
        for rid, ptype, attempt, session_id, line, is_open in rows
    }


async def open_attempts(conn: AsyncConnection, batch_id: uuid.UUID) -> dict[str, tuple[int, int]]:
    """Requests the batch still claims (no line resolved them), with their attempt and requeues."""
    rows = await conn.execute(
        text(
            "SELECT id, attempt, requeues FROM ai_processing_requests "
            "WHERE batch_id = :bid AND status = ANY(:open) ORDER BY id"
        ),
        {"bid": batch_id, "open": OPEN},
    )
    return {str(r.id): (r.attempt, r.requeues) for r in rows}


async def lock_sessions(
    conn: AsyncConnection, batch_id: uuid.UUID, custom_ids: Sequence[str], *, open_: Sequence[str] = OPEN
) -> int:
    """Lock the sessions of the chunk's open requests in the producer's order (see the module doc);
    ``open_`` is the status set the writer resolves (the fallback worker passes its own).

    Each id is looked up by primary key in a ``LATERAL`` subquery that ``OFFSET 0`` keeps from being
    flattened into a join: the plan cannot depend on statistics. Without them (a new batch, a scratch
    database) the planner took ``batch_id = :bid`` as selective and scanned the batch's 50,000 rows
    through ``ix_requests_batch`` for each chunk of 2,000."""
    rows = await conn.execute(
        text(
            """
            SELECT s.id FROM sessions s
            WHERE (s.company_id, s.id) IN (
                SELECT r.company_id, r.session_id FROM unnest(CAST(:ids AS uuid[])) AS u(id)
                CROSS JOIN LATERAL (
                    SELECT company_id, session_id FROM ai_processing_requests
                    WHERE id = u.id AND batch_id = :bid AND status = ANY(:open)
                    OFFSET 0) r)
            ORDER BY s.company_id, s.id FOR UPDATE OF s
            """
        ),
        {"bid": batch_id, "open": list(open_), "ids": _ids(custom_ids)},
    )
    return len(rows.all())


async def apply_successes(
    conn: AsyncConnection, batch_id: uuid.UUID, chunk: Sequence[LineOutcome], *, move: Move = COMPLETE
) -> int:
    """Complete requests and write their session fields (only the fields of their processing type).

    ``move`` is the completion and its guard: the batch's claimed requests by default, the ones in a
    synchronous fallback call for the fallback worker (the same write, so both paths store alike).

    ``summary_truncated`` travels with the summary it describes: taken from the same (latest) request
    of the session as the summary, and left alone when the chunk writes no summary.

    A result of another revision than the one the session's analysis came from (``batchline
    reprocess``, a re-analysis of changed content) first copies the stored analysis into
    ``session_analyses_history``, in the same statement (its CTEs all read the sessions as they were
    before it), keyed by (company, session, revision) so a replay adds nothing.

    The requests are found through their primary key alone (see the module doc)."""
    if not chunk:
        return 0

    def col(name: str) -> list[str | None]:
        return [o.fields.get(name) if o.fields else None for o in chunk]

    rows = await conn.execute(
        text(
            """
            WITH u AS (
                SELECT * FROM unnest(CAST(:ids AS uuid[]), CAST(:pt AS int[]), CAST(:ct AS int[]),
                                     CAST(:tt AS int[]), CAST(:sent AS text[]), CAST(:cat AS text[]),
                                     CAST(:summ AS text[]), CAST(:lang AS text[]), CAST(:trunc AS bool[]),
                                     CAST(:cached AS int[]))
                     AS u(id, pt, ct, tt, sentiment, category, summary, language, truncated, cached)
            ), done AS (
                UPDATE ai_processing_requests r SET
                    status = :to, success = true, error_message = NULL,
                    prompt_tokens = least(coalesce(r.prompt_tokens, 0)::bigint + u.pt, 2147483647),
                    completion_tokens = least(coalesce(r.completion_tokens, 0)::bigint + u.ct, 2147483647),
                    total_tokens = least(coalesce(r.total_tokens, 0)::bigint + u.tt, 2147483647),
                    cached_tokens = least(coalesce(r.cached_tokens, 0)::bigint + u.cached, 2147483647),
                    completed_at = now(), updated_at = now()
                FROM u WHERE r.id = u.id AND r.id = ANY(ARRAY(SELECT id FROM u))
                  AND (r.batch_id = :bid) IS TRUE AND r.status = ANY(:from)
                RETURNING r.id, r.company_id, r.session_id, r.requested_at, r.revision, u.sentiment,
                          u.category, u.summary, u.language, u.truncated
            ), per_session AS (
                SELECT company_id, session_id, (array_agg(revision ORDER BY requested_at DESC))[1] AS rev,
                    (array_agg(sentiment ORDER BY requested_at DESC)
                        FILTER (WHERE sentiment IS NOT NULL))[1] AS s,
                    (array_agg(category ORDER BY requested_at DESC)
                        FILTER (WHERE category IS NOT NULL))[1] AS c,
                    (array_agg(summary ORDER BY requested_at DESC)
                        FILTER (WHERE summary IS NOT NULL))[1] AS m,
                    (array_agg(truncated ORDER BY requested_at DESC)
                        FILTER (WHERE summary IS NOT NULL))[1] AS t,
                    (array_agg(language ORDER BY requested_at DESC)
                        FILTER (WHERE language IS NOT NULL))[1] AS l,
                    count(*) AS n
                FROM done GROUP BY company_id, session_id
            ), archived AS (
                INSERT INTO session_analyses_history
                    (company_id, session_id, revision, sentiment, category, summary, language,
                     summary_truncated, analysed_at)
                SELECT s.company_id, s.id, coalesce(s.analysis_revision, :unknown_revision), s.sentiment,
                       s.category, s.summary, s.language, s.summary_truncated, s.analysed_at
                FROM sessions s JOIN per_session p ON s.company_id = p.company_id AND s.id = p.session_id
                WHERE s.analysis_revision IS DISTINCT FROM p.rev
                  AND num_nonnulls(s.sentiment, s.category, s.summary, s.language) > 0
                ON CONFLICT DO NOTHING
                RETURNING 1
            ), sessions_updated AS (
                UPDATE sessions s SET
                    sentiment = coalesce(p.s, s.sentiment), category = coalesce(p.c, s.category),
                    summary = coalesce(p.m, s.summary), language = coalesce(p.l, s.language),
                    summary_truncated = CASE WHEN p.m IS NULL THEN s.summary_truncated ELSE p.t END,
                    analysis_revision = p.rev, analysed_at = now(),
                    updated_at = now()
                FROM per_session p WHERE s.company_id = p.company_id AND s.id = p.session_id
                RETURNING s.id
            )
            SELECT coalesce(sum(n), 0) AS completed FROM per_session
            """
        ),
        {
            **move.params(),
            "unknown_revision": UNKNOWN_REVISION,
            "bid": batch_id,
            "ids": _ids([o.custom_id for o in chunk]),
            "pt": [o.usage.prompt_tokens for o in chunk],
            "ct": [o.usage.completion_tokens for o in chunk],
            "tt": [o.usage.total_tokens for o in chunk],
            "sent": col("sentiment"),
            "cat": col("category"),
            "summ": col("summary"),
            "lang": col("language"),
            "trunc": [o.summary_truncated for o in chunk],
            "cached": [o.usage.cached_tokens for o in chunk],
        },
    )
    return int(rows.scalar_one())


async def apply_resolutions(
    conn: AsyncConnection,
    batch_id: uuid.UUID,
    resolutions: Sequence[Decided],
    *,
    open_: Sequence[str] = OPEN,
) -> tuple[list[Repending], int]:
    """Write failed/retried requests; returns those sent back to pending (they need an event) and
    how many failed for good. Rows no longer claimed by the batch are left alone and not counted.
    ``open_``: the statuses resolved (the fallback worker's moves share their targets with these)."""
    if not resolutions:
        return [], 0
    rows = await conn.execute(
        text(
            """
            UPDATE ai_processing_requests r SET
                status = u.status, attempt = u.attempt, error_message = u.error,
                requeues = coalesce(u.requeues, r.requeues),
                batch_id = CASE WHEN u.requeue THEN NULL ELSE r.batch_id END,
                not_before = CASE WHEN u.delay IS NULL THEN r.not_before
                                  ELSE now() + make_interval(secs => u.delay) END,
                success = CASE WHEN u.requeue THEN r.success ELSE false END,
                completed_at = CASE WHEN u.requeue THEN r.completed_at ELSE now() END,
                prompt_tokens = least(coalesce(r.prompt_tokens, 0)::bigint + u.pt, 2147483647),
                completion_tokens = least(coalesce(r.completion_tokens, 0)::bigint + u.ct, 2147483647),
                total_tokens = least(coalesce(r.total_tokens, 0)::bigint + u.tt, 2147483647),
                cached_tokens = least(coalesce(r.cached_tokens, 0)::bigint + u.cached, 2147483647),
                updated_at = now()
            FROM unnest(CAST(:ids AS uuid[]), CAST(:statuses AS text[]), CAST(:attempts AS int[]),
                        CAST(:errors AS text[]), CAST(:delays AS float8[]), CAST(:pt AS int[]),
                        CAST(:ct AS int[]), CAST(:tt AS int[]), CAST(:requeue AS bool[]),
                        CAST(:requeues AS int[]), CAST(:cached AS int[]))
                 AS u(id, status, attempt, error, delay, pt, ct, tt, requeue, requeues, cached)
            WHERE r.id = u.id AND r.id = ANY(ARRAY(SELECT unnest(CAST(:ids AS uuid[]))))
              AND (r.batch_id = :bid) IS TRUE AND r.status = ANY(:from)
            RETURNING r.id, r.session_id, r.company_id, r.processing_type, r.model, r.attempt,
                      r.approx_bytes, u.requeue
            """
        ),
        {
            "bid": batch_id,
            "from": list(open_),
            "ids": _ids([cid for cid, _, _ in resolutions]),
            "statuses": [_target(r) for _, r, _ in resolutions],
            "attempts": [r.attempt for _, r, _ in resolutions],
            "errors": [r.error for _, r, _ in resolutions],
            "delays": [r.retry_after_s for _, r, _ in resolutions],
            "pt": [u.prompt_tokens for _, _, u in resolutions],
            "ct": [u.completion_tokens for _, _, u in resolutions],
            "tt": [u.total_tokens for _, _, u in resolutions],
            "requeue": [r.emits_pending for _, r, _ in resolutions],
            "requeues": [r.requeues for _, r, _ in resolutions],
            "cached": [u.cached_tokens for _, _, u in resolutions],
        },
    )
    moved = rows.all()
    repending = [
        Repending(r.id, r.session_id, r.company_id, r.processing_type, r.model, r.attempt, r.approx_bytes)
        for r in moved
        if r.requeue
    ]
    return repending, len(moved) - len(repending)


def _ids(custom_ids: Sequence[str]) -> list[str]:
    """Request ids for a ``uuid[]`` parameter, left as text: the driver encodes a uuid from its text
    as fast as from a ``UUID``, and building 50,000 ``UUID`` objects per batch cost more than the
    statements' own encoding. A malformed id fails the encoding as it failed ``UUID()``."""
    return list(custom_ids)


def _target(resolution: Resolution) -> str:
    """The per-row status of a resolution, which must be one of this module's two failure moves."""
    target = RETRY.target if resolution.emits_pending else FAIL.target
    if resolution.status.value != target:
        raise ValueError(f"a failed line cannot resolve a request to {resolution.status}")
    return target


async def resolved_counts(conn: AsyncConnection, batch_id: uuid.UUID) -> tuple[int, int]:
    """Requests this batch completed and failed for good, as stored: exact after any replay or crash
    (retried requests left the batch; the ones it resolved for good keep pointing at it)."""
    row = (
        await conn.execute(
            text(
                "SELECT count(*) FILTER (WHERE status = :done) AS completed, "
                "count(*) FILTER (WHERE status = :failed) AS failed "
                "FROM ai_processing_requests WHERE batch_id = :bid"
            ),
            {"bid": batch_id, "done": COMPLETE.target, "failed": FAIL.target},
        )
    ).one()
    return int(row.completed), int(row.failed)


class PostgresIngestStore:
    """:class:`services.ingester.ports.IngestStore` on PostgreSQL: each write call one transaction."""

    def __init__(self, engine: AsyncEngine, *, pending_topic: str, statement_rows: int = 2_000) -> None:
        self._engine = engine
        self._topic = pending_topic
        self._rows = statement_rows

    async def batch(self, batch_id: uuid.UUID) -> BatchRow | None:
        async with self._engine.connect() as conn:
            return await read_batch(conn, batch_id, lock=False)

    async def members(self, batch_id: uuid.UUID) -> dict[str, Member]:
        async with self._engine.connect() as conn:
            return await batch_members(conn, batch_id)

    async def apply_chunk(
        self,
        batch_id: uuid.UUID,
        successes: Sequence[LineOutcome],
        failures: Sequence[Decided],
        announce: Announce,
    ) -> Applied:
        ids = [o.custom_id for o in successes] + [cid for cid, _, _ in failures]
        if not ids:
            return Applied()
        async with self._engine.begin() as conn:
            if not await lock_sessions(conn, batch_id, ids):
                return Applied()  # every request of the chunk was resolved already (replay, duplicate)
            completed = await apply_successes(conn, batch_id, successes)
            repending, failed = await apply_resolutions(conn, batch_id, failures)
            await enqueue(conn, self._topic, announce(repending))
        return Applied(completed, len(repending), failed)

    async def finish(
        self,
        batch_id: uuid.UUID,
        resolve: Callable[[int, int], Resolution],
        announce: Announce,
        *,
        note: str | None = None,
        charge: Charge | None = None,
    ) -> Finished | None:
        async with self._engine.begin() as conn:
            batch = await read_batch(conn, batch_id, lock=True)
            if batch is None or batch.status not in BATCH_TERMINAL:
                return None
            still_open = await open_attempts(conn, batch_id)
            decided = [(cid, resolve(*tried), Usage()) for cid, tried in still_open.items()]
            repending: list[Repending] = []
            failed = 0
            for start in range(0, len(decided), self._rows):
                more, n = await apply_resolutions(conn, batch_id, decided[start : start + self._rows])
                repending += more
                failed += n
            await enqueue(conn, self._topic, announce(repending))
            completed_total, failed_total = await resolved_counts(conn, batch_id)
            checked = await mark_processed(
                conn, batch_id, completed=completed_total, failed=failed_total, note=note, charge=charge
            )
        return Finished(len(repending), failed, completed_total, failed_total, *checked)

    async def record_setback(self, batch_id: uuid.UUID, decide: Callable[[int], Setback]) -> Setback | None:
        async with self._engine.begin() as conn:
            return await store_setback(conn, batch_id, decide)

    async def overdue_unprocessed(self, *, older_than_s: float) -> list[uuid.UUID]:
        async with self._engine.connect() as conn:
            return await overdue_unprocessed(conn, older_than_s=older_than_s)
