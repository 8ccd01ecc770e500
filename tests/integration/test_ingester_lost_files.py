"""A batch whose output file is gone at the provider, through the real services and the emulator.

The output file is deleted at the emulator (``DELETE /v1/files/{id}``) after the batch completed and
before any ingester ran. The ingester must not wait for it for ever: the batch's requests go back to
pending at attempt 2 with a reason naming the file, and complete in a new batch once the submitter
runs. File hygiene is on (the default): at the end the emulator holds none of our files.
"""

from __future__ import annotations

import asyncio
import time

from sqlalchemy.ext.asyncio import AsyncEngine

from emulator.server import EmulatorServer
from shared.provider.openai import OpenAIBatchProvider, build_provider
from shared.settings import Settings
from tests.integration.test_pipeline_flow import session_event
from tests.pipeline import publish, rows, running_services, scalar, wait_until_terminal

N = 4


async def wait_for(engine: AsyncEngine, sql: str, what: str, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if await scalar(engine, sql):
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


async def file_ids(provider: OpenAIBatchProvider) -> set[str]:
    return {f.id async for f in provider.list_files()}


async def test_a_deleted_output_file_sends_its_requests_to_a_new_batch_and_no_file_is_left(
    settings: Settings, engine: AsyncEngine, emulator: EmulatorServer
) -> None:
    assert not settings.keep_provider_files
    async with running_services(settings, ("producer", "submitter", "poller")):
        await publish(settings, [session_event(i, "acme") for i in range(N)])
        await wait_for(
            engine,
            f"SELECT (SELECT count(*) FROM ai_processing_requests WHERE batch_id IS NOT NULL) = {N} "
            "AND NOT EXISTS (SELECT 1 FROM provider_batches WHERE status <> 'COMPLETED') "
            "AND NOT EXISTS (SELECT 1 FROM outbox)",
            "every request in a completed batch, announced",
        )
    first_batches = {r.id: r.output_file_id for r in await rows(engine, "SELECT id, output_file_id FROM provider_batches")}
    assert all(first_batches.values())
    async with build_provider(settings) as provider:
        before = await file_ids(provider)
        for output_file_id in first_batches.values():
            assert output_file_id in before
            assert await provider.delete_file(output_file_id)

    async with running_services(settings, ("ingester",)):
        await wait_for(engine, "SELECT NOT EXISTS (SELECT 1 FROM provider_batches WHERE status <> 'PROCESSED') "
                               "AND NOT EXISTS (SELECT 1 FROM outbox)", "the batches processed")  # fmt: skip
    assert first_batches.keys() == {r.id for r in await rows(engine, "SELECT id FROM provider_batches")}

    retried = await rows(engine, "SELECT status, attempt, batch_id, error_message FROM ai_processing_requests")
    assert len(retried) == N
    for r in retried:
        assert (r.status, r.attempt, r.batch_id) == ("PENDING_BATCHING", 2, None)
        assert r.error_message.startswith("file_unreadable: output file file-"), r.error_message
        assert "HTTP 404" in r.error_message
    errors = await rows(engine, "SELECT output_file_id, ingest_error FROM provider_batches")
    assert all(e.ingest_error.startswith(f"file_unreadable: output file {e.output_file_id}: ") for e in errors)

    async with running_services(settings, ("submitter", "poller", "ingester")):
        assert await wait_until_terminal(engine, N, timeout_s=60) == {"PROCESSING_COMPLETE": N}
        done = await rows(
            engine,
            "SELECT r.attempt, r.batch_id, s.summary FROM ai_processing_requests r "
            "JOIN sessions s ON s.company_id = r.company_id AND s.id = r.session_id",
        )
        assert [d.attempt for d in done] == [2] * N
        assert all(d.batch_id not in first_batches and d.summary for d in done)
        # Hygiene: every processed batch's input, output and error files are deleted after its commit.
        async with build_provider(settings) as provider:
            deadline = time.monotonic() + 30
            while (left := await file_ids(provider)) and time.monotonic() < deadline:
                await asyncio.sleep(0.2)
        assert left == set()
    assert await scalar(engine, "SELECT count(*) FROM provider_batches WHERE status = 'PROCESSED'") == len(
        first_batches) + len({d.batch_id for d in done})  # fmt: skip
