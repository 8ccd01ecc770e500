"""An unfinished batch past its window plus grace is cancelled and recorded as EXPIRED."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from emulator.config import EmulatorConfig
from emulator.server import EmulatorServer
from shared.events import BatchCompleted, decode
from shared.settings import Settings
from tests.integration.test_poller_ingester import poll_until, poller, seed_batch
from tests.pipeline import rows


@pytest.fixture
def emulator_config() -> EmulatorConfig:
    return EmulatorConfig(port=0, stage_s=1.5, seed=3)  # in progress long enough to be cancelled


async def test_overdue_batch_is_cancelled_and_recorded_as_expired(settings: Settings, engine: AsyncEngine,
                                                                  tmp_path: Path, emulator: EmulatorServer) -> None:
    batch_id, _ = await seed_batch(engine, settings, tmp_path, submitted_ago_s=25 * 3600 + 60)
    p = poller(engine, settings)
    await poll_until(p, engine, batch_id, "EXPIRED")
    assert "cancelled" in {b["status"] for b in emulator.emulator.stats()["batches"]}
    event = decode(BatchCompleted, bytes((await rows(engine, "SELECT payload FROM outbox"))[0].payload))
    assert event.batch_id == batch_id


