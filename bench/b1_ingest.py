"""B1 ingest: the ingester's real path against the seed's path and the database's physical limit.

Three figures of one run, on one scratch database and one emulator process:

* **real path**: ``Ingester.ingest`` of a COMPLETED batch of ``--lines`` requests, its output file
  streamed over HTTP from the emulator by ``OpenAIBatchProvider``, every line parsed and validated,
  then written in chunk transactions while the next chunk is read (sessions locked in the producer's
  order) and the batch finished: download to PROCESSED, as in production.
* **seed path**: what the seed's ``processBatchResults`` did (its TypeScript is the project's
  starting point): download the whole file as text, split it, and per line parse it, then
  ``UPDATE`` the request, read it back with its session (Prisma's ``include``: two ``SELECT``\\ s),
  ``UPDATE`` the session, each statement its own autocommitted transaction. Run on ``--seed-lines``
  lines of its own batch (per-line cost does not depend on the batch size; the full 50,000 would take
  minutes); its figure is lines per second like the others. It uses raw asyncpg, which is cheaper per
  statement than the seed's Prisma: the ratio is, if anything, understated.
* **COPY limit**: the same rows' writes at the database's physical limit: ``COPY`` into a temporary
  table, then ``UPDATE ... FROM`` of the requests and of their sessions, one transaction, no parsing.

Run: ``python -m bench.b1_ingest [--lines 50000] [--chunk 2000] [--profile out.html]`` (the profile
needs pyinstrument; ``BATCHLINE_DATABASE_URL`` names the server; a scratch database is
created and dropped). :func:`measure` is also the smoke test's entry (small sizes, correctness only).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
import orjson
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.results import BenchRow, save
from bench.stage import (
    KEY,
    StagedBatch,
    emulator_process,
    plain_url,
    provider,
    resolved,
    scratch_database,
    stage_batch,
)
from services.ingester.service import Ingester, IngesterConfig, IngestReport
from shared.db.engine import make_engine

TARGET_RATE = 40_000
TARGET_RATIO = 35.0


@dataclass(frozen=True, slots=True)
class PathRun:
    lines: int
    seconds: float
    #: How the batch's requests ended (``stage.resolved``).
    outcome: dict[str, int]
    #: CPU seconds of this process during the run (the emulator and PostgreSQL excluded): steadier
    #: than wall-clock when other work shares the machine.
    cpu_s: float = 0.0

    @property
    def rate(self) -> float:
        return self.lines / self.seconds


@dataclass(frozen=True, slots=True)
class B1Result:
    real: PathRun
    report: IngestReport
    seed: PathRun
    copy: PathRun
    file_bytes: int

    def rows(self) -> list[BenchRow]:
        ratio = self.real.rate / self.seed.rate
        share = self.real.rate / self.copy.rate
        met = self.real.rate >= TARGET_RATE and ratio >= TARGET_RATIO
        return [
            BenchRow(
                "B1 ingest",
                f"{self.real.rate:,.0f} lines/s",
                f"{ratio:.1f}x seed",
                f"{share:.0%} of COPY limit",
                f">= {TARGET_RATE:,} lines/s, >= {TARGET_RATIO:.0f}x seed",
                met,
                f"{self.real.lines:,} lines ({self.file_bytes / 1e6:.0f} MB) streamed from the emulator over HTTP, "
                f"parsed, validated, written in chunks: {self.real.seconds:.2f} s",
            ),
            BenchRow(
                "B1 seed path",
                f"{self.seed.rate:,.0f} lines/s",
                "",
                f"{self.seed.rate / self.copy.rate:.1%} of COPY limit",
                "",
                None,
                f"per line: update request, read it with its session, update session; {self.seed.lines:,} lines",
            ),
            BenchRow(
                "B1 COPY limit",
                f"{self.copy.rate:,.0f} rows/s",
                "",
                "",
                "",
                None,
                f"COPY into a temp table, then UPDATE ... FROM of requests and sessions; {self.copy.lines:,} rows",
            ),
        ]


async def real_path(
    engine: AsyncEngine, base_url: str, staged: StagedBatch, chunk: int, profile: Path | None = None
) -> tuple[PathRun, IngestReport]:
    config = IngesterConfig(
        max_attempts=3, retry_backoff_s=0, request_pending_topic="bench.request.pending", chunk_size=chunk
    )
    # pyinstrument is a profiling aid installed by hand, not a dependency: imported only when asked.
    profiler = importlib.import_module("pyinstrument").Profiler(async_mode="disabled") if profile else None
    async with provider(base_url) as client:
        ingester = Ingester(engine, client, config, on_commit=lambda: None)
        if profiler is not None:
            profiler.start()
        started, cpu = time.perf_counter(), time.process_time()
        report = await ingester.ingest(staged.batch_id)
        seconds, cpu_s = time.perf_counter() - started, time.process_time() - cpu
        if profiler is not None and profile is not None:
            profiler.stop()
            await asyncio.to_thread(profile.write_text, profiler.output_html())
            print(profiler.output_text(unicode=False, color=False, show_all=False))
    outcome = await resolved(engine, staged.batch_id)
    return PathRun(len(staged.request_ids), seconds, outcome, cpu_s), report


async def seed_path(engine: AsyncEngine, url: str, base_url: str, staged: StagedBatch) -> PathRun:
    conn = await asyncpg.connect(plain_url(url))
    try:
        started = time.perf_counter()
        async with httpx.AsyncClient(base_url=base_url, timeout=300.0) as client:
            response = await client.get(
                f"/files/{staged.output_file_id}/content", headers={"Authorization": f"Bearer {KEY}"}
            )
            response.raise_for_status()
            results = response.text
        for line in (ln for ln in results.split("\n") if ln.strip()):
            result = orjson.loads(line)
            request_id = uuid.UUID(result["custom_id"])
            body = (result.get("response") or {}).get("body") or {}
            content = ((body.get("choices") or [{}])[0].get("message") or {}).get("content")
            if not content:
                await conn.execute(
                    "UPDATE ai_processing_requests SET status = 'PROCESSING_FAILED', success = false, "
                    "error_message = $2, completed_at = now() WHERE id = $1",
                    request_id,
                    "Unknown error",
                )
                continue
            parsed = orjson.loads(content)
            usage = body["usage"]
            await conn.execute(
                "UPDATE ai_processing_requests SET status = 'PROCESSING_COMPLETE', success = true, "
                "prompt_tokens = $2, completion_tokens = $3, total_tokens = $4, completed_at = now() WHERE id = $1",
                request_id,
                usage["prompt_tokens"],
                usage["completion_tokens"],
                usage["total_tokens"],
            )
            request = await conn.fetchrow(
                "SELECT id, company_id, session_id FROM ai_processing_requests WHERE id = $1", request_id
            )
            session = await conn.fetchrow(
                "SELECT id FROM sessions WHERE company_id = $1 AND id = $2",
                request["company_id"],
                request["session_id"],
            )
            if session is not None:
                await conn.execute(
                    "UPDATE sessions SET summary = $3, sentiment = $4, category = $5, language = $6 "
                    "WHERE company_id = $1 AND id = $2",
                    request["company_id"],
                    request["session_id"],
                    parsed["summary"],
                    parsed["sentiment"],
                    parsed["category"],
                    parsed["language"],
                )
        await conn.execute("UPDATE provider_batches SET status = 'PROCESSED' WHERE id = $1", staged.batch_id)
        seconds = time.perf_counter() - started
    finally:
        await conn.close()
    return PathRun(len(staged.request_ids), seconds, await resolved(engine, staged.batch_id))


async def copy_limit(engine: AsyncEngine, url: str, staged: StagedBatch) -> PathRun:
    from bench.stage import answer

    records = []
    for i, rid in enumerate(staged.request_ids):
        a = answer(i)
        records.append(
            (rid, 300 + i % 50, 40, 340 + i % 50, a["sentiment"], a["category"], a["summary"], a["language"])
        )
    conn = await asyncpg.connect(plain_url(url))
    try:
        started = time.perf_counter()
        async with conn.transaction():
            await conn.execute(
                "CREATE TEMP TABLE r (id uuid, pt int, ct int, tt int, sentiment text, category text, "
                "summary text, language text) ON COMMIT DROP"
            )
            await conn.copy_records_to_table("r", records=records)
            await conn.execute(
                "UPDATE ai_processing_requests q SET status = 'PROCESSING_COMPLETE', success = true, "
                "prompt_tokens = r.pt, completion_tokens = r.ct, total_tokens = r.tt, completed_at = now() "
                "FROM r WHERE q.id = r.id"
            )
            await conn.execute(
                "UPDATE sessions s SET sentiment = r.sentiment, category = r.category, summary = r.summary, "
                "language = r.language, analysed_at = now() FROM r JOIN ai_processing_requests q ON q.id = r.id "
                "WHERE s.company_id = q.company_id AND s.id = q.session_id"
            )
            await conn.execute(
                "UPDATE provider_batches SET status = 'PROCESSED' WHERE id = $1", staged.batch_id
            )
        seconds = time.perf_counter() - started
    finally:
        await conn.close()
    return PathRun(len(staged.request_ids), seconds, await resolved(engine, staged.batch_id))


async def measure(
    url: str, base_url: str, *, lines: int, seed_lines: int, chunk: int = 2_000, profile: Path | None = None
) -> B1Result:
    """The three paths on ``url``'s database (migrated, any other rows left alone), each on its own
    batch, with the emulator at ``base_url``."""
    engine = make_engine(url)
    try:
        real_batch = await stage_batch(engine, base_url, lines, "real")
        seed_batch = await stage_batch(engine, base_url, seed_lines, "seed")
        copy_batch = await stage_batch(engine, None, lines, "copy")
        seed = await seed_path(engine, url, base_url, seed_batch)
        copy = await copy_limit(engine, url, copy_batch)
        real, report = await real_path(engine, base_url, real_batch, chunk, profile)
    finally:
        await engine.dispose()
    return B1Result(real, report, seed, copy, real_batch.file_bytes)


async def main(lines: int, seed_lines: int, chunk: int, profile: Path | None) -> None:
    with emulator_process() as base_url:
        async with scratch_database() as url:
            result = await measure(
                url, base_url, lines=lines, seed_lines=seed_lines, chunk=chunk, profile=profile
            )
    for name, run in (("real", result.real), ("seed", result.seed), ("copy", result.copy)):
        print(
            f"{name:5} {run.lines:7,} lines {run.seconds:7.2f} s {run.rate:9,.0f} /s "
            f"cpu {run.cpu_s:6.2f} s  {run.outcome}"
        )
    save("b1_ingest", result.rows())


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--lines", type=int, default=50_000)
    parser.add_argument("--seed-lines", type=int, default=5_000)
    parser.add_argument("--chunk", type=int, default=2_000)
    parser.add_argument("--profile", type=Path, default=None, help="pyinstrument HTML of the real path")
    args = parser.parse_args()
    asyncio.run(main(args.lines, args.seed_lines, args.chunk, args.profile))
