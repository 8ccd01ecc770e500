"""The ingester's resolution rules through the real ``Ingester``, with an in-memory store and provider.

No I/O: ``tests.fakes.FakeIngestStore`` stands for PostgreSQL (its writes guarded like the SQL's),
``FakeBatchProvider`` serves the files. Every expected status, attempt, error text and delay below is
written out by hand from the documented rules (max 3 attempts, backoff base 10 s: a retry after the
first attempt waits 10 s, after the second 20 s); none is computed by the code under test.
"""

from __future__ import annotations

import asyncio
import copy

import pytest

from services.ingester.service import Ingester, IngesterConfig, IngestReport
from shared.events import RequestPending
from shared.lifecycle import BatchStatus, RequestStatus
from tests.fakes import FakeBatchProvider, FakeIngestStore, answer_line, error_line

GOOD = {"sentiment": "NEGATIVE", "category": "LEAVE_VACATION", "summary": "wants a week off", "language": "de"}
MISSING = "missing: the request is in neither the output nor the error file"


def make(store: FakeIngestStore, provider: FakeBatchProvider, *, chunk_size: int = 2_000) -> Ingester:
    config = IngesterConfig(
        max_attempts=3, retry_backoff_s=10.0, request_pending_topic="request.pending", chunk_size=chunk_size
    )
    return Ingester(store, provider, config, on_commit=lambda: None)


def files(provider: FakeBatchProvider, output: list[bytes], errors: list[bytes] | None = None) -> None:
    provider.files["file-out"] = output
    provider.files["file-err"] = errors or []


def announced(store: FakeIngestStore) -> list[tuple[str, int]]:
    events = [e for e in store.outbox if isinstance(e, RequestPending)]
    assert len(events) == len(store.outbox)
    return sorted((e.request_id, e.attempt) for e in events)


async def test_a_good_answer_completes_its_request_and_writes_its_session_fields() -> None:
    store, provider = FakeIngestStore(), FakeBatchProvider()
    bid = store.add_batch(BatchStatus.COMPLETED)
    r = store.add_request(bid, "s-1")
    files(provider, [answer_line(r, GOOD, total_tokens=42)])

    report = await make(store, provider).ingest(bid)

    assert (report.completed, report.retried, report.failed, report.skipped) == (1, 0, 0, False)
    assert (store.request(r).status, store.request(r).error, store.request(r).total_tokens) == (
        RequestStatus.PROCESSING_COMPLETE, None, 42)  # fmt: skip
    assert store.sessions["s-1"] == GOOD
    assert store.batches[bid].status is BatchStatus.PROCESSED
    assert store.counts[bid] == (1, 0)
    assert store.outbox == []


async def test_an_error_line_retries_at_the_next_attempt_until_the_last_then_fails() -> None:
    store, provider = FakeIngestStore(), FakeBatchProvider()
    bid = store.add_batch(BatchStatus.COMPLETED)
    first, second, last = (store.add_request(bid, f"s-{n}", attempt=n) for n in (1, 2, 3))
    files(provider, [], [error_line(cid, "server_error", "boom") for cid in (first, second, last)])

    report = await make(store, provider).ingest(bid)

    assert (report.completed, report.retried, report.failed) == (0, 2, 1)
    got = {cid: store.request(cid) for cid in (first, second, last)}
    assert (got[first].status, got[first].attempt, got[first].error, got[first].retry_after_s) == (
        RequestStatus.PENDING_BATCHING, 2, "server_error: boom", 10.0)  # fmt: skip
    assert (got[second].status, got[second].attempt, got[second].retry_after_s) == (
        RequestStatus.PENDING_BATCHING, 3, 20.0)  # fmt: skip
    assert (got[last].status, got[last].attempt, got[last].error) == (
        RequestStatus.PROCESSING_FAILED, 3, "server_error: boom (after 3 attempts)")  # fmt: skip
    assert got[first].batch_id is None and got[last].batch_id == bid
    assert store.sessions == {"s-1": {}, "s-2": {}, "s-3": {}}
    assert store.counts[bid] == (0, 1)


