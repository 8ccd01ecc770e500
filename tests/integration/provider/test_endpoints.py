"""The real client against the emulator over real HTTP: every endpoint, happy paths."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import orjson
import pytest

from emulator.server import EmulatorServer
from shared.analysis import ANSWER_MODELS, ProcessingType
from shared.provider.base import LOCAL_BATCH_ID_KEY, BatchProvider, ProviderNotFound
from shared.provider.openai import OpenAIBatchProvider, build_provider
from shared.settings import Settings
from tests.integration.provider.helpers import (
    TEST_KEY,
    lines,
    make_input,
    request_line,
    stats,
    wait_terminal,
    write_jsonl,
)


async def test_provider_implements_the_port(provider: OpenAIBatchProvider) -> None:
    assert isinstance(provider, BatchProvider)


async def test_build_provider_reads_settings(emulator: EmulatorServer, tmp_path: Path) -> None:
    settings = Settings(openai_base_url=emulator.base_url, openai_api_key=TEST_KEY, provider_timeout_s=5)
    async with build_provider(settings) as provider:
        uploaded = await provider.upload_file(make_input(tmp_path / "in.jsonl", 2))
        assert (await provider.retrieve_file(uploaded.id)).bytes == uploaded.bytes


async def test_file_endpoints(provider: OpenAIBatchProvider, tmp_path: Path) -> None:
    path = make_input(tmp_path / "input.jsonl", 3)
    uploaded = await provider.upload_file(path)
    assert uploaded.id.startswith("file-")
    assert (uploaded.bytes, uploaded.filename, uploaded.purpose) == (
        path.stat().st_size,
        "input.jsonl",
        "batch",
    )

    renamed = await provider.upload_file(path, filename="other.jsonl")
    assert renamed.filename == "other.jsonl"
    listed = [f.id async for f in provider.list_files(purpose="batch", page_size=1)]
    assert listed == [renamed.id, uploaded.id]  # newest first, across pages

    content = b"".join([line + b"\n" async for line in provider.iter_file_lines(uploaded.id)])
    assert content == path.read_bytes()

    assert await provider.delete_file(uploaded.id) is True
    with pytest.raises(ProviderNotFound) as err:
        await provider.retrieve_file(uploaded.id)
    assert err.value.status == 404
    with pytest.raises(ProviderNotFound):
        await provider.delete_file(uploaded.id)


async def test_upload_from_an_async_iterator_chunked_and_sized(provider: OpenAIBatchProvider) -> None:
    payload = b"".join(orjson.dumps(request_line(f"it-{i}")) + b"\n" for i in range(20))

    def source() -> AsyncIterator[bytes]:
        async def gen() -> AsyncIterator[bytes]:
            for start in range(0, len(payload), 1000):
                yield payload[start : start + 1000]

        return gen()

    chunked = await provider.upload_stream(source, filename="chunked.jsonl", size=None)
    sized = await provider.upload_stream(source, filename="sized.jsonl", size=len(payload))
    for uploaded in (chunked, sized):
        assert uploaded.bytes == len(payload)
        assert b"\n".join([x async for x in provider.iter_file_lines(uploaded.id)]) + b"\n" == payload


async def test_full_batch_round_trip(
    emulator: EmulatorServer, provider: OpenAIBatchProvider, tmp_path: Path
) -> None:
    n = 12
    path = write_jsonl(
        tmp_path / "in.jsonl",
        [request_line(f"r-{i}", ptype=list(ProcessingType)[i % 4]) for i in range(n)],
    )
    uploaded = await provider.upload_file(path)
    created = await provider.create_batch(uploaded.id, metadata={LOCAL_BATCH_ID_KEY: "local-1"})
    assert created.status == "validating"
    assert created.input_file_id == uploaded.id
    assert created.local_batch_id == "local-1"
    assert created.expires_at is not None
    assert created.expires_at - created.created_at == 86_400
    assert created.raw["endpoint"] == "/v1/chat/completions"
    assert created.raw["completion_window"] == "24h"

    seen = {created.status}
    batch = created
    while not batch.is_terminal:
        await asyncio.sleep(0.01)
        batch = await provider.retrieve_batch(created.id)
        seen.add(batch.status)
    assert seen >= {"validating", "in_progress", "finalizing", "completed"}
    assert batch.request_counts.total == n
    assert batch.request_counts.completed == n
    assert batch.error_file_id is None
    assert batch.output_file_id is not None
    for stamp in ("in_progress_at", "finalizing_at", "completed_at"):
        assert batch.raw[stamp] >= batch.created_at
    assert batch.raw["usage"]["input_tokens"] > 0

    output = await lines(provider, batch.output_file_id)
    ids = [line["custom_id"] for line in output]
    assert sorted(ids) == sorted(f"r-{i}" for i in range(n))
    assert ids != [f"r-{i}" for i in range(n)]  # the real API does not keep input order
    for line in output:
        assert line["error"] is None
        assert line["id"].startswith("batch_req_")
        body = line["response"]["body"]
        assert line["response"]["status_code"] == 200
        assert body["object"] == "chat.completion"
        ptype = list(ProcessingType)[int(line["custom_id"].split("-")[1]) % 4]
        ANSWER_MODELS[ptype].model_validate_json(body["choices"][0]["message"]["content"])
        assert (
            body["usage"]["total_tokens"]
            == body["usage"]["prompt_tokens"] + body["usage"]["completion_tokens"]
        )

    recorded = (await stats(emulator))["batches"]
    assert [b["id"] for b in recorded] == [created.id]
    assert recorded[0]["metadata"] == {LOCAL_BATCH_ID_KEY: "local-1"}
    assert set(recorded[0]["results"].values()) == {"succeeded"}


async def test_list_batches_pages_newest_first(provider: OpenAIBatchProvider, tmp_path: Path) -> None:
    uploaded = await provider.upload_file(make_input(tmp_path / "in.jsonl", 1))
    created = [
        (await provider.create_batch(uploaded.id, metadata={LOCAL_BATCH_ID_KEY: str(i)})).id for i in range(5)
    ]
    listed = [b async for b in provider.list_batches(page_size=2)]
    assert [b.id for b in listed] == created[::-1]
    assert [b.local_batch_id for b in listed] == ["4", "3", "2", "1", "0"]


async def test_polls_record_every_retrieval_of_each_batch(
    emulator: EmulatorServer, provider: OpenAIBatchProvider, tmp_path: Path
) -> None:
    """``/_emulator/polls``: the provider-side log a benchmark checks a poller's minimum interval against."""
    uploaded = await provider.upload_file(make_input(tmp_path / "in.jsonl", 2))
    first = await provider.create_batch(uploaded.id, metadata={})
    second = await provider.create_batch(uploaded.id, metadata={})
    for _ in range(3):
        await provider.retrieve_batch(first.id)
    await provider.retrieve_batch(second.id)
    async with httpx.AsyncClient(base_url=emulator.url) as client:
        polls = (await client.get("/_emulator/polls")).raise_for_status().json()["batches"]
    assert {batch_id: len(times) for batch_id, times in polls.items()} == {first.id: 3, second.id: 1}
    assert polls[first.id] == sorted(polls[first.id])
    assert polls[first.id][0] >= first.created_at
    emulator.emulator.reset()
    async with httpx.AsyncClient(base_url=emulator.url) as client:
        assert (await client.get("/_emulator/polls")).json() == {"batches": {}}


async def test_retrieve_unknown_batch_is_not_found(provider: OpenAIBatchProvider) -> None:
    with pytest.raises(ProviderNotFound):
        await provider.retrieve_batch("batch_does_not_exist")


async def test_cancel_a_running_batch(provider: OpenAIBatchProvider, tmp_path: Path) -> None:
    uploaded = await provider.upload_file(make_input(tmp_path / "in.jsonl", 4))
    batch = await provider.create_batch(uploaded.id, metadata={})
    cancelling = await provider.cancel_batch(batch.id)
    assert cancelling.status == "cancelling"
    assert "cancelling_at" in cancelling.raw
    again = await provider.cancel_batch(batch.id)  # idempotent while cancelling
    assert again.status == "cancelling"
    done = await wait_terminal(provider, batch.id)
    assert done.status == "cancelled"
    assert done.raw["cancelled_at"] >= done.raw["cancelling_at"]
