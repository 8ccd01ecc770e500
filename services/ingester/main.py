"""Ingester process: ``batch.completed`` in, resolved requests and ``request.pending`` retries out."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from services.ingester.service import Ingester, IngesterConfig
from shared.bootstrap import provider_scope, service_context
from shared.events import BatchCompleted
from shared.kafka.consumer import Delivery, Rejection
from shared.periodic import run_periodically
from shared.provider.base import BatchProvider
from shared.runtime import run_components
from shared.settings import Settings

SERVICE = "ingester"


class CompletedHandler:
    def __init__(self, ingester: Ingester) -> None:
        self._ingester = ingester

    async def __call__(self, deliveries: Sequence[Delivery[BatchCompleted]]) -> list[Rejection]:
        # Each batch once per call (its chunks are idempotent); a failure raises and the consumer loop
        # retries the whole batch, which skips what an earlier try already wrote.
        for batch_id in dict.fromkeys(d.event.batch_id for d in deliveries):
            await self._ingester.handle_event(batch_id)
        return []


async def sweep_forever(
    ingester: Ingester, *, interval_s: float, older_than_s: float, stop: asyncio.Event
) -> None:
    """Ingest batches the event path left behind; a failed round (our database down: a failing batch
    only sets itself back) waits one interval like a successful one: the sweep is a safety net, not
    the path of the work."""

    async def sweep_round() -> bool:
        await ingester.sweep_once(older_than_s=older_than_s)
        return False

    await run_periodically("ingest sweep", sweep_round, interval_s=interval_s, stop=stop)


async def run(settings: Settings, stop: asyncio.Event, *, provider: BatchProvider | None = None) -> None:
    async with (
        provider_scope(settings, provider) as active,
        service_context(settings, SERVICE, stop, provider=active) as ctx,
    ):
        # The sweep only picks up batches the event path left behind for well over a poll round.
        grace = max(60.0, settings.poll_interval_s * 10)
        ingester = Ingester(
            ctx.engine,
            active,
            IngesterConfig(
                max_attempts=settings.max_attempts,
                retry_backoff_s=settings.retry_backoff_s,
                request_pending_topic=settings.topics.request_pending,
                # A failed batch waits one sweep round, then two, four ... (at most 64 rounds).
                setback_base_s=grace / 2,
                setback_cap_s=grace / 2 * 64,
                quarantine_after=settings.ingest_quarantine_after,
                keep_files=settings.keep_provider_files,
                prices=settings.model_prices,
                batch_discount=settings.batch_discount,
            ),
            on_commit=ctx.relay.wake,
        )
        ctx.metrics.add_source("ingester", lambda: ingester.stats)
        loop = ctx.consumer_loop(
            [settings.topics.batch_completed], BatchCompleted, CompletedHandler(ingester)
        )

        async def sweep(stop: asyncio.Event) -> None:
            await sweep_forever(ingester, interval_s=grace / 2, older_than_s=grace, stop=stop)

        await run_components([("consumer", loop.run), ("sweep", sweep), ("outbox", ctx.relay.run)], stop)
