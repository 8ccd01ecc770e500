"""The API key never reaches a log line, an exception message, a traceback or a repr."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import structlog
from pydantic import SecretStr

from emulator.config import EmulatorConfig
from emulator.server import EmulatorServer
from shared.provider.base import PermanentProviderError, ProviderError
from shared.provider.http import RetryPolicy
from shared.provider.openai import OpenAIBatchProvider
from tests.integration.provider.helpers import make_input, make_provider, set_faults

SECRET = "sk-proj-SECRET-9f8e7d6c5b4a39281706"


@pytest.fixture(scope="module")
def keyed() -> Iterator[EmulatorServer]:
    """An emulator that only accepts one key, and echoes back whatever it is sent."""
    with EmulatorServer(EmulatorConfig(port=0, stage_s=0.05, api_key="sk-the-right-key")) as server:
        yield server


def _everything_said(exc: BaseException) -> str:
    return "\n".join([str(exc), repr(exc), *traceback.format_exception(exc)])


async def test_key_is_absent_from_errors_and_logs(
    keyed: EmulatorServer,
    emulator: EmulatorServer,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)  # httpx/httpcore debug logging included
    seen: list[str] = []
    with structlog.testing.capture_logs() as events:
        # 1. a wrong key: 401, permanent, message says what failed
        async with make_provider(keyed, key=SECRET) as provider:
            seen.append(repr(provider))
            with pytest.raises(PermanentProviderError) as err:
                await provider.upload_file(make_input(tmp_path / "in.jsonl", 1))
            assert err.value.status == 401
            assert "POST /files" in str(err.value)
            seen.append(_everything_said(err.value))

        # 2. retries and transient failures are logged: still no key
        await set_faults(emulator, http_500_next=2, http_429_next=1, retry_after_s=0.01)
        quick = RetryPolicy(max_total_s=0.5, initial_wait_s=0.01, max_wait_s=0.05, jitter_s=0.01)
        async with make_provider(emulator, key=SECRET, retry=quick) as provider:
            assert [b async for b in provider.list_batches()] == []
            await set_faults(emulator, http_500_rate=1.0)
            with pytest.raises(ProviderError) as transient:
                await provider.retrieve_batch("batch_x")
            seen.append(_everything_said(transient.value))

        # 3. a server that echoes the key back in its error text gets it scrubbed
        def echo(request: httpx.Request) -> httpx.Response:
            said = f"Incorrect API key provided: {request.headers['authorization']}"
            return httpx.Response(401, json={"error": {"message": said, "type": "invalid_request_error"}})

        async with OpenAIBatchProvider(
            base_url="https://api.example.test/v1",
            api_key=SecretStr(SECRET),
            transport=httpx.MockTransport(echo),
        ) as provider:
            with pytest.raises(ProviderError) as echoed:
                await provider.retrieve_batch("b")
            assert "Incorrect API key provided: Bearer [REDACTED]" in str(echoed.value)
            seen.append(_everything_said(echoed.value))

    assert any(e["event"] == "provider.retry" for e in events)  # retries were logged
    seen += [str(e) for e in events]
    seen += [caplog.text, *(r.getMessage() for r in caplog.records)]
    captured = capsys.readouterr()
    seen += [captured.out, captured.err]
    leaks = [text for text in seen if SECRET in text]
    assert leaks == []


async def test_key_is_sent_and_accepted(keyed: EmulatorServer, tmp_path: Path) -> None:
    async with make_provider(keyed, key="sk-the-right-key") as provider:
        uploaded = await provider.upload_file(make_input(tmp_path / "in.jsonl", 1))
        assert uploaded.bytes > 0


async def test_azure_style_api_key_header_is_supported(emulator: EmulatorServer) -> None:
    # The emulator speaks OpenAI's bearer auth only, so api-key mode must be refused with 401 there.
    async with make_provider(emulator, auth_header="api-key") as provider:
        with pytest.raises(PermanentProviderError) as err:
            await provider.retrieve_batch("batch_x")
    assert err.value.status == 401
