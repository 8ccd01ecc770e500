"""B3 submit: claim, build and upload one 50,000-request batch file against the emulator (real HTTP).

A scratch database is seeded (COPY, untimed) with 50,000 pending requests of one company and model,
each with a 10-message session. The submitter's real path (``Submitter.flush_group`` on the
PostgreSQL store and the HTTP provider client) then claims them into one batch, streams its JSONL
file from the database to disk, uploads it to an emulator running as its own process, creates the
provider batch and records it. Each step is timed on its own as it runs (the store's and provider's
methods are wrapped, not re-implemented). The build's limit, measured in the same run: ``orjson.dumps``
of the very same lines (read back from the file, untimed) and nothing else.

Run: ``python -m bench.b3_submit [--requests 50000] [--profile out.html]``.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import httpx
import orjson
from sqlalchemy import text

from bench.b2_intake import make_events, rows_of
from bench.results import BenchRow, save
from bench.scratch import asyncpg_dsn, scratch_database
from services.submitter.accumulator import GroupKey
from services.submitter.service import Submitter, SubmitterConfig
from services.submitter.store import PostgresSubmitterStore
from shared.db.engine import make_engine
from shared.provider.openai import build_provider
from shared.settings import Settings

TOTAL_TARGET_S = 5.0
BUILD_TARGET_MB_S = 100.0
#: Words per message: short enough that 50,000 requests' size estimates fit one 200 MB file.
WORDS = 6
R = TypeVar("R")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_emulator(port: int) -> subprocess.Popen[bytes]:
    """The emulator in its own process, as in production the provider is another machine."""
    cmd = [sys.executable, "-c", "from cli.main import main; main()", "emulator", "--port", str(port)]
    proc = subprocess.Popen([*cmd, "--stage-seconds", "600"], stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/v1/batches", headers={"Authorization": "Bearer sk-bench"})
            return proc
        except httpx.TransportError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("the emulator did not start")


async def seed(url: str, settings: Settings, n: int) -> GroupKey:
    """``n`` pending requests of one company and model, with their sessions and messages (COPY)."""
    events = make_events(n, words=WORDS)
    for e in events:
        e["company_id"] = "acme"
    tables = rows_of(settings, events)
    del tables["outbox"], tables["processed_events"]
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        async with conn.transaction():
            for table, (columns, records) in tables.items():
                await conn.copy_records_to_table(table, records=records, columns=columns)
        await conn.execute("ANALYZE")
    finally:
        await conn.close()
    return GroupKey("acme", settings.default_model)


class Clock:
    """Seconds spent in each wrapped call, by name."""

    def __init__(self) -> None:
        self.spent: dict[str, float] = {}

    def wrap(self, name: str, fn: Callable[..., Awaitable[R]]) -> Callable[..., Awaitable[R]]:
        async def timed(*args: Any, **kwargs: Any) -> R:
            started = time.perf_counter()
            try:
                return await fn(*args, **kwargs)
            finally:
                self.spent[name] = self.spent.get(name, 0.0) + time.perf_counter() - started

        return timed


def dumps_limit(path: Path) -> tuple[float, int]:
    """Seconds to ``orjson.dumps`` the file's lines (parsed beforehand, untimed), and their bytes."""
    lines = [orjson.loads(line) for line in path.read_bytes().splitlines()]
    started = time.perf_counter()
    size = sum(len(orjson.dumps(line)) + 1 for line in lines)
    return time.perf_counter() - started, size


