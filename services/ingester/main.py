"""Ingester process: ``batch.completed`` in, resolved requests and ``request.pending`` retries out."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence

from services.ingester.ingest import Ingester, IngesterConfig
from shared.bootstrap import provider_scope, service_context
from shared.events import BatchCompleted
from shared.kafka.consumer import Delivery, Rejection
from shared.provider.base import BatchProvider
from shared.runtime import run_components
from shared.settings import Settings

SERVICE = "ingester"


class CompletedHandler:
    def __init__(self, ingester: Ingester) -> None:
        self._ingester = ingester

    async def __call__(self, deliveries: Sequence[Delivery[BatchCompleted]]) -> list[Rejection]:
        rejections: list[Rejection] = []
        done: set[str] = set()
        for d in deliveries:
            if d.event.batch_id in done:
                continue
            try:
                batch_id = uuid.UUID(d.event.batch_id)
            except ValueError:
                rejections.append(Rejection.of(d, "batch_id is not a UUID"))
                continue
            await self._ingester.ingest(batch_id)  # one transaction per batch; raises -> the loop retries
            done.add(d.event.batch_id)
        return rejections


async def run(settings: Settings, stop: asyncio.Event, *, provider: BatchProvider | None = None) -> None:
    async with provider_scope(settings, provider) as active, service_context(settings, SERVICE, stop) as ctx:
        ingester = Ingester(
            ctx.engine,
            active,
            IngesterConfig(
                max_attempts=settings.max_attempts,
                retry_backoff_s=settings.retry_backoff_s,
                request_pending_topic=settings.topics.request_pending,
            ),
            on_commit=ctx.relay.wake,
        )
        ctx.metrics.add_source("ingester", lambda: ingester.stats)
        loop = ctx.consumer_loop(
            [settings.topics.batch_completed], BatchCompleted, CompletedHandler(ingester)
        )
        await run_components([("consumer", loop.run), ("outbox", ctx.relay.run)], stop)
