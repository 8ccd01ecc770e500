"""Retries over real HTTP: 429 with Retry-After, 500, timeouts, connection errors, and when not to retry."""

from __future__ import annotations

import socket
from collections.abc import MutableMapping
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from structlog.testing import capture_logs

from emulator.server import EmulatorServer
from shared.provider.base import (
    LOCAL_BATCH_ID_KEY,
    PermanentProviderError,
    ProviderNotFound,
    RetryableProviderError,
)
from shared.provider.http import RetryPolicy
from shared.provider.openai import OpenAIBatchProvider
from tests.integration.provider.helpers import make_input, make_provider, set_faults, stats, wait_terminal


def _requests(counters: dict[str, Any], method: str, kind: str) -> int:
    return int(counters.get(f"http {method} {kind}", 0))


def _retries(logs: list[MutableMapping[str, Any]]) -> list[MutableMapping[str, Any]]:
    """The client's ``provider.retry`` log events: one per sleep before another attempt, with its wait."""
    return [e for e in logs if e.get("event") == "provider.retry"]


async def test_429_waits_for_retry_after(emulator: EmulatorServer, provider: OpenAIBatchProvider) -> None:
    await set_faults(emulator, http_429_next=2, retry_after_s=0.3)
    with capture_logs() as logs:
        assert [b async for b in provider.list_batches()] == []
    # Two Retry-After: 0.3 honoured, not the 0.01 s backoff of FAST_RETRY.
    assert [(r["status"], r["wait_s"]) for r in _retries(logs)] == [(429, 0.3), (429, 0.3)]
    counters = (await stats(emulator))["counters"]
    assert counters["fault_http_429"] == 2
    assert _requests(counters, "GET", "batches") == 3


async def test_500_is_retried_with_backoff(emulator: EmulatorServer, provider: OpenAIBatchProvider) -> None:
    await set_faults(emulator, http_500_next=3)
    assert [b async for b in provider.list_batches()] == []
    assert _requests((await stats(emulator))["counters"], "GET", "batches") == 4


async def test_upload_is_resent_in_full_after_a_429(
    emulator: EmulatorServer, provider: OpenAIBatchProvider, tmp_path: Path
) -> None:
    path = make_input(tmp_path / "in.jsonl", 30)
    await set_faults(emulator, http_429_next=1, retry_after_s=0.01)
    uploaded = await provider.upload_file(path)
    content = b"".join([line + b"\n" async for line in provider.iter_file_lines(uploaded.id)])
    assert content == path.read_bytes()
    assert _requests((await stats(emulator))["counters"], "POST", "files") == 2


async def test_read_timeout_is_retried(emulator: EmulatorServer) -> None:
    await set_faults(emulator, stall_next=1, stall_s=1.0)
    async with make_provider(emulator, timeout_s=0.3) as provider:
        with capture_logs() as logs:
            assert [b async for b in provider.list_batches()] == []
    retries = _retries(logs)
    assert len(retries) == 1
    assert "ReadTimeout" in retries[0]["error"]
    assert (await stats(emulator))["counters"]["fault_stalled"] == 1


async def test_connection_refused_is_retried_until_the_budget_ends() -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    policy = RetryPolicy(max_total_s=0.5, initial_wait_s=0.05, max_wait_s=0.1, jitter_s=0.01)
    async with OpenAIBatchProvider(
        base_url=f"http://127.0.0.1:{port}/v1", api_key=SecretStr("k"), retry=policy
    ) as provider:
        with capture_logs() as logs, pytest.raises(RetryableProviderError, match="ConnectError"):
            await provider.retrieve_batch("batch_x")
    retries = _retries(logs)
    # Retried (waits 0.05, then ~0.1 each) until the next sleep would cross the 0.5 s budget.
    assert len(retries) >= 3, retries
    assert all("ConnectError" in r["error"] for r in retries)
    assert sum(r["wait_s"] for r in retries) <= policy.max_total_s


async def test_retry_after_beyond_the_budget_gives_up_at_once(emulator: EmulatorServer) -> None:
    await set_faults(emulator, http_429_rate=1.0, retry_after_s=30)
    policy = RetryPolicy(max_total_s=2.0, initial_wait_s=0.01)
    async with make_provider(emulator, retry=policy) as provider:
        with capture_logs() as logs, pytest.raises(RetryableProviderError) as err:
            await provider.retrieve_batch("batch_x")
    assert _retries(logs) == []  # a 30 s Retry-After cannot fit a 2 s budget: no sleep, no retry
    assert _requests((await stats(emulator))["counters"], "GET", "batches") == 1
    assert err.value.status == 429
    assert err.value.retry_after == 30
    assert err.value.code == "rate_limit_exceeded"


async def test_no_retry_on_400(emulator: EmulatorServer, tmp_path: Path) -> None:
    async with make_provider(emulator, completion_window="48h") as provider:
        uploaded = await provider.upload_file(make_input(tmp_path / "in.jsonl", 1))
        with pytest.raises(PermanentProviderError) as err:
            await provider.create_batch(uploaded.id, metadata={})
    assert err.value.status == 400
    assert "completion_window" in str(err.value)
    assert not isinstance(err.value, RetryableProviderError)
    assert _requests((await stats(emulator))["counters"], "POST", "batches") == 1


async def test_no_retry_on_404(emulator: EmulatorServer, provider: OpenAIBatchProvider) -> None:
    with pytest.raises(ProviderNotFound):
        await provider.retrieve_batch("batch_nope")
    assert _requests((await stats(emulator))["counters"], "GET", "batches") == 1


async def test_lost_create_response_does_not_create_twice(
    emulator: EmulatorServer, provider: OpenAIBatchProvider, tmp_path: Path
) -> None:
    """The batch was created but the answer was lost (502): the retry finds it by metadata."""
    uploaded = await provider.upload_file(make_input(tmp_path / "in.jsonl", 2))
    await set_faults(emulator, lost_response_next=1)
    batch = await provider.create_batch(uploaded.id, metadata={LOCAL_BATCH_ID_KEY: "once"})
    assert batch.local_batch_id == "once"
    recorded = (await stats(emulator))["batches"]
    assert [b["id"] for b in recorded] == [batch.id]
    assert (await wait_terminal(provider, batch.id)).status == "completed"


async def test_random_faults_on_every_endpoint_still_complete_a_batch(
    emulator: EmulatorServer, provider: OpenAIBatchProvider, tmp_path: Path
) -> None:
    await set_faults(emulator, http_429_rate=0.2, http_500_rate=0.2, retry_after_s=0.01, latency_ms=2)
    uploaded = await provider.upload_file(make_input(tmp_path / "in.jsonl", 5))
    batch = await provider.create_batch(uploaded.id, metadata={LOCAL_BATCH_ID_KEY: "noisy"})
    done = await wait_terminal(provider, batch.id)
    assert done.status == "completed"
    assert len([line async for line in provider.iter_file_lines(done.output_file_id or "")]) == 5
    counters = (await stats(emulator))["counters"]
    assert counters["fault_http_429"] + counters["fault_http_500"] > 0
    assert len((await stats(emulator))["batches"]) == 1