async def test_a_request_in_neither_file_fails_as_missing() -> None:
    store, provider = FakeIngestStore(), FakeBatchProvider()
    bid = store.add_batch(BatchStatus.COMPLETED)
    answered = store.add_request(bid, "s-1")
    fresh = store.add_request(bid, "s-2", attempt=1)
    worn = store.add_request(bid, "s-3", attempt=3)
    files(provider, [answer_line(answered, GOOD)])

    report = await make(store, provider).ingest(bid)

    assert (report.completed, report.retried, report.failed) == (1, 1, 1)
    assert (store.request(fresh).status, store.request(fresh).attempt, store.request(fresh).error) == (
        RequestStatus.PENDING_BATCHING, 2, MISSING)  # fmt: skip
    assert (store.request(worn).status, store.request(worn).error) == (
        RequestStatus.PROCESSING_FAILED, MISSING + " (after 3 attempts)")  # fmt: skip
    assert store.counts[bid] == (1, 1)


@pytest.mark.parametrize(
    ("status", "reason"),
    [
        (BatchStatus.EXPIRED, "batch_expired: the batch expired before this request ran"),
        (BatchStatus.CANCELLED, "batch_cancelled: the batch was cancelled before this request ran"),
        (BatchStatus.FAILED, "batch_failed: Internal error"),
    ],
)
async def test_requests_a_finished_batch_never_ran_are_retried(status: BatchStatus, reason: str) -> None:
    store, provider = FakeIngestStore(), FakeBatchProvider()
    bid = store.add_batch(status, last_error="Internal error")
    ran = store.add_request(bid, "s-1")
    never_ran = store.add_request(bid, "s-2", attempt=2)
    files(provider, [answer_line(ran, GOOD)])

    report = await make(store, provider).ingest(bid)

    assert (report.completed, report.retried, report.failed) == (1, 1, 0)
    assert store.request(ran).status is RequestStatus.PROCESSING_COMPLETE
    got = store.request(never_ran)
    assert (got.status, got.attempt, got.error, got.retry_after_s, got.batch_id) == (
        RequestStatus.PENDING_BATCHING, 3, reason, 20.0, None)  # fmt: skip


async def test_a_batch_failed_over_the_token_limit_requeues_at_the_same_attempt() -> None:
    store, provider = FakeIngestStore(), FakeBatchProvider()
    bid = store.add_batch(
        BatchStatus.FAILED, error_codes=["token_limit_exceeded"], last_error="Enqueued token limit reached",
        output_file_id=None, error_file_id=None,
    )  # fmt: skip
    fresh = store.add_request(bid, "s-1", attempt=1)
    # At max attempts, and still not failed; requeued twice before, so it waits 4x the base now.
    last = store.add_request(bid, "s-2", attempt=3, requeues=2)

    report = await make(store, provider).ingest(bid)

    assert (report.completed, report.retried, report.failed) == (0, 2, 0)
    for cid, attempt in ((fresh, 1), (last, 3)):
        got = store.request(cid)
        assert (got.status, got.attempt, got.error) == (
            RequestStatus.PENDING_BATCHING, attempt, "batch_failed: Enqueued token limit reached")  # fmt: skip
    assert store.request(fresh).retry_after_s == 10.0
    assert store.request(last).retry_after_s == 40.0
    assert (store.request(fresh).requeues, store.request(last).requeues) == (1, 3)
    assert provider.called("iter_file_lines") == []
    assert announced(store) == sorted([(fresh, 1), (last, 3)])


async def test_retried_requests_and_only_those_are_announced_on_request_pending() -> None:
    store, provider = FakeIngestStore(), FakeBatchProvider()
    bid = store.add_batch(BatchStatus.COMPLETED)
    done = store.add_request(bid, "s-1")
    by_line = store.add_request(bid, "s-2")
    by_absence = store.add_request(bid, "s-3", attempt=2)
    dead = store.add_request(bid, "s-4", attempt=3)
    files(provider, [answer_line(done, GOOD)], [error_line(by_line, "x", "y"), error_line(dead, "x", "y")])
    commits: list[int] = []
    ingester = make(store, provider)
    ingester._on_commit = lambda: commits.append(1)

    await ingester.ingest(bid)

    assert announced(store) == sorted([(by_line, 2), (by_absence, 3)])
    event_ids = sorted(e.event_id for e in store.outbox if isinstance(e, RequestPending))
    assert event_ids == sorted([f"{by_line}:2:retry-{bid}", f"{by_absence}:3:retry-{bid}"])
    assert commits  # the outbox relay is woken


