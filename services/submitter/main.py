"""Submitter process: ``request.pending`` wake-ups in, provider batches and ``batch.created`` out.

Components: the consumer (feeds the accumulator), the flusher (claims and submits due groups, and
sweeps the database for pending requests no event announced, e.g. after a crash or a backoff), the
reconciler (resumes submissions a dead process left behind) and the outbox relay.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

from services.submitter.accumulator import Accumulator, GroupKey
from services.submitter.budget import Pricing
from services.submitter.ports import SubmitterStore
from services.submitter.service import Submitter, SubmitterConfig
from services.submitter.store import PostgresSubmitterStore
from shared.bootstrap import provider_scope, service_context
from shared.events import RequestPending
from shared.kafka.consumer import Delivery, Rejection
from shared.periodic import Backoff, run_periodically
from shared.provider.base import BatchProvider
from shared.provider.lines import shape_resolver
from shared.runtime import run_components
from shared.settings import MAX_REQUESTS_PER_FILE, Settings

SERVICE = "submitter"

#: After the n-th failed flush round in a row: 1, 2, 4, 8, 16, then 30 s.
ROUND_BACKOFF = Backoff(base_s=1.0, cap_s=30.0)


class PendingHandler:
    """Notes which groups have work. The requests are durable already (the producer committed them)."""

    def __init__(self, accumulator: Accumulator) -> None:
        self._acc = accumulator

    async def __call__(self, deliveries: Sequence[Delivery[RequestPending]]) -> list[Rejection]:
        now = time.monotonic()
        for d in deliveries:
            e = d.event
            self._acc.add(GroupKey(e.company_id, e.model), e.request_id, e.approx_bytes, now)
        return []


class Flusher:
    def __init__(
        self, submitter: Submitter, accumulator: Accumulator, settings: Settings, store: SubmitterStore
    ) -> None:
        self._submitter = submitter
        self._acc = accumulator
        self._settings = settings
        self._store = store
        self._tick = max(0.05, min(0.5, settings.batch_linger_s / 4))
        self._sweep_every = max(1.0, min(30.0, settings.batch_linger_s))
        self._last_sweep = 0.0
        # Each flush spends most of its time waiting on round trips (claim, file, upload, create,
        # record), so groups flushed one after the other leave a burst of pending work queued behind
        # them; a few at once overlap those waits. Different groups never share a request.
        self._slots = asyncio.Semaphore(settings.submit_flush_concurrency)

    async def run(self, stop: asyncio.Event) -> None:
        await run_periodically("flush", self._round, interval_s=self._tick, stop=stop, backoff=ROUND_BACKOFF)

    async def _round(self) -> bool:
        """Submit the groups that are due (and, every sweep period, those only the database knows)."""
        now = time.monotonic()
        keys = set(self._acc.due(now))
        try:
            if now - self._last_sweep >= self._sweep_every:
                keys |= set(await self._sweep_groups())
                self._last_sweep = now
            flushes = (self._flush(key) for key in sorted(keys))
            outcomes = await asyncio.gather(*flushes, return_exceptions=True)
            failed = [o for o in outcomes if isinstance(o, BaseException)]
            if failed:
                raise failed[0]
        except Exception:  # database or provider trouble: the requests stay pending, retry after a backoff
            for key in keys:
                self._acc.mark_due(key)
            raise
        return False

    async def _flush(self, key: GroupKey) -> None:
        async with self._slots:
            self._acc.take(key)
            await self._submitter.flush_group(key)

    async def _sweep_groups(self) -> list[GroupKey]:
        return await self._store.pending_groups(min_wait_s=self._settings.batch_linger_s)


async def reconcile_forever(submitter: Submitter, interval_s: float, stop: asyncio.Event) -> None:
    """Resume dead processes' submissions every interval; a failed round just waits for the next."""

    async def reconcile_round() -> bool:
        await submitter.reconcile_once()
        return False

    await run_periodically("reconcile", reconcile_round, interval_s=interval_s, stop=stop)


async def run(settings: Settings, stop: asyncio.Event, *, provider: BatchProvider | None = None) -> None:
    async with (
        provider_scope(settings, provider) as active,
        service_context(settings, SERVICE, stop, provider=active) as ctx,
    ):
        accumulator = Accumulator(
            max_requests=settings.batch_max_requests,
            max_bytes=settings.batch_max_bytes,
            linger_s=settings.batch_linger_s,
        )
        work_dir = settings.home.resolve() / "tmp"
        work_dir.mkdir(parents=True, exist_ok=True)
        store = PostgresSubmitterStore(ctx.engine, pricing=Pricing.of(settings))
        submitter = Submitter(
            store,
            active,
            SubmitterConfig(
                max_requests=settings.batch_max_requests,
                max_bytes=settings.batch_max_bytes,
                max_conversation_chars=settings.max_conversation_chars,
                retry_delay_s=settings.retry_backoff_s,
                batch_created_topic=settings.topics.batch_created,
                batch_completed_topic=settings.topics.batch_completed,
                work_dir=work_dir,
                crash_point=settings.test_crash_point,
                token_limits=settings.enqueued_token_limits,
                default_token_limit=settings.enqueued_token_limit_default,
                rate_refresh_s=settings.token_rate_refresh_s,
                recovery_interval_s=settings.token_limit_recovery_s,
                max_transient_failures=settings.submit_max_transient_failures,
                circuit_base_s=settings.circuit_base_s,
                circuit_max_s=max(settings.circuit_base_s, settings.circuit_max_s),
                model_providers=settings.model_providers,
                shape_of=shape_resolver(settings),
                provider_max_requests=MAX_REQUESTS_PER_FILE,
            ),
            on_commit=ctx.relay.wake,
        )
        ctx.metrics.add_source("submitter", lambda: submitter.stats)
        ctx.metrics.add_gauge(submitter.gate.metric())
        loop = ctx.consumer_loop(
            [settings.topics.request_pending], RequestPending, PendingHandler(accumulator)
        )
        flusher = Flusher(submitter, accumulator, settings, store)
        reconcile_interval = max(1.0, min(30.0, settings.batch_linger_s * 2))

        async def reconciler(stop: asyncio.Event) -> None:
            await reconcile_forever(submitter, reconcile_interval, stop)

        await run_components(
            [
                ("consumer", loop.run),
                ("flusher", flusher.run),
                ("reconciler", reconciler),
                ("outbox", ctx.relay.run),
            ],
            stop,
        )
