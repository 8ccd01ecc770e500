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


#: The first poll of a batch: not before the minimum interval after its submission (a late event or
#: an adoption makes it due at once). Only an unscheduled in-flight batch gets one, so a replayed
#: ``batch.created`` never resets the schedule of a batch being polled, nor touches a finished one.
_FIRST_POLL = (
    "UPDATE provider_batches "
    "SET next_poll_at = coalesce(submitted_at, now()) + make_interval(secs => :first) "
    "WHERE next_poll_at IS NULL AND provider_batch_id IS NOT NULL "
    "AND status = ANY(CAST(:live AS text[])) AND {which} RETURNING id"
)
_TRACK = text(_FIRST_POLL.format(which="id = ANY(CAST(:ids AS uuid[]))"))
#: Submitted batches no ``batch.created`` scheduled within the grace period (event lost, dead-lettered
#: or not consumed yet). Served by ``ix_batches_due`` (its key holds the NULLs, its predicate the
#: in-flight statuses), like the due query.
_ADOPT = text(_FIRST_POLL.format(which="submitted_at < now() - make_interval(secs => :grace)"))


async def track(conn: AsyncConnection, batch_ids: Sequence[uuid.UUID], *, first_delay_s: float) -> int:
    """Schedule the first poll of announced batches (idempotent). Returns how many were scheduled."""
    rows = await conn.execute(_TRACK, {"ids": list(batch_ids), "live": _IN_FLIGHT, "first": first_delay_s})
    return len(rows.all())


async def adopt(conn: AsyncConnection, *, older_than_s: float, first_delay_s: float) -> int:
    """Schedule submitted batches no event announced within ``older_than_s``. Returns the count."""
    rows = await conn.execute(_ADOPT, {"grace": older_than_s, "live": _IN_FLIGHT, "first": first_delay_s})
    return len(rows.all())


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