async def test_reingesting_a_processed_batch_changes_nothing() -> None:
    store, provider = FakeIngestStore(), FakeBatchProvider()
    bid = store.add_batch(BatchStatus.COMPLETED)
    good = store.add_request(bid, "s-1")
    store.add_request(bid, "s-2")
    files(provider, [answer_line(good, GOOD)])
    ingester = make(store, provider)
    await ingester.ingest(bid)
    before = copy.deepcopy((store.requests, store.sessions, store.counts, len(store.outbox)))
    downloads = len(provider.called("iter_file_lines"))

    again = await ingester.ingest(bid)

    assert again == IngestReport(str(bid), status="PROCESSED", skipped=True)
    assert (store.requests, store.sessions, store.counts, len(store.outbox)) == before
    assert len(provider.called("iter_file_lines")) == downloads  # not even downloaded again


async def test_an_unreadable_output_line_is_counted_and_its_request_resolved_as_failed() -> None:
    store, provider = FakeIngestStore(), FakeBatchProvider()
    bid = store.add_batch(BatchStatus.COMPLETED)
    good = store.add_request(bid, "s-1")
    broken = store.add_request(bid, "s-2", attempt=3)
    cut = answer_line(broken, GOOD)[:60]  # the line names the request, but is cut off mid-JSON
    assert broken.encode() in cut
    files(provider, [cut, answer_line(good, GOOD), b"\x00garbage"])

    report = await make(store, provider).ingest(bid)

    assert (report.unreadable_lines, report.completed, report.failed) == (2, 1, 1)
    assert (store.request(broken).status, store.request(broken).error) == (
        RequestStatus.PROCESSING_FAILED, MISSING + " (after 3 attempts)")  # fmt: skip
    assert store.sessions["s-2"] == {}


async def test_the_first_line_decides_and_a_duplicate_counts_once() -> None:
    store, provider = FakeIngestStore(), FakeBatchProvider()
    bid = store.add_batch(BatchStatus.COMPLETED)
    r = store.add_request(bid, "s-1")
    files(provider, [answer_line(r, GOOD, total_tokens=5)] * 2, [error_line(r, "x", "late")])

    report = await make(store, provider).ingest(bid)

    assert (report.completed, report.retried, report.failed) == (1, 0, 0)
    assert (store.request(r).status, store.request(r).total_tokens) == (RequestStatus.PROCESSING_COMPLETE, 5)


async def test_each_chunk_is_one_write_sorted_by_session() -> None:
    store, provider = FakeIngestStore(), FakeBatchProvider()
    bid = store.add_batch(BatchStatus.COMPLETED)
    ids = {s: store.add_request(bid, s) for s in ("s-e", "s-d", "s-c", "s-b", "s-a")}
    # File order e, d, c, b, a; d and a fail. Within a chunk successes come first, then failures.
    lines = [answer_line(ids["s-e"], GOOD), error_line(ids["s-d"], "x", "y"), answer_line(ids["s-c"], GOOD),
             answer_line(ids["s-b"], GOOD), error_line(ids["s-a"], "x", "y")]  # fmt: skip
    files(provider, lines)

    await make(store, provider, chunk_size=2).ingest(bid)

    assert store.chunk_sessions == [["s-e", "s-d"], ["s-b", "s-c"], ["s-a"]]


