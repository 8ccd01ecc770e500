"""SQL of the poller: sharing due batches between instances and recording what the provider said."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.lifecycle import IN_FLIGHT, BatchStatus

_IN_FLIGHT = sorted(s.value for s in IN_FLIGHT)


@dataclass(frozen=True, slots=True)
class DueBatch:
    id: uuid.UUID
    company_id: str
    model: str
    provider_batch_id: str
    status: BatchStatus
    poll_count: int
    submitted_at: datetime
    last_error: str | None


async def track(conn: AsyncConnection, batch_ids: Sequence[uuid.UUID]) -> None:
    """Make sure announced batches are scheduled (idempotent: an existing schedule is kept)."""
    await conn.execute(
        text(
            "UPDATE provider_batches SET next_poll_at = now() "
            "WHERE id = ANY(CAST(:ids AS uuid[])) AND next_poll_at IS NULL "
            "AND status = ANY(CAST(:live AS text[]))"
        ),
        {"ids": list(batch_ids), "live": _IN_FLIGHT},
    )


async def claim_due(conn: AsyncConnection, *, limit: int, lease_s: float) -> list[DueBatch]:
    """Take up to ``limit`` due batches for this instance.

    ``FOR UPDATE SKIP LOCKED`` lets any number of pollers share the work; pushing ``next_poll_at``
    forward by the lease keeps others off a batch while it is being polled, and hands it back
    automatically if this instance dies mid-poll.
    """
    rows = await conn.execute(
        text(
            """
            UPDATE provider_batches b SET next_poll_at = now() + make_interval(secs => :lease)
            FROM (
                SELECT id FROM provider_batches
                WHERE status = ANY(CAST(:live AS text[])) AND provider_batch_id IS NOT NULL
                  AND next_poll_at <= now()
                ORDER BY next_poll_at LIMIT :n FOR UPDATE SKIP LOCKED
            ) due
            WHERE b.id = due.id
            RETURNING b.id, b.company_id, b.model, b.provider_batch_id, b.status, b.poll_count,
                      coalesce(b.submitted_at, b.created_at) AS submitted_at, b.last_error
            """
        ),
        {"live": _IN_FLIGHT, "n": limit, "lease": lease_s},
    )
    return [
        DueBatch(
            r.id,
            r.company_id,
            r.model,
            r.provider_batch_id,
            BatchStatus(r.status),
            r.poll_count,
            r.submitted_at,
            r.last_error,
        )
        for r in rows
    ]


async def reschedule(
    conn: AsyncConnection,
    batch_id: uuid.UUID,
    *,
    expected: BatchStatus,
    status: BatchStatus,
    delay_s: float,
    completed: int | None,
    failed: int | None,
    last_error: str | None,
) -> None:
    await conn.execute(
        text(
            "UPDATE provider_batches SET status = :s, poll_count = poll_count + 1, "
            "next_poll_at = now() + make_interval(secs => :d), completed_count = :c, failed_count = :f, "
            "last_error = coalesce(:e, last_error) WHERE id = :id AND status = :expected"
        ),
        {
            "s": status.value,
            "d": delay_s,
            "c": completed,
            "f": failed,
            "e": last_error,
            "id": batch_id,
            "expected": expected.value,
        },
    )


async def finish(
    conn: AsyncConnection,
    batch_id: uuid.UUID,
    *,
    expected: BatchStatus,
    status: BatchStatus,
    output_file_id: str | None,
    error_file_id: str | None,
    completed: int | None,
    failed: int | None,
    last_error: str | None,
    error_codes: list[str],
) -> bool:
    """Store a terminal status; False if another poller got there first (then nothing is emitted)."""
    row = (
        await conn.execute(
            text(
                "UPDATE provider_batches SET status = :s, output_file_id = :o, error_file_id = :ef, "
                "completed_count = :c, failed_count = :f, last_error = coalesce(:e, last_error), "
                "error_codes = :codes, completed_at = now(), next_poll_at = NULL, "
                "poll_count = poll_count + 1 "
                "WHERE id = :id AND status = :expected RETURNING id"
            ),
            {
                "s": status.value,
                "o": output_file_id,
                "ef": error_file_id,
                "c": completed,
                "f": failed,
                "e": last_error,
                "codes": error_codes,
                "id": batch_id,
                "expected": expected.value,
            },
        )
    ).first()
    return row is not None
