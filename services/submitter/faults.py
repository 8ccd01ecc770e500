"""What a provider failure at submission means for the batch, decided by who must act.

- **Configuration** (revoked key, 403, quota, unknown model, full file store): not the batch's fault,
  and every batch of that provider/model would meet it alike. The circuit opens (shared by every
  submitter, in the database); the batch waits for the probe with its attempt given back and no request
  is charged. The first submission after the probe time is the probe: its success closes the circuit.
- **Content** (any other refusal: an invalid file, a bad line): the batch fails, and the ingester
  charges its requests an attempt as for any failed batch.
- **Transient** (5xx, 429, timeouts, after the client's own retry budget): retried with backoff, up to
  a cap; then the batch is *released* (FAILED with ``submission_released``), so the ingester puts its
  requests back to pending without an attempt instead of them sitting in a batch that never goes.

Pure: the orchestration (``service``) applies these decisions through the store.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from shared.circuit import Circuit, record_fault
from shared.periodic import backoff_delay
from shared.provider.base import (
    FaultOwner,
    PermanentProviderError,
    ProviderError,
    RetryableProviderError,
)

#: Cap of the wait between submission attempts of one batch.
SUBMIT_RETRY_CAP_S = 600.0
#: Error code of a batch given up on after transient failures; ``shared.lifecycle.REQUEUE_CODES``
#: sends its requests back to pending without an attempt (the provider never ran them).
RELEASED_CODE = "submission_released"
#: A create refused for the enqueued-token quota (Azure refuses at create; OpenAI fails the batch at
#: validation with the same code): handled as OpenAI's refusal, requests back without an attempt.
TOKEN_REFUSAL_CODE = "token_limit_exceeded"  # noqa: S105 - an error code, not a secret


class Action(StrEnum):
    PAUSE = "pause"
    FAIL = "fail"
    RETRY = "retry"
    RELEASE = "release"
    REFUSE = "refuse"


@dataclass(frozen=True, slots=True)
class FaultPolicy:
    #: Transient failures a batch may have (counted attempts) before it is released.
    max_transient_failures: int = 6
    #: Base of the transient retry backoff (doubles per failed attempt up to ``SUBMIT_RETRY_CAP_S``).
    retry_delay_s: float = 30.0
    #: First pause of an open circuit and the longest pause between two probes.
    circuit_base_s: float = 15.0
    circuit_max_s: float = 300.0

    def action(self, exc: ProviderError, *, attempts: int) -> Action:
        """``attempts``: attempts counted for the batch, the failed one included."""
        owner = owner_of(exc)
        if exc.code == TOKEN_REFUSAL_CODE and owner is not FaultOwner.TRANSIENT:
            return Action.REFUSE
        if owner is FaultOwner.CONFIGURATION:
            return Action.PAUSE
        if owner is FaultOwner.CONTENT:
            return Action.FAIL
        return Action.RELEASE if attempts >= self.max_transient_failures else Action.RETRY

    def retry_in_s(self, exc: ProviderError, *, attempts: int) -> float:
        """The backoff after ``attempts`` failed attempts, never sooner than the provider asked."""
        delay = submit_retry_delay_s(attempts, self.retry_delay_s)
        asked = exc.retry_after if isinstance(exc, RetryableProviderError) else None
        return max(delay, min(asked or 0.0, SUBMIT_RETRY_CAP_S))

    def opened(
        self, current: Circuit | None, now: datetime, *, provider: str, model: str, reason: str
    ) -> Circuit:
        """The circuit after a configuration fault (``shared.circuit``'s rule, with these pauses)."""
        return record_fault(
            current,
            provider=provider,
            model=model,
            reason=reason,
            now=now,
            base_s=self.circuit_base_s,
            cap_s=self.circuit_max_s,
        )


def owner_of(exc: ProviderError) -> FaultOwner:
    """Who must act. An error the adapter did not classify (neither retryable nor permanent) is taken
    as transient: retried under the cap, it can cost a request nothing without proof of its fault."""
    if isinstance(exc, PermanentProviderError | RetryableProviderError):
        return exc.owner
    return FaultOwner.TRANSIENT


def submit_retry_delay_s(attempts: int, base_s: float) -> float:
    """Wait before the next submission attempt after ``attempts`` failed ones: base, 2x, 4x ... 600 s."""
    return backoff_delay(attempts, base=base_s, cap=SUBMIT_RETRY_CAP_S, max_growths=5)
