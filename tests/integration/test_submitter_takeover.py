"""A submitter that loses the race to record its provider batch cancels it (no double cost)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from emulator.config import EmulatorConfig
from emulator.server import EmulatorServer
from services.submitter import repository as repo
from services.submitter.ports import Unsubmitted
from services.submitter.service import Submitter, SubmitterConfig
from services.submitter.store import PostgresSubmitterStore
from shared.analysis import ProcessingType, chat_body
from shared.provider.base import LOCAL_BATCH_ID_KEY
from shared.provider.openai import build_provider
from shared.settings import Settings
from tests.pipeline import scalar


@pytest.fixture
def emulator_config() -> EmulatorConfig:
    return EmulatorConfig(port=0, stage_s=30, seed=9)  # batches stay in progress: cancellable


async def test_loser_of_a_takeover_cancels_its_provider_batch(settings: Settings, engine: AsyncEngine,
                                                              tmp_path: Path, emulator: EmulatorServer) -> None:
    batch_id = uuid.uuid4()
    path = tmp_path / "in.jsonl"
    path.write_bytes(orjson.dumps({"custom_id": "r1", "method": "POST", "url": "/v1/chat/completions",
                                   "body": chat_body(ProcessingType.SUMMARY, "gpt-4o-mini", "user: hi")}) + b"\n")
    provider = build_provider(settings)
    try:
        file = await provider.upload_file(path)
        winner = await provider.create_batch(file.id, metadata={LOCAL_BATCH_ID_KEY: str(batch_id)})
        loser = await provider.create_batch(file.id, metadata={LOCAL_BATCH_ID_KEY: str(batch_id)})
        async with engine.begin() as conn:
            await conn.execute(text(
                "INSERT INTO provider_batches (id, company_id, model, provider, status, request_count, poll_count, "
                "submit_attempts) VALUES (:b, 'acme', 'gpt-4o-mini', 'openai', 'PENDING_SUBMISSION', 1, 0, 2)"),
                {"b": batch_id})
            assert await repo.record_submitted(conn, batch_id, winner.id)  # the other submitter won
        submitter = Submitter(PostgresSubmitterStore(engine), provider, SubmitterConfig(
            max_requests=10, max_bytes=10**6, max_conversation_chars=1000, retry_delay_s=1,
            batch_created_topic=settings.topics.batch_created, batch_completed_topic=settings.topics.batch_completed,
        ), on_commit=lambda: None)
        unsubmitted = Unsubmitted(batch_id, "acme", "gpt-4o-mini", datetime.now(UTC), 1, file.id)
        await submitter._record(unsubmitted, loser.id)
        statuses = {b.id: b.status for b in [await provider.retrieve_batch(winner.id),
                                             await provider.retrieve_batch(loser.id)]}
    finally:
        await provider.aclose()
    assert statuses[loser.id] in ("cancelling", "cancelled")
    assert statuses[winner.id] not in ("cancelling", "cancelled")
    assert await scalar(engine, "SELECT provider_batch_id FROM provider_batches WHERE id = :b", b=batch_id) == winner.id
    assert submitter.stats["orphans_cancelled"] == 1
