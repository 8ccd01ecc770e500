"""What the ingest benchmarks stand on: a scratch database, the emulator in a process of its own, and a
finished batch of ``n`` claimed requests whose output file the emulator serves over HTTP.

The emulator runs in a child process so that serving the file does not share the benchmark's
interpreter (and its GIL) with the ingester it feeds; the ingester then reads the file exactly as in
production, streamed over HTTP by ``OpenAIBatchProvider``. Rows are inserted set-based
(``generate_series``/``unnest``), so setting up 50,000 requests takes a second, not the benchmark.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass

import asyncpg
import httpx
import orjson
from pydantic import SecretStr
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from devtools.infra.postgres import resolve_database_url
from shared.db.migrate import upgrade
from shared.provider.http import RetryPolicy
from shared.provider.openai import OpenAIBatchProvider
from shared.settings import Settings

MODEL = "gpt-4o-mini"
KEY = "sk-bench-0123456789abcdef"
SENTIMENTS = ("POSITIVE", "NEUTRAL", "NEGATIVE")
CATEGORIES = ("SCHEDULE_HOURS", "LEAVE_VACATION", "SICK_LEAVE_RECOVERY", "SALARY_COMPENSATION", "ONBOARDING")
LANGUAGES = ("en", "de", "fr", "nl")


def plain_url(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@asynccontextmanager
async def scratch_database(admin_url: str | None = None) -> AsyncIterator[str]:
    """A migrated database of its own (created, then dropped with FORCE), on the configured server."""
    admin = make_url(admin_url or resolve_database_url(Settings()))
    name = f"bench_{uuid.uuid4().hex[:10]}"
    conn = await asyncpg.connect(
        plain_url(admin.set(database="postgres").render_as_string(hide_password=False))
    )
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
        url = admin.set(database=name).render_as_string(hide_password=False)
        await asyncio.to_thread(upgrade, url)
        yield url
    finally:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.close()


def serve_until_stdin_closes() -> None:
    """The child's side of :func:`emulator_process`: print the API root, serve until stdin closes."""
    from emulator.config import EmulatorConfig
    from emulator.server import EmulatorServer

    # 1 GB uploads: the benchmarks place result files of up to 200 MB and more in the emulator.
    with EmulatorServer(EmulatorConfig(port=0, stage_s=0.05, seed=3, max_upload_bytes=1 << 30)) as server:
        print(server.base_url, flush=True)
        sys.stdin.read()


