"""Request and batch lifecycles as explicit state machines. Pure: no database, Kafka or HTTP here.

The services ask this module what a status may become and what an outcome means for a request;
the SQL they run then only writes what these functions decided. Keeping the rules here means one
place to read (and unit-test exhaustively) for "can a request end up in two batches" questions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from shared.periodic import backoff_delay


class RequestStatus(StrEnum):
    PENDING_BATCHING = "PENDING_BATCHING"
    BATCHING_IN_PROGRESS = "BATCHING_IN_PROGRESS"
    PROCESSING_COMPLETE = "PROCESSING_COMPLETE"
    PROCESSING_FAILED = "PROCESSING_FAILED"
    #: Left unfinished by an expired or cancelled batch and handed to the synchronous API
    #: (``BATCHLINE_FALLBACK_MODE=sync``): the fallback worker completes it, or sends it back.
    FALLBACK_IN_PROGRESS = "FALLBACK_IN_PROGRESS"


class BatchStatus(StrEnum):
    #: Local only: requests claimed, provider not (yet, or not known to be) called.
    PENDING_SUBMISSION = "PENDING_SUBMISSION"
    VALIDATING = "VALIDATING"
    IN_PROGRESS = "IN_PROGRESS"
    FINALIZING = "FINALIZING"
    CANCELLING = "CANCELLING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    EXPIRED = "EXPIRED"
    CANCELLED = "CANCELLED"
    #: Local only: every request of the batch has been resolved by the ingester.
    PROCESSED = "PROCESSED"


#: What a new request and a new batch start as (the producer and the submitter insert these).
REQUEST_INITIAL = RequestStatus.PENDING_BATCHING
BATCH_INITIAL = BatchStatus.PENDING_SUBMISSION


class IllegalTransition(ValueError):
    """A status change the lifecycle does not allow; raising it stops a write that would corrupt state."""

    def __init__(self, kind: str, current: str, target: str) -> None:
        super().__init__(f"illegal {kind} transition {current} -> {target}")
        self.current = current
        self.target = target


REQUEST_TRANSITIONS: dict[RequestStatus, frozenset[RequestStatus]] = {
    # Straight to failed: refused at admission, it can never be submitted (its estimated tokens
    # exceed the model's whole enqueued-token limit); it never enters a batch.
    RequestStatus.PENDING_BATCHING: frozenset(
        {RequestStatus.BATCHING_IN_PROGRESS, RequestStatus.PROCESSING_FAILED}
    ),
    RequestStatus.BATCHING_IN_PROGRESS: frozenset(
        {
            RequestStatus.PROCESSING_COMPLETE,
            RequestStatus.PENDING_BATCHING,
            RequestStatus.PROCESSING_FAILED,
            RequestStatus.FALLBACK_IN_PROGRESS,
        }
    ),
    # The synchronous call answered (complete), failed (back for another batch, or failed for good at
    # the attempt limit); never back into a batch directly, so it cannot be in one and in a call at once.
    RequestStatus.FALLBACK_IN_PROGRESS: frozenset(
        {RequestStatus.PROCESSING_COMPLETE, RequestStatus.PENDING_BATCHING, RequestStatus.PROCESSING_FAILED}
    ),
    RequestStatus.PROCESSING_COMPLETE: frozenset(),
    RequestStatus.PROCESSING_FAILED: frozenset(),
}

#: Moves only an operator makes, never a service: ``batchline requests retry`` puts requests that
#: failed for good back to pending with a fresh attempt budget (the cause fixed, e.g. a provider
#: outage past every retry). Kept out of ``REQUEST_TRANSITIONS`` on purpose: for the services a
#: failed request stays final (``REQUEST_TERMINAL``), and no move a service builds from the default
#: sources can pick a failed row up; only a move built with ``operator=True`` may.
OPERATOR_REQUEST_TRANSITIONS: dict[RequestStatus, frozenset[RequestStatus]] = {
    RequestStatus.PROCESSING_FAILED: frozenset({RequestStatus.PENDING_BATCHING}),
}

IN_FLIGHT: frozenset[BatchStatus] = frozenset(
    {BatchStatus.VALIDATING, BatchStatus.IN_PROGRESS, BatchStatus.FINALIZING, BatchStatus.CANCELLING}
)
PROVIDER_TERMINAL: frozenset[BatchStatus] = frozenset(
    {BatchStatus.COMPLETED, BatchStatus.FAILED, BatchStatus.EXPIRED, BatchStatus.CANCELLED}
)
#: Batches whose estimated tokens count against their model's enqueued-token budget: claimed and
#: about to be submitted, or at the provider and unfinished as far as we know. Counting a batch the
#: provider has already finished (not polled yet) errs on the safe side.
HOLDING_TOKENS: frozenset[BatchStatus] = frozenset({BatchStatus.PENDING_SUBMISSION}) | IN_FLIGHT

# Forward order of the in-flight statuses: a poll may skip stages but never go back (a stale read
# from a load-balanced provider must not rewind a batch that was already seen finalizing).
_RANK: dict[BatchStatus, int] = {
    BatchStatus.PENDING_SUBMISSION: 0,
    BatchStatus.VALIDATING: 1,
    BatchStatus.IN_PROGRESS: 2,
    BatchStatus.FINALIZING: 3,
    BatchStatus.CANCELLING: 4,
}


def _batch_targets(current: BatchStatus) -> frozenset[BatchStatus]:
    if current in PROVIDER_TERMINAL:
        return frozenset({BatchStatus.PROCESSED})
    if current is BatchStatus.PROCESSED:
        return frozenset()
    rank = _RANK[current]
    later = {s for s, r in _RANK.items() if r > rank}
    return frozenset(later | PROVIDER_TERMINAL)


BATCH_TRANSITIONS: dict[BatchStatus, frozenset[BatchStatus]] = {s: _batch_targets(s) for s in BatchStatus}


#: Requests in these states never change again (the one list; SQL binds it, never spells it).
REQUEST_TERMINAL: frozenset[RequestStatus] = frozenset(s for s, t in REQUEST_TRANSITIONS.items() if not t)
#: Batches the provider has finished with: the ingester may resolve their requests.
BATCH_TERMINAL: frozenset[BatchStatus] = PROVIDER_TERMINAL


def request_transition(
    current: RequestStatus, target: RequestStatus, *, operator: bool = False
) -> RequestStatus:
    """``target`` if a service may move a request there from ``current`` (or, with ``operator``, an
    operator's command: the services' transitions plus ``OPERATOR_REQUEST_TRANSITIONS``)."""
    if target in REQUEST_TRANSITIONS[current]:
        return target
    if operator and target in OPERATOR_REQUEST_TRANSITIONS.get(current, frozenset()):
        return target
    raise IllegalTransition("request", current, target)


@dataclass(frozen=True, slots=True)
class Move:
    """A status write as set-based SQL performs it: ``SET status = :to WHERE status = ANY(:from)``.

    Repositories build their moves once, at import, through :func:`request_move` / :func:`batch_move`,
    so an illegal write fails when the module loads, long before it could touch a row, and the SQL
    carries no status of its own: the guard on the current status is the lifecycle's source set.
    """

    target: str
    sources: tuple[str, ...]

    def params(self) -> dict[str, object]:
        return {"to": self.target, "from": list(self.sources)}


def request_sources(target: RequestStatus) -> frozenset[RequestStatus]:
    """Every status a request may reach ``target`` from."""
    return frozenset(s for s, targets in REQUEST_TRANSITIONS.items() if target in targets)


def batch_sources(target: BatchStatus) -> frozenset[BatchStatus]:
    """Every status a batch may reach ``target`` from (re-observing ``target`` itself excluded)."""
    return frozenset(s for s, targets in BATCH_TRANSITIONS.items() if target in targets)


def request_move(target: RequestStatus, *sources: RequestStatus, operator: bool = False) -> Move:
    """The guarded write to ``target`` from ``sources`` (default: every source a service may use).

    ``operator=True`` also admits the operator's transitions, but only from explicitly named sources:
    the default source set stays the services', so an operator move is always spelled out.
    """
    if operator and not sources:
        raise ValueError("an operator move names its sources")
    chosen = frozenset(sources) or request_sources(target)
    for current in chosen:
        request_transition(current, target, operator=operator)
    return Move(target.value, tuple(sorted(s.value for s in chosen)))


def batch_move(target: BatchStatus, *sources: BatchStatus) -> Move:
    """The guarded write to ``target`` from ``sources`` (default: every legal source)."""
    chosen = frozenset(sources) or batch_sources(target)
    for current in chosen:
        if target not in BATCH_TRANSITIONS[current]:
            raise IllegalTransition("batch", current, target)
    return Move(target.value, tuple(sorted(s.value for s in chosen)))


def values(statuses: frozenset[RequestStatus] | frozenset[BatchStatus]) -> list[str]:
    """Statuses as a bound parameter for ``status = ANY(:p)`` (sorted, so statements are stable)."""
    return sorted(s.value for s in statuses)


def batch_transition(current: BatchStatus, target: BatchStatus) -> BatchStatus:
    """The status to store. Re-observing the current status is allowed (polls repeat), rewinding is not."""
    if target == current:
        return current
    if target not in BATCH_TRANSITIONS[current]:
        raise IllegalTransition("batch", current, target)
    return target


PROVIDER_STATUS_MAP: dict[str, BatchStatus] = {
    "validating": BatchStatus.VALIDATING,
    "in_progress": BatchStatus.IN_PROGRESS,
    "finalizing": BatchStatus.FINALIZING,
    "cancelling": BatchStatus.CANCELLING,
    "completed": BatchStatus.COMPLETED,
    "failed": BatchStatus.FAILED,
    "expired": BatchStatus.EXPIRED,
    "cancelled": BatchStatus.CANCELLED,
}


def from_provider_status(status: str) -> BatchStatus:
    """Map a provider status. Unknown values raise: the seed silently called them FAILED."""
    try:
        return PROVIDER_STATUS_MAP[status]
    except KeyError:
        raise ValueError(f"unknown provider batch status {status!r}") from None


# ---------------------------------------------------------------------------------------------
# What an outcome means for one request
# ---------------------------------------------------------------------------------------------


class OutcomeKind(StrEnum):
    SUCCEEDED = "succeeded"
    #: The line failed (error file, invalid answer) or the request is missing from both files.
    FAILED = "failed"
    #: The batch ended before the request ran (expired, cancelled, failed as a whole).
    UNFINISHED = "unfinished"
    #: The provider refused the batch for capacity (token_limit_exceeded): not the request's fault.
    REQUEUED = "requeued"
    #: The provider refused the batch for errors on other lines: this request was never run.
    UNTRIED = "untried"


@dataclass(frozen=True, slots=True)
class Resolution:
    status: RequestStatus
    attempt: int
    error: str | None
    #: Delay before the request may be claimed again; None when it is not going back to pending.
    retry_after_s: float | None
    #: Requeues for capacity so far, this one included; None leaves the stored count unchanged.
    requeues: int | None = None

    @property
    def emits_pending(self) -> bool:
        """A request that goes back to pending must be announced again on ``request.pending``."""
        return self.status is RequestStatus.PENDING_BATCHING


def resolve_request(
    kind: OutcomeKind,
    *,
    attempt: int,
    max_attempts: int,
    reason: str | None,
    backoff_base_s: float,
    requeues: int = 0,
) -> Resolution:
    """Decide a claimed request's next state from its outcome in a finished batch.

    An untried request (the batch failed validation on lines that are not its own) goes back at the
    same attempt and at once: the provider never ran it, so nothing counts against it.

    ``requeues`` is how often the request already went back for capacity: a requeue costs no attempt
    (the provider's capacity is not a strike against the request), but it waits longer each time
    (base, 2x, 4x ... capped at 64x base, :func:`retry_delay_s`), so a model whose budget stays full
    is retried ever more rarely instead of in a tight loop.
    """
    if kind is OutcomeKind.SUCCEEDED:
        return Resolution(RequestStatus.PROCESSING_COMPLETE, attempt, None, None)
    if kind is OutcomeKind.UNTRIED:
        # Neither a strike nor capacity: the same attempt, claimable at once, its requeues untouched.
        return Resolution(RequestStatus.PENDING_BATCHING, attempt, reason, 0.0)
    if kind is OutcomeKind.REQUEUED:
        again = requeues + 1
        return Resolution(
            RequestStatus.PENDING_BATCHING, attempt, reason, retry_delay_s(again, backoff_base_s), again
        )
    if attempt >= max_attempts:
        final = f"{reason or 'failed'} (after {attempt} attempts)"
        return Resolution(RequestStatus.PROCESSING_FAILED, attempt, final, None)
    next_attempt = attempt + 1
    return Resolution(
        RequestStatus.PENDING_BATCHING, next_attempt, reason, retry_delay_s(next_attempt - 1, backoff_base_s)
    )


def retry_delay_s(attempt: int, base_s: float) -> float:
    """Exponential: base, 2x base, 4x base ... for attempts 1, 2, 3, capped at 64x."""
    return backoff_delay(attempt, base=base_s, max_growths=6)


#: Batch-level codes that are nobody's fault but capacity: the requests go back without an attempt.
#: ``token_limit_exceeded`` is the provider's; ``submission_released`` ours, written when a batch
#: gave up on transient submission errors (the provider never ran it).
REQUEUE_CODES: frozenset[str] = frozenset({"token_limit_exceeded", "submission_released"})


def unfinished_reason(
    status: BatchStatus, error_codes: Sequence[str], detail: str | None
) -> tuple[OutcomeKind, str]:
    """Why requests without an output line failed, given the batch's terminal status and errors."""
    if status is BatchStatus.EXPIRED:
        return OutcomeKind.UNFINISHED, "batch_expired: the batch expired before this request ran"
    if status is BatchStatus.CANCELLED:
        return OutcomeKind.UNFINISHED, "batch_cancelled: the batch was cancelled before this request ran"
    if status is BatchStatus.FAILED:
        text = f"batch_failed: {detail or 'no detail from provider'}"
        if REQUEUE_CODES.intersection(error_codes):
            return OutcomeKind.REQUEUED, text
        return OutcomeKind.UNFINISHED, text
    return OutcomeKind.FAILED, "missing: the request is in neither the output nor the error file"


# ---------------------------------------------------------------------------------------------
# Polling schedule
# ---------------------------------------------------------------------------------------------


def next_poll_delay_s(polls: int, *, min_interval_s: float, max_interval_s: float) -> float:
    """Never more often than the minimum interval; 1.5x slower per poll so far, up to the maximum."""
    return backoff_delay(polls + 1, base=min_interval_s, cap=max_interval_s, factor=1.5, max_growths=30)


def is_overdue(created_at: datetime, *, window: timedelta, grace: timedelta, now: datetime) -> bool:
    """Past its completion window plus grace, an unfinished batch is cancelled and treated as expired."""
    return now > created_at + window + grace


def parse_window(window: str) -> timedelta:
    """Provider completion windows look like ``24h``."""
    unit = window[-1:]
    value = float(window[:-1])
    if unit == "h":
        return timedelta(hours=value)
    if unit == "m":
        return timedelta(minutes=value)
    if unit == "d":
        return timedelta(days=value)
    raise ValueError(f"unsupported completion window {window!r}")
