"""The ingester's download step keeps memory flat: outcomes go to a temporary file, not a list."""

from __future__ import annotations

import tracemalloc
from collections.abc import AsyncIterator

import orjson

from services.ingester.results import LineOutcome, Usage
from services.ingester.service import Ingester, IngesterConfig
from services.ingester.spool import OutcomeSpool
from shared.analysis import ProcessingType
from shared.lifecycle import BatchStatus, RequestStatus
from tests.fakes import FakeIngestStore


def test_outcomes_come_back_in_order_and_in_chunks() -> None:
    written = [
        LineOutcome("a", {"summary": "line one\nline two \u2603"}, None, Usage(1, 2, 3)),
        LineOutcome("b", None, "invalid_answer: x", Usage()),
        LineOutcome("c", {"sentiment": "POSITIVE"}, None, Usage(0, 0, 7)),
    ]
    with OutcomeSpool() as spool:
        for o in written:
            spool.add(o)
        assert spool.count == 3
        assert [[o.custom_id for o in c] for c in spool.chunks(2)] == [["a", "b"], ["c"]]
        assert [o for c in spool.chunks(5) for o in c] == written  # readable again, unchanged


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
