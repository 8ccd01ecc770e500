"""Set-based SQL of the submitter: claiming requests into local batches and recording submissions.

Every status write is a :class:`shared.lifecycle.Move` built below, once, at import: the SQL binds
``:to`` and guards on ``status = ANY(:from)``, so it spells no status and cannot make a move the
lifecycle forbids.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from services.submitter.accumulator import GroupKey
from services.submitter.ports import Unsubmitted
from services.submitter.token_budget import Allowance
from shared.lifecycle import BATCH_INITIAL, BatchStatus, RequestStatus, batch_move, request_move
from shared.tokens import TokenRate

#: Pending requests into a new batch; back to pending when they do not fit its file; failed when they
#: never can fit one.
CLAIM = request_move(RequestStatus.BATCHING_IN_PROGRESS, RequestStatus.PENDING_BATCHING)
RELEASE = request_move(RequestStatus.PENDING_BATCHING, RequestStatus.BATCHING_IN_PROGRESS)
FAIL_REQUEST = request_move(RequestStatus.PROCESSING_FAILED, RequestStatus.BATCHING_IN_PROGRESS)
#: The batch reached the provider (the poller takes it from here), or never will.
SUBMITTED = batch_move(BatchStatus.VALIDATING, BatchStatus.PENDING_SUBMISSION)
FAIL_UNSUBMITTED = batch_move(BatchStatus.FAILED, BatchStatus.PENDING_SUBMISSION)
#: What a new batch starts as, and what every submission step requires it still to be.
UNSUBMITTED = BATCH_INITIAL.value
PENDING = RequestStatus.PENDING_BATCHING.value
#: The claim's memory for its CTEs and hash join, for the rest of its transaction only: at the default
#: 4 MB a 50,000-request claim spilled its candidates and running sums to temporary files.
CLAIM_WORK_MEM = text("SET LOCAL work_mem = '64MB'")


async def try_lock(conn: AsyncConnection, batch_id: uuid.UUID) -> bool:
    """Session-level advisory lock on a batch: held while one process submits it.

    If that process dies, PostgreSQL drops its connection and the lock, and a reconciler may take
    over; while it lives, nobody else touches the batch. The caller commits to end the statement's
    transaction; the lock outlives it.
    """
    got = await conn.scalar(
        text("SELECT pg_try_advisory_lock(hashtextextended(:k, 0))"), {"k": str(batch_id)}
    )
    return bool(got)


async def unlock(conn: AsyncConnection, batch_id: uuid.UUID) -> None:
    await conn.execute(text("SELECT pg_advisory_unlock(hashtextextended(:k, 0))"), {"k": str(batch_id)})


async def claim(
    conn: AsyncConnection,
    batch_id: uuid.UUID,
    key: GroupKey,
    *,
    max_requests: int,
    max_bytes: int,
    rate: TokenRate | None = None,
    allowance: Allowance | None = None,
    provider: str = "openai",
) -> int:
    """Create a local batch and move up to the limits of pending requests into it. Returns the count.

    Only requests still PENDING_BATCHING, unbatched and past their backoff are taken, under
    ``FOR UPDATE SKIP LOCKED``: two submitters (or a replay) can never put one request in two batches.
    The estimated bytes and tokens (``rate``) are summed in claim order; the first request is always
    taken for the byte limit, and for the token ``allowance`` when it fits the model's free budget or
    nothing is enqueued (``token_budget`` has the rules; without an allowance, tokens are not limited).
    Each request keeps its estimate (``est_tokens``), the batch their sum and the admission's figures.
    """
    rate = rate or TokenRate()
    allowed = allowance or Allowance.unlimited(enqueued=0)
    await conn.execute(CLAIM_WORK_MEM)
    await conn.execute(
        text(
            "INSERT INTO provider_batches (id, company_id, model, provider, status, request_count, "
            "poll_count, submit_attempts) VALUES (:id, :c, :m, :p, :s, 0, 0, 0)"
        ),
        {"id": batch_id, "c": key.company_id, "m": key.model, "p": provider, "s": UNSUBMITTED},
    )
    rows = await conn.execute(
        text(
            """
            WITH candidates AS (
                SELECT id, attempt, approx_bytes, requested_at,
                       least(ceil(approx_bytes * CAST(:rate AS float8) - 1e-9), 2147483647)::bigint AS est
                FROM ai_processing_requests
                WHERE company_id = :c AND model = :m AND status = ANY(:from) AND batch_id IS NULL
                  AND (not_before IS NULL OR not_before <= now())
                ORDER BY requested_at, id
                LIMIT :n
                FOR UPDATE SKIP LOCKED
            ), sized AS (
                SELECT id, attempt, est,
                       sum(approx_bytes) OVER (ORDER BY requested_at, id) AS running,
                       (sum(est) OVER (ORDER BY requested_at, id))::bigint AS tokens,
                       row_number() OVER (ORDER BY requested_at, id) AS rn
                FROM candidates
            ), taken AS (
                UPDATE ai_processing_requests r
                SET status = :to, batch_id = :bid, est_tokens = sized.est, updated_at = now()
                FROM sized WHERE r.id = sized.id AND (sized.running <= :max_bytes OR sized.rn = 1)
                  AND (sized.tokens <= :share
                       OR (sized.rn = 1 AND ((:stretch AND sized.est <= :available) OR :empty)))
                  AND r.status = ANY(:from)
                RETURNING r.id, r.attempt, sized.est
            ), items AS (
                INSERT INTO ai_batch_items (batch_id, request_id, attempt)
                SELECT :bid, id, attempt FROM taken
            )
            SELECT count(*) AS n, coalesce(sum(est), 0) AS tokens FROM taken
            """
        ),
        {
            **CLAIM.params(),
            "c": key.company_id,
            "m": key.model,
            "bid": batch_id,
            "n": max_requests,
            "max_bytes": max_bytes,
            "rate": rate.tokens_per_byte,
            "share": allowed.share,
            "stretch": allowed.share > 0,
            "available": allowed.available,
            "empty": allowed.empty,
        },
    )
    got = rows.one()
    count = int(got.n)
    if count == 0:
        await conn.execute(text("DELETE FROM provider_batches WHERE id = :id"), {"id": batch_id})
        return 0
    await conn.execute(
        text(
            "UPDATE provider_batches SET request_count = :n, estimated_tokens = :t, "
            "admitted_enqueued = :e, token_rate = :r WHERE id = :id"
        ),
        {
            "n": count,
            "t": int(got.tokens),
            "e": allowed.enqueued,
            "r": rate.tokens_per_byte,
            "id": batch_id,
        },
    )
    return count


async def release(conn: AsyncConnection, batch_id: uuid.UUID, request_ids: Sequence[uuid.UUID]) -> int:
    """Give claimed requests back (they did not fit the file). Same attempt, claimable at once."""
    if not request_ids:
        return 0
    result = await conn.execute(
        text(
            "UPDATE ai_processing_requests SET status = :to, batch_id = NULL, updated_at = now() "
            "WHERE id = ANY(CAST(:ids AS uuid[])) AND batch_id = :bid AND status = ANY(:from)"
        ),
        {**RELEASE.params(), "bid": batch_id, "ids": list(request_ids)},
    )
    await conn.execute(
        text("DELETE FROM ai_batch_items WHERE batch_id = :bid AND request_id = ANY(CAST(:ids AS uuid[]))"),
        {"bid": batch_id, "ids": list(request_ids)},
    )
    await conn.execute(
        text(
            "UPDATE provider_batches SET request_count = "
            "(SELECT count(*) FROM ai_batch_items WHERE batch_id = :bid) WHERE id = :bid"
        ),
        {"bid": batch_id},
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def fail_requests(
    conn: AsyncConnection, batch_id: uuid.UUID, ids: Sequence[uuid.UUID], reason: str
) -> None:
    """Requests that can never fit any batch file fail at once instead of blocking their group."""
    await conn.execute(
        text(
            "UPDATE ai_processing_requests SET status = :to, success = false, error_message = :reason, "
            "completed_at = now(), updated_at = now() "
            "WHERE id = ANY(CAST(:ids AS uuid[])) AND batch_id = :bid AND status = ANY(:from)"
        ),
        {**FAIL_REQUEST.params(), "reason": reason, "ids": list(ids), "bid": batch_id},
    )


async def begin_attempt(conn: AsyncConnection, batch_id: uuid.UUID) -> Unsubmitted | None:
    """Count a submission attempt (before any provider call, so a crash leaves the count behind)."""
    row = (
        await conn.execute(
            text(
                "UPDATE provider_batches SET submit_attempts = submit_attempts + 1 "
                "WHERE id = :id AND status = :s "
                "RETURNING id, company_id, model, created_at, submit_attempts, input_file_id"
            ),
            {"id": batch_id, "s": UNSUBMITTED},
        )
    ).first()
    if row is None:
        return None
    return Unsubmitted(
        row.id, row.company_id, row.model, row.created_at, row.submit_attempts, row.input_file_id
    )


async def record_upload(
    conn: AsyncConnection, batch_id: uuid.UUID, file_id: str, size: int, *, attempt: int
) -> bool:
    """Store the uploaded file id, only if this is still the batch's latest submission attempt.

    ``attempt`` is a fencing token: a database restart frees the advisory lock of a submitter
    that lives on, and another submitter's reconciler may take the batch over (counting a new
    attempt) while the first one is still uploading. False = taken over: do not create it.
    """
    row = (
        await conn.execute(
            text(
                "UPDATE provider_batches SET input_file_id = :f, file_bytes = :b "
                "WHERE id = :id AND status = :s AND submit_attempts = :a RETURNING id"
            ),
            {"f": file_id, "b": size, "id": batch_id, "s": UNSUBMITTED, "a": attempt},
        )
    ).first()
    return row is not None


async def record_lines(conn: AsyncConnection, batch_id: uuid.UUID, request_ids: Sequence[uuid.UUID]) -> None:
    """Each request's 1-based line in the uploaded file (``request_ids`` in file order), one statement.

    Written by the caller in the transaction of :func:`record_upload`, after its fence passed, so the
    stored lines always describe the file whose id is stored. They come from the writer's own list of
    what it wrote, not from re-running its query's ORDER BY, so they cannot drift from the file.
    """
    if not request_ids:
        return
    await conn.execute(
        text(
            "UPDATE ai_batch_items i SET line = u.n "
            "FROM unnest(CAST(:ids AS uuid[])) WITH ORDINALITY AS u(id, n) "
            "WHERE i.batch_id = :bid AND i.request_id = u.id"
        ),
        {"bid": batch_id, "ids": list(request_ids)},
    )


async def record_submitted(conn: AsyncConnection, batch_id: uuid.UUID, provider_batch_id: str) -> bool:
    """Store the provider batch id. The poller takes it from VALIDATING on (it owns provider statuses).

    ``next_poll_at`` stays NULL: the poll schedule is the poller's, set from ``batch.created`` (or by
    its adoption round), so the submitter needs no knowledge of poll intervals.
    """
    row = (
        await conn.execute(
            text(
                "UPDATE provider_batches SET provider_batch_id = :p, status = :to, submitted_at = now(), "
                "submit_retry_at = NULL, last_error = NULL "
                "WHERE id = :id AND status = ANY(:from) RETURNING id"
            ),
            {**SUBMITTED.params(), "p": provider_batch_id, "id": batch_id},
        )
    ).first()
    return row is not None


async def provider_batch_of(conn: AsyncConnection, batch_id: uuid.UUID) -> str | None:
    value = await conn.scalar(
        text("SELECT provider_batch_id FROM provider_batches WHERE id = :id"), {"id": batch_id}
    )
    return str(value) if value is not None else None


async def record_attempt_error(
    conn: AsyncConnection, batch_id: uuid.UUID, error: str, retry_in_s: float
) -> None:
    await conn.execute(
        text(
            "UPDATE provider_batches SET last_error = :e, "
            "submit_retry_at = now() + make_interval(secs => :d) WHERE id = :id AND status = :s"
        ),
        {"e": error[:2000], "d": retry_in_s, "id": batch_id, "s": UNSUBMITTED},
    )


async def mark_failed(
    conn: AsyncConnection,
    batch_id: uuid.UUID,
    error: str,
    error_codes: Sequence[str] = (),
    *,
    refused: bool = False,
) -> bool:
    row = (
        await conn.execute(
            text(
                "UPDATE provider_batches SET status = :to, last_error = :e, completed_at = now(), "
                "submit_retry_at = NULL, error_codes = :codes, "
                "submitted_at = CASE WHEN :refused THEN coalesce(submitted_at, now()) ELSE submitted_at END "
                "WHERE id = :id AND status = ANY(:from) RETURNING id"
            ),
            {
                **FAIL_UNSUBMITTED.params(),
                "e": error[:2000],
                "id": batch_id,
                "codes": list(error_codes),
                "refused": refused,
            },
        )
    ).first()
    return row is not None


async def due_unsubmitted(conn: AsyncConnection, *, min_age_s: float, limit: int = 50) -> list[uuid.UUID]:
    rows = await conn.execute(
        text(
            "SELECT id FROM provider_batches WHERE status = :s "
            "AND created_at < now() - make_interval(secs => :age) "
            "AND (submit_retry_at IS NULL OR submit_retry_at <= now()) ORDER BY created_at LIMIT :n"
        ),
        {"s": UNSUBMITTED, "age": min_age_s, "n": limit},
    )
    return [r.id for r in rows]


async def pending_groups(conn: AsyncConnection, *, min_wait_s: float) -> list[GroupKey]:
    """Groups with claimable requests that waited at least the linger time (the crash-safe sweep)."""
    rows = await conn.execute(
        text(
            "SELECT company_id, model FROM ai_processing_requests "
            "WHERE status = :pending AND batch_id IS NULL AND (not_before IS NULL OR not_before <= now()) "
            "GROUP BY company_id, model "
            "HAVING min(greatest(requested_at, coalesce(not_before, requested_at))) "
            "<= now() - make_interval(secs => :w)"
        ),
        {"pending": PENDING, "w": min_wait_s},
    )
    return [GroupKey(r.company_id, r.model) for r in rows]
