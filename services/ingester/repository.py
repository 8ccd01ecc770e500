"""Bulk SQL of the ingester: one statement per chunk of results, never a query per line.

Every write is guarded by the batch id and the claimed status (``batch_id = :bid AND status =
ANY(:from)``, the source set of a ``lifecycle.Move``): a line can only resolve a request that is in
this batch right now, and resolving twice is impossible. The moves are built at import, so a write
the lifecycle forbids fails when the module loads; no SQL here spells a status.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from services.ingester.results import LineOutcome, Usage
from shared.analysis import ProcessingType
from shared.lifecycle import (
    BATCH_TERMINAL,
    BatchStatus,
    RequestStatus,
    Resolution,
    batch_move,
    request_move,
    values,
)

#: The writes of the ingester: a claimed request completes, goes back to pending or fails for good;
#: a provider-terminal batch becomes PROCESSED.
COMPLETE = request_move(RequestStatus.PROCESSING_COMPLETE, RequestStatus.BATCHING_IN_PROGRESS)
RETRY = request_move(RequestStatus.PENDING_BATCHING, RequestStatus.BATCHING_IN_PROGRESS)
FAIL = request_move(RequestStatus.PROCESSING_FAILED, RequestStatus.BATCHING_IN_PROGRESS)
PROCESS = batch_move(BatchStatus.PROCESSED, *BATCH_TERMINAL)
#: Requests of a batch the ingester may still resolve (the common source of the three moves).
OPEN = list(COMPLETE.sources)
if not OPEN == list(RETRY.sources) == list(FAIL.sources):
    raise ImportError("the ingester's moves must share one source set: its write guard")


@dataclass(frozen=True, slots=True)
class BatchRow:
    id: uuid.UUID
    company_id: str
    model: str
    status: BatchStatus
    output_file_id: str | None
    error_file_id: str | None
    last_error: str | None
    error_codes: list[str]


async def lock_batch(conn: AsyncConnection, batch_id: uuid.UUID) -> BatchRow | None:
    """Row-lock the batch: two ingesters given the same event serialise here, the second sees PROCESSED."""
    row = (
        await conn.execute(
            text(
                "SELECT id, company_id, model, status, output_file_id, error_file_id, last_error, "
                "error_codes "
                "FROM provider_batches WHERE id = :id FOR UPDATE"
            ),
            {"id": batch_id},
        )
    ).first()
    if row is None:
        return None
    return BatchRow(
        row.id,
        row.company_id,
        row.model,
        BatchStatus(row.status),
        row.output_file_id,
        row.error_file_id,
        row.last_error,
        list(row.error_codes or []),
    )


async def overdue_unprocessed(
    conn: AsyncConnection, *, older_than_s: float, limit: int = 20
) -> list[uuid.UUID]:
    """Finished batches nobody ingested (their event was lost or dead-lettered): the recovery sweep."""
    rows = await conn.execute(
        text(
            "SELECT id FROM provider_batches "
            "WHERE status = ANY(:terminal) "
            "AND coalesce(completed_at, created_at) < now() - make_interval(secs => :age) "
            "ORDER BY completed_at LIMIT :n"
        ),
        {"terminal": values(BATCH_TERMINAL), "age": older_than_s, "n": limit},
    )
    return [r.id for r in rows]


@dataclass(frozen=True, slots=True)
class Member:
    processing_type: ProcessingType
    attempt: int


async def open_members(conn: AsyncConnection, batch_id: uuid.UUID) -> dict[str, Member]:
    """Requests of the batch not resolved yet, by custom_id (= request id as text)."""
    rows = await conn.execute(
        text(
            "SELECT id, processing_type, attempt FROM ai_processing_requests "
            "WHERE batch_id = :bid AND status = ANY(:open)"
        ),
        {"bid": batch_id, "open": OPEN},
    )
    return {str(r.id): Member(ProcessingType(r.processing_type), r.attempt) for r in rows}


async def apply_successes(conn: AsyncConnection, batch_id: uuid.UUID, chunk: Sequence[LineOutcome]) -> int:
    """Complete requests and write their session fields (only the fields of their processing type)."""
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
                                     CAST(:summ AS text[]), CAST(:lang AS text[]))
                     AS u(id, pt, ct, tt, sentiment, category, summary, language)
            ), done AS (
                UPDATE ai_processing_requests r SET
                    status = :to, success = true, error_message = NULL,
                    prompt_tokens = least(coalesce(r.prompt_tokens, 0)::bigint + u.pt, 2147483647),
                    completion_tokens = least(coalesce(r.completion_tokens, 0)::bigint + u.ct, 2147483647),
                    total_tokens = least(coalesce(r.total_tokens, 0)::bigint + u.tt, 2147483647),
                    completed_at = now(), updated_at = now()
                FROM u WHERE r.id = u.id AND r.batch_id = :bid AND r.status = ANY(:from)
                RETURNING r.id, r.session_id, r.requested_at, u.sentiment, u.category, u.summary, u.language
            ), per_session AS (
                SELECT session_id,
                    (array_agg(sentiment ORDER BY requested_at DESC)
                        FILTER (WHERE sentiment IS NOT NULL))[1] AS s,
                    (array_agg(category ORDER BY requested_at DESC)
                        FILTER (WHERE category IS NOT NULL))[1] AS c,
                    (array_agg(summary ORDER BY requested_at DESC)
                        FILTER (WHERE summary IS NOT NULL))[1] AS m,
                    (array_agg(language ORDER BY requested_at DESC)
                        FILTER (WHERE language IS NOT NULL))[1] AS l,
                    count(*) AS n
                FROM done GROUP BY session_id
            ), sessions_updated AS (
                UPDATE sessions s SET
                    sentiment = coalesce(p.s, s.sentiment), category = coalesce(p.c, s.category),
                    summary = coalesce(p.m, s.summary), language = coalesce(p.l, s.language),
                    updated_at = now()
                FROM per_session p WHERE s.id = p.session_id
                RETURNING s.id
            )
            SELECT coalesce(sum(n), 0) AS completed FROM per_session
            """
        ),
        {
            **COMPLETE.params(),
            "bid": batch_id,
            "ids": [uuid.UUID(o.custom_id) for o in chunk],
            "pt": [o.usage.prompt_tokens for o in chunk],
            "ct": [o.usage.completion_tokens for o in chunk],
            "tt": [o.usage.total_tokens for o in chunk],
            "sent": col("sentiment"),
            "cat": col("category"),
            "summ": col("summary"),
            "lang": col("language"),
        },
    )
    return int(rows.scalar_one())