@contextmanager
def emulator_process() -> Iterator[str]:
    """The emulator serving in a child process; yields its API root (``.../v1``)."""
    code = "from bench.stage import serve_until_stdin_closes; serve_until_stdin_closes()"
    proc = subprocess.Popen(
        [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        if not line.startswith("http"):
            raise RuntimeError(f"the emulator process did not start: {line!r}")
        yield line
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.terminate()
            proc.wait(5)


def provider(base_url: str) -> OpenAIBatchProvider:
    retry = RetryPolicy(max_total_s=30.0, initial_wait_s=0.05, max_wait_s=1.0, jitter_s=0.05, file_race_s=2.0)
    return OpenAIBatchProvider(base_url=base_url, api_key=SecretStr(KEY), timeout_s=120.0, retry=retry)


def answer(i: int, summary_chars: int = 0) -> dict[str, str]:
    summary = f"Asked about request {i}: the shift swap next week and who to tell."
    if summary_chars > len(summary):
        summary = (summary + " More detail follows.") * (summary_chars // 80 + 1)
        summary = summary[:summary_chars]
    return {
        "sentiment": SENTIMENTS[i % 3],
        "category": CATEGORIES[i % len(CATEGORIES)],
        "summary": summary,
        "language": LANGUAGES[i % len(LANGUAGES)],
    }


def output_line(custom_id: str, i: int, summary_chars: int = 0) -> bytes:
    """One line of an output file in the real API's format (what the emulator writes), answer good."""
    content = orjson.dumps(answer(i, summary_chars)).decode()
    body = {
        "id": f"chatcmpl-{i:024x}",
        "object": "chat.completion",
        "created": 1_760_000_000,
        "model": MODEL,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content, "refusal": None, "annotations": []},
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
        "usage": {
            "prompt_tokens": 300 + i % 50,
            "completion_tokens": 40,
            "total_tokens": 340 + i % 50,
            "prompt_tokens_details": {"cached_tokens": 200, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0},
        },
        "service_tier": "default",
        "system_fingerprint": "fp_emulator",
    }
    line = {
        "id": f"batch_req_{i:032x}",
        "custom_id": custom_id,
        "response": {"status_code": 200, "request_id": f"req_{i:032x}", "body": body},
        "error": None,
    }
    return orjson.dumps(line)


@dataclass(frozen=True, slots=True)
class StagedBatch:
    batch_id: uuid.UUID
    request_ids: list[uuid.UUID]
    prefix: str  # the sessions are "<prefix>-<n>", n = 1..len(request_ids)
    output_file_id: str
    file_bytes: int


async def upload(base_url: str, lines: Iterator[bytes]) -> tuple[str, int]:
    """Place an output file in the emulator (as the purpose-batch upload the Files API allows)."""
    data = b"\n".join(lines) + b"\n"
    async with httpx.AsyncClient(base_url=base_url, timeout=300.0) as client:
        response = await client.post(
            "/files",
            headers={"Authorization": f"Bearer {KEY}"},
            data={"purpose": "batch"},
            files={"file": ("output.jsonl", data, "application/jsonl")},
        )
        response.raise_for_status()
        return str(response.json()["id"]), len(data)


async def stage_batch(
    engine: AsyncEngine, base_url: str | None, n: int, prefix: str, *, summary_chars: int = 0
) -> StagedBatch:
    """A COMPLETED batch of ``n`` requests (one session each, with its items and lines), and, with
    ``base_url``, its output file in the emulator: one good answer per request."""
    batch_id = uuid.uuid4()
    ids = [uuid.uuid4() for _ in range(n)]
    file_id, size = "", 0
    if base_url is not None:
        file_id, size = await upload(
            base_url, (output_line(str(r), i, summary_chars) for i, r in enumerate(ids))
        )
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO sessions (id, company_id, started_at, content_hash, message_count) "
                "SELECT :p || '-' || g, 'acme', now(), 'h', 2 FROM generate_series(1, :n) g"
            ),
            {"n": n, "p": prefix},
        )
        await conn.execute(
            text(
                "INSERT INTO provider_batches (id, company_id, model, provider, status, request_count, poll_count, "
                "submit_attempts, output_file_id) VALUES (:b, 'acme', :m, 'openai', 'COMPLETED', :n, 1, 1, :f)"
            ),
            {"b": batch_id, "n": n, "m": MODEL, "f": file_id or None},
        )
        await conn.execute(
            text(
                "INSERT INTO ai_processing_requests (id, session_id, company_id, processing_type, model, revision, "
                "status, batch_id, attempt, approx_bytes) SELECT u.id, :p || '-' || u.i, 'acme', 'full_analysis', "
                ":m, 'r1', 'BATCHING_IN_PROGRESS', :b, 1, 1000 "
                "FROM unnest(CAST(:ids AS uuid[])) WITH ORDINALITY AS u(id, i)"
            ),
            {"b": batch_id, "ids": ids, "p": prefix, "m": MODEL},
        )
        await conn.execute(
            text(
                "INSERT INTO ai_batch_items (batch_id, request_id, attempt, line) "
                "SELECT :b, u.id, 1, u.i FROM unnest(CAST(:ids AS uuid[])) WITH ORDINALITY AS u(id, i)"
            ),
            {"b": batch_id, "ids": ids},
        )
    return StagedBatch(batch_id, ids, prefix, file_id, size)


async def resolved(engine: AsyncEngine, batch_id: uuid.UUID) -> dict[str, int]:
    """How the batch's requests ended, and how many of their sessions hold an analysis."""
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                text(
                    "SELECT count(*) AS total, "
                    "count(*) FILTER (WHERE r.status = 'PROCESSING_COMPLETE') AS completed, "
                    "count(*) FILTER (WHERE r.status = 'BATCHING_IN_PROGRESS') AS open, "
                    "count(*) FILTER (WHERE s.sentiment IS NOT NULL AND s.category IS NOT NULL "
                    "AND s.summary IS NOT NULL AND s.language IS NOT NULL) AS analysed "
                    "FROM ai_processing_requests r JOIN sessions s ON s.company_id = r.company_id "
                    "AND s.id = r.session_id WHERE r.batch_id = :b"
                ),
                {"b": batch_id},
            )
        ).one()
        status = (
            await conn.execute(text("SELECT status FROM provider_batches WHERE id = :b"), {"b": batch_id})
        ).scalar_one()
    return {
        "total": int(row.total),
        "completed": int(row.completed),
        "open": int(row.open),
        "analysed": int(row.analysed),
        "batch_processed": int(status == "PROCESSED"),
    }
