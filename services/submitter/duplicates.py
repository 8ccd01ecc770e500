"""Provider batches of ours that we did not record: found, kept once, the others cancelled.

A crash between "create" and "record", or a takeover racing the first owner (a database restart
frees its advisory lock while it lives on), can leave more than one provider batch carrying the same
local batch id in its metadata. Only one of them is recorded; every other one would run unrecorded:
paid twice, its tokens never counted, its results never read. So whenever the submitter looks for
its batch at the provider it keeps exactly one copy and cancels the rest, and when it loses the race
to record (the batch moved on without this copy: another copy recorded, or the batch released or
failed meanwhile) it cancels its own. Each duplicate is logged and counted, cancelled or not (one
already finished cannot be cancelled any more; it shows in the count).
"""

from __future__ import annotations

import uuid
from collections.abc import MutableMapping

import structlog

from services.submitter.ports import Unsubmitted
from shared.provider.base import BatchProvider, ProviderBatch, ProviderError

log = structlog.get_logger(__name__)

#: How far back (seconds before the local batch was created) a provider listing is searched.
LOOKUP_SLACK_S = 600
#: Which copy is kept when several exist: the one furthest along (its work is done or under way);
#: copies that failed or are being cancelled come last. Among equals the oldest.
_KEEP_RANK = {"completed": 0, "finalizing": 1, "in_progress": 2, "validating": 3}
#: Statuses in which a cancel is pointless: finished, or already being cancelled.
_NOT_CANCELLABLE = frozenset({"completed", "failed", "expired", "cancelled", "cancelling"})


class Duplicates:
    """Looks a local batch up at the provider and cancels every copy that is not the one kept."""

    def __init__(self, provider: BatchProvider, stats: MutableMapping[str, int]) -> None:
        self._provider = provider
        self._stats = stats
        for key in ("orphans_found", "orphans_cancelled", "orphan_cancel_failures"):
            stats.setdefault(key, 0)

    async def find(self, batch: Unsubmitted) -> ProviderBatch | None:
        """The provider batch to record for ``batch`` (None: none exists); duplicates are cancelled."""
        oldest = batch.created_at.timestamp() - LOOKUP_SLACK_S
        copies: list[ProviderBatch] = []
        async for candidate in self._provider.list_batches():
            if candidate.local_batch_id == str(batch.id):
                copies.append(candidate)
            if candidate.created_at < oldest:
                break  # newest first: everything further is older than our batch
        if not copies:
            return None
        copies.sort(key=lambda c: (_KEEP_RANK.get(c.status, 9), c.created_at, c.id))
        kept, *others = copies
        for other in others:
            await self.cancel(batch.id, other, kept=kept.id)
        return kept

    async def cancel(self, batch_id: uuid.UUID, orphan: ProviderBatch | str, *, kept: str | None) -> None:
        """Cancel a copy that is not (or can no longer be) the recorded one; a failure is logged."""
        orphan_id = orphan if isinstance(orphan, str) else orphan.id
        status = None if isinstance(orphan, str) else orphan.status
        self._stats["orphans_found"] += 1
        log.error(
            "submission.duplicate_found",
            batch_id=str(batch_id),
            provider_batch_id=orphan_id,
            provider_status=status,
            kept=kept,
        )
        if status in _NOT_CANCELLABLE:
            return
        try:
            await self._provider.cancel_batch(orphan_id)
        except ProviderError as exc:
            self._stats["orphan_cancel_failures"] += 1
            log.error("submission.duplicate_cancel_failed", provider_batch_id=orphan_id, error=str(exc)[:300])
            return
        self._stats["orphans_cancelled"] += 1
        log.warning("submission.duplicate_cancelled", batch_id=str(batch_id), provider_batch_id=orphan_id)
