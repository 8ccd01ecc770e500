"""Validation errors that name input lines charge only the requests on those lines.

The pure rule (``services.ingester.lines``) and the same rule through the real ``Ingester`` with the
in-memory store, whose members carry their line as the position of the request in the batch (the
first request added is line 1). Expected statuses, attempts, reasons and delays are written out from
the documented rules (max 3 attempts, backoff base 10 s), never computed by the code under test.
"""

from __future__ import annotations

import uuid

from services.ingester.batches import line_errors
from services.ingester.lines import named_requests
from services.ingester.ports import LineError, Member
from services.ingester.service import Ingester, IngesterConfig
from shared.analysis import ProcessingType
from shared.events import RequestPending
from shared.lifecycle import BatchStatus, OutcomeKind, RequestStatus, resolve_request
from tests.fakes import FakeBatchProvider, FakeIngestStore

BAD_BODY = "the body is not a valid request"
UNTRIED_2 = "batch_failed: not run; the provider refused the batch for 2 other lines"


def member(line: int | None, *, is_open: bool = True) -> Member:
    return Member(ProcessingType.SUMMARY, 1, "s", is_open, line)


def make(store: FakeIngestStore) -> Ingester:
    config = IngesterConfig(max_attempts=3, retry_backoff_s=10.0, request_pending_topic="request.pending")
    return Ingester(store, FakeBatchProvider(), config, on_commit=lambda: None)


def failed_batch(store: FakeIngestStore, *errors: LineError, codes: tuple[str, ...] = ()) -> uuid.UUID:
    return store.add_batch(
        BatchStatus.FAILED, error_codes=codes or tuple(e.code or "" for e in errors), last_error="refused",
        output_file_id=None, error_file_id=None, validation_errors=errors,
    )  # fmt: skip


def test_named_lines_map_to_their_requests_with_the_lines_reasons() -> None:
    members = {"a": member(1), "b": member(2), "c": member(3)}
    errors = [LineError(3, "invalid_url", "wrong url"), LineError(1, "invalid_request", BAD_BODY)]
    assert named_requests(BatchStatus.FAILED, errors, members) == {
        "c": "invalid_url: wrong url",
        "a": f"invalid_request: {BAD_BODY}",
    }


def test_two_errors_on_one_line_are_both_the_reason() -> None:
    members = {"a": member(1), "b": member(2)}
    errors = [LineError(2, "invalid_value", "bad method"), LineError(2, "invalid_url", "bad url")]
    assert named_requests(BatchStatus.FAILED, errors, members) == {
        "b": "invalid_value: bad method; invalid_url: bad url"
    }


def test_any_batch_wide_error_keeps_the_old_rule() -> None:
    members = {"a": member(1), "b": member(2)}
    errors = [LineError(1, "invalid_request", BAD_BODY), LineError(None, "token_limit_exceeded", "full")]
    assert named_requests(BatchStatus.FAILED, errors, members) is None
    assert named_requests(BatchStatus.FAILED, [], members) is None


def test_a_line_no_request_was_on_keeps_the_old_rule() -> None:
    assert named_requests(BatchStatus.FAILED, [LineError(3, "x", "y")], {"a": member(1)}) is None
    # A file written before lines were recorded: no member has a line.
    assert named_requests(BatchStatus.FAILED, [LineError(1, "x", "y")], {"a": member(None)}) is None


def test_only_a_failed_batch_is_read_by_line() -> None:
    members = {"a": member(1)}
    for status in (BatchStatus.COMPLETED, BatchStatus.EXPIRED, BatchStatus.CANCELLED):
        assert named_requests(status, [LineError(1, "x", "y")], members) is None


