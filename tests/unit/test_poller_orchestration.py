"""The poller's decisions, in memory: first poll, adoption, backoff, overdue batches, one announcement.

The store and the provider are fakes (``tests.fake_stores``, ``tests.fakes``) that apply the same guarded moves as the SQL;
time is a fake clock moved by hand. Sharing due batches between instances under row locks stays
covered by ``tests/integration/test_poller_ingester.py``.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import replace
from datetime import timedelta

from services.poller.service import OVERDUE_MARK, Poller, PollerConfig
from shared.events import BatchCompleted
from shared.lifecycle import BatchStatus
from shared.provider.base import BatchError, ProviderError
from tests.fake_stores import FakeClock, FakePollerStore
from tests.fakes import FakeBatchProvider

COMPLETED = "t.batch.completed"


def poller(store: FakePollerStore, provider: FakeBatchProvider, **overrides: float) -> Poller:
    config = PollerConfig(min_interval_s=overrides.get("min_interval_s", 60.0),
                          max_interval_s=overrides.get("max_interval_s", 600.0),
                          window=timedelta(hours=24), grace=timedelta(hours=1),
                          batch_completed_topic=COMPLETED, adopt_after_s=overrides.get("adopt_after_s", 120.0),
                          adopt_every_s=overrides.get("adopt_every_s", 0.0),
                          lease_s=overrides.get("lease_s", 30.0))
    return Poller(store, provider, config, on_commit=lambda: None, clock=store.clock)


def world(status: str = "in_progress", *, ago_s: float = 0.0,
          stored: BatchStatus = BatchStatus.VALIDATING) -> tuple[FakePollerStore, FakeBatchProvider, uuid.UUID]:
    store, provider = FakePollerStore(FakeClock()), FakeBatchProvider()
    remote = provider.add_batch(status)
    return store, provider, store.submitted(remote.id, ago_s=ago_s, status=stored)


def completions(store: FakePollerStore) -> list[uuid.UUID]:
    return [e.batch_id for topic, e in store.outbox if topic == COMPLETED and isinstance(e, BatchCompleted)]


async def test_batch_created_schedules_the_first_poll_the_minimum_interval_after_submission() -> None:
    store, provider, batch_id = world()
    p = poller(store, provider)
    assert await p.track([batch_id]) == 1
    assert store.batches[batch_id].next_poll_at == store.clock.now + timedelta(seconds=60)
    store.clock.advance(59)
    assert await p.poll_due_once() == 0 and provider.called("retrieve_batch") == []
    store.clock.advance(1)
    assert await p.poll_due_once() == 1


async def test_a_replayed_batch_created_does_not_reset_a_schedule() -> None:
    store, provider, batch_id = world()
    p = poller(store, provider)
    await p.track([batch_id])
    store.clock.advance(60)
    await p.poll_due_once()
    scheduled = store.batches[batch_id].next_poll_at
    assert await p.track([batch_id]) == 0 and store.batches[batch_id].next_poll_at == scheduled


async def test_a_batch_no_event_announced_is_adopted_after_the_grace_period() -> None:
    store, provider, batch_id = world(ago_s=119)
    p = poller(store, provider, adopt_after_s=120)
    assert await p.poll_due_once() == 0 and store.batches[batch_id].next_poll_at is None
    store.clock.advance(2)
    assert await p.poll_due_once() == 1  # adopted, and due at once (submitted 121 s ago > 60 s)
    assert p.stats["batches_adopted"] == 1 and store.batches[batch_id].status is BatchStatus.IN_PROGRESS


async def test_adoption_runs_in_the_first_round_then_at_most_every_adopt_every_s() -> None:
    """Rounds come every few tens of milliseconds; the adoption query does not need to."""
    store, provider, batch_id = world(ago_s=119)
    p = poller(store, provider, adopt_after_s=120, adopt_every_s=10)
    assert await p.poll_due_once() == 0  # the first round adopted: nothing was late yet
    store.clock.advance(2)  # now late, but the next adoption is 10 s after the first
    assert await p.poll_due_once() == 0 and store.batches[batch_id].next_poll_at is None
    store.clock.advance(7.9)
    assert await p.poll_due_once() == 0 and p.stats["batches_adopted"] == 0
    store.clock.advance(0.1)
    assert await p.poll_due_once() == 1 and p.stats["batches_adopted"] == 1


async def test_polls_back_off_1_5x_from_the_minimum_to_the_maximum_interval() -> None:
    store, provider, batch_id = world()
    p = poller(store, provider, min_interval_s=60, max_interval_s=600)
    submitted = store.clock.now
    await p.track([batch_id])
    polled_at = []
    for _ in range(8):
        due = store.batches[batch_id].next_poll_at
        assert due is not None
        store.clock.now = due - timedelta(seconds=1)
        assert await p.poll_due_once() == 0  # never sooner than scheduled
        store.clock.now = due
        assert await p.poll_due_once() == 1
        polled_at.append((due - submitted).total_seconds())
    gaps = [b - a for a, b in zip([0.0, *polled_at], polled_at, strict=False)]
    assert gaps == [60, 90, 135, 202.5, 303.75, 455.625, 600, 600]


async def test_a_provider_error_keeps_polling_with_the_same_backoff() -> None:
    store, provider, batch_id = world(stored=BatchStatus.IN_PROGRESS)
    provider.fail_next["retrieve_batch"] = [ProviderError("502 bad gateway", status=502)]
    p = poller(store, provider)
    await p.track([batch_id])
    store.clock.advance(60)
    assert await p.poll_due_once() == 1
    b = store.batches[batch_id]
    assert (b.status, b.poll_count, b.last_error, store.delays) == (
        BatchStatus.IN_PROGRESS, 1, "poll: 502 bad gateway", [90.0])


async def test_a_terminal_status_is_stored_and_announced_once() -> None:
    store, provider, batch_id = world("completed", stored=BatchStatus.FINALIZING)
    first, second = poller(store, provider, lease_s=0), poller(store, provider, lease_s=0)
    await first.track([batch_id])
    store.clock.advance(60)
    # Both instances lease the batch (a zero lease plays a lease that ran out mid-poll) and see it done.
    assert await asyncio.gather(first.poll_due_once(), second.poll_due_once()) == [1, 1]
    assert completions(store) == [batch_id]
    assert store.batches[batch_id].status is BatchStatus.COMPLETED
    assert first.stats["batches_finished"] + second.stats["batches_finished"] == 1
    store.clock.advance(3600)
    assert await first.poll_due_once() == 0 and completions(store) == [batch_id]


async def test_a_stale_provider_status_never_rewinds_the_batch() -> None:
    store, provider, batch_id = world("in_progress", stored=BatchStatus.FINALIZING)
    p = poller(store, provider)
    await p.track([batch_id])
    store.clock.advance(60)
    await p.poll_due_once()
    assert store.batches[batch_id].status is BatchStatus.FINALIZING and store.batches[batch_id].poll_count == 1


async def test_an_overdue_batch_is_cancelled_and_recorded_as_expired() -> None:
    # Submitted 24 h (window) + 1 h (grace) + 1 min ago, still running.
    store, provider, batch_id = world("in_progress", ago_s=25 * 3600 + 60, stored=BatchStatus.IN_PROGRESS)
    remote_id = store.batches[batch_id].provider_batch_id
    p = poller(store, provider)
    assert await p.poll_due_once() == 1  # adopted: its event is long gone
    assert provider.called("cancel_batch") == [remote_id]
    b = store.batches[batch_id]
    assert (b.status, b.last_error) == (BatchStatus.CANCELLING, OVERDUE_MARK)
    provider.set_status(remote_id, "cancelled")
    store.clock.advance(600)
    assert await p.poll_due_once() == 1
    assert b.status is BatchStatus.EXPIRED and completions(store) == [batch_id]
    assert provider.called("cancel_batch") == [remote_id]  # cancelled once


async def test_a_batch_within_its_window_and_grace_is_not_cancelled() -> None:
    store, provider, batch_id = world("in_progress", ago_s=25 * 3600 - 60, stored=BatchStatus.IN_PROGRESS)
    assert await poller(store, provider).poll_due_once() == 1
    assert provider.called("cancel_batch") == [] and store.batches[batch_id].status is BatchStatus.IN_PROGRESS


async def test_an_azure_batch_past_the_window_is_not_cancelled_it_runs_until_it_ends() -> None:
    # Azure global batch jobs are not expired at 24 h: cancelling would discard work still coming.
    store, provider = FakePollerStore(FakeClock()), FakeBatchProvider()
    remote = provider.add_batch("in_progress")
    azure = replace(remote, id=f"azure:{remote.id}")
    provider.batches = {azure.id: azure}
    batch_id = store.submitted(azure.id, ago_s=3 * 24 * 3600, status=BatchStatus.IN_PROGRESS)
    p = poller(store, provider)
    assert await p.poll_due_once() == 1
    b = store.batches[batch_id]
    assert provider.called("cancel_batch") == [] and b.status is BatchStatus.IN_PROGRESS and b.last_error is None
    provider.set_status(azure.id, "completed")
    store.clock.advance(600)
    assert await p.poll_due_once() == 1
    assert b.status is BatchStatus.COMPLETED and completions(store) == [batch_id]


async def test_a_batch_the_provider_no_longer_knows_fails_and_is_announced() -> None:
    store, provider, batch_id = world()
    del provider.batches[store.batches[batch_id].provider_batch_id]
    p = poller(store, provider)
    await p.track([batch_id])
    store.clock.advance(60)
    await p.poll_due_once()
    b = store.batches[batch_id]
    assert b.status is BatchStatus.FAILED and b.outcome is not None
    assert (b.outcome.detail, b.outcome.error_codes) == ("provider_batch_not_found", ["not_found"])
    assert completions(store) == [batch_id]


async def test_a_failed_batch_keeps_the_providers_errors_with_their_lines_and_its_input_file() -> None:
    store, provider, batch_id = world("failed")
    remote = provider.batches[next(iter(provider.batches))]
    provider.batches[remote.id] = replace(remote, errors=(
        BatchError("invalid_request", "bad body on line 2", line=2, param="body"),
        BatchError("invalid_url", "x" * 600, line=5),
        BatchError("token_limit_exceeded", "full", line=None),
    ))  # fmt: skip
    p = poller(store, provider)
    await p.track([batch_id])
    store.clock.advance(60)
    assert await p.poll_due_once() == 1
    outcome = store.batches[batch_id].outcome
    assert outcome is not None and outcome.input_file_id == remote.input_file_id
    assert outcome.validation_errors == [
        {"code": "invalid_request", "message": "bad body on line 2", "param": "body", "line": 2},
        {"code": "invalid_url", "message": "x" * 500, "param": None, "line": 5},  # messages kept to 500
        {"code": "token_limit_exceeded", "message": "full", "param": None, "line": None},
    ]
