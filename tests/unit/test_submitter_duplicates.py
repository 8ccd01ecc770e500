"""Duplicate provider batches are recorded before they are cancelled, and settled with what they cost.

In memory (``tests.fake_stores``, ``tests.fakes``): the submitter loses the race to record its copy, the
copy is cancelled, and the reconcile round reads it until the provider shows it finished, keeping its
final request counts and token usage (what the provider bills for a cancelled batch's processed lines).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from services.submitter.accumulator import GroupKey
from services.submitter.ports import DuplicateCopy
from services.submitter.service import Submitter, SubmitterConfig
from shared.provider.base import BatchUsage, RequestCounts, RetryableProviderError
from tests.fake_stores import FakeSubmitterStore
from tests.fakes import FakeBatchProvider

GROUP = GroupKey("acme", "gpt-4o-mini")


def submitter(store: FakeSubmitterStore, provider: FakeBatchProvider, tmp_path: Path) -> Submitter:
    config = SubmitterConfig(
        max_requests=10,
        max_bytes=10**6,
        max_conversation_chars=10_000,
        retry_delay_s=30.0,
        batch_created_topic="t.created",
        batch_completed_topic="t.completed",
        work_dir=tmp_path,
    )
    return Submitter(store, provider, config, on_commit=lambda: None)


async def lose_the_race(store: FakeSubmitterStore, provider: FakeBatchProvider, s: Submitter) -> str:
    """Flush a group whose batch another submitter records first: our copy (batch_2) is the duplicate."""
    store.add_request()
    store.add_request()

    def the_other_submitter_records_first() -> None:
        [batch] = store.batches.values()
        batch.status, batch.provider_batch_id = "VALIDATING", "batch_winner"

    provider.before["create_batch"] = the_other_submitter_records_first
    await s.flush_group(GROUP)
    return "batch_2"


def finish(
    provider: FakeBatchProvider, batch_id: str, status: str, *, done: int, tokens: tuple[int, int]
) -> None:
    provider.batches[batch_id] = replace(
        provider.batches[batch_id],
        status=status,
        request_counts=RequestCounts(total=2, completed=done, failed=2 - done),
        usage=BatchUsage(input_tokens=tokens[0], output_tokens=tokens[1]),
    )


async def test_a_cancelled_duplicate_is_recorded_then_settled_with_its_counts_and_usage(
    tmp_path: Path,
) -> None:
    store, provider = FakeSubmitterStore(), FakeBatchProvider()
    s = submitter(store, provider, tmp_path)
    dup = await lose_the_race(store, provider, s)
    [batch] = store.batches.values()

    assert provider.called("cancel_batch") == [dup]
    assert store.duplicates[dup] == DuplicateCopy(dup, batch.id, "acme", "gpt-4o-mini")  # nothing seen yet

    await s.reconcile_once()  # the provider still shows it cancelling: read, not settled
    assert (store.duplicates[dup].provider_status, store.duplicates[dup].settled) == ("cancelling", False)
    assert provider.called("cancel_batch") == [dup]  # cancelling already: no second cancel

    finish(provider, dup, "cancelled", done=1, tokens=(120, 30))
    await s.reconcile_once()
    assert store.duplicates[dup] == DuplicateCopy(
        dup, batch.id, "acme", "gpt-4o-mini", "cancelled", 2, 1, 1, 120, 30, settled=True
    )
    assert s.stats["orphans_settled"] == 1

    reads = len(provider.called("retrieve_batch"))
    await s.reconcile_once()
    assert len(provider.called("retrieve_batch")) == reads  # settled: never read again


async def test_a_duplicate_whose_cancel_failed_is_cancelled_again_by_the_settle_round(tmp_path: Path) -> None:
    store, provider = FakeSubmitterStore(), FakeBatchProvider()
    provider.fail_next["cancel_batch"] = [RetryableProviderError("busy", status=503)]
    s = submitter(store, provider, tmp_path)
    dup = await lose_the_race(store, provider, s)
    assert s.stats["orphan_cancel_failures"] == 1 and provider.batches[dup].status == "validating"

    await s.reconcile_once()

    assert provider.called("cancel_batch") == [dup, dup]
    assert provider.batches[dup].status == "cancelling"
    assert (store.duplicates[dup].provider_status, store.duplicates[dup].settled) == ("cancelling", False)


async def test_a_duplicate_the_provider_no_longer_knows_settles_as_not_found(tmp_path: Path) -> None:
    store, provider = FakeSubmitterStore(), FakeBatchProvider()
    s = submitter(store, provider, tmp_path)
    dup = await lose_the_race(store, provider, s)
    del provider.batches[dup]

    await s.reconcile_once()

    assert (store.duplicates[dup].provider_status, store.duplicates[dup].settled) == ("not_found", True)


async def test_a_duplicate_that_had_finished_is_recorded_settled_and_not_cancelled(tmp_path: Path) -> None:
    store, provider = FakeSubmitterStore(), FakeBatchProvider()
    request = store.add_request()
    batch_id = store.left_behind([request], age_s=600, attempts=1, input_file_id="file-x")
    local = str(batch_id)
    kept = provider.add_batch("in_progress", local_batch_id=local, created_at=provider.clock - 10)
    done = provider.add_batch("in_progress", local_batch_id=local, created_at=provider.clock - 5)
    finish(provider, done.id, "expired", done=2, tokens=(200, 50))  # ranks after an in-progress copy

    await submitter(store, provider, tmp_path).reconcile_once()

    assert store.batches[batch_id].provider_batch_id == kept.id
    assert provider.called("cancel_batch") == []  # an expired copy cannot be cancelled
    assert store.duplicates[done.id] == DuplicateCopy(
        done.id, batch_id, "acme", "gpt-4o-mini", "expired", 2, 2, 0, 200, 50, settled=True
    )
