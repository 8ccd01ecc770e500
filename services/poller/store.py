"""The poller's store on PostgreSQL: the port's methods as transactions over ``repository``'s SQL.

Thin on purpose: the SQL and its guards live in ``repository``, the decisions in ``service``; this class
draws the transaction boundaries and writes ``batch.completed`` into the outbox in the transaction
that stores the terminal status.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncEngine

from services.poller import repository as repo
from services.poller.ports import DueBatch, Terminal
from shared.lifecycle import BatchStatus
from shared.outbox import OutgoingEvent, enqueue


class PostgresPollerStore:
    """:class:`services.poller.ports.PollerStore` on PostgreSQL."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def track(self, batch_ids: Sequence[uuid.UUID], *, first_delay_s: float) -> int:
        async with self._engine.begin() as conn:
            return await repo.track(conn, batch_ids, first_delay_s=first_delay_s)

    async def adopt(self, *, older_than_s: float, first_delay_s: float) -> int:
        async with self._engine.begin() as conn:
            return await repo.adopt(conn, older_than_s=older_than_s, first_delay_s=first_delay_s)

    async def claim_due(self, *, limit: int, lease_s: float) -> list[DueBatch]:
        async with self._engine.begin() as conn:
            return await repo.claim_due(conn, limit=limit, lease_s=lease_s)

    async def renew_lease(self, batch_id: uuid.UUID, *, lease_s: float) -> bool:
        async with self._engine.begin() as conn:
            return await repo.renew_lease(conn, batch_id, lease_s=lease_s)

    async def reschedule(
        self,
        batch_id: uuid.UUID,
        status: BatchStatus,
        *,
        delay_s: float,
        completed: int | None,
        failed: int | None,
        last_error: str | None,
    ) -> bool:
        async with self._engine.begin() as conn:
            return await repo.reschedule(
                conn,
                batch_id,
                status=status,
                delay_s=delay_s,
                completed=completed,
                failed=failed,
                last_error=last_error,
            )

    async def finish(
        self, batch_id: uuid.UUID, outcome: Terminal, *, topic: str, event: OutgoingEvent
    ) -> bool:
        async with self._engine.begin() as conn:
            done = await repo.finish(
                conn,
                batch_id,
                status=outcome.status,
                output_file_id=outcome.output_file_id,
                error_file_id=outcome.error_file_id,
                completed=outcome.completed,
                failed=outcome.failed,
                last_error=outcome.detail,
                error_codes=outcome.error_codes,
                usage=outcome.usage,
                validation_errors=outcome.validation_errors,
                input_file_id=outcome.input_file_id,
            )
            if done:
                await enqueue(conn, topic, [event])
        return done
