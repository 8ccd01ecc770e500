"""SQL of the webhook receiver: record a delivery once and, in the same transaction, wake the poller.

The poller owns ``next_poll_at``; a webhook only moves it to *now* for the batch the provider says has
finished, so the poller's next round (at most a second away, see ``services.poller.main``) claims and
polls it like any due batch, and the poll, not the webhook, decides and writes the status. Polling stays
the fallback: a lost webhook leaves the batch on its schedule.

The insert into ``webhook_events`` and the wake are one transaction: a retried delivery (same
``webhook-id``) finds its row and touches nothing; a crash between the two leaves neither.
"""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from shared.lifecycle import IN_FLIGHT, values
from shared.webhooks import BatchEvent

_IN_FLIGHT = values(IN_FLIGHT)

#: The delivery's row, unless its id is known; whether it names one of our batches is read here too.
_RECORD = text(
    """
    INSERT INTO webhook_events (webhook_id, event_type, provider_batch_id, event_created_at, batch_found)
    VALUES (:wid, :kind, CAST(:pbid AS varchar), :created,
            EXISTS (SELECT 1 FROM provider_batches WHERE provider_batch_id = CAST(:pbid AS varchar)))
    ON CONFLICT (webhook_id) DO NOTHING
    RETURNING batch_found
    """
)
#: Due now, if in flight and not due already (a batch whose poll is under way keeps its lease as
#: ``next_poll_at`` and gets it shortened: the second poll that may follow writes nothing twice, the
#: terminal write being guarded on the lifecycle's sources). A batch whose ``batch.created`` is not
#: consumed yet (no schedule) becomes due too; ``track`` then leaves it alone (it is scheduled).
_WAKE = text(
    """
    UPDATE provider_batches SET next_poll_at = now()
    WHERE provider_batch_id = :pbid AND status = ANY(CAST(:live AS text[]))
      AND (next_poll_at IS NULL OR next_poll_at > now())
    RETURNING id
    """
)
_PRUNE = text("DELETE FROM webhook_events WHERE received_at < now() - make_interval(secs => :keep)")


class WakeOutcome(StrEnum):
    """What a verified batch event did (each is a 200 to the provider)."""

    WOKEN = "woken"  # the batch is due now
    DUPLICATE = "duplicate"  # this webhook-id was received before: nothing changed
    UNKNOWN_BATCH = "unknown_batch"  # not one of our batches (recorded, ignored)
    NOT_WAITING = "not_waiting"  # ours, but finished already or already due


async def record_and_wake(conn: AsyncConnection, webhook_id: str, event: BatchEvent) -> WakeOutcome:
    row = (
        await conn.execute(
            _RECORD,
            {
                "wid": webhook_id,
                "kind": event.type,
                "pbid": event.provider_batch_id,
                "created": event.created_at,
            },
        )
    ).first()
    if row is None:
        return WakeOutcome.DUPLICATE
    if not row.batch_found:
        return WakeOutcome.UNKNOWN_BATCH
    woken = (await conn.execute(_WAKE, {"pbid": event.provider_batch_id, "live": _IN_FLIGHT})).first()
    return WakeOutcome.WOKEN if woken is not None else WakeOutcome.NOT_WAITING


class PostgresWebhookStore:
    """The receiver's two transactions on PostgreSQL."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def record_and_wake(self, webhook_id: str, event: BatchEvent) -> WakeOutcome:
        async with self._engine.begin() as conn:
            return await record_and_wake(conn, webhook_id, event)

    async def prune(self, *, retention_s: float) -> int:
        async with self._engine.begin() as conn:
            result = await conn.execute(_PRUNE, {"keep": retention_s})
            return int(result.rowcount or 0)
