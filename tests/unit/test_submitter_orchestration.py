"""The submitter's decisions, in memory (no I/O beyond a temporary JSONL file): takeover, retries, failures.

The store and the provider are fakes (``tests.fake_stores``, ``tests.fakes``) that apply the same guarded moves as the SQL.
What stays integration-only: the advisory lock itself (a session lock PostgreSQL drops with its
connection) and a takeover after a database restart while the first owner lives on
(``tests/reliability/test_submitter_lock_loss.py``); here a lock is a set, and the fencing by attempt
number is played by changing the attempt while the upload is in flight.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import orjson

from services.submitter.accumulator import GroupKey
from services.submitter.service import Submitter, SubmitterConfig, submit_retry_delay_s
from shared.events import BatchCompleted, BatchCreated
from shared.lifecycle import (
    BatchStatus,
    OutcomeKind,
    RequestStatus,
    resolve_request,
    unfinished_reason,
)
from shared.provider.base import PermanentProviderError, RetryableProviderError
from tests.fake_stores import FakeSubmitterStore
from tests.fakes import FakeBatchProvider

GROUP = GroupKey("acme", "gpt-4o-mini")
CREATED, COMPLETED = "t.batch.created", "t.batch.completed"


def submitter(store: FakeSubmitterStore, provider: FakeBatchProvider, tmp_path: Path, *,
              max_bytes: int = 10**6, retry_delay_s: float = 30.0) -> Submitter:
    config = SubmitterConfig(max_requests=10, max_bytes=max_bytes, max_conversation_chars=10_000,
                             retry_delay_s=retry_delay_s, batch_created_topic=CREATED,
                             batch_completed_topic=COMPLETED, work_dir=tmp_path)
    return Submitter(store, provider, config, on_commit=lambda: None)


def announced(store: FakeSubmitterStore) -> list[tuple[str, str, uuid.UUID]]:
    return [(topic, type(e).__name__, e.batch_id) for topic, e in store.outbox
            if isinstance(e, BatchCreated | BatchCompleted)]


async def test_a_group_is_claimed_uploaded_created_and_announced_once(tmp_path: Path) -> None:
    store, provider = FakeSubmitterStore(), FakeBatchProvider()
    ids = [store.add_request(f"question {i}") for i in range(3)]
    assert await submitter(store, provider, tmp_path).flush_group(GROUP) == 1
    [batch] = store.batches.values()
    assert batch.status == "VALIDATING" and batch.submit_attempts == 1
    assert batch.provider_batch_id == "batch_2"  # file-1 uploaded, then batch_2 created
    assert provider.called("create_batch") == ["file-1"] and len(provider.files["file-1"]) == 3
    assert provider.called("list_batches") == []  # a first attempt has nothing to look for
    assert announced(store) == [(CREATED, "BatchCreated", batch.id)]
    assert {store.requests[i].status for i in ids} == {"BATCHING_IN_PROGRESS"}
    assert store.held == set()  # the lock was released


async def test_a_batch_left_pending_by_a_dead_process_is_resumed(tmp_path: Path) -> None:
    store, provider = FakeSubmitterStore(), FakeBatchProvider()
    batch_id = store.left_behind([store.add_request(), store.add_request()], age_s=600, attempts=1)
    assert await submitter(store, provider, tmp_path).reconcile_once() == 1
    batch = store.batches[batch_id]
    assert batch.submit_attempts == 2 and batch.status == "VALIDATING"
    # Looked for an earlier creation first, and again after its upload (a takeover): none.
    assert provider.called("list_batches") == ["100", "100"]
    assert len(provider.called("create_batch")) == 1
    assert announced(store) == [(CREATED, "BatchCreated", batch_id)]


async def test_a_batch_already_created_at_the_provider_is_found_by_metadata_not_created_twice(
        tmp_path: Path) -> None:
    store, provider = FakeSubmitterStore(), FakeBatchProvider()
    batch_id = store.left_behind([store.add_request()], age_s=600, attempts=1, input_file_id="file-in-1")
    provider.add_batch("validating", local_batch_id=str(uuid.uuid4()))  # someone else's
    existing = provider.add_batch("in_progress", local_batch_id=str(batch_id))  # the dead process's
    s = submitter(store, provider, tmp_path)
    assert await s.reconcile_once() == 1
    assert store.batches[batch_id].provider_batch_id == existing.id == "batch_2"
    assert provider.called("upload_file") == [] and provider.called("create_batch") == []
    assert announced(store) == [(CREATED, "BatchCreated", batch_id)]
    assert s.stats["batches_reconciled"] == 1


async def test_a_batch_whose_owner_is_alive_is_left_alone(tmp_path: Path) -> None:
    store, provider = FakeSubmitterStore(), FakeBatchProvider()
    batch_id = store.left_behind([store.add_request()], age_s=600, attempts=1)
    store.held.add(batch_id)  # its submitter still holds the lock
    assert await submitter(store, provider, tmp_path).reconcile_once() == 0
    assert store.batches[batch_id].submit_attempts == 1 and provider.calls == []


async def test_an_upload_overtaken_by_a_takeover_creates_nothing(tmp_path: Path) -> None:
    store, provider = FakeSubmitterStore(), FakeBatchProvider()
    store.add_request()

    def another_submitter_takes_over() -> None:
        [batch] = store.batches.values()
        batch.submit_attempts += 1

    provider.before["upload_file"] = another_submitter_takes_over
    await submitter(store, provider, tmp_path).flush_group(GROUP)
    [batch] = store.batches.values()
    assert provider.called("create_batch") == [] and batch.input_file_id is None
    assert batch.status == "PENDING_SUBMISSION" and store.outbox == []


async def test_each_request_s_line_is_recorded_with_the_upload_as_the_file_has_it(tmp_path: Path) -> None:
    store, provider = FakeSubmitterStore(), FakeBatchProvider()
    ids = [store.add_request(f"question {i}") for i in range(3)]
    await submitter(store, provider, tmp_path).flush_group(GROUP)
    [batch] = store.batches.values()
    in_file = [uuid.UUID(orjson.loads(line)["custom_id"]) for line in provider.files["file-1"]]
    assert sorted(in_file) == sorted(ids)
    assert store.lines[batch.id] == {in_file[0]: 1, in_file[1]: 2, in_file[2]: 3}


async def test_an_upload_overtaken_by_a_takeover_records_no_lines(tmp_path: Path) -> None:
    store, provider = FakeSubmitterStore(), FakeBatchProvider()
    store.add_request()

    def another_submitter_takes_over() -> None:
        [batch] = store.batches.values()
        batch.submit_attempts += 1

    provider.before["upload_file"] = another_submitter_takes_over
    await submitter(store, provider, tmp_path).flush_group(GROUP)
    assert store.lines == {}


async def test_a_takeover_keeps_the_copy_its_predecessor_created_during_the_upload(tmp_path: Path) -> None:
    """Chaos run, seed 2: the first owner's create was stuck in retries (provider down) when a database
    restart freed its lock; the reconciler took over, found nothing, uploaded; meanwhile the first
    owner's create landed and was recorded. The takeover then created a second provider batch (later
    cancelled). Now it looks again before creating and keeps the copy that exists."""
    store, provider = FakeSubmitterStore(), FakeBatchProvider()
    batch_id = store.left_behind([store.add_request()], age_s=600, attempts=1)
    landed: list[str] = []

    def the_first_owners_create_lands() -> None:
        landed.append(provider.add_batch("validating", local_batch_id=str(batch_id)).id)

    provider.before["upload_file"] = the_first_owners_create_lands
    s = submitter(store, provider, tmp_path)
    assert await s.reconcile_once() == 1
    assert provider.called("create_batch") == [] and provider.called("cancel_batch") == []
    assert store.batches[batch_id].provider_batch_id == landed[0]
    assert store.batches[batch_id].status == "VALIDATING"
    assert announced(store) == [(CREATED, "BatchCreated", batch_id)]
    assert s.stats["batches_reconciled"] == 1


async def test_losing_the_race_to_record_cancels_the_duplicate(tmp_path: Path) -> None:
    store, provider = FakeSubmitterStore(), FakeBatchProvider()
    store.add_request()

    def the_other_submitter_records_first() -> None:
        [batch] = store.batches.values()
        batch.status, batch.provider_batch_id = "VALIDATING", "batch_winner"

    provider.before["create_batch"] = the_other_submitter_records_first
    s = submitter(store, provider, tmp_path)
    await s.flush_group(GROUP)
    assert provider.called("cancel_batch") == ["batch_2"]
    assert next(iter(store.batches.values())).provider_batch_id == "batch_winner"
    assert store.outbox == [] and s.stats["orphans_cancelled"] == 1


async def test_a_retryable_error_schedules_a_retry_with_backoff_and_charges_one_attempt(tmp_path: Path) -> None:
    store, provider = FakeSubmitterStore(), FakeBatchProvider()
    store.add_request()
    provider.fail_next["create_batch"] = [RetryableProviderError("503 from provider", status=503),
                                          RetryableProviderError("503 again", status=503)]
    s = submitter(store, provider, tmp_path, retry_delay_s=30.0)
    await s.flush_group(GROUP)
    [batch] = store.batches.values()
    start = store.clock.now
    assert batch.status == "PENDING_SUBMISSION" and batch.submit_attempts == 1
    assert batch.last_error == "503 from provider"
    assert (batch.submit_retry_at - start).total_seconds() == 30.0

    store.clock.advance(29)
    assert await s.reconcile_once() == 0  # not due yet
    store.clock.advance(1)
    assert await s.reconcile_once() == 1
    assert batch.submit_attempts == 2 and (batch.submit_retry_at - store.clock.now).total_seconds() == 60.0

    store.clock.advance(60)
    assert await s.reconcile_once() == 1
    assert batch.status == "VALIDATING" and batch.submit_attempts == 3 and batch.submit_retry_at is None
    assert len(provider.called("create_batch")) == 3 and s.stats["attempt_errors"] == 2
    assert announced(store) == [(CREATED, "BatchCreated", batch.id)]


def test_the_submission_backoff_doubles_from_the_base_up_to_ten_minutes() -> None:
    assert [submit_retry_delay_s(n, 30.0) for n in range(1, 8)] == [30, 60, 120, 240, 480, 600, 600]


async def test_a_permanent_error_fails_the_batch_and_leaves_its_requests_to_the_lifecycle(tmp_path: Path) -> None:
    store, provider = FakeSubmitterStore(), FakeBatchProvider()
    ids = [store.add_request(), store.add_request()]
    provider.fail_next["create_batch"] = [PermanentProviderError("invalid input file", status=400)]
    s = submitter(store, provider, tmp_path)
    await s.flush_group(GROUP)
    [batch] = store.batches.values()
    assert batch.status == "FAILED" and batch.last_error == "provider rejected the batch: invalid input file"
    assert batch.submit_retry_at is None and len(provider.called("create_batch")) == 1
    assert announced(store) == [(COMPLETED, "BatchCompleted", batch.id)]
    # The requests stay claimed by the failed batch: the ingester resolves them like any failed batch's.
    assert [(store.requests[i].status, store.requests[i].batch_id) for i in ids] == [
        ("BATCHING_IN_PROGRESS", batch.id)] * 2
    kind, reason = unfinished_reason(BatchStatus.FAILED, [], batch.last_error)
    assert (kind, reason) == (OutcomeKind.UNFINISHED, "batch_failed: provider rejected the batch: invalid input file")
    again = resolve_request(kind, attempt=1, max_attempts=3, reason=reason, backoff_base_s=30)
    assert (again.status, again.attempt, again.retry_after_s) == (RequestStatus.PENDING_BATCHING, 2, 30)
    last = resolve_request(kind, attempt=3, max_attempts=3, reason=reason, backoff_base_s=30)
    assert last.status is RequestStatus.PROCESSING_FAILED
    assert last.error == "batch_failed: provider rejected the batch: invalid input file (after 3 attempts)"


async def test_a_request_too_large_for_any_file_fails_alone_and_overflow_goes_back(tmp_path: Path) -> None:
    store, provider = FakeSubmitterStore(), FakeBatchProvider()
    small = [store.add_request(f"question {i}") for i in range(4)]  # 557-byte lines: three fit in 2,000
    huge = store.add_request("x" * 3000)  # a 3,555-byte line
    await submitter(store, provider, tmp_path, max_bytes=2000).flush_group(GROUP)
    [batch] = store.batches.values()
    assert len(provider.files["file-1"]) == 3 and batch.status == "VALIDATING"
    assert [store.requests[i].status for i in small] == ["BATCHING_IN_PROGRESS"] * 3 + ["PENDING_BATCHING"]
    assert store.requests[small[3]].batch_id is None
    assert store.requests[huge].status == "PROCESSING_FAILED"
    assert store.requests[huge].error == "request_too_large: its line exceeds the 2000-byte file limit"


async def test_a_batch_left_with_no_line_fails_as_empty(tmp_path: Path) -> None:
    store, provider = FakeSubmitterStore(), FakeBatchProvider()
    store.add_request("x" * 3000)
    await submitter(store, provider, tmp_path, max_bytes=2000).flush_group(GROUP)
    [batch] = store.batches.values()
    assert batch.status == "FAILED" and batch.last_error == "empty: no request left to submit"
    assert provider.calls == [] and announced(store) == [(COMPLETED, "BatchCompleted", batch.id)]
