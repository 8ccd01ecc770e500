"""What the poller needs from its database, as a port: the orchestration depends on this, not on SQL.

:class:`services.poller.store.PostgresPollerStore` implements it for production; the orchestration
unit tests implement it in memory. Each method is one atomic decision of the database: sharing due
batches between instances, guarded status writes (a stale read never rewinds a batch, a terminal
status is written once) and the announcement written with the state it announces.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from shared.lifecycle import BatchStatus
from shared.outbox import OutgoingEvent
from shared.provider.base import BatchUsage


@dataclass(frozen=True, slots=True)
class DueBatch:
    """An in-flight batch this instance leased for one poll, as it was when leased."""

    id: uuid.UUID
    company_id: str
    model: str
    provider_batch_id: str
    status: BatchStatus
    poll_count: int
    submitted_at: datetime
    last_error: str | None


@dataclass(frozen=True, slots=True)
class Terminal:
    """What the provider reported for a batch it has finished with (or that it no longer knows)."""

    status: BatchStatus
    output_file_id: str | None = None
    error_file_id: str | None = None
    completed: int | None = None
    failed: int | None = None
    detail: str | None = None
    error_codes: list[str] = field(default_factory=list)
    #: The provider's ``usage`` of the batch (None: it reports none), checked by the ingester.
    usage: BatchUsage | None = None
    #: The provider's ``errors.data[]`` (code, message, param, line), for the ingester's line rule, and
    #: the input file the provider ran: the errors are kept only if it is the one whose lines we stored.
    validation_errors: list[dict[str, object]] = field(default_factory=list)
    input_file_id: str | None = None


class PollerStore(Protocol):
    async def track(self, batch_ids: Sequence[uuid.UUID], *, first_delay_s: float) -> int:
        """Schedule the first poll of unscheduled in-flight batches among ``batch_ids`` (``first_delay_s``
        after their submission); batches already scheduled, polled or finished are left as they are."""
        ...

    async def adopt(self, *, older_than_s: float, first_delay_s: float) -> int:
        """The same for every in-flight batch submitted more than ``older_than_s`` ago and unscheduled."""
        ...

    async def claim_due(self, *, limit: int, lease_s: float) -> list[DueBatch]:
        """Lease up to ``limit`` due batches: no other instance gets them for ``lease_s``."""
        ...

    async def renew_lease(self, batch_id: uuid.UUID, *, lease_s: float) -> bool:
        """Keep a leased batch off other pollers for ``lease_s`` more (before a second provider call);
        False if it is no longer in flight."""
        ...

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
        """Store an in-flight status (new or re-observed) and the next poll; False if the batch moved on."""
        ...

    async def finish(
        self, batch_id: uuid.UUID, outcome: Terminal, *, topic: str, event: OutgoingEvent
    ) -> bool:
        """Store a terminal status and announce ``event``; False (nothing announced) if already stored."""
        ...
