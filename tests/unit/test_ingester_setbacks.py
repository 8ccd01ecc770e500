"""Files that cannot be read, and batches that keep failing: the ingester's fault rules, no I/O.

Expected statuses, attempts, reasons and delays are written out by hand from the documented rules
(max 3 attempts; setbacks wait 10 s, 20 s, 40 s ... and a batch is quarantined at its 3rd counted
failure here); none is computed by the code under test.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import pytest

from services.ingester.service import Ingester, IngesterConfig
from services.ingester.setbacks import SetbackPolicy
from shared.lifecycle import BatchStatus, RequestStatus
from shared.periodic import Backoff
from shared.provider.base import ConfigurationFault, PermanentProviderError, RetryableProviderError
from tests.fakes import FakeBatchProvider, FakeIngestStore, answer_line, error_line

GOOD = {"sentiment": "NEUTRAL", "category": "ONBOARDING", "summary": "first day", "language": "nl"}
GONE = "file_unreadable: output file file-out: no file file-out"


def make(store: FakeIngestStore, provider: FakeBatchProvider, **overrides: Any) -> Ingester:
    config = IngesterConfig(
        max_attempts=3, retry_backoff_s=10.0, request_pending_topic="request.pending",
        setback_base_s=10.0, setback_cap_s=1_000.0, quarantine_after=3,
    )  # fmt: skip
    return Ingester(store, provider, replace(config, **overrides), on_commit=lambda: None)


class BrokenFiles(FakeBatchProvider):
    """Every download of a file in ``broken`` raises its error, after serving ``served`` lines of it."""

    def __init__(self, broken: dict[str, Exception], served: int = 0) -> None:
        super().__init__()
        self.broken = broken
        self.served = served

    async def iter_file_lines(self, file_id: str) -> AsyncIterator[bytes]:
        self.calls.append(("iter_file_lines", file_id))
        if file_id in self.broken:
            for line in self.files.get(file_id, [])[: self.served]:
                yield line
            raise self.broken[file_id]
        for line in self.files.get(file_id, []):
            yield line


async def test_a_deleted_output_file_resolves_its_requests_like_missing_lines() -> None:
    store, provider = FakeIngestStore(), FakeBatchProvider()
    bid = store.add_batch(BatchStatus.COMPLETED)
    by_error_line = store.add_request(bid, "s-1")
    fresh = store.add_request(bid, "s-2", attempt=1)
    worn = store.add_request(bid, "s-3", attempt=3)
    provider.files["file-err"] = [error_line(by_error_line, "server_error", "boom")]  # no "file-out": 404

    report = await make(store, provider).ingest(bid)

    assert (report.completed, report.retried, report.failed, report.unreadable_files) == (0, 2, 1, 1)
    assert (store.request(by_error_line).attempt, store.request(by_error_line).error) == (2, "server_error: boom")
    assert (store.request(fresh).status, store.request(fresh).attempt, store.request(fresh).error) == (
        RequestStatus.PENDING_BATCHING, 2, GONE)  # fmt: skip
    assert (store.request(worn).status, store.request(worn).error) == (
        RequestStatus.PROCESSING_FAILED, GONE + " (after 3 attempts)")  # fmt: skip
    assert store.batches[bid].status is BatchStatus.PROCESSED
    assert store.notes[bid] == GONE
    assert store.setbacks == []


async def test_lines_read_before_a_permanent_error_still_decide_their_requests() -> None:
    too_long = PermanentProviderError("GET /files/file-out/content failed: a line exceeds 10 bytes")
    store, provider = FakeIngestStore(), BrokenFiles({"file-out": too_long}, served=1)
    bid = store.add_batch(BatchStatus.COMPLETED, error_file_id=None)
    first, second = store.add_request(bid, "s-1"), store.add_request(bid, "s-2")
    provider.files["file-out"] = [answer_line(first, GOOD), answer_line(second, GOOD)]

    report = await make(store, provider).ingest(bid)

    reason = "file_unreadable: output file file-out: GET /files/file-out/content failed: a line exceeds 10 bytes"
    assert (report.completed, report.retried) == (1, 1)
    assert store.request(first).status is RequestStatus.PROCESSING_COMPLETE
    assert (store.request(second).status, store.request(second).error) == (RequestStatus.PENDING_BATCHING, reason)
    assert store.notes[bid] == reason


async def test_an_expired_batch_with_a_lost_file_names_both_reasons() -> None:
    store, provider = FakeIngestStore(), FakeBatchProvider()
    bid = store.add_batch(BatchStatus.EXPIRED, error_file_id=None)
    r = store.add_request(bid, "s-1", attempt=2)

    await make(store, provider).ingest(bid)

    assert (store.request(r).status, store.request(r).attempt, store.request(r).error) == (
        RequestStatus.PENDING_BATCHING, 3,
        "batch_expired: the batch expired before this request ran; " + GONE)  # fmt: skip


async def test_a_transient_download_error_on_the_event_path_is_raised_and_writes_nothing() -> None:
    outage = RetryableProviderError("GET /files/file-out/content failed: HTTP 503", status=503)
    store, provider = FakeIngestStore(), BrokenFiles({"file-out": outage})
    bid = store.add_batch(BatchStatus.COMPLETED)
    r = store.add_request(bid, "s-1")

    with pytest.raises(RetryableProviderError):  # the consumer loop retries it: transient, never a DLQ
        await make(store, provider).handle_event(bid)

    assert (store.request(r).status, store.batches[bid].status) == (
        RequestStatus.BATCHING_IN_PROGRESS, BatchStatus.COMPLETED)  # fmt: skip
    assert store.setbacks == []


async def test_a_configuration_fault_sets_the_batch_back_without_counting_or_writing_requests() -> None:
    revoked = ConfigurationFault("GET /files/file-out/content failed: HTTP 401", status=401)
    store, provider = FakeIngestStore(), BrokenFiles({"file-out": revoked})
    bid = store.add_batch(BatchStatus.COMPLETED)
    r = store.add_request(bid, "s-1")
    ingester = make(store, provider)

    reports = [await ingester.handle_event(bid) for _ in range(5)]  # more than quarantine_after

    assert [(s.failures, s.retry_after_s, s.quarantined) for _, s in store.setbacks] == [(0, 10.0, False)] * 5
    assert reports[0].setback == "ConfigurationFault: GET /files/file-out/content failed: HTTP 401"
    assert store.request(r).status is RequestStatus.BATCHING_IN_PROGRESS
    assert not store.batches[bid].quarantined


async def test_one_failing_batch_never_blocks_the_sweep_of_the_others() -> None:
    outage = RetryableProviderError("GET /files/out-bad/content failed: HTTP 500", status=500)
    store, provider = FakeIngestStore(), BrokenFiles({"out-bad": outage})
    bad = store.add_batch(BatchStatus.COMPLETED, output_file_id="out-bad", error_file_id=None)  # swept first
    goods = [store.add_batch(BatchStatus.COMPLETED, output_file_id=f"out-{n}", error_file_id=None) for n in (1, 2)]
    stuck = store.add_request(bad, "s-bad")
    answered = [store.add_request(g, f"s-{n}") for n, g in enumerate(goods)]
    for n, cid in enumerate(answered, start=1):
        provider.files[f"out-{n}"] = [answer_line(cid, GOOD)]
    ingester = make(store, provider)

    assert await ingester.sweep_once(older_than_s=0) == 2

    assert [store.request(c).status for c in answered] == [RequestStatus.PROCESSING_COMPLETE] * 2
    assert [store.batches[g].status for g in goods] == [BatchStatus.PROCESSED] * 2
    assert store.request(stuck).status is RequestStatus.BATCHING_IN_PROGRESS
    ((batch_id, setback),) = store.setbacks
    assert (batch_id, setback.failures, setback.retry_after_s, setback.quarantined, setback.reason) == (
        bad, 1, 10.0, False, "RetryableProviderError: GET /files/out-bad/content failed: HTTP 500")  # fmt: skip
    assert await store.overdue_unprocessed(older_than_s=0) == []  # backing off: not due before 10 s


async def test_a_batch_that_keeps_failing_backs_off_then_is_quarantined_and_left_alone() -> None:
    outage = RetryableProviderError("GET /files/file-out/content failed: timeout")
    store, provider = FakeIngestStore(), BrokenFiles({"file-out": outage})
    bid = store.add_batch(BatchStatus.COMPLETED)
    r = store.add_request(bid, "s-1")
    ingester = make(store, provider)

    for _ in range(3):
        assert await ingester.sweep_once(older_than_s=0) == 0
        store.clock = store.retry_at[bid]  # time passes until the batch is due again

    assert [(s.failures, s.retry_after_s, s.quarantined) for _, s in store.setbacks] == [
        (1, 10.0, False), (2, 20.0, False), (3, 40.0, True)]  # fmt: skip
    assert store.setbacks[-1][1].reason == (
        "quarantined after 3 consecutive failed ingests; "
        "last: RetryableProviderError: GET /files/file-out/content failed: timeout")  # fmt: skip
    store.clock += 10_000
    assert await store.overdue_unprocessed(older_than_s=0) == []
    downloads = len(provider.called("iter_file_lines"))
    report = await ingester.handle_event(bid)  # the event path leaves it alone too
    assert (report.skipped, report.status) == (True, "quarantined")
    assert len(provider.called("iter_file_lines")) == downloads == 3
    assert store.request(r).status is RequestStatus.BATCHING_IN_PROGRESS


async def test_our_own_infrastructure_failing_ends_the_round_without_a_setback() -> None:
    store, provider = FakeIngestStore(), BrokenFiles({"file-out": ConnectionResetError("disk or database")})
    bid = store.add_batch(BatchStatus.COMPLETED)
    store.add_request(bid, "s-1")

    with pytest.raises(ConnectionResetError):
        await make(store, provider).sweep_once(older_than_s=0)
    assert store.setbacks == []


@pytest.mark.parametrize(
    ("error", "stored", "expected"),
    [
        (RetryableProviderError("x"), 0, (1, 10.0, False)),
        (RetryableProviderError("x"), 1, (2, 20.0, False)),
        (RuntimeError("x"), 3, (4, 80.0, True)),  # a bug on the batch's data counts too
        (RetryableProviderError("x"), 9, (10, 100.0, True)),  # capped at 100 s
        (ConfigurationFault("x"), 0, (0, 10.0, False)),
        (ConfigurationFault("x"), 9, (9, 100.0, False)),  # never counts, never quarantines
    ],
)
def test_setback_policy(error: Exception, stored: int, expected: tuple[int, float, bool]) -> None:
    policy = SetbackPolicy(Backoff(10.0, cap_s=100.0), quarantine_after=4)
    setback = policy.decide(error, stored)
    assert (setback.failures, setback.retry_after_s, setback.quarantined) == expected


# --- file hygiene ------------------------------------------------------------------------------------


class Deletions(FakeBatchProvider):
    """Records the batch's status at each deletion; ``refuse`` maps file ids to the error they raise."""

    def __init__(self, store: FakeIngestStore, refuse: dict[str, Exception] | None = None) -> None:
        super().__init__()
        self.store = store
        self.refuse = refuse or {}
        self.status_at_delete: list[BatchStatus] = []

    async def delete_file(self, file_id: str) -> bool:
        self.status_at_delete.extend(b.status for b in self.store.batches.values())
        if file_id in self.refuse:
            self.calls.append(("delete_file", file_id))
            raise self.refuse[file_id]
        return await super().delete_file(file_id)


