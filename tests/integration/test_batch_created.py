"""``batch.created`` is the poller's trigger, the database its fallback (real PostgreSQL and emulator).

The submitter leaves ``next_poll_at`` NULL; the event schedules the first poll; the poller's round
adopts a submitted batch whose event never came; a replayed event changes no row.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from emulator.config import EmulatorConfig
from services.poller.main import CreatedHandler
from services.poller.service import Poller, PollerConfig
from services.poller.store import PostgresPollerStore
from services.submitter.accumulator import GroupKey
from services.submitter.service import Submitter, SubmitterConfig
from services.submitter.store import PostgresSubmitterStore
from shared.events import BatchCreated, decode
from shared.kafka.consumer import Delivery
from shared.provider.openai import build_provider
from shared.settings import Settings
from tests.integration.test_poller_ingester import seed_batch
from tests.pipeline import rows, scalar

GROUP = GroupKey("acme", "gpt-4o-mini")


@pytest.fixture
def emulator_config() -> EmulatorConfig:
    return EmulatorConfig(port=0, stage_s=30, seed=5)  # batches stay in flight for the whole test


async def seed_pending(engine: AsyncEngine, n: int) -> None:
    async with engine.begin() as conn:
        await conn.execute(text(
            "INSERT INTO sessions (id, company_id, started_at, content_hash, message_count) "
            "VALUES ('s-1', 'acme', now(), 'h', 1)"))
        await conn.execute(text(
            "INSERT INTO session_messages (company_id, session_id, role, content, \"order\") "
            "VALUES ('acme', 's-1', 'user', 'hi', 0)"))
        for i in range(n):
            await conn.execute(text(
                "INSERT INTO ai_processing_requests (id, session_id, company_id, processing_type, model, revision, "
                "status, attempt, approx_bytes) VALUES (:r, 's-1', 'acme', 'summary', 'gpt-4o-mini', :rev, "
                "'PENDING_BATCHING', 1, 100)"), {"r": uuid.uuid4(), "rev": f"r{i}"})


async def submit(engine: AsyncEngine, settings: Settings, tmp_path: Path) -> uuid.UUID:
    """Run the real submitter on 3 pending requests; returns the local batch id it submitted."""
    await seed_pending(engine, 3)
    provider = build_provider(settings)
    try:
        submitter = Submitter(PostgresSubmitterStore(engine), provider, SubmitterConfig(
            max_requests=10, max_bytes=10**6, max_conversation_chars=1000, retry_delay_s=1,
            batch_created_topic=settings.topics.batch_created,
            batch_completed_topic=settings.topics.batch_completed, work_dir=tmp_path,
        ), on_commit=lambda: None)
        assert await submitter.flush_group(GROUP) == 1
    finally:
        await provider.aclose()
    return uuid.UUID(str(await scalar(engine, "SELECT id FROM provider_batches")))


def poller(engine: AsyncEngine, settings: Settings, *, adopt_after_s: float, min_interval_s: float = 0.2) -> Poller:
    config = PollerConfig(min_interval_s=min_interval_s, max_interval_s=1.0, window=timedelta(hours=24),
                          grace=timedelta(hours=1), batch_completed_topic=settings.topics.batch_completed,
                          adopt_after_s=adopt_after_s)
    return Poller(PostgresPollerStore(engine), build_provider(settings), config, on_commit=lambda: None)


async def batch_rows(engine: AsyncEngine) -> list[Any]:
    return await rows(engine, "SELECT * FROM provider_batches ORDER BY id")


def created(batch_id: uuid.UUID, offset: int = 0) -> Delivery[BatchCreated]:
    event = BatchCreated(event_id=f"{batch_id}:created", batch_id=batch_id, company_id="acme")
    return Delivery(event, "batch.created", 0, offset, b"acme", event.to_bytes())


async def test_the_submitter_leaves_the_poll_schedule_to_the_poller(settings: Settings, engine: AsyncEngine,
                                                                   tmp_path: Path) -> None:
    batch_id = await submit(engine, settings, tmp_path)
    row = (await rows(engine, "SELECT status, submitted_at, next_poll_at, submit_retry_at, provider_batch_id "
                              "FROM provider_batches WHERE id = :b", b=batch_id))[0]
    assert row.status == "VALIDATING" and row.provider_batch_id and row.submitted_at is not None
    assert row.next_poll_at is None and row.submit_retry_at is None
    payloads = await rows(engine, "SELECT payload FROM outbox WHERE topic = :t", t=settings.topics.batch_created)
    assert [decode(BatchCreated, bytes(p.payload)).batch_id for p in payloads] == [batch_id]


async def test_batch_created_schedules_the_first_poll_after_the_minimum_interval(
        settings: Settings, engine: AsyncEngine, tmp_path: Path) -> None:
    batch_id = await submit(engine, settings, tmp_path)
    p = poller(engine, settings, adopt_after_s=3600, min_interval_s=600)
    await CreatedHandler(p)([created(batch_id)])
    gap = await scalar(engine, "SELECT extract(epoch FROM next_poll_at - submitted_at) FROM provider_batches")
    assert float(gap) == 600.0
    assert await p.poll_due_once() == 0  # not due before the minimum interval


async def test_a_submitted_batch_whose_event_never_came_is_adopted_and_polled(
        settings: Settings, engine: AsyncEngine, tmp_path: Path) -> None:
    batch_id = await submit(engine, settings, tmp_path)
    async with engine.begin() as conn:
        await conn.execute(text("DELETE FROM outbox"))  # the batch.created announcement is lost
    waiting = poller(engine, settings, adopt_after_s=3600)
    assert await waiting.poll_due_once() == 0  # within the grace period the event path owns it
    assert await scalar(engine, "SELECT next_poll_at FROM provider_batches") is None

    adopting = poller(engine, settings, adopt_after_s=0)
    polled = 0
    for _ in range(50):
        polled += await adopting.poll_due_once()
        if polled:
            break
        await asyncio.sleep(0.05)  # the first poll waits the minimum interval after submission
    assert polled == 1 and adopting.stats["batches_adopted"] == 1
    row = (await rows(engine, "SELECT poll_count, next_poll_at FROM provider_batches WHERE id = :b", b=batch_id))[0]
    assert row.poll_count == 1 and row.next_poll_at is not None


async def test_replaying_batch_created_changes_no_row_once_a_batch_is_scheduled_polled_or_done(
        settings: Settings, engine: AsyncEngine, tmp_path: Path) -> None:
    scheduled = await submit(engine, settings, tmp_path)
    polled, _ = await seed_batch(engine, settings, tmp_path, n=1)
    completed, _ = await seed_batch(engine, settings, tmp_path, n=1)
    processed, _ = await seed_batch(engine, settings, tmp_path, n=1)
    p = poller(engine, settings, adopt_after_s=3600, min_interval_s=600)
    handler = CreatedHandler(p)
    await handler([created(scheduled)])  # the first delivery schedules it ...
    assert await p.poll_due_once() == 3  # ... the seeded ones were due at once: polled, rescheduled
    async with engine.begin() as conn:  # the ingester's and the poller's end states
        await conn.execute(text("UPDATE provider_batches SET status = 'COMPLETED', next_poll_at = NULL "
                                "WHERE id = :b"), {"b": completed})
        await conn.execute(text("UPDATE provider_batches SET status = 'PROCESSED', next_poll_at = NULL "
                                "WHERE id = :b"), {"b": processed})
    before = await batch_rows(engine)
    assert await p.track([scheduled, polled, completed, processed]) == 0
    await handler([created(b, offset=i) for i, b in enumerate([scheduled, polled, completed, processed])])
    assert await batch_rows(engine) == before
