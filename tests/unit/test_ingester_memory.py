"""The ingester keeps memory flat: outcomes are written in chunks as they are read, never all held;
the chunks go out in order, one write at a time, and a failed write stops the ones after it."""

from __future__ import annotations

import asyncio
import tracemalloc
from collections.abc import AsyncIterator, Sequence

import orjson
import pytest

from services.ingester.chunks import ChunkWriter
from services.ingester.service import Ingester, IngesterConfig
from shared.analysis import ProcessingType
from shared.lifecycle import BatchStatus, RequestStatus
from tests.fakes import FakeIngestStore


async def numbers(n: int) -> AsyncIterator[int]:
    for i in range(n):
        yield i


async def test_chunks_start_in_order_and_no_more_than_in_flight_run_at_once() -> None:
    started: list[list[int]] = []
    running = most = 0

    async def write(chunk: Sequence[int]) -> None:
        nonlocal running, most
        started.append(list(chunk))
        running += 1
        most = max(most, running)
        for _ in range(3 - len(started) % 3):  # uneven durations: later chunks may finish first
            await asyncio.sleep(0)
        running -= 1

    for in_flight in (1, 2):
        started.clear()
        most = 0
        writer: ChunkWriter[int] = ChunkWriter(write, in_flight)
        await writer.write_all(numbers(7), [7, 8], 2)
        assert started == [[0, 1], [2, 3], [4, 5], [6], [7, 8]]
        assert most == in_flight


async def test_what_comes_after_starts_once_every_earlier_write_is_done() -> None:
    done: list[int] = []

    async def write(chunk: Sequence[int]) -> None:
        if chunk[0] == 99:
            assert sorted(done) == [0, 2], "a later chunk started before the earlier ones were written"
        await asyncio.sleep(0.01 if chunk[0] == 0 else 0)
        done.append(chunk[0])

    await ChunkWriter(write, 2).write_all(numbers(4), [99], 2)
    assert sorted(done) == [0, 2, 99]


async def test_a_failed_write_is_raised_and_no_chunk_starts_after_it() -> None:
    started: list[list[int]] = []

    async def write(chunk: Sequence[int]) -> None:
        started.append(list(chunk))
        await asyncio.sleep(0)
        if chunk[0] == 2:
            raise RuntimeError("database gone")

    with pytest.raises(RuntimeError, match="database gone"):
        await ChunkWriter(write, 2).write_all(numbers(20), [], 2)
    # The failing chunk's neighbour was in flight already and finishes; nothing starts after.
    assert started == [[0, 1], [2, 3], [4, 5]]


async def test_when_the_reading_fails_the_write_in_flight_finishes_and_the_readings_error_is_raised() -> None:
    written: list[list[int]] = []

    async def write(chunk: Sequence[int]) -> None:
        await asyncio.sleep(0.01)
        written.append(list(chunk))

    async def broken() -> AsyncIterator[int]:
        for i in range(3):
            yield i
        raise ConnectionResetError("file stream cut")

    with pytest.raises(ConnectionResetError, match="file stream cut"):
        await ChunkWriter(write, 2).write_all(broken(), [99], 2)
    assert written == [[0, 1]]  # written in full; the half chunk and what comes after are not


class PaddedFiles:
    """Serves an output file of ``n`` 4 KB lines, generated one at a time (never held whole)."""

    def __init__(self, ids: list[str]) -> None:
        self.ids = ids
        self.bytes_served = 0

    async def iter_file_lines(self, file_id: str) -> AsyncIterator[bytes]:
        content = orjson.dumps({"sentiment": "NEUTRAL"}).decode()
        for cid in self.ids if file_id == "file-out" else []:
            body = {"choices": [{"message": {"content": content}, "finish_reason": "stop"}],
                    "system_fingerprint": "x" * 4_000}  # fmt: skip
            line = orjson.dumps({"custom_id": cid, "response": {"status_code": 200, "body": body}})
            self.bytes_served += len(line)
            yield line


async def test_memory_stays_flat_while_a_large_output_file_is_downloaded() -> None:
    store = FakeIngestStore()
    bid = store.add_batch(BatchStatus.COMPLETED)
    ids = [store.add_request(bid, f"s-{n}", processing_type=ProcessingType.SENTIMENT_ANALYSIS)
           for n in range(10_000)]  # fmt: skip
    files = PaddedFiles(ids)
    ingester = Ingester(
        store,
        files,  # type: ignore[arg-type]
        IngesterConfig(max_attempts=3, retry_backoff_s=1, request_pending_topic="t", chunk_size=500),
        on_commit=lambda: None,
    )
    tracemalloc.start()
    try:
        report = await ingester.ingest(bid)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert report.completed == 10_000
    assert all(store.request(c).status is RequestStatus.PROCESSING_COMPLETE for c in ids)
    assert files.bytes_served > 40_000_000
    # Holding the lines (or the parsed outcomes) in a list would take more than the 40 MB served; what
    # remains is the batch's member list, one chunk and the parser's working set (about 4 MB).
    assert peak < 10_000_000, f"peak traced memory {peak / 1e6:.1f} MB"
