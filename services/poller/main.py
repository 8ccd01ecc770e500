"""Poller process: ``batch.created`` in (schedule the first poll), provider polls, ``batch.completed`` out."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import timedelta

from services.poller.service import Poller, PollerConfig, poll_lease_s
from services.poller.store import PostgresPollerStore
from shared.bootstrap import provider_scope, service_context
from shared.events import BatchCreated
from shared.kafka.consumer import Delivery, Rejection
from shared.lifecycle import parse_window
from shared.periodic import Backoff, run_periodically
from shared.provider.base import BatchProvider
from shared.runtime import run_components
from shared.settings import Settings

SERVICE = "poller"


class CreatedHandler:
    """Wakes the poller: the announced batches get their first poll scheduled (idempotently)."""

    def __init__(self, poller: Poller) -> None:
        self._poller = poller

    async def __call__(self, deliveries: Sequence[Delivery[BatchCreated]]) -> list[Rejection]:
        await self._poller.track([d.event.batch_id for d in deliveries])
        return []


#: After the n-th failed round in a row (database down): 1, 2, 4, 8, 16, then 30 s.
ROUND_BACKOFF = Backoff(base_s=1.0, cap_s=30.0)


async def poll_forever(poller: Poller, tick_s: float, stop: asyncio.Event) -> None:
    """Poll due batches round after round; a round that polled some starts the next one at once."""

    async def poll_round() -> bool:
        return await poller.poll_due_once() > 0

    await run_periodically("poll round", poll_round, interval_s=tick_s, stop=stop, backoff=ROUND_BACKOFF)


def poller_config(settings: Settings) -> PollerConfig:
    """The poller's parameters from settings; the lease covers one provider call's whole retry budget."""
    return PollerConfig(
        min_interval_s=settings.poll_interval_s,
        max_interval_s=max(settings.poll_interval_s, settings.poll_max_interval_s),
        window=parse_window(settings.completion_window),
        grace=timedelta(seconds=settings.batch_expiry_grace_s),
        batch_completed_topic=settings.topics.batch_completed,
        adopt_after_s=max(30.0, 2 * settings.poll_interval_s),
        adopt_every_s=max(30.0, 2 * settings.poll_interval_s) / 3,
        lease_s=poll_lease_s(
            retry_max_s=settings.provider_retry_max_s,
            timeout_s=settings.provider_timeout_s,
            min_interval_s=settings.poll_interval_s,
        ),
    )


async def run(settings: Settings, stop: asyncio.Event, *, provider: BatchProvider | None = None) -> None:
    async with (
        provider_scope(settings, provider) as active,
        service_context(settings, SERVICE, stop, provider=active) as ctx,
    ):
        poller = Poller(
            PostgresPollerStore(ctx.engine),
            active,
            poller_config(settings),
            on_commit=ctx.relay.wake,
        )
        ctx.metrics.add_source("poller", lambda: poller.stats)
        loop = ctx.consumer_loop([settings.topics.batch_created], BatchCreated, CreatedHandler(poller))
        tick = max(0.05, min(1.0, settings.poll_interval_s / 4))

        async def polling(stop: asyncio.Event) -> None:
            await poll_forever(poller, tick, stop)

        await run_components([("consumer", loop.run), ("poller", polling), ("outbox", ctx.relay.run)], stop)
