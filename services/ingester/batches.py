"""The ingester's SQL on the batch row itself: read it, find batches to sweep, record a setback,
mark it PROCESSED. (The per-request bulk writes are in ``repository``.)

The batch row is the ingester's lock point: the final step and a setback both take it ``FOR UPDATE``,
so a setback can never land on a batch another ingester has just processed. No SQL spells a status:
the PROCESSED write is a ``lifecycle.Move`` built at import and the sweep binds the terminal set.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

from sqlalchemy import bindparam, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from services.ingester.ports import BatchRow, Charge, LineError, Setback
from shared.db.models import Batch
from shared.lifecycle import BATCH_TERMINAL, BatchStatus, batch_move, values
from shared.provider.base import BatchUsage

#: A provider-terminal batch becomes PROCESSED.
PROCESS = batch_move(BatchStatus.PROCESSED, *BATCH_TERMINAL)

# One statement, and the same one row-locked: built with SQLAlchemy Core so the two cannot drift.
_READ_BATCH = select(
    Batch.id,
    Batch.company_id,
    Batch.model,
    Batch.status,
    Batch.output_file_id,
    Batch.error_file_id,
    Batch.last_error,
    Batch.error_codes,
    Batch.input_file_id,
    Batch.ingest_failures,
    Batch.ingest_quarantined_at.is_not(None).label("quarantined"),
    Batch.validation_errors,
).where(Batch.id == bindparam("id"))
_LOCK_BATCH = _READ_BATCH.with_for_update()


async def read_batch(conn: AsyncConnection, batch_id: uuid.UUID, *, lock: bool) -> BatchRow | None:
    """The batch row; with ``lock``, row-locked: two final steps of one batch serialise here."""
    row = (await conn.execute(_LOCK_BATCH if lock else _READ_BATCH, {"id": batch_id})).first()
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
        row.input_file_id,
        row.ingest_failures,
        row.quarantined,
        line_errors(row.validation_errors),
    )


def line_errors(stored: object) -> tuple[LineError, ...]:
    """The stored ``errors.data[]`` as typed entries; anything malformed reads as a batch-wide error
    (no line), which keeps the old rule for the batch rather than guessing which request it meant."""
    if not isinstance(stored, list):
        return ()
    out: list[LineError] = []
    for entry in stored:
        if not isinstance(entry, dict):
            out.append(LineError(None, None, None))
            continue
        line = entry.get("line")
        code, message = entry.get("code"), entry.get("message")
        out.append(
            LineError(
                line if isinstance(line, int) and not isinstance(line, bool) else None,
                code if isinstance(code, str) else None,
                message if isinstance(message, str) else None,
            )
        )
    return tuple(out)


async def overdue_unprocessed(
    conn: AsyncConnection, *, older_than_s: float, limit: int = 20
) -> list[uuid.UUID]:
    """Finished batches nobody ingested (their event was lost or dead-lettered): the recovery sweep.

    A batch with a setback waits for its own retry time instead of the common age, and sorts by it:
    one that keeps failing moves behind the others and never takes the round's first place for good.
    Quarantined batches are left out.
    """
    rows = await conn.execute(
        text(
            "SELECT id FROM provider_batches "
            "WHERE status = ANY(:terminal) AND ingest_quarantined_at IS NULL "
            "AND CASE WHEN ingest_retry_at IS NULL "
            "THEN coalesce(completed_at, created_at) < now() - make_interval(secs => :age) "
            "ELSE ingest_retry_at <= now() END "
            "ORDER BY coalesce(ingest_retry_at, completed_at, created_at), id LIMIT :n"
        ),
        {"terminal": values(BATCH_TERMINAL), "age": older_than_s, "n": limit},
    )
    return [r.id for r in rows]


#: The PROCESSED write, with the batch's charge; the comparison with the provider's usage (stored by
#: the poller) is made in the same statement, so the flag always describes the figures stored beside it.
_MARK_PROCESSED = text(
    "UPDATE provider_batches SET status = :to, processed_at = now(), "
    "completed_count = :c, failed_count = :f, ingest_error = :note, ingest_retry_at = NULL, "
    "lines_input_tokens = :li, lines_cached_tokens = :lc, lines_output_tokens = :lo, "
    "price_input_per_million = :pi, price_cached_input_per_million = :pc, "
    "price_output_per_million = :po, price_batch_discount = :pd, "
    "usage_mismatch = CASE WHEN provider_input_tokens IS NULL OR CAST(:li AS bigint) IS NULL THEN NULL "
    "ELSE (provider_input_tokens, coalesce(provider_cached_tokens, 0), coalesce(provider_output_tokens, 0)) "
    "IS DISTINCT FROM (CAST(:li AS bigint), CAST(:lc AS bigint), CAST(:lo AS bigint)) END "
    "WHERE id = :id AND status = ANY(:from) "
    "RETURNING usage_mismatch, provider_input_tokens, provider_cached_tokens, provider_output_tokens"
)


async def mark_processed(
    conn: AsyncConnection,
    batch_id: uuid.UUID,
    *,
    completed: int,
    failed: int,
    note: str | None,
    charge: Charge | None = None,
) -> tuple[bool | None, BatchUsage | None]:
    """PROCESSED with its counts; ``note`` (why a file could not be read, or None) becomes its ingest
    error, replacing an earlier setback's, and the sweep's retry time is cleared. ``charge`` (None:
    not known, e.g. an old caller) is stored and compared with the provider's usage; returns whether
    they differ (None: not compared) and the provider's usage as stored."""
    price = charge.price if charge is not None else None
    lines = charge.lines if charge is not None else None
    row = (
        await conn.execute(
            _MARK_PROCESSED,
            {
                **PROCESS.params(),
                "c": completed,
                "f": failed,
                "note": note,
                "id": batch_id,
                "li": None if lines is None else lines.prompt_tokens,
                "lc": None if lines is None else lines.cached_tokens,
                "lo": None if lines is None else lines.completion_tokens,
                "pi": None if price is None else price.input_per_million,
                "pc": None if price is None else price.cached_input_per_million,
                "po": None if price is None else price.output_per_million,
                "pd": None if price is None or charge is None else charge.discount,
            },
        )
    ).first()
    if row is None or row.provider_input_tokens is None:
        return (None if row is None else row.usage_mismatch), None
    reported = (row.provider_input_tokens, row.provider_cached_tokens, row.provider_output_tokens)
    return row.usage_mismatch, BatchUsage(*(int(n or 0) for n in reported))


async def store_setback(
    conn: AsyncConnection, batch_id: uuid.UUID, decide: Callable[[int], Setback]
) -> Setback | None:
    """Lock the batch (if still provider-terminal), decide its setback from the stored count, write it."""
    stored = (
        await conn.execute(
            text(
                "SELECT ingest_failures FROM provider_batches "
                "WHERE id = :id AND status = ANY(:terminal) FOR UPDATE"
            ),
            {"id": batch_id, "terminal": values(BATCH_TERMINAL)},
        )
    ).scalar_one_or_none()
    if stored is None:
        return None
    setback = decide(int(stored))
    await conn.execute(
        text(
            "UPDATE provider_batches SET ingest_failures = :n, ingest_error = :reason, "
            "ingest_retry_at = now() + make_interval(secs => :delay), "
            "ingest_quarantined_at = CASE WHEN :quarantine THEN coalesce(ingest_quarantined_at, now()) "
            "ELSE ingest_quarantined_at END WHERE id = :id"
        ),
        {
            "id": batch_id,
            "n": setback.failures,
            "reason": setback.reason,
            "delay": setback.retry_after_s,
            "quarantine": setback.quarantined,
        },
    )
    return setback
