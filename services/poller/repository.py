"""SQL of the poller: sharing due batches between instances and recording what the provider said.

The status a poll stores is decided in Python by ``lifecycle.batch_transition``; the SQL then guards
the write on the lifecycle's own source set of that status (see :func:`observe`), so a poll working
from a stale read (another poller moved the batch on after this one read it) matches no row instead
of rewinding the batch. The moves are built once, at import.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import timedelta

import orjson
from sqlalchemy import Interval, String, any_, bindparam, func, text, update
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.ext.asyncio import AsyncConnection

from services.poller.ports import DueBatch
from shared.db.models import Batch
from shared.lifecycle import (
    IN_FLIGHT,
    PROVIDER_TERMINAL,
    BatchStatus,
    Move,
    batch_move,
    batch_sources,
    values,
)
from shared.provider.base import BatchUsage

_IN_FLIGHT = values(IN_FLIGHT)


def observe(target: BatchStatus) -> Move:
    """The write of a polled status: from an in-flight status the lifecycle lets reach ``target``.

    An in-flight target may also be re-observed (polls repeat: same status, new counters and next
    poll). A terminal one may not: it is written once, which is what makes ``batch.completed`` go out
    once. Statuses outside the poller's domain (a batch not yet submitted, or already processed) never
    match.
    """
    forward = batch_sources(target) & IN_FLIGHT
    # (batch_move with no sources means "every legal source": VALIDATING has none in flight.)
    sources = set(batch_move(target, *forward).sources) if forward else set()
    if target in IN_FLIGHT:
        sources.add(target.value)
    return Move(target.value, tuple(sorted(sources)))


#: Per in-flight status, the reschedule after a poll; per terminal status, the finishing write.
RESCHEDULE: dict[BatchStatus, Move] = {s: observe(s) for s in IN_FLIGHT}
FINISH: dict[BatchStatus, Move] = {s: observe(s) for s in PROVIDER_TERMINAL}


#: The first poll of a batch, one statement narrowed to announced ids or to overdue adoptions: not
#: before the minimum interval after its submission (a late event or an adoption makes it due at
#: once). Only an unscheduled in-flight batch gets one, so a replayed ``batch.created`` never resets
#: the schedule of a batch being polled, nor touches a finished one.
_UNSCHEDULED = (
    update(Batch)
    .values(
        next_poll_at=func.coalesce(Batch.submitted_at, func.now()) + bindparam("first", type_=Interval)
    )
    .where(
        Batch.next_poll_at.is_(None),
        Batch.provider_batch_id.is_not(None),
        Batch.status == any_(bindparam("live", type_=ARRAY(String))),
    )
    .returning(Batch.id)
)
_TRACK = _UNSCHEDULED.where(Batch.id == any_(bindparam("ids", type_=ARRAY(UUID(as_uuid=True)))))
#: Submitted batches no ``batch.created`` scheduled within the grace period (event lost, dead-lettered
#: or not consumed yet), given the same first poll. Served by ``ix_batches_due`` (its key holds the
#: NULLs, its predicate the in-flight statuses), like the due query.
_ADOPT = _UNSCHEDULED.where(Batch.submitted_at < func.now() - bindparam("grace", type_=Interval))


async def track(conn: AsyncConnection, batch_ids: Sequence[uuid.UUID], *, first_delay_s: float) -> int:
    """Schedule the first poll of announced batches (idempotent). Returns how many were scheduled."""
    first = timedelta(seconds=first_delay_s)
    rows = await conn.execute(_TRACK, {"ids": list(batch_ids), "live": _IN_FLIGHT, "first": first})
    return len(rows.all())


async def adopt(conn: AsyncConnection, *, older_than_s: float, first_delay_s: float) -> int:
    """Schedule submitted batches no event announced within ``older_than_s``. Returns the count."""
    grace, first = timedelta(seconds=older_than_s), timedelta(seconds=first_delay_s)
    rows = await conn.execute(_ADOPT, {"grace": grace, "live": _IN_FLIGHT, "first": first})
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


async def renew_lease(conn: AsyncConnection, batch_id: uuid.UUID, *, lease_s: float) -> bool:
    """Push a leased batch's ``next_poll_at`` on by ``lease_s`` (it stays this instance's meanwhile)."""
    row = (
        await conn.execute(
            text(
                "UPDATE provider_batches SET next_poll_at = now() + make_interval(secs => :lease) "
                "WHERE id = :id AND status = ANY(CAST(:live AS text[])) AND next_poll_at IS NOT NULL "
                "RETURNING id"
            ),
            {"id": batch_id, "live": _IN_FLIGHT, "lease": lease_s},
        )
    ).first()
    return row is not None


async def reschedule(
    conn: AsyncConnection,
    batch_id: uuid.UUID,
    *,
    status: BatchStatus,
    delay_s: float,
    completed: int | None,
    failed: int | None,
    last_error: str | None,
) -> bool:
    """Store an in-flight status and the next poll; False if the row has moved past ``status``."""
    row = (
        await conn.execute(
            text(
                "UPDATE provider_batches SET status = :to, poll_count = poll_count + 1, "
                "next_poll_at = now() + make_interval(secs => :d), completed_count = :c, failed_count = :f, "
                "last_error = coalesce(:e, last_error) WHERE id = :id AND status = ANY(:from) RETURNING id"
            ),
            {
                **RESCHEDULE[status].params(),
                "d": delay_s,
                "c": completed,
                "f": failed,
                "e": last_error,
                "id": batch_id,
            },
        )
    ).first()
    return row is not None


async def finish(
    conn: AsyncConnection,
    batch_id: uuid.UUID,
    *,
    status: BatchStatus,
    output_file_id: str | None,
    error_file_id: str | None,
    completed: int | None,
    failed: int | None,
    last_error: str | None,
    error_codes: list[str],
    usage: BatchUsage | None = None,
    validation_errors: Sequence[Mapping[str, object]] = (),
    input_file_id: str | None = None,
) -> bool:
    """Store a terminal status; False if another poller got there first (then nothing is emitted).

    The provider's ``usage`` of the batch is kept as it reported it (NULLs when it reports none): the
    ingester compares it with the sum of the batch's lines. The provider's validation errors are kept
    only when the batch it ran read the input file whose request lines we stored (``input_file_id``):
    after a takeover the recorded copy may have been made from an earlier upload, and a line number of
    another file must not charge the wrong request (the ingester then charges the whole batch, as for
    any failure it cannot attribute)."""
    row = (
        await conn.execute(
            text(
                "UPDATE provider_batches SET status = :to, output_file_id = :o, error_file_id = :ef, "
                "completed_count = :c, failed_count = :f, last_error = coalesce(:e, last_error), "
                "error_codes = :codes, validation_errors = CASE WHEN input_file_id = :in_file "
                "THEN CAST(:verrs AS jsonb) END, "
                "completed_at = now(), next_poll_at = NULL, "
                "poll_count = poll_count + 1, provider_input_tokens = :ui, provider_cached_tokens = :uc, "
                "provider_output_tokens = :uo "
                "WHERE id = :id AND status = ANY(:from) RETURNING id"
            ),
            {
                **FINISH[status].params(),
                "o": output_file_id,
                "ef": error_file_id,
                "c": completed,
                "f": failed,
                "e": last_error,
                "codes": error_codes,
                "verrs": orjson.dumps(list(validation_errors)).decode() if validation_errors else None,
                "in_file": input_file_id,
                "id": batch_id,
                "ui": None if usage is None else usage.input_tokens,
                "uc": None if usage is None else usage.cached_tokens,
                "uo": None if usage is None else usage.output_tokens,
            },
        )
    ).first()
    return row is not None
