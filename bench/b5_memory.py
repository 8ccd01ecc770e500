"""B5 memory: peak RSS growth while ingesting a 200 MB output file and while building a 200 MB input file.

Each measurement runs in a fresh child process (``python -m bench.b5_memory ingest|build ...``), so
nothing the parent allocated (the staging, the upload) counts. The child imports everything and
builds its engine and client first, then resets the kernel's peak-RSS mark (``/proc/self/clear_refs``
``5``), notes ``VmRSS``, does the work, and reports ``VmHWM`` minus that: the growth the work itself
caused, read from ``/proc`` (no psutil).

* ingest: the ingester's real path (``Ingester.ingest``) on a batch of 50,000 requests whose output
  file, about 200 MB (answers with long summaries, clipped on ingest), the emulator serves over HTTP
  from its own process.
* build: ``services.submitter.batch_file.write_lines`` writing 50,000 requests of 4 KB conversations
  (about 200 MB of JSONL) from a stream of rows, the rule ``write_batch_file`` applies to its
  server-side cursor.

Run: ``python -m bench.b5_memory`` (``BATCHLINE_DATABASE_URL`` names the server; a scratch database is
created and dropped).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import subprocess
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

from bench.results import BenchRow, save

LIMIT_MB = 100.0
REQUESTS = 50_000
#: A summary this long makes an output line about 4 KB: 50,000 of them are about 200 MB.
SUMMARY_CHARS = 3_300
#: Ten messages of this many characters make an input line about 4 KB.
MESSAGE_CHARS = 380


def _status(field: str) -> int:
    """A ``/proc/self/status`` figure in kB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def _reset_peak() -> int:
    """Reset the peak-RSS mark (Linux >= 4.0) and return the current RSS, in kB."""
    # Without the reset, VmHWM is the peak since start: the growth is then an upper bound.
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")
    return _status("VmRSS")


async def _child_ingest(url: str, base_url: str, batch_id: str) -> dict[str, float]:
    from bench.stage import provider
    from services.ingester.service import Ingester, IngesterConfig
    from shared.db.engine import make_engine

    engine = make_engine(url)
    config = IngesterConfig(max_attempts=3, retry_backoff_s=0, request_pending_topic="bench.request.pending")
    async with provider(base_url) as client:
        ingester = Ingester(engine, client, config, on_commit=lambda: None)
        async with engine.connect():
            pass  # the pool's first connection exists before the baseline
        before = _reset_peak()
        report = await ingester.ingest(uuid.UUID(batch_id))
        peak = _status("VmHWM")
    await engine.dispose()
    return {"before_kb": before, "peak_kb": peak, "completed": report.completed}


async def _child_build(out: str, requests: int) -> dict[str, float]:
    from services.submitter.batch_file import FileLimits, FileRow, write_lines
    from shared.analysis import conversation_text
    from shared.settings import PROVIDER_MAX_FILE_BYTES

    text = ("I would like to swap my shift on Tuesday, and ask about my leave in August. " * 6)[
        :MESSAGE_CHARS
    ]

    messages = [("user" if m % 2 == 0 else "assistant", text) for m in range(10)]

    async def rows() -> AsyncIterator[FileRow]:
        for _ in range(requests):
            yield FileRow(uuid.uuid4(), "full_analysis", "gpt-4o-mini", conversation_text(messages))

    limits = FileLimits(
        max_bytes=PROVIDER_MAX_FILE_BYTES + (16 << 20), max_requests=requests, max_conversation_chars=50_000
    )
    before = _reset_peak()
    built = await write_lines(rows(), Path(out), limits)
    peak = _status("VmHWM")
    return {"before_kb": before, "peak_kb": peak, "lines": built.lines, "bytes": built.bytes}


def _run_child(*args: str) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, "-m", "bench.b5_memory", *args], check=True, capture_output=True, text=True
    )
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


async def main(requests: int) -> None:
    from bench.stage import emulator_process, scratch_database, stage_batch
    from shared.db.engine import make_engine

    with emulator_process() as base_url:
        async with scratch_database() as url:
            engine = make_engine(url)
            staged = await stage_batch(engine, base_url, requests, "mem", summary_chars=SUMMARY_CHARS)
            await engine.dispose()
            ingest = await asyncio.to_thread(_run_child, "ingest", url, base_url, str(staged.batch_id))
    with tempfile.TemporaryDirectory(prefix="bench-b5-") as tmp:
        build = await asyncio.to_thread(_run_child, "build", str(Path(tmp) / "input.jsonl"), str(requests))
    grow_ingest = (ingest["peak_kb"] - ingest["before_kb"]) / 1024
    grow_build = (build["peak_kb"] - build["before_kb"]) / 1024
    save(
        "b5_memory",
        [
            BenchRow(
                "B5 memory: ingest",
                f"{grow_ingest:.0f} MB peak RSS growth",
                "",
                "",
                f"<= {LIMIT_MB:.0f} MB",
                grow_ingest <= LIMIT_MB,
                f"{staged.file_bytes / 1e6:.0f} MB output file, {int(ingest['completed']):,} requests completed",
            ),
            BenchRow(
                "B5 memory: build",
                f"{grow_build:.0f} MB peak RSS growth",
                "",
                "",
                f"<= {LIMIT_MB:.0f} MB",
                grow_build <= LIMIT_MB,
                f"{build['bytes'] / 1e6:.0f} MB input file, {int(build['lines']):,} lines",
            ),
        ],
    )


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "ingest":
        print(json.dumps(asyncio.run(_child_ingest(*sys.argv[2:5]))))
    elif len(sys.argv) > 1 and sys.argv[1] == "build":
        print(json.dumps(asyncio.run(_child_build(sys.argv[2], int(sys.argv[3])))))
    else:
        parser = argparse.ArgumentParser(description=__doc__)
        parser.add_argument("--requests", type=int, default=REQUESTS)
        asyncio.run(main(parser.parse_args().requests))
