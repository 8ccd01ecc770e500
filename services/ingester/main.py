"""Ingester process: ``batch.completed`` in, resolved requests and ``request.pending`` retries out."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from services.ingester.fallback import FallbackWorker, PostgresFallback, WorkerConfig, release_open_calls
from services.ingester.service import Ingester, IngesterConfig
from shared.bootstrap import ServiceContext, provider_scope, service_context
from shared.events import BatchCompleted
from shared.kafka.consumer import Delivery, Rejection
from shared.periodic import run_periodically
from shared.provider.base import BatchProvider
from shared.provider.sync_chat import SyncChatClient
from shared.runtime import Component, run_components
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


def _fallback_components(
    settings: Settings, ctx: ServiceContext, wake: asyncio.Event
) -> list[tuple[str, Component]]:
    """The sync fallback's worker loop (``fallback``), woken by each hand-over; none unless mode is sync."""
    if settings.fallback_mode != "sync":
        return []
    client = SyncChatClient.from_settings(settings)
    worker = FallbackWorker(
        ctx.engine,
        client,
        WorkerConfig(
            max_attempts=settings.max_attempts,
            retry_backoff_s=settings.retry_backoff_s,
            pending_topic=settings.topics.request_pending,
            max_conversation_chars=settings.max_conversation_chars,
            prices=settings.model_prices,
            batch_discount=settings.batch_discount,
            concurrency=settings.fallback_sync_concurrency,
        ),
        on_commit=ctx.relay.wake,
    )
    ctx.metrics.add_source("fallback", lambda: worker.stats)

    async def calls(stop: asyncio.Event) -> None:
        async def round_() -> bool:
            return await worker.run_once() > 0

        try:
            await run_periodically("sync fallback", round_, interval_s=5.0, stop=stop, wake=wake)
        finally:
            await client.aclose()

    return [("fallback", calls)]


async def run(settings: Settings, stop: asyncio.Event, *, provider: BatchProvider | None = None) -> None:
    async with (
        provider_scope(settings, provider) as active,
        service_context(settings, SERVICE, stop, provider=active) as ctx,
    ):
        # The sweep only picks up batches the event path left behind for well over a poll round.
        grace = max(60.0, settings.poll_interval_s * 10)
        if settings.fallback_mode != "sync":
            await release_open_calls(ctx.engine, settings.topics.request_pending, settings.fallback_mode)
        wake = asyncio.Event()
        fallback = None
        if settings.fallback_mode != "off":
            fallback = PostgresFallback(
                ctx.engine,
                mode=settings.fallback_mode,
                daily_cap=settings.fallback_sync_daily_cap,
                model_map=settings.fallback_model_map,
                pending_topic=settings.topics.request_pending,
                on_handed=wake.set,
                sync_models=lambda model: settings.provider_of(model) == "openai",
            )
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
            fallback=fallback,
        )
        components = _fallback_components(settings, ctx, wake)
        ctx.metrics.add_source("ingester", lambda: ingester.stats)
        loop = ctx.consumer_loop(
            [settings.topics.batch_completed], BatchCompleted, CompletedHandler(ingester)
        )

        async def sweep(stop: asyncio.Event) -> None:
            await sweep_forever(ingester, interval_s=grace / 2, older_than_s=grace, stop=stop)

        await run_components(
            [("consumer", loop.run), ("sweep", sweep), ("outbox", ctx.relay.run), *components], stop
        )
