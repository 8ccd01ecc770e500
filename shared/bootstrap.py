"""Wiring shared by the four services: one engine, one producer, one outbox relay per process.

Each service's ``main.run(settings, stop)`` opens a ``ServiceContext`` here, builds its handlers with
the context's adapters (passed in, never imported as globals) and runs its components.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import partial
from typing import TypeVar

from aiokafka import AIOKafkaProducer
from sqlalchemy.ext.asyncio import AsyncEngine

from shared import logging as blog
from shared.db.engine import make_engine
from shared.events import _Event, decode
from shared.health import HealthServer, ReadinessCheck
from shared.kafka.connection import client_options, start_when_reachable
from shared.kafka.consumer import ConsumerLoop, Handler, make_consumer
from shared.kafka.producer import make_producer
from shared.metrics import ServiceMetrics
from shared.outbox import OutboxRelay
from shared.provider.base import BatchProvider
from shared.provider.counted import CountedProvider
from shared.runtime import StoppedBeforeStart, tune_gc
from shared.settings import Settings
from shared.state_metrics import StateGauges

E = TypeVar("E", bound=_Event)


class MissingDatabaseUrl(RuntimeError):
    """The core never guesses a database; the CLI fills in the dev default before a service starts."""


def database_url(settings: Settings) -> str:
    """``BATCHLINE_DATABASE_URL``; entry points resolve a local default before calling the core."""
    if not settings.database_url:
        raise MissingDatabaseUrl("BATCHLINE_DATABASE_URL is not set")
    return settings.database_url


def configure_logging(settings: Settings, service: str) -> None:
    secrets = [settings.openai_api_key.get_secret_value()]
    if settings.kafka_sasl_password is not None:
        secrets.append(settings.kafka_sasl_password.get_secret_value())
    blog.configure(level=settings.log_level, json=settings.log_json, secrets=secrets, service=service)


@dataclass(frozen=True, slots=True)
class ServiceContext:
    settings: Settings
    service: str
    engine: AsyncEngine
    producer: AIOKafkaProducer
    relay: OutboxRelay
    metrics: ServiceMetrics

    def consumer_loop(
        self,
        topics: Sequence[str],
        event_type: type[E],
        handle: Handler[E],
        *,
        max_records: int | None = None,
    ) -> ConsumerLoop[E]:
        """The service's consumer loop. ``max_records`` overrides ``consumer_max_records`` for a handler
        whose batch costs little more in bulk (the producer's is one transaction whatever its size)."""
        group = self.settings.group_id(self.service)
        loop: ConsumerLoop[E] = ConsumerLoop(
            consumer=make_consumer(client_options(self.settings), group, client_id=f"{group}-consumer"),
            dlq_producer=self.producer,
            topics=topics,
            group_id=group,
            decode=partial(decode, event_type),
            handle=handle,
            max_records=max_records or self.settings.consumer_max_records,
        )
        self.metrics.add_source("consumer", lambda: loop.stats)
        self.metrics.add_histogram(loop.latency_metric())
        self.metrics.add_gauge(loop.lag_metric())
        return loop


@asynccontextmanager
async def provider_scope(settings: Settings, given: BatchProvider | None) -> AsyncIterator[CountedProvider]:
    """The injected provider (tests), or one built from settings and closed on exit; counted either way
    (pass it to :func:`service_context` to serve the counts and check its circuits)."""
    if given is not None:
        yield CountedProvider(given)
        return
    from shared.provider.router import RoutingProvider

    # Always routed, also with every model on OpenAI: a batch created at Anthropic before its model
    # was routed back is still polled and ingested there (the router builds that adapter on demand).
    built: BatchProvider = RoutingProvider.from_settings(settings)
    try:
        yield CountedProvider(built)
    finally:
        await built.aclose()


@asynccontextmanager
async def service_context(
    settings: Settings,
    service: str,
    stop: asyncio.Event | None = None,
    *,
    provider: CountedProvider | None = None,
) -> AsyncIterator[ServiceContext]:
    """Engine, producer and relay of one service process, and its probes and metrics.

    The producer is started once the broker answers, however long that takes: a process started
    while the broker is down waits instead of exiting (``StoppedBeforeStart`` if ``stop`` is set
    meanwhile). Nothing here touches the database, so a database outage cannot stop a start either.
    With ``BATCHLINE_METRICS_PORT`` set, ``/healthz``, ``/readyz`` and ``/metrics`` are served on it
    (``shared.health``); a service given its ``provider`` also counts its calls, and is not ready
    while a configuration circuit of that provider is open.
    """
    tune_gc(settings.gc_gen0_threshold)
    engine = make_engine(database_url(settings), pool_size=settings.db_pool_size, application_name=service)
    producer = make_producer(settings, client_id=f"batchline-{service}")
    if not await start_when_reachable(producer, name=f"batchline-{service}", stop=stop):
        await producer.stop()
        await engine.dispose()
        raise StoppedBeforeStart(service)
    try:
        relay = OutboxRelay(engine, producer)
        metrics = ServiceMetrics(service)
        metrics.add_source("outbox", lambda: {"published": relay.published})
        state = StateGauges(engine)
        for family in state.metrics():
            metrics.add_gauge(family)
        metrics.add_source("state", lambda: {"refresh_failures": state.stats["refresh_failures"]})
        if provider is not None:
            for family in provider.metrics():
                metrics.add_gauge(family)
        readiness = ReadinessCheck(engine, producer, provider=provider.name if provider else None)
        server = HealthServer(metrics, readiness, before_scrape=[state.refresh_if_stale])
        if settings.metrics_port is not None:
            await server.start(settings.metrics_port)
        try:
            yield ServiceContext(settings, service, engine, producer, relay, metrics)
        finally:
            await server.close()
    finally:
        await producer.stop()
        await engine.dispose()
