"""SQL of the duplicate copies (``duplicate_batches``): record what was seen, list what is unsettled.

One statement per call whatever the number of copies (``unnest`` of bound arrays). A copy already
settled is never overwritten: its final counts and usage are what the provider billed, and a late or
replayed view (an older read finishing after a newer one) must not replace them.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from services.submitter.ports import DuplicateCopy

_RECORD = text(
    """
    INSERT INTO duplicate_batches AS d (provider_batch_id, batch_id, company_id, model, provider_status,
        request_total, request_completed, request_failed, prompt_tokens, completion_tokens, settled_at)
    SELECT u.pid, u.bid, u.company, u.model, u.st, u.total, u.done, u.failed, u.pt, u.ct,
           CASE WHEN u.settled THEN now() END
    FROM unnest(CAST(:pids AS text[]), CAST(:bids AS uuid[]), CAST(:companies AS text[]),
                CAST(:models AS text[]), CAST(:statuses AS text[]), CAST(:totals AS int[]),
                CAST(:dones AS int[]), CAST(:faileds AS int[]), CAST(:pts AS bigint[]),
                CAST(:cts AS bigint[]), CAST(:settleds AS bool[]))
         AS u(pid, bid, company, model, st, total, done, failed, pt, ct, settled)
    ON CONFLICT (provider_batch_id) DO UPDATE SET
        provider_status = coalesce(EXCLUDED.provider_status, d.provider_status),
        request_total = greatest(EXCLUDED.request_total, d.request_total),
        request_completed = greatest(EXCLUDED.request_completed, d.request_completed),
        request_failed = greatest(EXCLUDED.request_failed, d.request_failed),
        prompt_tokens = greatest(EXCLUDED.prompt_tokens, d.prompt_tokens),
        completion_tokens = greatest(EXCLUDED.completion_tokens, d.completion_tokens),
        settled_at = EXCLUDED.settled_at
    WHERE d.settled_at IS NULL
    """
)
_UNSETTLED = text(
    "SELECT provider_batch_id, batch_id, company_id, model, provider_status, request_total, "
    "request_completed, request_failed, prompt_tokens, completion_tokens FROM duplicate_batches "
    "WHERE settled_at IS NULL ORDER BY found_at, provider_batch_id LIMIT :n"
)
_FORGET = text("DELETE FROM duplicate_batches WHERE provider_batch_id = :p")


async def record(conn: AsyncConnection, copies: Sequence[DuplicateCopy]) -> None:
    """Upsert ``copies``; counts and usage only grow (a provider's counters never go back)."""
    if not copies:
        return
    await conn.execute(
        _RECORD,
        {
            "pids": [c.provider_batch_id for c in copies],
            "bids": [c.batch_id for c in copies],
            "companies": [c.company_id for c in copies],
            "models": [c.model for c in copies],
            "statuses": [c.provider_status for c in copies],
            "totals": [c.total for c in copies],
            "dones": [c.completed for c in copies],
            "faileds": [c.failed for c in copies],
            "pts": [c.input_tokens for c in copies],
            "cts": [c.output_tokens for c in copies],
            "settleds": [c.settled for c in copies],
        },
    )


async def unsettled(conn: AsyncConnection, *, limit: int) -> list[DuplicateCopy]:
    rows = await conn.execute(_UNSETTLED, {"n": limit})
    return [
        DuplicateCopy(
            r.provider_batch_id,
            r.batch_id,
            r.company_id,
            r.model,
            r.provider_status,
            r.request_total,
            r.request_completed,
            r.request_failed,
            int(r.prompt_tokens),
            int(r.completion_tokens),
        )
        for r in rows
    ]


async def forget(conn: AsyncConnection, provider_batch_id: str) -> None:
    """The copy became the recorded one (a later lookup kept it): it is the batch, not a duplicate."""
    await conn.execute(_FORGET, {"p": provider_batch_id})
