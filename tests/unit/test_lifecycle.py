"""The request and batch state machines, exhaustively: every pair of statuses is checked."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from shared.lifecycle import (
    BATCH_INITIAL,
    BATCH_TERMINAL,
    BATCH_TRANSITIONS,
    IN_FLIGHT,
    PROVIDER_STATUS_MAP,
    REQUEST_INITIAL,
    REQUEST_TERMINAL,
    BatchStatus,
    IllegalTransition,
    Move,
    OutcomeKind,
    RequestStatus,
    batch_move,
    batch_sources,
    batch_transition,
    from_provider_status,
    is_overdue,
    next_poll_delay_s,
    parse_window,
    request_move,
    request_sources,
    request_transition,
    resolve_request,
    retry_delay_s,
    unfinished_reason,
)

R = RequestStatus
B = BatchStatus

ALLOWED_REQUEST = {
    (R.PENDING_BATCHING, R.BATCHING_IN_PROGRESS),
    # Refused at admission: estimated above the model's whole enqueued-token limit, never batched.
    (R.PENDING_BATCHING, R.PROCESSING_FAILED),
    (R.BATCHING_IN_PROGRESS, R.PROCESSING_COMPLETE),
    (R.BATCHING_IN_PROGRESS, R.PENDING_BATCHING),
    (R.BATCHING_IN_PROGRESS, R.PROCESSING_FAILED),
    # The remainder of an expired or cancelled batch handed to the synchronous API (fallback "sync"),
    # and the three ways out of that call; never back into a batch without going through pending.
    (R.BATCHING_IN_PROGRESS, R.FALLBACK_IN_PROGRESS),
    (R.FALLBACK_IN_PROGRESS, R.PROCESSING_COMPLETE),
    (R.FALLBACK_IN_PROGRESS, R.PENDING_BATCHING),
    (R.FALLBACK_IN_PROGRESS, R.PROCESSING_FAILED),
}


@pytest.mark.parametrize(("current", "target"), list(itertools.product(R, R)))
def test_request_transitions_are_exactly_the_documented_ones(current: R, target: R) -> None:
    if (current, target) in ALLOWED_REQUEST:
        assert request_transition(current, target) is target
    else:
        with pytest.raises(IllegalTransition):
            request_transition(current, target)


def test_a_pending_request_can_only_be_claimed_so_it_cannot_reach_two_batches_without_returning() -> None:
    # The only way into a batch is PENDING -> BATCHING_IN_PROGRESS; a claimed request cannot be claimed again.
    assert request_sources(R.BATCHING_IN_PROGRESS) == {R.PENDING_BATCHING}
    with pytest.raises(IllegalTransition):
        request_transition(R.BATCHING_IN_PROGRESS, R.BATCHING_IN_PROGRESS)


def test_terminal_requests_are_complete_and_failed() -> None:
    assert {R.PROCESSING_COMPLETE, R.PROCESSING_FAILED} == REQUEST_TERMINAL
    assert BATCH_TERMINAL == TERMINAL


def test_a_move_guards_its_write_with_every_legal_source() -> None:
    move = request_move(R.PENDING_BATCHING)
    assert move.params() == {"to": "PENDING_BATCHING", "from": ["BATCHING_IN_PROGRESS", "FALLBACK_IN_PROGRESS"]}
    assert batch_move(B.PROCESSED).params() == {
        "to": "PROCESSED",
        "from": ["CANCELLED", "COMPLETED", "EXPIRED", "FAILED"],
    }


def test_a_move_from_a_chosen_source_is_narrowed_to_it() -> None:
    assert batch_move(B.FAILED, B.PENDING_SUBMISSION).params() == {
        "to": "FAILED",
        "from": ["PENDING_SUBMISSION"],
    }


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: request_move(R.BATCHING_IN_PROGRESS, R.PROCESSING_FAILED), "PROCESSING_FAILED -> BATCHING"),
        (lambda: batch_move(B.VALIDATING, B.COMPLETED), "COMPLETED -> VALIDATING"),
        (lambda: batch_move(B.COMPLETED, B.PROCESSED), "PROCESSED -> COMPLETED"),
    ],
)
def test_an_illegal_move_cannot_be_built(build: Callable[[], Move], message: str) -> None:
    with pytest.raises(IllegalTransition, match=message):
        build()


def test_only_an_operator_move_takes_a_failed_request_back_to_pending() -> None:
    # The re-drive of ``batchline requests retry``: written out here, not read from the module.
    move = request_move(R.PENDING_BATCHING, R.PROCESSING_FAILED, operator=True)
    assert move.params() == {"to": "PENDING_BATCHING", "from": ["PROCESSING_FAILED"]}
    assert request_transition(R.PROCESSING_FAILED, R.PENDING_BATCHING, operator=True) is R.PENDING_BATCHING
    with pytest.raises(IllegalTransition, match="PROCESSING_FAILED -> PENDING_BATCHING"):
        request_move(R.PENDING_BATCHING, R.PROCESSING_FAILED)
    # For the services a failed request stays final, and their default moves never pick one up.
    assert R.PROCESSING_FAILED in REQUEST_TERMINAL
    assert R.PROCESSING_FAILED not in request_sources(R.PENDING_BATCHING)


@pytest.mark.parametrize(("current", "target"), list(itertools.product(R, R)))
def test_the_operator_may_do_nothing_else(current: R, target: R) -> None:
    allowed = ALLOWED_REQUEST | {(R.PROCESSING_FAILED, R.PENDING_BATCHING)}
    if (current, target) in allowed:
        assert request_transition(current, target, operator=True) is target
    else:
        with pytest.raises(IllegalTransition):
            request_transition(current, target, operator=True)


def test_an_operator_move_must_name_its_sources() -> None:
    with pytest.raises(ValueError, match="names its sources"):
        request_move(R.PENDING_BATCHING, operator=True)


def test_new_rows_start_where_the_lifecycle_starts() -> None:
    assert REQUEST_INITIAL is R.PENDING_BATCHING
    assert BATCH_INITIAL is B.PENDING_SUBMISSION
    assert request_sources(REQUEST_INITIAL) == {R.BATCHING_IN_PROGRESS, R.FALLBACK_IN_PROGRESS}


ORDER = [B.PENDING_SUBMISSION, B.VALIDATING, B.IN_PROGRESS, B.FINALIZING, B.CANCELLING]
#: Written out here, not taken from the module under test.
TERMINAL = {B.COMPLETED, B.FAILED, B.EXPIRED, B.CANCELLED}


def _expected_batch(current: B, target: B) -> bool:
    if current == target:
        return True
    if current is B.PROCESSED:
        return False
    if current in TERMINAL:
        return target is B.PROCESSED
    if target is B.PROCESSED:
        return False
    if target in TERMINAL:
        return True
    return ORDER.index(target) > ORDER.index(current)


@pytest.mark.parametrize(("current", "target"), list(itertools.product(B, B)))
def test_batch_transitions_only_move_forward(current: B, target: B) -> None:
    if _expected_batch(current, target):
        assert batch_transition(current, target) is target
    else:
        with pytest.raises(IllegalTransition, match=f"{current.value} -> {target.value}"):
            batch_transition(current, target)


def test_only_terminal_batches_can_be_processed() -> None:
    assert batch_sources(B.PROCESSED) == TERMINAL
    assert BATCH_TRANSITIONS[B.PROCESSED] == frozenset()


@pytest.mark.parametrize(("provider", "ours"), sorted(PROVIDER_STATUS_MAP.items()))
def test_provider_statuses_map_one_to_one(provider: str, ours: B) -> None:
    assert from_provider_status(provider) is ours
    assert ours.value.lower() == provider


def test_expired_is_not_reported_as_failed_and_unknown_status_is_an_error() -> None:
    assert from_provider_status("expired") is B.EXPIRED
    with pytest.raises(ValueError, match="unknown provider batch status"):
        from_provider_status("paused")
    assert (
        set(PROVIDER_STATUS_MAP.values())
        == {B.VALIDATING, B.IN_PROGRESS, B.FINALIZING, B.CANCELLING} | TERMINAL
    )
    assert {B.VALIDATING, B.IN_PROGRESS, B.FINALIZING, B.CANCELLING} == IN_FLIGHT


class TestResolveRequest:
    def test_success_completes(self) -> None:
        r = resolve_request(OutcomeKind.SUCCEEDED, attempt=2, max_attempts=3, reason=None, backoff_base_s=10)
        assert (r.status, r.attempt, r.error, r.retry_after_s) == (R.PROCESSING_COMPLETE, 2, None, None)
        assert not r.emits_pending

    @pytest.mark.parametrize("kind", [OutcomeKind.FAILED, OutcomeKind.UNFINISHED])
    def test_failure_retries_with_next_attempt_until_the_cap(self, kind: OutcomeKind) -> None:
        first = resolve_request(kind, attempt=1, max_attempts=3, reason="boom", backoff_base_s=10)
        assert (first.status, first.attempt, first.error) == (R.PENDING_BATCHING, 2, "boom")
        assert first.retry_after_s == 10 and first.emits_pending
        second = resolve_request(kind, attempt=2, max_attempts=3, reason="boom", backoff_base_s=10)
        assert (second.attempt, second.retry_after_s) == (3, 20)
        last = resolve_request(kind, attempt=3, max_attempts=3, reason="boom", backoff_base_s=10)
        assert last.status is R.PROCESSING_FAILED and last.attempt == 3
        assert last.error == "boom (after 3 attempts)" and not last.emits_pending

    def test_requeue_keeps_the_attempt_even_at_the_cap(self) -> None:
        r = resolve_request(OutcomeKind.REQUEUED, attempt=3, max_attempts=3, reason="token", backoff_base_s=5)
        assert (r.status, r.attempt, r.error) == (R.PENDING_BATCHING, 3, "token")
        assert (r.retry_after_s, r.requeues) == (5, 1)  # a first requeue waits the base, whatever the attempt

    def test_each_requeue_waits_twice_as_long_up_to_64x_the_base(self) -> None:
        def after(requeues: int) -> tuple[float | None, int | None]:
            r = resolve_request(OutcomeKind.REQUEUED, attempt=1, max_attempts=3, reason="token",
                                backoff_base_s=5, requeues=requeues)  # fmt: skip
            return r.retry_after_s, r.requeues

        assert [after(n) for n in (0, 1, 2, 3)] == [(5, 1), (10, 2), (20, 3), (40, 4)]
        assert after(6) == (320, 7) and after(40) == (320, 41)  # capped: 64 x 5 s

    def test_other_outcomes_leave_the_requeue_count_alone(self) -> None:
        for kind in (OutcomeKind.SUCCEEDED, OutcomeKind.FAILED, OutcomeKind.UNFINISHED):
            r = resolve_request(kind, attempt=1, max_attempts=3, reason="x", backoff_base_s=5, requeues=4)
            assert r.requeues is None


def test_retry_delay_grows_and_is_capped() -> None:
    assert [retry_delay_s(a, 1) for a in (1, 2, 3, 4)] == [1, 2, 4, 8]
    assert retry_delay_s(50, 1) == 64


class TestUnfinishedReason:
    def test_expired_and_cancelled_are_retried(self) -> None:
        assert unfinished_reason(B.EXPIRED, [], None)[0] is OutcomeKind.UNFINISHED
        assert "batch_cancelled" in unfinished_reason(B.CANCELLED, [], None)[1]

    def test_token_limit_failure_is_a_requeue_not_a_strike(self) -> None:
        kind, reason = unfinished_reason(B.FAILED, ["token_limit_exceeded"], "token_limit_exceeded: too many")
        assert kind is OutcomeKind.REQUEUED and "token_limit_exceeded" in reason

    def test_a_released_submission_is_a_requeue_not_a_strike(self) -> None:
        kind, reason = unfinished_reason(B.FAILED, ["submission_released"], "6 transient errors")
        assert (kind, reason) == (OutcomeKind.REQUEUED, "batch_failed: 6 transient errors")

    def test_other_validation_failure_costs_an_attempt(self) -> None:
        kind, reason = unfinished_reason(B.FAILED, ["invalid_request"], "bad line")
        assert kind is OutcomeKind.UNFINISHED and reason == "batch_failed: bad line"

    def test_missing_from_a_completed_batch_is_a_failure(self) -> None:
        assert unfinished_reason(B.COMPLETED, [], None)[0] is OutcomeKind.FAILED


def test_polling_never_faster_than_minimum_and_capped() -> None:
    delays = [next_poll_delay_s(n, min_interval_s=60, max_interval_s=600) for n in range(20)]
    assert delays[0] == 60 and min(delays) == 60 and max(delays) == 600
    assert delays == sorted(delays)


def test_overdue_after_window_plus_grace() -> None:
    created = datetime(2026, 1, 1, tzinfo=UTC)
    window, grace = parse_window("24h"), timedelta(hours=1)
    assert not is_overdue(created, window=window, grace=grace, now=created + timedelta(hours=25))
    assert is_overdue(created, window=window, grace=grace, now=created + timedelta(hours=25, seconds=1))
    assert parse_window("30m") == timedelta(minutes=30) and parse_window("2d") == timedelta(days=2)
    with pytest.raises(ValueError, match="unsupported"):
        parse_window("24x")


def test_poller_makes_odd_provider_answers_storable() -> None:
    from services.poller.service import _count, _storable

    assert _storable("x" * 100 + "\x00", 64) == "x" * 64
    assert _storable("a\x00b", 10) == "a\ufffdb"
    assert (_count(2**40), _count(-5), _count(7)) == (2**31 - 1, 0, 7)