async def test_a_processed_batchs_files_are_deleted_after_its_commit() -> None:
    store = FakeIngestStore()
    provider = Deletions(store)
    bid = store.add_batch(BatchStatus.COMPLETED)
    r = store.add_request(bid, "s-1")
    provider.files.update({"file-in": [b"{}"], "file-out": [answer_line(r, GOOD)], "file-err": []})
    ingester = make(store, provider, keep_files=False)

    await ingester.ingest(bid)

    assert provider.called("delete_file") == ["file-in", "file-out", "file-err"]
    assert provider.status_at_delete == [BatchStatus.PROCESSED] * 3
    assert provider.files == {}
    assert (ingester.stats["files_deleted"], ingester.stats["file_delete_failures"]) == (3, 0)

    await ingester.ingest(bid)  # a replay: the batch is PROCESSED, nothing is downloaded or deleted again
    assert len(provider.called("delete_file")) == 3


async def test_a_failed_deletion_is_counted_and_never_fails_the_batch_and_a_missing_file_is_deleted() -> None:
    store = FakeIngestStore()
    outage = RetryableProviderError("DELETE /files/file-err failed: HTTP 503", status=503)
    provider = Deletions(store, refuse={"file-err": outage})
    bid = store.add_batch(BatchStatus.COMPLETED)
    r = store.add_request(bid, "s-1")
    provider.files.update({"file-out": [answer_line(r, GOOD)], "file-err": []})  # file-in: already gone (404)
    ingester = make(store, provider, keep_files=False)

    report = await ingester.ingest(bid)

    assert (report.completed, report.skipped, store.batches[bid].status) == (1, False, BatchStatus.PROCESSED)
    assert provider.called("delete_file") == ["file-in", "file-out", "file-err"]
    assert (ingester.stats["files_deleted"], ingester.stats["file_delete_failures"]) == (2, 1)


