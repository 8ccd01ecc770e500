"""What the ingester does when a batch cannot be ingested: resolve it, retry it later, or quarantine it.

Three kinds of failure, told apart by who must act (``shared.provider.base.FaultOwner``):

- **A file that cannot be read for good.** The output or error file is gone (404: expired, deleted)
  or refused for a reason retrying cannot change (another permanent 4xx, a line over the adapter's
  size limit), after the adapter's own retries. Waiting would only block the batch forever, so the
  batch is finished like any other: the lines that were read decide their requests, and every request
  left unresolved fails *like a missing line* (attempt + 1, or failed at ``max_attempts``) with a
  reason naming the file and the error (:func:`unreadable_file_reason`). The batch becomes PROCESSED
  and keeps that reason as its ``ingest_error``.
- **A configuration fault** (401, 403, quota): our key or account, not the batch. Nothing is written
  to the requests; the batch waits and is tried again, and this never counts towards quarantine (a
  revoked key would otherwise quarantine every batch that finished while it was revoked).
- **Anything else that fails the batch** (429/5xx/timeouts after the adapter's retries, an unexpected
  error on its data). The batch keeps a *setback* of its own (:class:`services.ingester.ports.Setback`):
  consecutive failures, the next time the recovery sweep may try it (``shared.periodic`` backoff), and
  the last reason. One failing batch therefore backs off alone; the sweep goes on with the others in
  the same round. After ``quarantine_after`` consecutive failures it is quarantined: no path ingests
  it any more, ``batchline report`` lists it with its reason, and an operator releases it with
  ``UPDATE provider_batches SET ingest_quarantined_at = NULL, ingest_failures = 0,
  ingest_retry_at = NULL WHERE id = ...``.

Failures of our own infrastructure (the database or the local disk down) are not the batch's: they
are raised, so the whole sweep round waits (:func:`is_infrastructure`).
"""

from __future__ import annotations

from dataclasses import dataclass

from services.ingester.ports import Setback
from services.ingester.results import MAX_REASON_CHARS
from shared.kafka.consumer import default_is_transient
from shared.lifecycle import OutcomeKind
from shared.periodic import Backoff
from shared.provider.base import ConfigurationFault, PermanentProviderError, ProviderError


def unreadable_for_good(exc: BaseException) -> bool:
    """A download error no retry can fix: the file is gone or refused, and it is not our setup."""
    return isinstance(exc, PermanentProviderError) and not isinstance(exc, ConfigurationFault)


def unreadable_file_reason(role: str, file_id: str, exc: BaseException) -> str:
    """The stored reason of requests a lost file left unresolved: which file, and what the provider said."""
    return f"file_unreadable: {role} file {file_id}: {exc}"[:MAX_REASON_CHARS]


def unresolved_outcome(kind: OutcomeKind, reason: str, file_problems: list[str]) -> tuple[OutcomeKind, str]:
    """How requests no line resolved are decided, when some file of the batch could not be read.

    In a completed batch they are in the lost file, not missing: the file's reason replaces
    "missing". For a batch that ended early (expired, cancelled, failed) the batch's own reason comes
    first and its kind is kept (a token-limit failure still requeues without costing an attempt).
    """
    if not file_problems:
        return kind, reason
    problems = "; ".join(file_problems)
    if kind is OutcomeKind.FAILED:
        return kind, problems[:MAX_REASON_CHARS]
    return kind, f"{reason}; {problems}"[:MAX_REASON_CHARS]


def is_infrastructure(exc: BaseException) -> bool:
    """Our database or disk is failing, not this batch: the sweep round stops and waits as a whole."""
    return default_is_transient(exc) and not isinstance(exc, ProviderError)


@dataclass(frozen=True, slots=True)
class SetbackPolicy:
    """When a batch that failed to ingest is tried again, and when it is given up to an operator."""

    backoff: Backoff
    quarantine_after: int

    def decide(self, exc: BaseException, stored_failures: int) -> Setback:
        """The setback after ``exc``, given the consecutive failures the batch had before it."""
        counted = not isinstance(exc, ConfigurationFault)
        failures = stored_failures + 1 if counted else stored_failures
        # A configuration fault waits as long as the next counted failure would, and counts nothing.
        delay = self.backoff.delay(failures if counted else stored_failures + 1)
        reason = f"{type(exc).__name__}: {exc}"
        quarantined = counted and failures >= self.quarantine_after
        if quarantined:
            reason = f"quarantined after {failures} consecutive failed ingests; last: {reason}"
        return Setback(failures, delay, quarantined, reason[:MAX_REASON_CHARS])