def test_stored_errors_read_back_malformed_entries_as_batch_wide() -> None:
    stored = [
        {"code": "invalid_request", "message": "m", "param": "body", "line": 4},
        {"code": "token_limit_exceeded", "message": "full", "param": None, "line": None},
        {"code": "x", "line": True},
        "not an object",
    ]
    assert line_errors(stored) == (
        LineError(4, "invalid_request", "m"),
        LineError(None, "token_limit_exceeded", "full"),
        LineError(None, "x", None),
        LineError(None, None, None),
    )
    assert line_errors(None) == ()


def test_an_untried_request_goes_back_at_the_same_attempt_at_once() -> None:
    got = resolve_request(
        OutcomeKind.UNTRIED, attempt=3, max_attempts=3, reason="not run", backoff_base_s=10.0, requeues=2
    )
    assert (got.status, got.attempt, got.error, got.retry_after_s, got.requeues) == (
        RequestStatus.PENDING_BATCHING, 3, "not run", 0.0, None)  # fmt: skip


async def test_only_the_named_lines_are_charged_and_the_others_go_back_uncharged() -> None:
    store = FakeIngestStore()
    bid = failed_batch(
        store, LineError(2, "invalid_request", BAD_BODY), LineError(4, "invalid_url", "wrong url")
    )
    ids = [store.add_request(bid, f"s-{n}", attempt=3 if n == 4 else 1) for n in range(1, 6)]

    report = await make(store).ingest(bid)

    line_2, line_4 = store.request(ids[1]), store.request(ids[3])
    assert (line_2.status, line_2.attempt, line_2.error, line_2.retry_after_s) == (
        RequestStatus.PENDING_BATCHING, 2, f"invalid_request: {BAD_BODY}", 10.0)  # fmt: skip
    assert (line_4.status, line_4.attempt, line_4.error) == (
        RequestStatus.PROCESSING_FAILED, 3, "invalid_url: wrong url (after 3 attempts)")  # fmt: skip
    for n in (0, 2, 4):
        got = store.request(ids[n])
        assert (got.status, got.attempt, got.error, got.retry_after_s, got.requeues, got.batch_id) == (
            RequestStatus.PENDING_BATCHING, 1, UNTRIED_2, 0.0, 0, None)  # fmt: skip
    assert (report.completed, report.retried, report.failed) == (0, 4, 1)
    assert store.counts[bid] == (0, 1)
    announced = sorted((e.request_id, e.attempt) for e in store.outbox if isinstance(e, RequestPending))
    assert announced == sorted([(ids[0], 1), (ids[1], 2), (ids[2], 1), (ids[4], 1)])


async def test_a_batch_wide_error_beside_named_lines_charges_every_request() -> None:
    store = FakeIngestStore()
    bid = failed_batch(
        store, LineError(1, "invalid_request", BAD_BODY), LineError(None, "invalid_request", "all")
    )
    ids = [store.add_request(bid, f"s-{n}") for n in range(2)]

    await make(store).ingest(bid)

    for cid in ids:
        got = store.request(cid)
        assert (got.status, got.attempt, got.error) == (
            RequestStatus.PENDING_BATCHING, 2, "batch_failed: refused")  # fmt: skip


async def test_a_token_limit_refusal_still_requeues_without_a_charge() -> None:
    store = FakeIngestStore()
    bid = failed_batch(store, LineError(None, "token_limit_exceeded", "full"))
    cid = store.add_request(bid, "s-1")

    await make(store).ingest(bid)

    got = store.request(cid)
    assert (got.status, got.attempt, got.requeues, got.retry_after_s) == (
        RequestStatus.PENDING_BATCHING, 1, 1, 10.0)  # fmt: skip


async def test_unrecorded_lines_charge_every_request_as_before() -> None:
    store = FakeIngestStore()
    bid = failed_batch(store, LineError(1, "invalid_request", BAD_BODY))
    store.unlined.add(bid)
    ids = [store.add_request(bid, f"s-{n}") for n in range(2)]

    await make(store).ingest(bid)

    assert [store.request(cid).attempt for cid in ids] == [2, 2]
    assert {store.request(cid).error for cid in ids} == {"batch_failed: refused"}