async def test_a_deletion_that_hangs_is_given_up_after_its_timeout() -> None:
    class Hanging(FakeBatchProvider):
        async def delete_file(self, file_id: str) -> bool:
            await asyncio.Event().wait()  # never answers
            return True

    store, provider = FakeIngestStore(), Hanging()
    bid = store.add_batch(BatchStatus.EXPIRED, output_file_id=None, error_file_id=None)
    store.add_request(bid, "s-1")
    ingester = make(store, provider, keep_files=False, delete_timeout_s=0.01)

    await ingester.ingest(bid)

    assert (ingester.stats["files_deleted"], ingester.stats["file_delete_failures"]) == (0, 1)
    assert store.batches[bid].status is BatchStatus.PROCESSED


async def test_files_are_kept_when_configured_and_when_another_ingester_finished_the_batch() -> None:
    store, provider = FakeIngestStore(), FakeBatchProvider()
    bid = store.add_batch(BatchStatus.COMPLETED)
    r = store.add_request(bid, "s-1")
    provider.files.update({"file-in": [b"{}"], "file-out": [answer_line(r, GOOD)], "file-err": []})

    await make(store, provider, keep_files=True).ingest(bid)
    assert provider.called("delete_file") == []

    other = store.add_batch(BatchStatus.COMPLETED, input_file_id="in-2", output_file_id=None, error_file_id=None)
    store.add_request(other, "s-2")
    first, second = await asyncio.gather(
        make(store, provider, keep_files=False).ingest(other), make(store, provider, keep_files=False).ingest(other)
    )
    assert sorted([first.skipped, second.skipped]) == [False, True]
    assert provider.called("delete_file") == ["in-2"]  # only by the one that finished it
