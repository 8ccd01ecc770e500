"""Polling in-flight batches: ask the provider, apply the lifecycle, announce terminal states.

The poller alone owns the poll schedule (``next_poll_at``). ``batch.created`` schedules a batch's
first poll the moment it is consumed; each round also adopts submitted batches that no event
scheduled within a grace period, so a lost or late event delays a batch but never strands it.

The poller is the only writer of provider-reported statuses. A batch past its completion window
plus grace is cancelled and, once the provider confirms, recorded as EXPIRED so its unfinished
requests are retried like those of any expired batch.

The database is reached only through the :class:`~services.poller.ports.PollerStore` passed in, and
time through ``clock``, so the orchestration runs in memory in its unit tests.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import structlog

from services.poller.ports import DueBatch, PollerStore, Terminal
from shared.events import BatchCompleted
from shared.lifecycle import (
    PROVIDER_TERMINAL,
    BatchStatus,
    IllegalTransition,
    batch_transition,
    from_provider_status,
    is_overdue,
    next_poll_delay_s,
)
from shared.provider.base import (
    BatchProvider,
    ProviderBatch,
    ProviderError,
    ProviderNotFound,
    RetryableProviderError,
)
from shared.provider.router import expires_at_window

log = structlog.get_logger(__name__)

OVERDUE_MARK = "overdue: cancelled after completion window + grace"
#: Added to a call's worst case in the lease: clock skew between instances, a slow database write.
LEASE_MARGIN_S = 30.0
#: The provider's error entries kept per batch: one per input line at most (the file's line limit).
MAX_STORED_ERRORS = 50_000


def poll_lease_s(*, retry_max_s: float, timeout_s: float, min_interval_s: float) -> float:
    """How long a claimed batch stays off every other poller: one provider call at its worst, plus margin.

    A call may retry for ``retry_max_s`` (429 storms honour ``Retry-After``) and its last request may
    then take ``timeout_s``; a lease shorter than that lets a second poller poll (or cancel) the same
    batch while the first still waits on the provider. The lease is also what spaces the polls of a
    batch whose poll failed unexpectedly (the reschedule never ran), so it is never shorter than the
    minimum interval. A poll that needs a second call (the cancel of an overdue batch) renews it first.
    """
    return max(min_interval_s, retry_max_s + timeout_s + LEASE_MARGIN_S)


@dataclass(frozen=True, slots=True)
class PollerConfig:
    min_interval_s: float
    max_interval_s: float
    window: timedelta
    grace: timedelta
    batch_completed_topic: str
    #: A submitted batch still unscheduled after this long is adopted by the round (its event is late).
    adopt_after_s: float = 60.0
    #: Adoption runs in the first round and then at most this often, not in every round: rounds come
    #: every few tens of milliseconds, and an adoption query in each was ~40% of a round's database
    #: time (B4 profile) for batches that are at least ``adopt_after_s`` late anyway.
    adopt_every_s: float = 10.0
    #: See :func:`poll_lease_s` (the default is its value for the default settings).
    lease_s: float = 390.0
    #: Batches claimed per round, at most ``concurrency``: a lease starts at the claim, so a batch
    #: must not wait for a free slot while its lease runs out.
    claim_limit: int = 8
    concurrency: int = 8


class Poller:
    """Watches in-flight batches until the provider finishes them, and says so once.

    The provider never calls back (webhooks aside), so someone must ask: often enough that results
    land soon after a batch ends, rarely enough to respect rate limits, and never for a batch another
    poller is already asking about. It is also the one who gives up on overdue batches.
    """

    def __init__(
        self,
        store: PollerStore,
        provider: BatchProvider,
        config: PollerConfig,
        on_commit: Callable[[], None],
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._store = store
        self._provider = provider
        self._config = config
        self._on_commit = on_commit
        self._clock = clock
        self._limit = asyncio.Semaphore(config.concurrency)
        self.stats = {"polls": 0, "batches_finished": 0, "poll_errors": 0, "batches_adopted": 0}
        self._next_adopt: datetime | None = None  # None: adopt in the next round

    async def track(self, batch_ids: Sequence[uuid.UUID]) -> int:
        """``batch.created``: schedule the first poll (a replay finds it scheduled: no change)."""
        return await self._store.track(batch_ids, first_delay_s=self._config.min_interval_s)

    async def poll_due_once(self) -> int:
        """One round: adopt what no event announced (when due), then poll the due batches; returns
        batches polled."""
        now = self._clock()
        if self._next_adopt is None or now >= self._next_adopt:
            adopted = await self._store.adopt(
                older_than_s=self._config.adopt_after_s, first_delay_s=self._config.min_interval_s
            )
            self._next_adopt = now + timedelta(seconds=self._config.adopt_every_s)
            if adopted:
                self.stats["batches_adopted"] += adopted
                log.warning("adopted submitted batches no batch.created scheduled", batches=adopted)
        limit = min(self._config.claim_limit, self._config.concurrency)
        due = await self._store.claim_due(limit=limit, lease_s=self._config.lease_s)
        if due:
            await asyncio.gather(*(self._poll_guarded(b) for b in due))
        return len(due)

    async def _poll_guarded(self, batch: DueBatch) -> None:
        async with self._limit:
            try:
                await self._poll(batch)
            except Exception as exc:  # the lease hands the batch back to whoever polls next
                self.stats["poll_errors"] += 1
                log.warning("poll failed", batch_id=str(batch.id), error=repr(exc)[:300])

    async def _poll(self, batch: DueBatch) -> None:
        self.stats["polls"] += 1
        delay = next_poll_delay_s(
            batch.poll_count + 1,
            min_interval_s=self._config.min_interval_s,
            max_interval_s=self._config.max_interval_s,
        )
        try:
            remote = await self._provider.retrieve_batch(batch.provider_batch_id)
        except ProviderNotFound:
            gone = Terminal(BatchStatus.FAILED, detail="provider_batch_not_found", error_codes=["not_found"])
            await self._finish(batch, gone)
            return
        except ProviderError as exc:
            # Never sooner than the schedule (which starts at the minimum interval), nor than the
            # provider asked: a failing poll backs off like any other.
            asked = exc.retry_after if isinstance(exc, RetryableProviderError) else None
            await self._store.reschedule(
                batch.id,
                batch.status,
                delay_s=max(delay, min(asked or 0.0, self._config.max_interval_s)),
                completed=None,
                failed=None,
                last_error=f"poll: {exc}",
            )
            return

        target = from_provider_status(remote.status)
        overdue_marked = bool(batch.last_error and batch.last_error.startswith("overdue"))
        window_passed = expires_at_window(batch.provider_batch_id) and is_overdue(
            batch.submitted_at, window=self._config.window, grace=self._config.grace, now=self._clock()
        )
        if window_passed and target not in PROVIDER_TERMINAL and target is not BatchStatus.CANCELLING:
            log.warning("batch overdue; cancelling", batch_id=str(batch.id), provider_batch_id=remote.id)
            # A second provider call: renew the lease for it (False: another poller has the batch now).
            if not await self._store.renew_lease(batch.id, lease_s=self._config.lease_s):
                return
            try:
                remote = await self._provider.cancel_batch(remote.id)
                target = from_provider_status(remote.status)
                overdue_marked = True
            except ProviderError as exc:
                # e.g. a batch already finalizing cannot be cancelled (400): it is about to finish on
                # its own, so keep polling it instead of failing the round.
                log.warning("cancel refused; polling on", batch_id=str(batch.id), error=str(exc))
        if overdue_marked and target is BatchStatus.CANCELLED:
            target = BatchStatus.EXPIRED

        try:
            new = batch_transition(batch.status, target)
        except IllegalTransition:
            log.info(
                "stale provider status ignored",
                batch_id=str(batch.id),
                seen=remote.status,
                stored=batch.status.value,
            )
            new = batch.status
        if new in PROVIDER_TERMINAL:
            await self._finish(batch, _terminal(new, remote))
            return
        await self._store.reschedule(
            batch.id,
            new,
            delay_s=delay,
            completed=_count(remote.request_counts.completed),
            failed=_count(remote.request_counts.failed),
            last_error=OVERDUE_MARK if overdue_marked else None,
        )

    async def _finish(self, batch: DueBatch, outcome: Terminal) -> None:
        announced = BatchCompleted(
            event_id=f"{batch.id}:completed", batch_id=batch.id, company_id=batch.company_id
        )
        if not await self._store.finish(
            batch.id, outcome, topic=self._config.batch_completed_topic, event=announced
        ):
            return  # another poller stored it (and announced it) first
        self._on_commit()
        self.stats["batches_finished"] += 1
        log.info("batch finished", batch_id=str(batch.id), status=outcome.status.value, detail=outcome.detail)


def _terminal(status: BatchStatus, remote: ProviderBatch) -> Terminal:
    codes = [_storable(e.code, 64) for e in remote.errors[:100] if e.code]
    listed: list[dict[str, object]] = [
        {
            "code": _storable(e.code or "", 64) or None,
            "message": _storable(e.message or "", 500) or None,
            "param": _storable(e.param or "", 200) or None,
            "line": e.line,
        }
        for e in remote.errors[:MAX_STORED_ERRORS]
    ]
    detail = _storable("; ".join(f"{e.code}: {e.message}" for e in remote.errors[:3]), 2000) or None
    return Terminal(
        status,
        output_file_id=remote.output_file_id,
        error_file_id=remote.error_file_id,
        completed=_count(remote.request_counts.completed),
        failed=_count(remote.request_counts.failed),
        detail=detail,
        error_codes=codes,
        usage=remote.usage,
        validation_errors=listed,
        input_file_id=remote.input_file_id or None,
    )


def _storable(text: str, limit: int) -> str:
    """Provider text as the database can hold it: no NUL, bounded length."""
    return text.replace("\x00", "\ufffd")[:limit]


def _count(value: int) -> int:
    """Provider counters clamped to the int4 columns (a hostile or buggy answer must not fail the write)."""
    return max(0, min(int(value), 2**31 - 1))
