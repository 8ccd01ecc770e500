"""What the submitter needs from its database, as a port: the orchestration depends on this, not on SQL.

:class:`services.submitter.store.PostgresSubmitterStore` implements it for production (each method one
transaction; the outbox row of an announcement in the same transaction as the state it announces);
the orchestration unit tests implement it in memory. Every method is a decision the database must
make atomically (claiming, fencing, guarded status moves), so the port is shaped by those guarantees,
not by tables.

Configuration circuits (:mod:`shared.circuit`) live in the database too, shared by every submitter
instance: the methods ``paused_circuit`` ... ``open_circuits`` read and move them, each in one
transaction with the batch row it concerns, and take "now" from the store's own clock (the database's
in production), the one clock every instance shares.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol

from services.submitter.accumulator import GroupKey
from services.submitter.batch_file import BuiltFile, FileLimits
from services.submitter.token_budget import ModelBudget
from shared.circuit import Circuit
from shared.outbox import OutgoingEvent

#: What a configuration fault makes of the current circuit (None: closed) at the store's time.
CircuitDecision = Callable[[Circuit | None, datetime], Circuit]


@dataclass(frozen=True, slots=True)
class CircuitEntry:
    """Whether a submission may go now: the circuit is closed (``circuit`` None), or this caller took
    the probe of an open one whose probe time had come (``probing``); otherwise it must wait."""

    circuit: Circuit | None
    probing: bool = False

    @property
    def allowed(self) -> bool:
        return self.circuit is None or self.probing


@dataclass(frozen=True, slots=True)
class Unsubmitted:
    """A local batch still PENDING_SUBMISSION, as one submission attempt sees it."""

    id: uuid.UUID
    company_id: str
    model: str
    created_at: datetime
    #: Attempts counted so far, this one included: the fencing token of :meth:`record_upload`.
    submit_attempts: int
    input_file_id: str | None


@dataclass(frozen=True, slots=True)
class DuplicateCopy:
    """A provider batch carrying one of our batch ids that is not the recorded copy, as last seen.

    The provider bills every line such a copy processed before its cancellation took effect, so it is
    kept (``duplicate_batches``) until it has finished, and its final counts and usage are spend.
    """

    provider_batch_id: str
    batch_id: uuid.UUID
    company_id: str
    model: str
    #: The provider's status text (None: not seen yet, only its id is known).
    provider_status: str | None = None
    total: int = 0
    completed: int = 0
    failed: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    #: Finished at the provider: counts and usage are final, nobody looks at it again.
    settled: bool = False


class SubmitterStore(Protocol):
    def lock(self, batch_id: uuid.UUID) -> AbstractAsyncContextManager[bool]:
        """Hold the batch's submission lock for the block; yields False if a live process holds it.

        The lock is the owner's liveness: it dies with its owner, so a batch whose lock is free and
        which is still unsubmitted belongs to a dead process.
        """
        ...

    async def claim(
        self,
        batch_id: uuid.UUID,
        key: GroupKey,
        *,
        max_requests: int,
        max_bytes: int,
        budget: ModelBudget | None = None,
    ) -> int:
        """Create batch ``batch_id`` and move claimable pending requests of ``key`` into it; the count.

        No request is ever claimed into two batches, whatever runs concurrently; 0 creates no batch.
        With a ``budget``, admission runs in the same transaction under the model's lock
        (``token_budget``): the batch takes no more estimated tokens than the group's fair share of
        what the model's limit leaves free, and requests that can never fit the limit fail. The
        company's monthly budget (``budget``, ``budget_sql``) narrows it further, under the company's
        lock, and the group's hold records why the requests left over wait.
        """
        ...

    async def observed_usage(self, model: str) -> tuple[int, int]:
        """(prompt tokens, approx bytes) of the model's recent completions: its rate's calibration."""
        ...

    async def begin_attempt(self, batch_id: uuid.UUID) -> Unsubmitted | None:
        """Count an attempt before any provider call; None if the batch is no longer unsubmitted."""
        ...

    async def write_file(
        self, batch_id: uuid.UUID, path: Path, limits: FileLimits, *, too_large_reason: str
    ) -> BuiltFile:
        """Write the batch's JSONL; fail its requests that can never fit (``too_large_reason``) and
        give the ones that did not fit this file back to pending, in one transaction."""
        ...

    async def record_upload(
        self,
        batch_id: uuid.UUID,
        file_id: str,
        size: int,
        *,
        attempt: int,
        lines: Sequence[uuid.UUID] = (),
    ) -> bool:
        """Store the input file and each request's line in it (``lines``: the file's requests in line
        order), only if ``attempt`` is still the latest (False: taken over, nothing written)."""
        ...

    async def record_submitted(
        self, batch_id: uuid.UUID, provider_batch_id: str, *, topic: str, event: OutgoingEvent
    ) -> bool:
        """Record the provider batch and announce ``event``; False if the batch was no longer unsubmitted."""
        ...

    async def provider_batch_of(self, batch_id: uuid.UUID) -> str | None: ...

    async def record_attempt_error(self, batch_id: uuid.UUID, error: str, retry_in_s: float) -> None:
        """Keep the error and retry the submission after ``retry_in_s`` (the attempt stays counted)."""
        ...

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
        """Fail an unsubmitted batch for good and announce ``event``; False if it had moved on.

        ``error_codes`` are read by the ingester's rules (``submission_released`` requeues the requests
        without an attempt: ``shared.lifecycle.REQUEUE_CODES``). ``refused``: the provider saw the batch and
        refused it at create (Azure's ``token_limit_exceeded``); it is stamped submitted, so token
        admission reads the refusal as it reads a batch failed at validation."""
        ...

    async def paused_circuit(self, provider: str, model: str) -> Circuit | None:
        """The circuit of (provider, model) if submissions must wait now: open, probe time not come."""
        ...

    async def enter_circuit(self, provider: str, model: str, *, probe_lease_s: float) -> CircuitEntry:
        """May a submission of (provider, model) go now? If the circuit is open and its probe time has
        come, the caller takes the probe: the probe time moves ``probe_lease_s`` on, so no other
        instance probes meanwhile (a probe that dies with its process is retried after the lease)."""
        ...

    async def record_configuration_fault(
        self,
        batch_id: uuid.UUID,
        *,
        attempt: int,
        provider: str,
        model: str,
        decide: CircuitDecision,
    ) -> Circuit:
        """In one transaction: store ``decide(current circuit, now)``, give back the attempt counted for
        this submission (only if ``attempt`` is still the latest) and make the batch wait for the probe."""
        ...

    async def wait_for_circuit(self, batch_id: uuid.UUID, *, attempt: int, circuit: Circuit) -> None:
        """The batch may not go while ``circuit`` is open: give back the attempt just counted (only if
        ``attempt`` is still the latest) and retry the submission at the probe time."""
        ...

    async def close_circuit(self, provider: str, model: str) -> int:
        """A probe succeeded: delete the circuit and make the batches that waited for it due at once;
        returns how many batches were waiting."""
        ...

    async def open_circuits(self) -> list[Circuit]:
        """Every open circuit (metrics and operators)."""
        ...

    async def due_unsubmitted(self, *, min_age_s: float) -> list[uuid.UUID]:
        """Unsubmitted batches at least ``min_age_s`` old whose retry time (if any) has come."""
        ...

    async def pending_groups(self, *, min_wait_s: float) -> list[GroupKey]:
        """Groups whose oldest claimable request waited ``min_wait_s`` (the sweep no event needs)."""
        ...

    async def record_duplicates(self, copies: Sequence[DuplicateCopy]) -> None:
        """Store what was seen of each copy (one statement); a copy already settled is left as it is."""
        ...

    async def unsettled_duplicates(self, *, limit: int) -> list[DuplicateCopy]:
        """Copies not seen finished yet, the longest known first."""
        ...
