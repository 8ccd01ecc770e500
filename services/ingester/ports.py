"""What the ingester needs from its database, as a port.

``service.Ingester`` decides (which line resolves which request, what a failure means); the store
only reads and writes. The PostgreSQL repository implements :class:`IngestStore`; the unit tests use
an in-memory fake, so the resolution rules run in milliseconds without a database.

Every write call is one short transaction of its own, and every write is guarded by the batch id and
the claimed status: calling one twice, concurrently or after a crash, changes nothing the first call
did not. Announcements of retried requests are built by the service (``Announce``) and written by the
store into the outbox in the same transaction as the state they announce.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from services.ingester.results import LineOutcome, Usage
from shared.analysis import ProcessingType
from shared.lifecycle import BatchStatus, Resolution
from shared.outbox import OutgoingEvent
from shared.provider.base import BatchUsage
from shared.settings import ModelPrice


@dataclass(frozen=True, slots=True)
class LineError:
    """One entry of the provider's ``errors.data[]``: ``line`` is 1-based, None for a batch-wide error."""

    line: int | None
    code: str | None
    message: str | None


@dataclass(frozen=True, slots=True)
class BatchRow:
    id: uuid.UUID
    company_id: str
    model: str
    status: BatchStatus
    output_file_id: str | None
    error_file_id: str | None
    last_error: str | None
    error_codes: list[str]
    input_file_id: str | None = None
    #: Consecutive failed ingests so far (configuration faults excluded); see ``faults``.
    ingest_failures: int = 0
    #: Left alone by every path until an operator clears it (``faults`` explains when and why).
    quarantined: bool = False
    #: The provider's validation errors of a failed batch, as the poller stored them.
    validation_errors: tuple[LineError, ...] = ()


@dataclass(frozen=True, slots=True)
class Member:
    """A request that went into the batch. Only ``open`` ones (still claimed by it) can change."""

    processing_type: ProcessingType
    attempt: int
    session_id: str
    open: bool
    #: Its 1-based line in the batch's input file (None: not recorded, a file written before lines were).
    line: int | None = None


@dataclass(frozen=True, slots=True)
class Repending:
    """A request a write sent back to pending: what its ``request.pending`` announcement needs."""

    id: uuid.UUID
    session_id: str
    company_id: str
    processing_type: str
    model: str
    attempt: int
    approx_bytes: int


#: A request's decided failure: (custom_id, the lifecycle's resolution, the line's usage).
Decided = tuple[str, Resolution, Usage]
#: The events announcing requests that went back to pending (written to the outbox by the store).
Announce = Callable[[Sequence[Repending]], Sequence[OutgoingEvent]]


@dataclass(frozen=True, slots=True)
class Applied:
    """Rows one write actually changed (0 for rows another ingester had resolved first)."""

    completed: int = 0
    retried: int = 0
    failed: int = 0


@dataclass(frozen=True, slots=True)
class Charge:
    """What a batch is charged for and at, written on it by the final step (``cli.costs`` prices it).

    ``lines`` is the usage summed over the batch's distinct lines (the first line of a request decides,
    as for its answer), resolved requests' included: what the provider billed for this batch. ``price``
    is the model's configured list price at that moment (None: not priced then), with the discount.
    """

    lines: Usage
    price: ModelPrice | None
    discount: Decimal


@dataclass(frozen=True, slots=True)
class Finished:
    """The final step: what it resolved itself, and the batch's totals as stored."""

    retried: int
    failed: int
    batch_completed: int
    batch_failed: int
    #: The provider's usage of the batch differs from the sum of its lines (None: it reported none).
    usage_mismatch: bool | None = None
    provider_usage: BatchUsage | None = None


@dataclass(frozen=True, slots=True)
class Setback:
    """A failed ingest as stored on its batch: the sweep's per-batch schedule."""

    #: Consecutive counted failures, this one included (a configuration fault does not count).
    failures: int
    #: The recovery sweep leaves the batch alone for this long.
    retry_after_s: float
    #: Too many failures: no path ingests the batch any more until an operator clears it.
    quarantined: bool
    reason: str


class IngestStore(Protocol):
    async def batch(self, batch_id: uuid.UUID) -> BatchRow | None:
        """The batch row, read without a lock."""
        ...

    async def members(self, batch_id: uuid.UUID) -> dict[str, Member]:
        """Every request that went into the batch, by custom_id (the request id as text)."""
        ...

    async def apply_chunk(
        self,
        batch_id: uuid.UUID,
        successes: Sequence[LineOutcome],
        failures: Sequence[Decided],
        announce: Announce,
    ) -> Applied:
        """Complete ``successes`` (writing their session fields) and write ``failures``, in one
        transaction that first locks the chunk's sessions in the producer's order."""
        ...

    async def finish(
        self,
        batch_id: uuid.UUID,
        resolve: Callable[[int, int], Resolution],
        announce: Announce,
        *,
        note: str | None = None,
        charge: Charge | None = None,
    ) -> Finished | None:
        """Under the batch's row lock: resolve every request still open with
        ``resolve(attempt, requeues)`` (``requeues``: its capacity requeues so far),
        announce the retried ones and mark the batch PROCESSED, storing ``note`` (why a file could not
        be read) as its ingest error and ``charge`` (its prices and lines' usage), compared with the
        provider's usage stored by the poller. None if it is not provider-terminal (already PROCESSED
        by another ingester, or unknown)."""
        ...

    async def record_setback(self, batch_id: uuid.UUID, decide: Callable[[int], Setback]) -> Setback | None:
        """Under the batch's row lock: ``decide(consecutive failures stored so far)`` and store the
        result (count, next try, reason, quarantine). None, writing nothing, if the batch is no longer
        provider-terminal (another ingester processed it meanwhile)."""
        ...

    async def overdue_unprocessed(self, *, older_than_s: float) -> list[uuid.UUID]:
        """Provider-terminal batches to sweep: nobody ingested them for ``older_than_s`` (or their
        setback's retry time has come), quarantined ones excluded; the least recently tried first."""
        ...
