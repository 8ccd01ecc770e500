"""``batchline batches list | show | cancel`` against real Kafka, PostgreSQL and the emulator.

The emulator spends 120 s of its clock in each stage and the test moves that clock on: to half-way
through the batch's run, where it stays while the test cancels it (a CLI subprocess may take
seconds on a loaded machine), then a stage at a time until every request is resolved. The command only asks the provider; the services then do the rest:
the poller records the cancellation, the ingester keeps the answered lines and sends the others back
to pending, and the submitter batches them again. Every request ends complete, the cancelled batch's
answers are exactly the lines the emulator says it finished before the cancel, and the others were
answered by a second batch, at their second attempt.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import orjson
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from emulator.config import EmulatorConfig
from emulator.server import EmulatorServer
from shared.settings import Settings
from tests.integration.test_ops_cli import cli, cli_json
from tests.integration.test_pipeline_flow import session_event
from tests.pipeline import publish, rows, running_services, scalar, wait_until_terminal

COMPLETE, IN_BATCH = "PROCESSING_COMPLETE", "BATCHING_IN_PROGRESS"
STAGE_S = 120.0


@pytest.fixture
def emulator_config() -> EmulatorConfig:
    return EmulatorConfig(port=0, stage_s=STAGE_S, seed=11)


async def first_batch(engine: AsyncEngine, where: str, timeout_s: float = 60) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = await rows(
            engine,
            "SELECT id, provider_batch_id, request_count, completed_count FROM provider_batches "
            f"WHERE {where} ORDER BY created_at LIMIT 1",
        )
        if found:
            return found[0]
        await asyncio.sleep(0.1)
    raise AssertionError(f"no batch with {where}")


async def resolved(engine: AsyncEngine, emulator: EmulatorServer, expected: int) -> dict[str, int]:
    """Move the emulator's clock a stage at a time until every request is resolved."""
    for _ in range(60):
        emulator.emulator.advance_clock(STAGE_S)
        try:
            return await wait_until_terminal(engine, expected, timeout_s=2)
        except AssertionError:
            continue
    return await wait_until_terminal(engine, expected, timeout_s=1)


async def test_cancel_of_a_running_batch_keeps_its_answers_and_retries_the_rest(
    settings: Settings, engine: AsyncEngine, emulator: EmulatorServer
) -> None:
    events = [session_event(i, "acme") for i in range(10)]
    async with running_services(settings):
        await publish(settings, events)
        await first_batch(engine, "provider_batch_id IS NOT NULL")
        emulator.emulator.advance_clock(STAGE_S * 1.5)  # half-way through the batch's run
        batch = await first_batch(engine, "completed_count > 0 AND completed_count < request_count")
        batch_id = str(batch.id)

        cancelled = await cli(settings, "batches", "cancel", batch_id)
        assert cancelled.returncode == 0, cancelled.stderr
        said = " ".join(cancelled.stdout.split())
        assert (
            f"batch {batch_id} ({batch.provider_batch_id}): cancel requested, the provider says cancelling"
            in said
        )

        running = ["--status", "in_progress", "--status", "CANCELLING"]
        listed = await cli_json(settings, "batches", "list", "--company", "acme", *running)
        assert [b["id"] for b in listed["batches"]] == [batch_id]
        assert listed["batches"][0]["provider_batch_id"] == batch.provider_batch_id
        assert (await cli_json(settings, "batches", "list", "--company", "beta"))["batches"] == []
        shown = await cli_json(settings, "batches", "show", batch_id)
        assert shown["batch"]["status"] in {"IN_PROGRESS", "CANCELLING"}
        assert shown["requests"][IN_BATCH] == shown["requests_total"] == batch.request_count

        assert await resolved(engine, emulator, len(events)) == {COMPLETE: len(events)}

    (remote,) = [b for b in emulator.emulator.stats()["batches"] if b["id"] == batch.provider_batch_id]
    assert remote["status"] == "cancelled"
    finished_before_cancel = remote["request_counts"]["completed"]
    assert 0 < finished_before_cancel < batch.request_count

    after = await cli_json(settings, "batches", "show", batch_id)
    assert after["batch"]["status"] == "PROCESSED"
    assert after["requests"][COMPLETE] == batch.request_count
    assert after["completed_in_this_batch"] == finished_before_cancel
    retried = await scalar(
        engine,
        "SELECT count(*) FROM ai_processing_requests r JOIN ai_batch_items i ON i.request_id = r.id "
        "WHERE i.batch_id = :b AND r.batch_id <> :b AND r.attempt = 2 AND r.status = :s",
        b=batch.id,
        s=COMPLETE,
    )
    assert retried == batch.request_count - finished_before_cancel

    again = await cli(settings, "batches", "cancel", batch_id)
    assert again.returncode == 2 and f"batch {batch_id} is PROCESSED: nothing to cancel" in again.stderr
    unknown = uuid.uuid4()
    missing = await cli(settings, "batches", "cancel", str(unknown))
    assert missing.returncode == 2 and f"no batch {unknown}" in missing.stderr
    everything = await cli_json(settings, "batches", "list", "--status", "PROCESSED", "--since", "2020-01-01")
    assert len(everything["batches"]) == await scalar(engine, "SELECT count(*) FROM provider_batches") >= 2
    plain = await cli(settings, "batches", "list")
    assert plain.returncode == 0 and f"{len(everything['batches'])} batches" in plain.stdout
    assert orjson.loads((await cli(settings, "batches", "show", batch_id, "--json")).stdout) == after
