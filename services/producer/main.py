"""Producer process: consume ``session.events``, relay the outbox, prune old processed event ids."""

from __future__ import annotations

import asyncio

from services.producer.housekeeping import prune_forever
from services.producer.service import ProducerConfig, SessionEventsHandler
from shared.bootstrap import service_context
from shared.events import SessionEvent
from shared.runtime import run_components
from shared.settings import Settings

SERVICE = "producer"


async def run(settings: Settings, stop: asyncio.Event) -> None:
    async with service_context(settings, SERVICE, stop) as ctx:
        handler = SessionEventsHandler(
            ctx.engine,
            ProducerConfig(
                group_id=settings.group_id(SERVICE),
                request_pending_topic=settings.topics.request_pending,
                default_model=settings.default_model,
                max_conversation_chars=settings.max_conversation_chars,
            ),
            on_commit=ctx.relay.wake,
        )
        loop = ctx.consumer_loop(
            [settings.topics.session_events], SessionEvent, handler, max_records=settings.producer_max_records
        )

        async def pruning(stop: asyncio.Event) -> None:
            await prune_forever(ctx.engine, stop, older_than_s=settings.processed_events_retention_s)

        await run_components([("consumer", loop.run), ("outbox", ctx.relay.run), ("prune", pruning)], stop)
