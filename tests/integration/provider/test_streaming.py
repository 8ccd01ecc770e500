"""A 50,000-line batch: streamed upload, and an output file of tens of MB downloaded in bounded memory."""

from __future__ import annotations

import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from emulator.config import EmulatorConfig
from emulator.server import EmulatorServer
from shared.analysis import ProcessingType, chat_body
from shared.provider.base import LOCAL_BATCH_ID_KEY
from shared.provider.openai import OpenAIBatchProvider
from shared.settings import PROVIDER_MAX_REQUESTS_PER_FILE
from tests.integration.provider.helpers import make_provider, wait_terminal

N = PROVIDER_MAX_REQUESTS_PER_FILE
CONVERSATION = (
    "user: My payslip for March shows the wrong number of overtime hours and I have asked twice already. "
    "Could somebody from payroll please look at it before the next salary run?\n"
    "assistant: Thanks for flagging this, I have forwarded your payslip to the payroll team."
)


def _write_input(path: Path) -> int:
    body = chat_body(ProcessingType.SUMMARY, "gpt-4o-mini", CONVERSATION)
    with path.open("wb") as fh:
        for i in range(N):
            line = {"custom_id": f"s-{i:05d}", "method": "POST", "url": "/v1/chat/completions", "body": body}
            fh.write(orjson.dumps(line) + b"\n")
    return path.stat().st_size


@pytest.fixture
def on_disk(tmp_path: Path) -> Iterator[EmulatorServer]:
    """Blobs on disk, so the emulator (same process, same tracemalloc) streams its side too."""
    with EmulatorServer(EmulatorConfig(port=0, stage_s=0.05, state_dir=tmp_path / "state")) as server:
        yield server


async def test_large_files_stream_in_bounded_memory(on_disk: EmulatorServer, tmp_path: Path) -> None:
    path = tmp_path / "large.jsonl"
    input_size = _write_input(path)
    async with make_provider(on_disk, timeout_s=30) as provider:
        await _round_trip(provider, path, input_size)


async def _round_trip(provider: OpenAIBatchProvider, path: Path, input_size: int) -> None:

    tracemalloc.start()
    try:
        uploaded = await provider.upload_file(path)
        upload_peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert uploaded.bytes == input_size

    batch = await provider.create_batch(uploaded.id, metadata={LOCAL_BATCH_ID_KEY: "large"})
    batch = await wait_terminal(provider, batch.id, timeout_s=60)
    assert batch.status == "completed"
    assert batch.output_file_id is not None
    size = (await provider.retrieve_file(batch.output_file_id)).bytes
    assert size > 30 * 1024 * 1024

    count = total = 0
    tracemalloc.start()
    try:
        async for line in provider.iter_file_lines(batch.output_file_id):
            count += 1
            total += len(line) + 1
        download_peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()

    assert count == N
    assert total == size
    # Both sides of the wire run in this process, so the peaks include the emulator's buffers too.
    assert download_peak < size / 10, f"download peak {download_peak} for a {size}-byte file"
    # Upload: 1 MiB chunks on our side plus the server's multipart parser and spool buffers.
    assert upload_peak < input_size / 4, f"upload peak {upload_peak} for a {input_size}-byte file"
    print(
        f"input {input_size} B, upload peak {upload_peak} B; output {size} B, download peak {download_peak} B"
    )
