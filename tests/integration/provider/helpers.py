"""Shared helpers of the provider tests: input files, fast retry policy, waiting for batch ends."""

from __future__ import annotations

import asyncio
import zlib
from pathlib import Path
from typing import Any

import httpx
import orjson
from pydantic import SecretStr

from emulator.server import EmulatorServer
from shared.analysis import ProcessingType, chat_body
from shared.provider.base import BATCH_ENDPOINT, ProviderBatch
from shared.provider.http import RetryPolicy
from shared.provider.openai import OpenAIBatchProvider

TEST_KEY = "sk-test-0123456789abcdefSECRET"
FAST_RETRY = RetryPolicy(max_total_s=5.0, initial_wait_s=0.01, max_wait_s=0.1, jitter_s=0.01, file_race_s=2.0)

CONVERSATIONS = [
    "user: Hi, I need to swap my shift next Tuesday.\nassistant: Sure, I can help with the schedule.",
    "user: Hallo, ich habe eine Frage zu meinem Urlaub im August. Danke!\nassistant: Gerne.",
    "user: My payslip is wrong again, this is unacceptable.\nassistant: Sorry, let me check your salary.",
    "user: Bonjour, je ne peux pas me connecter, mot de passe oublié.\nassistant: Je vous aide.",
    "user: I am sick today and will see a doctor.\nassistant: Get well soon, thanks for telling us.",
]


def request_line(
    custom_id: str,
    *,
    ptype: ProcessingType = ProcessingType.FULL_ANALYSIS,
    model: str = "gpt-4o-mini",
    conversation: str | None = None,
    url: str = BATCH_ENDPOINT,
) -> dict[str, Any]:
    if conversation is None:
        conversation = CONVERSATIONS[zlib.crc32(custom_id.encode()) % len(CONVERSATIONS)]
    body = chat_body(ptype, model, conversation)
    return {"custom_id": custom_id, "method": "POST", "url": url, "body": body}


def write_jsonl(path: Path, lines: list[dict[str, Any]] | list[bytes]) -> Path:
    raw = [line if isinstance(line, bytes) else orjson.dumps(line) for line in lines]
    path.write_bytes(b"\n".join(raw) + b"\n")
    return path


def make_input(path: Path, n: int, prefix: str = "req", **kwargs: Any) -> Path:
    return write_jsonl(path, [request_line(f"{prefix}-{i}", **kwargs) for i in range(n)])


def make_provider(
    server: EmulatorServer,
    *,
    key: str = TEST_KEY,
    timeout_s: float = 5.0,
    retry: RetryPolicy = FAST_RETRY,
    **kwargs: Any,
) -> OpenAIBatchProvider:
    return OpenAIBatchProvider(
        base_url=server.base_url, api_key=SecretStr(key), timeout_s=timeout_s, retry=retry, **kwargs
    )


async def wait_terminal(
    provider: OpenAIBatchProvider, batch_id: str, timeout_s: float = 10.0
) -> ProviderBatch:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        batch = await provider.retrieve_batch(batch_id)
        if batch.is_terminal:
            return batch
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"batch {batch_id} still {batch.status} after {timeout_s}s")
        await asyncio.sleep(0.03)


async def wait_status(
    provider: OpenAIBatchProvider, batch_id: str, status: str, timeout_s: float = 5.0
) -> ProviderBatch:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        batch = await provider.retrieve_batch(batch_id)
        if batch.status == status:
            return batch
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"batch {batch_id} is {batch.status}, never {status}")
        await asyncio.sleep(0.01)


async def lines(provider: OpenAIBatchProvider, file_id: str | None) -> list[dict[str, Any]]:
    if file_id is None:
        return []
    return [orjson.loads(line) async for line in provider.iter_file_lines(file_id)]


async def set_faults(server: EmulatorServer, **faults: Any) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=server.url) as client:
        response = await client.post("/_emulator/faults", json=faults)
        response.raise_for_status()
        data: dict[str, Any] = response.json()
        return data


async def stats(server: EmulatorServer) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=server.url) as client:
        response = await client.get("/_emulator/stats")
        response.raise_for_status()
        data: dict[str, Any] = response.json()
        return data