async def main(n: int, profile: Path | None) -> list[BenchRow]:
    port = free_port()
    emulator = start_emulator(port)
    base = Settings(openai_base_url=f"http://127.0.0.1:{port}/v1", openai_api_key="sk-bench-" + "k" * 24)
    work = Path(tempfile.mkdtemp(prefix="b3-"))
    kept = work / "kept.jsonl"
    try:
        async with scratch_database(base) as url:
            settings = base.model_copy(update={"database_url": url})
            key = await seed(url, settings, n)
            engine = make_engine(url, pool_size=3)
            provider = build_provider(settings)
            store = PostgresSubmitterStore(engine)
            clock = Clock()
            for name in ("claim", "write_file", "record_upload", "record_submitted"):
                setattr(store, name, clock.wrap(name, getattr(store, name)))
            for name in ("upload_file", "create_batch"):
                setattr(provider, name, clock.wrap(name, getattr(provider, name)))
            write = store.write_file

            async def write_and_keep(batch_id: Any, path: Path, *args: Any, **kwargs: Any) -> Any:
                built = await write(batch_id, path, *args, **kwargs)
                os.link(path, kept)  # a hard link: the file outlives its temporary directory, at no cost
                return built

            store.write_file = write_and_keep  # type: ignore[method-assign]
            submitter = Submitter(
                store,
                provider,
                SubmitterConfig(
                    max_requests=n,
                    max_bytes=settings.batch_max_bytes,
                    max_conversation_chars=settings.max_conversation_chars,
                    retry_delay_s=settings.retry_backoff_s,
                    batch_created_topic=settings.topics.batch_created,
                    batch_completed_topic=settings.topics.batch_completed,
                    work_dir=work,
                ),
                on_commit=lambda: None,
            )
            profiler = importlib.import_module("pyinstrument").Profiler() if profile else None
            if profiler is not None:
                profiler.start()
            started = time.perf_counter()
            made = await submitter.flush_group(key)
            total_s = time.perf_counter() - started
            if profiler is not None and profile is not None:
                profiler.stop()
                await asyncio.to_thread(profile.write_text, profiler.output_html())
                print(profiler.output_text(unicode=False, color=False))
            async with engine.connect() as conn:
                counts = (
                    await conn.execute(
                        text("SELECT count(*) AS batches, max(request_count) AS n FROM provider_batches")
                    )
                ).one()
            await provider.aclose()
            await engine.dispose()
        dumps_s, dumps_bytes = await asyncio.to_thread(dumps_limit, kept)
    finally:
        emulator.terminate()
        emulator.wait(10)
    size = kept.stat().st_size
    kept.unlink()
    if made != 1 or counts.n != n:
        raise RuntimeError(
            f"expected one batch of {n} requests, got {made} batches, {counts.n} in the largest"
        )
    mb = size / 1e6
    build_s, upload_s = clock.spent["write_file"], clock.spent["upload_file"]
    build_rate, dumps_rate = mb / build_s, dumps_bytes / 1e6 / dumps_s
    print(f"requests: {n}, file: {mb:.1f} MB")
    print(
        f"total (claim .. recorded): {total_s:6.2f}s   steps: "
        + ", ".join(f"{k} {v:.2f}s" for k, v in clock.spent.items())
    )
    print(
        f"build {build_rate:.0f} MB/s, raw orjson.dumps {dumps_rate:.0f} MB/s, upload {mb / upload_s:.0f} MB/s"
    )
    steps = ", ".join(f"{k} {v:.2f} s" for k, v in clock.spent.items())
    return [
        BenchRow(
            "B3 submit",
            f"{total_s:.2f} s for {n:,} requests ({mb:.0f} MB)",
            "",
            "",
            f"<= {TOTAL_TARGET_S:.0f} s",
            total_s <= TOTAL_TARGET_S,
            steps,
        ),
        BenchRow(
            "B3 JSONL build",
            f"{build_rate:,.0f} MB/s",
            "",
            f"{build_rate / dumps_rate:.0%} of raw orjson.dumps ({dumps_rate:,.0f} MB/s)",
            f">= {BUILD_TARGET_MB_S:.0f} MB/s",
            build_rate >= BUILD_TARGET_MB_S,
            "database stream + encode + write to disk",
        ),
        BenchRow(
            "B3 upload",
            f"{mb / upload_s:,.0f} MB/s",
            "",
            "",
            "",
            None,
            "multipart POST /files to the emulator",
        ),
    ]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=50_000)
    parser.add_argument("--profile", type=Path, default=None)
    args = parser.parse_args()
    save("b3_submit", asyncio.run(main(args.requests, args.profile)))