async def test_a_crash_between_chunks_is_completed_by_the_next_ingest() -> None:
    store, provider = FakeIngestStore(crash_after_chunks=1), FakeBatchProvider()
    bid = store.add_batch(BatchStatus.COMPLETED)
    a, b, c, d = (store.add_request(bid, f"s-{n}") for n in "abcd")
    files(provider, [error_line(a, "x", "y"), answer_line(b, GOOD), answer_line(c, GOOD)])
    with pytest.raises(RuntimeError, match="died"):
        await make(store, provider, chunk_size=2).ingest(bid)
    assert store.batches[bid].status is BatchStatus.COMPLETED  # the first chunk only: a, b
    assert (store.request(a).status, store.request(c).status) == (
        RequestStatus.PENDING_BATCHING, RequestStatus.BATCHING_IN_PROGRESS)  # fmt: skip

    store.crash_after_chunks = None
    report = await make(store, provider, chunk_size=2).ingest(bid)

    assert (report.completed, report.retried, report.failed, report.unreadable_lines) == (1, 1, 0, 0)
    assert [store.request(x).status for x in (a, b, c, d)] == [
        RequestStatus.PENDING_BATCHING, RequestStatus.PROCESSING_COMPLETE,
        RequestStatus.PROCESSING_COMPLETE, RequestStatus.PENDING_BATCHING]  # fmt: skip
    assert announced(store) == sorted([(a, 2), (d, 2)])  # a once, though its line was read twice
    assert store.counts[bid] == (2, 0)


async def test_two_ingesters_of_one_batch_resolve_count_and_announce_everything_once() -> None:
    store, provider = FakeIngestStore(), FakeBatchProvider()
    bid = store.add_batch(BatchStatus.COMPLETED)
    ok = [store.add_request(bid, f"s-ok-{n}") for n in range(3)]
    bad = store.add_request(bid, "s-bad")
    absent = store.add_request(bid, "s-absent", attempt=3)
    files(provider, [answer_line(r, GOOD) for r in ok], [error_line(bad, "x", "y")])

    first, second = await asyncio.gather(
        make(store, provider, chunk_size=1).ingest(bid), make(store, provider, chunk_size=1).ingest(bid)
    )

    assert first.completed + second.completed == 3
    assert (first.retried + second.retried, first.failed + second.failed) == (1, 1)
    assert sorted([first.skipped, second.skipped]) == [False, True]
    assert announced(store) == [(bad, 2)]
    assert store.counts[bid] == (3, 1)
    assert store.request(absent).status is RequestStatus.PROCESSING_FAILED


async def test_the_sweep_ingests_what_no_event_announced() -> None:
    store, provider = FakeIngestStore(), FakeBatchProvider()
    bid = store.add_batch(BatchStatus.EXPIRED, output_file_id=None, error_file_id=None)
    r = store.add_request(bid, "s-1")
    ingester = make(store, provider)

    assert await ingester.sweep_once(older_than_s=0) == 1
    assert await ingester.sweep_once(older_than_s=0) == 0
    assert store.request(r).status is RequestStatus.PENDING_BATCHING


async def test_an_over_long_summary_and_a_lower_case_sentiment_both_complete() -> None:
    store, provider = FakeIngestStore(), FakeBatchProvider()
    bid = store.add_batch(BatchStatus.COMPLETED)
    long_one = store.add_request(bid, "s-long")
    lower = store.add_request(bid, "s-lower")
    files(provider, [
        answer_line(long_one, {**GOOD, "summary": "wants leave " * 100}),  # 1,200 characters
        answer_line(lower, {**GOOD, "sentiment": "positive", "category": " leave_vacation"}),
    ])  # fmt: skip

    report = await make(store, provider).ingest(bid)

    assert (report.completed, report.retried, report.failed) == (2, 0, 0)
    # 999 characters of budget end inside "leave" of the 84th "wants leave " (12 x 83 = 996 + "wan"):
    # the cut backs off to the space after the 83rd "leave".
    assert store.sessions["s-long"]["summary"] == ("wants leave " * 83).rstrip() + "\u2026"
    assert store.sessions["s-lower"] == {**GOOD, "sentiment": "POSITIVE", "category": "LEAVE_VACATION"}
    assert store.summary_truncated == {"s-long": True, "s-lower": False}
