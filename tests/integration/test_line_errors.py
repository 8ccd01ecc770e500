"""A batch the provider refuses for two bad lines charges those two requests alone (real Postgres,
Kafka and emulator): the others were never run, go back uncharged and complete in a later batch."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from emulator.server import EmulatorServer
from services.poller import repository as poller_repo
from shared.kafka.topics import ensure_topics
from shared.lifecycle import BatchStatus
from shared.settings import Settings
from tests.integration.test_pipeline_flow import session_event
from tests.pipeline import publish, rows, running_services, scalar, wait_until_terminal

N = 8


async def _wait_for_requests(engine: AsyncEngine, n: int, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if await scalar(engine, "SELECT count(*) FROM ai_processing_requests") >= n:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"the producer did not create {n} requests in {timeout_s}s")


async def test_only_the_two_invalid_lines_are_charged_and_the_rest_complete_later(
    make_settings: Callable[..., Settings], engine: AsyncEngine, emulator: EmulatorServer
) -> None:
    settings = make_settings(max_attempts=2)
    await ensure_topics(settings)
    async with running_services(settings, ("producer",)):
        await publish(settings, [session_event(i, "acme", model="gpt-4o-mini") for i in range(N)])
        await _wait_for_requests(engine, N)
    ids = [str(r.id) for r in await rows(engine, "SELECT id FROM ai_processing_requests ORDER BY id")]
    assert len(ids) == N
    bad = {ids[1], ids[5]}
    # The emulator fails validation of every line carrying these custom_ids, in any batch.
    async with httpx.AsyncClient() as client:
        response = await client.post(f"{emulator.url}/_emulator/faults", json={"invalid_lines": sorted(bad)})
    assert response.status_code == 200, response.text

    async with running_services(settings):
        counts = await wait_until_terminal(engine, N, timeout_s=90)

    assert counts == {"PROCESSING_COMPLETE": N - 2, "PROCESSING_FAILED": 2}
    requests = {
        str(r.id): r
        for r in await rows(
            engine,
            "SELECT id, status, attempt, requeues, error_message, batch_id FROM ai_processing_requests",
        )
    }
    for cid in bad:
        got = requests[cid]
        assert got.status == "PROCESSING_FAILED" and got.attempt == 2
        # The emulator's message names the custom_id of the line it refused: the line was mapped right.
        assert got.error_message.startswith("invalid_request: Invalid request on line ")
        assert f"(custom_id '{cid}')" in got.error_message
        assert got.error_message.endswith("(after 2 attempts)")
    good = [requests[cid] for cid in ids if cid not in bad]
    assert {(r.status, r.attempt, r.requeues, r.error_message) for r in good} == {
        ("PROCESSING_COMPLETE", 1, 0, None)
    }

    # The first batch held all N requests on lines 1..N; it failed, and none completed in it.
    first = (
        await rows(
            engine,
            "SELECT id, status, error_codes FROM provider_batches WHERE submitted_at IS NOT NULL "
            "ORDER BY submitted_at LIMIT 1",
        )
    )[0]
    assert first.status == "PROCESSED" and first.error_codes == ["invalid_request", "invalid_request"]
    lines = await rows(engine, "SELECT request_id, line FROM ai_batch_items WHERE batch_id = :b", b=first.id)
    assert sorted(r.line for r in lines) == list(range(1, N + 1))
    assert all(r.batch_id != first.id for r in good)
    completed_in_first = await scalar(
        engine,
        "SELECT count(*) FROM ai_processing_requests WHERE batch_id = :b AND status = 'PROCESSING_COMPLETE'",
        b=first.id,
    )
    assert completed_in_first == 0


async def test_line_errors_are_kept_only_for_the_input_file_whose_lines_were_stored(
    engine: AsyncEngine,
) -> None:
    errors = [{"code": "invalid_request", "message": "bad", "param": "body", "line": 2}]
    stored: dict[str, object] = {}
    async with engine.begin() as conn:
        for ran in ("file-ours", "file-older-upload"):
            batch_id = uuid.uuid4()
            await conn.execute(
                text(
                    "INSERT INTO provider_batches (id, company_id, model, provider, status, request_count, "
                    "poll_count, submit_attempts, input_file_id) "
                    "VALUES (:b, 'acme', 'gpt-4o-mini', 'openai', 'VALIDATING', 2, 0, 1, 'file-ours')"
                ),
                {"b": batch_id},
            )
            assert await poller_repo.finish(
                conn, batch_id, status=BatchStatus.FAILED, output_file_id=None, error_file_id=None,
                completed=0, failed=0, last_error="invalid_request: bad", error_codes=["invalid_request"],
                validation_errors=errors, input_file_id=ran,
            )  # fmt: skip
            stored[ran] = await conn.scalar(
                text("SELECT validation_errors FROM provider_batches WHERE id = :b"), {"b": batch_id}
            )
    assert stored == {"file-ours": errors, "file-older-upload": None}
