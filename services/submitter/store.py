"""The submitter's store on PostgreSQL: the port's methods as transactions over ``repository``'s SQL.

Thin on purpose: the SQL (and its guarantees) lives in ``repository`` and ``batch_file``, the decisions
in ``service``; this class only draws the transaction boundaries and writes announcements into the
outbox inside the transaction of the state they announce.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

import structlog
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.submitter import budget_sql, circuits, duplicate_sql, token_sql
from services.submitter import repository as repo
from services.submitter.accumulator import GroupKey
from services.submitter.batch_file import BuiltFile, FileLimits, write_batch_file
from services.submitter.budget import DEFAULT_PRICING, Pricing
from services.submitter.ports import CircuitDecision, CircuitEntry, DuplicateCopy, Unsubmitted
from services.submitter.token_budget import PROVIDER, Allowance, ModelBudget
from shared.circuit import Circuit
from shared.outbox import OutgoingEvent, enqueue
from shared.tokens import TokenRate

log = structlog.get_logger(__name__)


async def _unlock(lock_conn: AsyncConnection, batch_id: uuid.UUID) -> None:
    """Unlock; if the lock's connection died (database restart), the server already dropped the lock."""
    try:
        await repo.unlock(lock_conn, batch_id)
        await lock_conn.commit()
    except Exception as exc:  # a dead connection fails in several ways; none of them leaves the lock held
        log.info("advisory lock gone with its connection", batch_id=str(batch_id), error=str(exc)[:200])


