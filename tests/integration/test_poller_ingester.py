"""Poller and ingester rules against real PostgreSQL and the emulator over HTTP."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from pathlib import Path

import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from services.ingester.service import Ingester, IngesterConfig
from services.poller import repository as poll_repo
from services.poller.service import Poller, PollerConfig
from services.poller.store import PostgresPollerStore
from shared.analysis import ProcessingType, chat_body
from shared.events import BatchCompleted, decode
from shared.lifecycle import BatchStatus
from shared.provider.base import LOCAL_BATCH_ID_KEY
from shared.provider.openai import build_provider
from shared.settings import Settings
from tests.pipeline import rows, scalar


async def seed_batch(engine: AsyncEngine, settings: Settings, tmp_path: Path, *, n: int = 3,
                     submitted_ago_s: float = 0) -> tuple[uuid.UUID, list[uuid.UUID]]:
    """A session, n claimed requests, a real provider batch, and the local batch row pointing at it."""
    batch_id = uuid.uuid4()
    request_ids = [uuid.uuid4() for _ in range(n)]
    path = tmp_path / f"{batch_id}.jsonl"
    path.write_bytes(b"".join(
        orjson.dumps({"custom_id": str(r), "method": "POST", "url": "/v1/chat/completions",
                      "body": chat_body(ProcessingType.FULL_ANALYSIS, "gpt-4o-mini", "user: I need vacation")}) + b"\n"
        for r in request_ids))
    provider = build_provider(settings)
    try:
        uploaded = await provider.upload_file(path)
        created = await provider.create_batch(uploaded.id, metadata={LOCAL_BATCH_ID_KEY: str(batch_id)})
    finally:
        await provider.aclose()
    async with engine.begin() as conn:
        await conn.execute(text(
            "INSERT INTO sessions (id, company_id, started_at, content_hash, message_count) "
            "VALUES (:s, 'acme', now(), 'h', 1)"), {"s": f"s-{batch_id}"})
        await conn.execute(text(
            "INSERT INTO provider_batches (id, company_id, model, provider, provider_batch_id, input_file_id, status, "
            "request_count, poll_count, submit_attempts, submitted_at, next_poll_at) VALUES (:b, 'acme', 'gpt-4o-mini', "
            "'openai', :p, :f, 'VALIDATING', :n, 0, 1, now() - make_interval(secs => :ago), now())"),
            {"b": batch_id, "p": created.id, "f": uploaded.id, "n": n, "ago": submitted_ago_s})
        for r in request_ids:
            await conn.execute(text(
                "INSERT INTO ai_processing_requests (id, session_id, company_id, processing_type, model, revision, "
                "status, batch_id, attempt, approx_bytes) VALUES (:r, :s, 'acme', 'full_analysis', 'gpt-4o-mini', "
                ":rev, 'BATCHING_IN_PROGRESS', :b, 1, 100)"), {"r": r, "s": f"s-{batch_id}", "b": batch_id, "rev": str(r)})
            await conn.execute(text("INSERT INTO ai_batch_items VALUES (:b, :r, 1)"), {"b": batch_id, "r": r})
    return batch_id, request_ids


def poller(engine: AsyncEngine, settings: Settings, **overrides: object) -> Poller:
    config = PollerConfig(min_interval_s=0.2, max_interval_s=0.5, window=timedelta(hours=24),
                          grace=timedelta(hours=1), batch_completed_topic=settings.topics.batch_completed)
    return Poller(PostgresPollerStore(engine), build_provider(settings), config.__class__(**{**config.__dict__, **overrides})
                  if overrides else config, on_commit=lambda: None)


async def poll_until(p: Poller, engine: AsyncEngine, batch_id: uuid.UUID, status: str, timeout_s: float = 15) -> None:
    for _ in range(int(timeout_s / 0.1)):
        await p.poll_due_once()
        if await scalar(engine, "SELECT status FROM provider_batches WHERE id = :b", b=batch_id) == status:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"batch never reached {status}")


async def test_completed_batch_is_announced_once_in_the_outbox(settings: Settings, engine: AsyncEngine,
                                                               tmp_path: Path) -> None:
    batch_id, _ = await seed_batch(engine, settings, tmp_path)
    p = poller(engine, settings)
    await poll_until(p, engine, batch_id, "COMPLETED")
    await p.poll_due_once()  # a terminal batch is no longer polled nor announced again
    payloads = [r.payload for r in await rows(engine, "SELECT payload FROM outbox WHERE topic = :t",
                                               t=settings.topics.batch_completed)]
    assert len(payloads) == 1
    event = decode(BatchCompleted, bytes(payloads[0]))
    assert event.batch_id == batch_id  # the event only wakes the ingester: the row holds the outcome
    assert await scalar(engine, "SELECT output_file_id IS NOT NULL FROM provider_batches WHERE id = :b", b=batch_id)


async def test_pollers_share_due_batches_and_respect_the_minimum_interval(
        settings: Settings, engine: AsyncEngine, tmp_path: Path) -> None:
    for _ in range(6):
        await seed_batch(engine, settings, tmp_path, n=1)

    async def claim() -> set[uuid.UUID]:
        async with engine.begin() as conn:
            claimed = await poll_repo.claim_due(conn, limit=4, lease_s=60)
            await asyncio.sleep(0.3)  # hold the row locks while the other instance claims
            return {b.id for b in claimed}

    first, second = await asyncio.gather(claim(), claim())
    assert first and second and not (first & second)
    assert len(first | second) == 6
    # Claimed (leased) batches are not due again until the lease or the poll interval passes.
    async with engine.begin() as conn:
        assert await poll_repo.claim_due(conn, limit=10, lease_s=60) == []


async def test_reingesting_a_processed_batch_changes_nothing(settings: Settings, engine: AsyncEngine,
                                                            tmp_path: Path) -> None:
    batch_id, request_ids = await seed_batch(engine, settings, tmp_path)
    await poll_until(poller(engine, settings), engine, batch_id, "COMPLETED")
    provider = build_provider(settings)
    ingester = Ingester(engine, provider, IngesterConfig(max_attempts=3, retry_backoff_s=0,
                                                         request_pending_topic=settings.topics.request_pending),
                        on_commit=lambda: None)
    try:
        first = await ingester.ingest(batch_id)
        state = await rows(engine, "SELECT id, status, total_tokens, updated_at FROM ai_processing_requests ORDER BY id")
        session = await rows(engine, "SELECT sentiment, category, language, summary, updated_at FROM sessions")
        second = await ingester.ingest(batch_id)
    finally:
        await provider.aclose()
    assert first.completed == len(request_ids) and not first.skipped
    assert second.skipped
    assert await rows(engine, "SELECT id, status, total_tokens, updated_at FROM ai_processing_requests ORDER BY id") == state
    assert await rows(engine, "SELECT sentiment, category, language, summary, updated_at FROM sessions") == session
    assert session[0].category == "LEAVE_VACATION"


async def test_sweep_ingests_a_finished_batch_whose_event_was_lost(settings: Settings, engine: AsyncEngine,
                                                                   tmp_path: Path) -> None:
    batch_id, request_ids = await seed_batch(engine, settings, tmp_path)
    await poll_until(poller(engine, settings), engine, batch_id, "COMPLETED")
    async with engine.begin() as conn:
        await conn.execute(text("DELETE FROM outbox"))  # the batch.completed announcement never arrives
    provider = build_provider(settings)
    ingester = Ingester(engine, provider, IngesterConfig(max_attempts=3, retry_backoff_s=0,
                                                         request_pending_topic=settings.topics.request_pending),
                        on_commit=lambda: None)
    try:
        assert await ingester.sweep_once(older_than_s=3600) == 0  # not overdue yet: the event path owns it
        assert await ingester.sweep_once(older_than_s=0) == 1
        assert await ingester.sweep_once(older_than_s=0) == 0  # processed batches are not swept again
    finally:
        await provider.aclose()
    assert await scalar(engine, "SELECT status FROM provider_batches WHERE id = :b", b=batch_id) == "PROCESSED"
    assert await scalar(engine, "SELECT count(*) FROM ai_processing_requests WHERE status = 'PROCESSING_COMPLETE'") == len(
        request_ids)


async def test_a_poll_from_a_stale_read_cannot_rewind_the_batch(settings: Settings, engine: AsyncEngine,
                                                                tmp_path: Path) -> None:
    batch_id, _ = await seed_batch(engine, settings, tmp_path, n=1)
    async with engine.begin() as conn:  # another poller already saw it finalizing
        await conn.execute(text("UPDATE provider_batches SET status = 'FINALIZING' WHERE id = :b"), {"b": batch_id})
    before = await rows(engine, "SELECT * FROM provider_batches")
    async with engine.begin() as conn:
        assert not await poll_repo.reschedule(conn, batch_id, status=BatchStatus.IN_PROGRESS, delay_s=1,
                                              completed=0, failed=0, last_error=None)
    assert await rows(engine, "SELECT * FROM provider_batches") == before
    async with engine.begin() as conn:  # re-observing the stored status is a poll like any other
        assert await poll_repo.reschedule(conn, batch_id, status=BatchStatus.FINALIZING, delay_s=1,
                                          completed=1, failed=0, last_error=None)
        assert await poll_repo.finish(conn, batch_id, status=BatchStatus.COMPLETED, output_file_id="f",
                                      error_file_id=None, completed=1, failed=0, last_error=None, error_codes=[])
        # a terminal status is written once: a second finish (the other poller) matches nothing
        assert not await poll_repo.finish(conn, batch_id, status=BatchStatus.COMPLETED, output_file_id="f",
                                          error_file_id=None, completed=1, failed=0, last_error=None, error_codes=[])
    assert await scalar(engine, "SELECT status || ':' || poll_count FROM provider_batches") == "COMPLETED:2"
