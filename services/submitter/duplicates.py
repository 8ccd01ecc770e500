"""Provider batches of ours that we did not record: found, kept once, the others cancelled.

A crash between "create" and "record", or a takeover racing the first owner (a database restart
frees its advisory lock while it lives on), can leave more than one provider batch carrying the same
local batch id in its metadata. Only one of them is recorded; every other one would run unrecorded:
paid twice, its tokens never counted, its results never read. So whenever the submitter looks for
its batch at the provider it keeps exactly one copy and cancels the rest, and when it loses the race
to record (the batch moved on without this copy: another copy recorded, or the batch released or
failed meanwhile) it cancels its own. Each duplicate is logged and counted, cancelled or not (one
already finished cannot be cancelled any more; it shows in the count).

A cancelled copy is not free: the provider bills the lines it processed before the cancellation took
effect, and a copy that had finished bills them all. So every duplicate is recorded
(``duplicate_batches``) *before* it is cancelled, and the submitter's reconcile round settles the
recorded ones (:meth:`Duplicates.settle_once`): it reads each copy until the provider shows it
finished, then keeps its final request counts and token usage, which ``batchline report`` and
``batchline stats`` show as duplicate spend. The round also cancels again a copy it finds still
running (a cancel that failed, or a crash between recording and cancelling), so no unrecorded copy
runs on unnoticed.
"""

from __future__ import annotations

from collections.abc import MutableMapping

import structlog

from services.submitter.ports import DuplicateCopy, SubmitterStore, Unsubmitted
from shared.provider.base import BatchProvider, BatchUsage, ProviderBatch, ProviderError, ProviderNotFound

log = structlog.get_logger(__name__)

#: How far back (seconds before the local batch was created) a provider listing is searched.
LOOKUP_SLACK_S = 600
#: Which copy is kept when several exist: the one furthest along (its work is done or under way);
#: copies that failed or are being cancelled come last. Among equals the oldest.
_KEEP_RANK = {"completed": 0, "finalizing": 1, "in_progress": 2, "validating": 3}
#: Statuses in which a cancel is pointless: finished, or already being cancelled.
_NOT_CANCELLABLE = frozenset({"completed", "failed", "expired", "cancelled", "cancelling"})
#: Where a settle round cancels a copy again: the statuses a cancel is accepted in (a finalizing copy
#: is about to finish; cancelling it would only fail every round until it has).
_RECANCEL = frozenset({"validating", "in_progress"})
#: Recorded copies read back per reconcile round (each a provider call; they are rare).
SETTLE_BATCH = 50
#: What a copy the provider no longer knows is recorded as (its last counts stay).
GONE = "not_found"


def seen(copy: DuplicateCopy, remote: ProviderBatch) -> DuplicateCopy:
    """``copy`` as the provider shows it now; settled once it is finished there."""
    counts, usage = remote.request_counts, remote.usage or BatchUsage()
    return DuplicateCopy(
        copy.provider_batch_id,
        copy.batch_id,
        copy.company_id,
        copy.model,
        remote.status[:32],
        _int4(counts.total),
        _int4(counts.completed),
        _int4(counts.failed),
        max(0, usage.input_tokens),
        max(0, usage.output_tokens),
        settled=remote.is_terminal,
    )


def _int4(value: int) -> int:
    return max(0, min(int(value), 2**31 - 1))


class Duplicates:
    """Looks a local batch up at the provider and cancels every copy that is not the one kept."""

    def __init__(
        self, provider: BatchProvider, store: SubmitterStore, stats: MutableMapping[str, int]
    ) -> None:
        self._provider = provider
        self._store = store
        self._stats = stats
        for key in ("orphans_found", "orphans_cancelled", "orphan_cancel_failures", "orphans_settled"):
            stats.setdefault(key, 0)

    async def find(self, batch: Unsubmitted) -> ProviderBatch | None:
        """The provider batch to record for ``batch`` (None: none exists); duplicates are cancelled."""
        oldest = batch.created_at.timestamp() - LOOKUP_SLACK_S
        copies: list[ProviderBatch] = []
        # Only the API that runs the model: a revoked key at another provider must not pause this one.
        async for candidate in self._provider.list_batches(model=batch.model):
            if candidate.local_batch_id == str(batch.id):
                copies.append(candidate)
            if candidate.created_at < oldest:
                break  # newest first: everything further is older than our batch
        if not copies:
            return None
        copies.sort(key=lambda c: (_KEEP_RANK.get(c.status, 9), c.created_at, c.id))
        kept, *others = copies
        for other in others:
            await self.cancel(batch, other, kept=kept.id)
        return kept

    async def cancel(self, batch: Unsubmitted, orphan: ProviderBatch | str, *, kept: str | None) -> None:
        """Record, then cancel, a copy that is not (or can no longer be) the recorded one; a failed
        cancel is logged (the settle round tries again)."""
        orphan_id = orphan if isinstance(orphan, str) else orphan.id
        status = None if isinstance(orphan, str) else orphan.status
        self._stats["orphans_found"] += 1
        log.error(
            "submission.duplicate_found",
            batch_id=str(batch.id),
            provider_batch_id=orphan_id,
            provider_status=status,
            kept=kept,
        )
        copy = DuplicateCopy(orphan_id, batch.id, batch.company_id, batch.model)
        # Recorded first: a crash right after still leaves the copy to the settle round.
        await self._store.record_duplicates([copy if isinstance(orphan, str) else seen(copy, orphan)])
        if status in _NOT_CANCELLABLE:
            return
        await self._cancel(copy)

    async def _cancel(self, copy: DuplicateCopy) -> ProviderBatch | None:
        try:
            remote = await self._provider.cancel_batch(copy.provider_batch_id)
        except ProviderError as exc:
            self._stats["orphan_cancel_failures"] += 1
            log.error("submission.duplicate_cancel_failed", provider_batch_id=copy.provider_batch_id,
                      error=str(exc)[:300])  # fmt: skip
            return None
        self._stats["orphans_cancelled"] += 1
        log.warning("submission.duplicate_cancelled", batch_id=str(copy.batch_id),
                    provider_batch_id=copy.provider_batch_id)  # fmt: skip
        return remote

    async def settle_once(self, *, limit: int = SETTLE_BATCH) -> int:
        """Read the recorded copies that have not finished; store what the provider shows (final once
        finished), cancelling again any still running. Returns how many settled this round.

        A copy that cannot be read this round (a provider error) is left for the next; one the
        provider no longer knows settles as ``not_found`` with the counts last seen.
        """
        views: list[DuplicateCopy] = []
        for copy in await self._store.unsettled_duplicates(limit=limit):
            try:
                remote = await self._provider.retrieve_batch(copy.provider_batch_id)
            except ProviderNotFound:
                views.append(
                    DuplicateCopy(
                        copy.provider_batch_id, copy.batch_id, copy.company_id, copy.model, GONE,
                        copy.total, copy.completed, copy.failed, copy.input_tokens, copy.output_tokens,
                        settled=True,
                    )
                )  # fmt: skip
                continue
            except ProviderError as exc:
                log.warning("duplicate not read; next round", provider_batch_id=copy.provider_batch_id,
                            error=str(exc)[:300])  # fmt: skip
                continue
            if remote.status in _RECANCEL:
                remote = await self._cancel(copy) or remote
            views.append(seen(copy, remote))
        await self._store.record_duplicates(views)
        settled = sum(v.settled for v in views)
        self._stats["orphans_settled"] += settled
        return settled