class PostgresSubmitterStore:
    """:class:`services.submitter.ports.SubmitterStore` on PostgreSQL (advisory locks, outbox)."""

    def __init__(self, engine: AsyncEngine, *, pricing: Pricing = DEFAULT_PRICING) -> None:
        self._engine = engine
        self._pricing = pricing

    @asynccontextmanager
    async def lock(self, batch_id: uuid.UUID) -> AsyncIterator[bool]:
        """A session-level advisory lock on its own connection, held for the block (see ``try_lock``)."""
        async with self._engine.connect() as lock_conn:
            got = await repo.try_lock(lock_conn, batch_id)
            await lock_conn.commit()
            try:
                yield got
            finally:
                if got:
                    await _unlock(lock_conn, batch_id)

    async def claim(
        self,
        batch_id: uuid.UUID,
        key: GroupKey,
        *,
        max_requests: int,
        max_bytes: int,
        budget: ModelBudget | None = None,
    ) -> int:
        async with self._engine.begin() as conn:
            allowed = Allowance.unlimited(enqueued=0)
            if budget is not None:
                allowed = await token_sql.admit(conn, key, budget)
            provider = budget.provider if budget is not None else PROVIDER
            rate = budget.rate if budget is not None else None
            # The company's monthly budget narrows the model's allowance (``budget_sql``).
            allowed, spend = await budget_sql.restrict(conn, key, allowed, self._pricing, provider=provider)
            claimed = 0
            # A spent budget takes nothing: no batch row made and deleted at every sweep of a held group.
            if not (spend.limited and allowed.share == 0 and not allowed.empty):
                claimed = await repo.claim(
                    conn,
                    batch_id,
                    key,
                    max_requests=max_requests,
                    max_bytes=max_bytes,
                    rate=rate,
                    allowance=allowed,
                    provider=provider,
                )
            tokens_per_byte = (rate or TokenRate()).tokens_per_byte
            await budget_sql.record_hold(
                conn, key, batch_id, spend, self._pricing, provider=provider, tokens_per_byte=tokens_per_byte
            )
            return claimed

    async def observed_usage(self, model: str) -> tuple[int, int]:
        async with self._engine.connect() as conn:
            return await token_sql.observed_usage(conn, model)

    async def begin_attempt(self, batch_id: uuid.UUID) -> Unsubmitted | None:
        async with self._engine.begin() as conn:
            return await repo.begin_attempt(conn, batch_id)

    async def write_file(
        self, batch_id: uuid.UUID, path: Path, limits: FileLimits, *, too_large_reason: str
    ) -> BuiltFile:
        async with self._engine.begin() as conn:
            built = await write_batch_file(
                conn,
                batch_id,
                path,
                max_bytes=limits.max_bytes,
                max_requests=limits.max_requests,
                max_conversation_chars=limits.max_conversation_chars,
                shape_of=limits.shape_of,
            )
            if built.oversized:
                await repo.fail_requests(conn, batch_id, built.oversized, too_large_reason)
            await repo.release(conn, batch_id, built.overflow + built.oversized)
        return built

    async def record_upload(
        self,
        batch_id: uuid.UUID,
        file_id: str,
        size: int,
        *,
        attempt: int,
        lines: Sequence[uuid.UUID] = (),
    ) -> bool:
        async with self._engine.begin() as conn:
            if not await repo.record_upload(conn, batch_id, file_id, size, attempt=attempt):
                return False
            await repo.record_lines(conn, batch_id, lines)
        return True

    async def record_submitted(
        self, batch_id: uuid.UUID, provider_batch_id: str, *, topic: str, event: OutgoingEvent
    ) -> bool:
        async with self._engine.begin() as conn:
            if not await repo.record_submitted(conn, batch_id, provider_batch_id):
                return False
            await duplicate_sql.forget(conn, provider_batch_id)
            await enqueue(conn, topic, [event])
        return True

    async def provider_batch_of(self, batch_id: uuid.UUID) -> str | None:
        async with self._engine.connect() as conn:
            return await repo.provider_batch_of(conn, batch_id)

    async def record_attempt_error(self, batch_id: uuid.UUID, error: str, retry_in_s: float) -> None:
        async with self._engine.begin() as conn:
            await repo.record_attempt_error(conn, batch_id, error, retry_in_s)

    async def mark_failed(
        self,
        batch_id: uuid.UUID,
        error: str,
        *,
        topic: str,
        event: OutgoingEvent,
        error_codes: Sequence[str] = (),
        refused: bool = False,
    ) -> bool:
        async with self._engine.begin() as conn:
            if not await repo.mark_failed(conn, batch_id, error, error_codes, refused=refused):
                return False
            await enqueue(conn, topic, [event])
        return True

    async def paused_circuit(self, provider: str, model: str) -> Circuit | None:
        async with self._engine.connect() as conn:
            return await circuits.paused(conn, provider, model)

    async def enter_circuit(self, provider: str, model: str, *, probe_lease_s: float) -> CircuitEntry:
        async with self._engine.begin() as conn:
            return await circuits.enter(conn, provider, model, probe_lease_s=probe_lease_s)

    async def record_configuration_fault(
        self,
        batch_id: uuid.UUID,
        *,
        attempt: int,
        provider: str,
        model: str,
        decide: CircuitDecision,
    ) -> Circuit:
        async with self._engine.begin() as conn:
            return await circuits.record_fault(
                conn, batch_id, attempt=attempt, provider=provider, model=model, decide=decide
            )

    async def wait_for_circuit(self, batch_id: uuid.UUID, *, attempt: int, circuit: Circuit) -> None:
        async with self._engine.begin() as conn:
            await circuits.wait(conn, batch_id, attempt=attempt, circuit=circuit)

    async def close_circuit(self, provider: str, model: str) -> int:
        async with self._engine.begin() as conn:
            return await circuits.close(conn, provider, model)

    async def open_circuits(self) -> list[Circuit]:
        async with self._engine.connect() as conn:
            return await circuits.open_circuits(conn)

    async def due_unsubmitted(self, *, min_age_s: float) -> list[uuid.UUID]:
        async with self._engine.connect() as conn:
            return await repo.due_unsubmitted(conn, min_age_s=min_age_s)

    async def pending_groups(self, *, min_wait_s: float) -> list[GroupKey]:
        async with self._engine.connect() as conn:
            return await repo.pending_groups(conn, min_wait_s=min_wait_s)

    async def record_duplicates(self, copies: Sequence[DuplicateCopy]) -> None:
        if not copies:
            return
        async with self._engine.begin() as conn:
            await duplicate_sql.record(conn, copies)

    async def unsettled_duplicates(self, *, limit: int) -> list[DuplicateCopy]:
        async with self._engine.connect() as conn:
            return await duplicate_sql.unsettled(conn, limit=limit)
