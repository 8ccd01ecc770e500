"""Two pollers never poll the same batch at once, even while the provider makes every call wait out its
retry budget (a 429 storm), and no batch is polled sooner than the minimum interval, failed polls
included. In memory, on a fake clock; the provider's slow call is an event the test releases.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import timedelta

from services.poller.main import poller_config
from services.poller.service import Poller, PollerConfig, poll_lease_s
from shared.lifecycle import BatchStatus
from shared.provider.base import ProviderBatch, RetryableProviderError
from shared.settings import Settings
from tests.fake_stores import FakeClock, FakePollerStore
from tests.fakes import FakeBatchProvider

MIN_S = 60.0
LEASE_S = poll_lease_s(retry_max_s=300.0, timeout_s=60.0, min_interval_s=MIN_S)


@dataclass
class StormProvider(FakeBatchProvider):
    """``retrieve_batch`` waits until the test opens ``answer`` (a call retrying through a 429 storm)."""

    answer: asyncio.Event = field(default_factory=asyncio.Event)
    started: asyncio.Event = field(default_factory=asyncio.Event)

    async def retrieve_batch(self, batch_id: str) -> ProviderBatch:
        self.started.set()
        await self.answer.wait()
        return await super().retrieve_batch(batch_id)


def poller(store: FakePollerStore, provider: FakeBatchProvider, *, lease_s: float = LEASE_S) -> Poller:
    config = PollerConfig(min_interval_s=MIN_S, max_interval_s=600.0, window=timedelta(hours=24),
                          grace=timedelta(hours=1), batch_completed_topic="t.done", lease_s=lease_s)
    return Poller(store, provider, config, on_commit=lambda: None, clock=store.clock)


def test_the_lease_covers_one_call_at_its_worst_and_never_undercuts_the_minimum_interval() -> None:
    assert poll_lease_s(retry_max_s=300.0, timeout_s=60.0, min_interval_s=60.0) == 390.0
    assert poll_lease_s(retry_max_s=20.0, timeout_s=5.0, min_interval_s=600.0) == 600.0
    settings = Settings()
    assert poller_config(settings).lease_s == 390.0 > settings.provider_retry_max_s
    assert poller_config(Settings(provider_retry_max_s=900.0)).lease_s == 990.0


async def test_a_second_poller_does_not_poll_a_batch_whose_call_is_still_retrying() -> None:
    store, provider = FakePollerStore(FakeClock()), StormProvider()
    remote = provider.add_batch("in_progress")
    batch_id = store.submitted(remote.id)
    first, second = poller(store, provider), poller(store, provider)
    await first.track([batch_id])
    store.clock.advance(MIN_S)

    polling = asyncio.create_task(first.poll_due_once())
    await provider.started.wait()
    store.clock.advance(LEASE_S - 1)  # the first call has retried for the whole budget and more
    assert await second.poll_due_once() == 0  # still leased to the first: nothing to poll

    provider.fail_next["retrieve_batch"] = [RetryableProviderError("HTTP 429", status=429)]
    provider.answer.set()
    assert await polling == 1
    assert provider.called("retrieve_batch") == [remote.id]
    # The failed poll is rescheduled like a successful one: not sooner than the minimum interval.
    assert store.batches[batch_id].next_poll_at == store.clock.now + timedelta(seconds=1.5 * MIN_S)
    store.clock.advance(1.5 * MIN_S - 1)
    assert await second.poll_due_once() == 0
    store.clock.advance(1)
    assert await second.poll_due_once() == 1


async def test_a_failed_poll_waits_at_least_what_the_provider_asked() -> None:
    store, provider = FakePollerStore(FakeClock()), FakeBatchProvider()
    batch_id = store.submitted(provider.add_batch("in_progress").id)
    p = poller(store, provider)
    await p.track([batch_id])
    store.clock.advance(MIN_S)
    busy = RetryableProviderError("HTTP 429", status=429)
    busy.retry_after = 400.0
    provider.fail_next["retrieve_batch"] = [busy]
    assert await p.poll_due_once() == 1
    assert store.batches[batch_id].next_poll_at == store.clock.now + timedelta(seconds=400)


async def test_an_unexpected_poll_error_leaves_the_batch_leased_for_at_least_the_minimum_interval() -> None:
    store, provider = FakePollerStore(FakeClock()), FakeBatchProvider()
    batch_id = store.submitted(provider.add_batch("in_progress").id)
    p = poller(store, provider, lease_s=poll_lease_s(retry_max_s=1.0, timeout_s=1.0, min_interval_s=MIN_S))
    await p.track([batch_id])
    store.clock.advance(MIN_S)

    def broken_answer() -> None:
        raise ValueError("unparseable batch object")

    provider.before["retrieve_batch"] = broken_answer
    assert await p.poll_due_once() == 1 and p.stats["poll_errors"] == 1
    store.clock.advance(MIN_S - 1)
    assert await p.poll_due_once() == 0
    store.clock.advance(1)
    assert await p.poll_due_once() == 1


async def test_the_cancel_of_an_overdue_batch_renews_the_lease_first() -> None:
    store, provider = FakePollerStore(FakeClock()), FakeBatchProvider()
    remote = provider.add_batch("in_progress")
    batch_id = store.submitted(remote.id, ago_s=26 * 3600)
    p = poller(store, provider)
    await p.track([batch_id])
    seen: list[timedelta] = []
    provider.before["retrieve_batch"] = lambda: store.clock.advance(300)  # the retrieval took its budget

    def at_cancel() -> None:
        lease_end = store.batches[batch_id].next_poll_at
        assert lease_end is not None
        seen.append(lease_end - store.clock.now)

    provider.before["cancel_batch"] = at_cancel
    assert await p.poll_due_once() == 1
    assert seen == [timedelta(seconds=LEASE_S)]  # a whole lease for the second call


async def test_an_overdue_batch_another_poller_finished_meanwhile_is_not_cancelled() -> None:
    store, provider = FakePollerStore(FakeClock()), FakeBatchProvider()
    remote = provider.add_batch("in_progress")
    batch_id = store.submitted(remote.id, ago_s=26 * 3600)
    p = poller(store, provider)
    await p.track([batch_id])

    def finished_elsewhere() -> None:
        store.batches[batch_id].status, store.batches[batch_id].next_poll_at = BatchStatus.COMPLETED, None

    provider.before["retrieve_batch"] = finished_elsewhere
    await p.poll_due_once()
    assert provider.called("cancel_batch") == []


async def test_a_round_claims_no_more_batches_than_it_can_poll_at_once() -> None:
    store, provider = FakePollerStore(FakeClock()), FakeBatchProvider()
    ids = [store.submitted(provider.add_batch("in_progress").id) for _ in range(20)]
    p = poller(store, provider)
    await p.track(ids)
    store.clock.advance(MIN_S)
    assert await p.poll_due_once() == 8  # the default concurrency: no claimed batch waits for a slot
    assert sum(store.batches[i].next_poll_at == store.clock.now for i in ids) == 12
