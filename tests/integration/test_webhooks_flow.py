"""Webhooks end to end: the emulator's signed events wake the poller; bad deliveries change nothing."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import socket
import time
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from emulator.config import EmulatorConfig
from emulator.server import EmulatorServer
from services.poller.webhook_server import serve
from shared.settings import Settings
from shared.webhooks import batch_event_body, sign_headers
from tests.integration.test_pipeline_flow import session_event
from tests.pipeline import publish, rows, running_services, scalar, wait_until_terminal

SECRET = "whsec_" + base64.b64encode(b"flow-test-secret-of-32-bytes!!!!").decode()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def receiver_port() -> int:
    """Chosen when the test starts, not at import: a long suite may hand an early pick to someone else."""
    return free_port()


@pytest.fixture
def emulator_config(receiver_port: int) -> EmulatorConfig:
    # 1 s stages: a batch ends ~3 s after creation, long after the submitter recorded its id.
    return EmulatorConfig(
        port=0, stage_s=1.0, seed=5, webhook_url=f"http://127.0.0.1:{receiver_port}/", webhook_secret=SECRET
    )


@contextlib.asynccontextmanager
async def receiver(settings: Settings, port: int = 0) -> AsyncIterator[int]:
    stop = asyncio.Event()
    started: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    task = asyncio.create_task(serve(settings, stop, host="127.0.0.1", port=port, started=started))
    try:
        yield await asyncio.wait_for(started, 10)
    finally:
        stop.set()
        await task


async def test_a_run_with_hourly_polling_finishes_on_webhooks(
    make_settings: object, engine: AsyncEngine, emulator: EmulatorServer, receiver_port: int
) -> None:
    from shared.kafka.topics import ensure_topics

    settings: Settings = make_settings(  # type: ignore[operator]
        poll_interval_s=3600.0, poll_max_interval_s=3600.0, webhook_secret=SECRET
    )
    await ensure_topics(settings)
    events = [session_event(i, f"c{i % 2}") for i in range(6)]
    started = time.monotonic()
    async with receiver(settings, receiver_port), running_services(settings):
        await publish(settings, events)
        counts = await wait_until_terminal(engine, expected_requests=6, timeout_s=90)
    elapsed = time.monotonic() - started
    assert counts == {"PROCESSING_COMPLETE": 6}
    assert elapsed < 600  # far below the 3600 s first poll the schedule alone would give
    batches = await rows(engine, "SELECT provider_batch_id, poll_count FROM provider_batches")
    hooks = await rows(engine, "SELECT provider_batch_id, batch_found FROM webhook_events")
    assert {b.provider_batch_id for b in batches} == {h.provider_batch_id for h in hooks}
    assert all(h.batch_found for h in hooks)
    # Polled because woken, not on the schedule: one poll per batch, none before the webhook.
    polls = emulator.emulator.polls()
    assert all(len(polls.get(b.provider_batch_id, [])) == 1 for b in batches), polls


async def snapshot(engine: AsyncEngine) -> tuple[list[object], list[object]]:
    batch = await rows(engine, "SELECT id, status, poll_count, next_poll_at FROM provider_batches ORDER BY id")
    hooks = await rows(engine, "SELECT webhook_id, event_type, batch_found, received_at FROM webhook_events")
    return [tuple(r) for r in batch], [tuple(r) for r in hooks]


async def test_duplicate_replayed_and_forged_webhooks_change_nothing(
    make_settings: object, engine: AsyncEngine
) -> None:
    settings: Settings = make_settings(webhook_secret=SECRET)  # type: ignore[operator]
    async with engine.begin() as conn:
        await conn.execute(text(
        "INSERT INTO provider_batches (id, company_id, model, provider, provider_batch_id, status, request_count, "
        "poll_count, submit_attempts, submitted_at, next_poll_at) VALUES (gen_random_uuid(), 'acme', 'm', "
        "'openai', 'batch_hook', 'IN_PROGRESS', 1, 2, 1, now(), now() + interval '1 hour')"))
    body = batch_event_body("evt_1", "completed", "batch_hook", int(time.time()))

    async with receiver(settings) as port, httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:

        async def post(headers: dict[str, str], content: bytes = body) -> httpx.Response:
            return await client.post("/", content=content, headers=headers)

        # Forged before anything: refused, nothing written.
        before = await snapshot(engine)
        forged = sign_headers("whsec_" + base64.b64encode(b"x" * 32).decode(), "wh_1", int(time.time()), body)
        assert (await post(forged)).status_code == 400
        assert await snapshot(engine) == before

        first = await post(sign_headers(SECRET, "wh_1", int(time.time()), body))
        assert (first.status_code, first.json()) == (200, {"result": "woken"})
        due = await scalar(engine, "SELECT next_poll_at <= now() FROM provider_batches")
        assert due is True
        after_first = await snapshot(engine)
        assert len(after_first[1]) == 1

        duplicate = await post(sign_headers(SECRET, "wh_1", int(time.time()), body))
        assert (duplicate.status_code, duplicate.json()) == (200, {"result": "duplicate"})
        replayed = await post(sign_headers(SECRET, "wh_2", int(time.time()) - 3600, body))
        assert replayed.status_code == 400
        tampered = await post(sign_headers(SECRET, "wh_3", int(time.time()), body), body + b" ")
        assert tampered.status_code == 400
        assert await snapshot(engine) == after_first

        unknown_body = batch_event_body("evt_9", "failed", "batch_not_ours", int(time.time()))
        unknown = await post(sign_headers(SECRET, "wh_9", int(time.time()), unknown_body), unknown_body)
        assert (unknown.status_code, unknown.json()) == (200, {"result": "unknown_batch"})
        assert (await snapshot(engine))[0] == after_first[0]