@dataclass(frozen=True, slots=True)
class Repending:
    id: uuid.UUID
    session_id: str
    company_id: str
    processing_type: str
    model: str
    attempt: int
    approx_bytes: int


async def apply_resolutions(
    conn: AsyncConnection,
    batch_id: uuid.UUID,
    resolutions: Sequence[tuple[str, Resolution, Usage]],
) -> list[Repending]:
    """Write failed/retried requests; returns those sent back to pending (they need an event)."""
    if not resolutions:
        return []
    rows = await conn.execute(
        text(
            """
            UPDATE ai_processing_requests r SET
                status = u.status, attempt = u.attempt, error_message = u.error,
                batch_id = CASE WHEN u.requeue THEN NULL ELSE r.batch_id END,
                not_before = CASE WHEN u.delay IS NULL THEN r.not_before
                                  ELSE now() + make_interval(secs => u.delay) END,
                success = CASE WHEN u.requeue THEN r.success ELSE false END,
                completed_at = CASE WHEN u.requeue THEN r.completed_at ELSE now() END,
                prompt_tokens = least(coalesce(r.prompt_tokens, 0)::bigint + u.pt, 2147483647),
                completion_tokens = least(coalesce(r.completion_tokens, 0)::bigint + u.ct, 2147483647),
                total_tokens = least(coalesce(r.total_tokens, 0)::bigint + u.tt, 2147483647),
                updated_at = now()
            FROM unnest(CAST(:ids AS uuid[]), CAST(:statuses AS text[]), CAST(:attempts AS int[]),
                        CAST(:errors AS text[]), CAST(:delays AS float8[]), CAST(:pt AS int[]),
                        CAST(:ct AS int[]), CAST(:tt AS int[]), CAST(:requeue AS bool[]))
                 AS u(id, status, attempt, error, delay, pt, ct, tt, requeue)
            WHERE r.id = u.id AND r.batch_id = :bid AND r.status = ANY(:from)
            RETURNING r.id, r.session_id, r.company_id, r.processing_type, r.model, r.attempt,
                      r.approx_bytes, u.requeue
            """
        ),
        {
            "bid": batch_id,
            "from": OPEN,
            "ids": [uuid.UUID(cid) for cid, _, _ in resolutions],
            "statuses": [_target(r) for _, r, _ in resolutions],
            "attempts": [r.attempt for _, r, _ in resolutions],
            "errors": [r.error for _, r, _ in resolutions],
            "delays": [r.retry_after_s for _, r, _ in resolutions],
            "pt": [u.prompt_tokens for _, _, u in resolutions],
            "ct": [u.completion_tokens for _, _, u in resolutions],
            "tt": [u.total_tokens for _, _, u in resolutions],
            "requeue": [r.emits_pending for _, r, _ in resolutions],
        },
    )
    return [
        Repending(r.id, r.session_id, r.company_id, r.processing_type, r.model, r.attempt, r.approx_bytes)
        for r in rows
        if r.requeue
    ]


def _target(resolution: Resolution) -> str:
    """The per-row status of a resolution, which must be one of this module's two failure moves."""
    target = RETRY.target if resolution.emits_pending else FAIL.target
    if resolution.status.value != target:
        raise ValueError(f"a failed line cannot resolve a request to {resolution.status}")
    return target


async def mark_processed(conn: AsyncConnection, batch_id: uuid.UUID, *, completed: int, failed: int) -> None:
    await conn.execute(
        text(
            "UPDATE provider_batches SET status = :to, processed_at = now(), "
            "completed_count = :c, failed_count = :f WHERE id = :id AND status = ANY(:from)"
        ),
        {**PROCESS.params(), "c": completed, "f": failed, "id": batch_id},
    )
