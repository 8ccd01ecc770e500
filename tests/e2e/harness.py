"""E2E harness: the emulator and the services as separate OS processes, plus the checks every e2e
test makes on the outcome (read from the database and from the emulator's own records)."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from devtools.stack import Stack, free_port
from shared.kafka.replay import group_lag
from shared.settings import PROVIDER_MAX_FILE_BYTES, PROVIDER_MAX_REQUESTS_PER_FILE, Settings
from tests.pipeline import rows, scalar


@contextmanager
def pipeline_stack(
    settings: Settings, log_dir: Path, *, instances: int = 1, emulator_args: tuple[str, ...] = ()
) -> Iterator[Stack]:
    port = free_port()
    settings = settings.model_copy(update={"openai_base_url": f"http://127.0.0.1:{port}/v1"})
    stack = Stack(settings, log_dir, instances=instances)
    try:
        stack.start_emulator(port, "--stage-seconds", "0.2", "--seed", "5", *emulator_args)
        stack.start_services()
        yield stack
    finally:
        stack.stop()


def logs_of(stack: Stack) -> str:
    return "\n".join(
        p.log_path.read_text(errors="replace") for p in stack.group.processes if p.log_path.exists()
    )


async def wait_terminal(engine: AsyncEngine, stack: Stack, expected: int, timeout_s: float) -> dict[str, int]:
    deadline = time.monotonic() + timeout_s
    counts: dict[str, int] = {}
    while time.monotonic() < deadline:
        dead = [p.name for p in stack.group.dead()]
        assert not dead, f"service processes died: {dead}\n{logs_of(stack)[-3000:]}"
        counts = {
            r.status: r.n
            for r in await rows(
                engine, "SELECT status, count(*) AS n FROM ai_processing_requests GROUP BY status"
            )
        }
        total = sum(counts.values())
        done = counts.get("PROCESSING_COMPLETE", 0) + counts.get("PROCESSING_FAILED", 0)
        if total >= expected and done == total and await scalar(engine, "SELECT count(*) FROM outbox") == 0:
            open_batches = await scalar(
                engine, "SELECT count(*) FROM provider_batches WHERE status <> 'PROCESSED'"
            )
            if open_batches == 0:
                return counts
        await asyncio.sleep(0.5)
    raise AssertionError(f"not finished after {timeout_s}s: {counts}")


async def wait_caught_up(settings: Settings, timeout_s: float = 60) -> None:
    """Every group has committed everything on its topic (a replay has been fully consumed)."""
    pairs = [
        ("producer", settings.topics.session_events),
        ("submitter", settings.topics.request_pending),
        ("poller", settings.topics.batch_created),
        ("ingester", settings.topics.batch_completed),
    ]
    deadline = time.monotonic() + timeout_s
    lags: dict[str, int] = {}
    while time.monotonic() < deadline:
        lags = {s: await group_lag(settings, settings.group_id(s), [t]) for s, t in pairs}
        if not any(lags.values()):
            return
        await asyncio.sleep(0.5)
    raise AssertionError(f"consumer groups still behind: {lags}")


@dataclass(frozen=True)
class Outcome:
    sessions: list[tuple[Any, ...]]
    requests: list[tuple[Any, ...]]
    provider_batches: int


async def snapshot(engine: AsyncEngine, stack: Stack) -> Outcome:
    sessions = [
        tuple(r)
        for r in await rows(
            engine,
            "SELECT id, company_id, sentiment, category, summary, language, content_hash FROM sessions ORDER BY id",
        )
    ]
    requests = [
        tuple(r)
        for r in await rows(
            engine,
            "SELECT id, status, attempt, total_tokens, error_message FROM ai_processing_requests ORDER BY id",
        )
    ]
    return Outcome(sessions, requests, len(stack.emulator_stats()["batches"]))


async def assert_pipeline_invariants(
    engine: AsyncEngine, stack: Stack, max_attempts: int = 3
) -> dict[str, Any]:
    """What every run must satisfy, whatever faults it met. Returns figures for the caller's report."""
    # Every request is terminal; every failure says why; attempts are capped.
    unresolved = await scalar(
        engine,
        "SELECT count(*) FROM ai_processing_requests "
        "WHERE status NOT IN ('PROCESSING_COMPLETE', 'PROCESSING_FAILED')",
    )
    assert unresolved == 0
    assert (
        await scalar(
            engine,
            "SELECT count(*) FROM ai_processing_requests "
            "WHERE status = 'PROCESSING_FAILED' AND coalesce(error_message, '') = ''",
        )
        == 0
    )
    assert (
        await scalar(engine, "SELECT coalesce(max(attempt), 1) FROM ai_processing_requests") <= max_attempts
    )
    # Sessions whose full analysis completed carry validated values.
    bad_values = await scalar(
        engine,
        """
        SELECT count(*) FROM sessions s JOIN ai_processing_requests r ON r.session_id = s.id
        WHERE r.status = 'PROCESSING_COMPLETE' AND r.processing_type = 'full_analysis'
          AND (s.sentiment NOT IN ('POSITIVE', 'NEUTRAL', 'NEGATIVE') OR s.category IS NULL
               OR s.language IS NULL OR s.summary IS NULL)""",
    )
    assert bad_values == 0
    # No local batch mixes companies or models.
    mixed = await scalar(
        engine,
        """
        SELECT count(*) FROM (SELECT i.batch_id FROM ai_batch_items i
            JOIN ai_processing_requests r ON r.id = i.request_id JOIN provider_batches b ON b.id = i.batch_id
            GROUP BY i.batch_id
            HAVING count(DISTINCT r.company_id) > 1 OR count(DISTINCT r.model) > 1
                OR bool_or(r.company_id <> b.company_id OR r.model <> b.model)) x""",
    )
    assert mixed == 0
    assert (
        await scalar(engine, "SELECT coalesce(max(file_bytes), 0) FROM provider_batches")
        <= PROVIDER_MAX_FILE_BYTES
    )
    assert await scalar(engine, "SELECT coalesce(max(request_count), 0) FROM provider_batches") <= (
        PROVIDER_MAX_REQUESTS_PER_FILE
    )

    # The emulator's own records: one model per file, and no request answered in two batches.
    stats = stack.emulator_stats(include_requests=True)
    provider_batches = stats["batches"]
    answered: Counter[str] = Counter()
    for batch in provider_batches:
        for cid, result in (batch.get("results") or {}).items():
            if result == "succeeded":
                answered[cid] += 1
    twice = [cid for cid, n in answered.items() if n > 1]
    assert twice == [], f"{len(twice)} requests were answered successfully in two provider batches"
    # Every provider batch is accounted for in the database.
    ours = {
        r.provider_batch_id
        for r in await rows(
            engine, "SELECT provider_batch_id FROM provider_batches WHERE provider_batch_id IS NOT NULL"
        )
    }
    unknown = [b["id"] for b in provider_batches if b["id"] not in ours]
    assert unknown == [], f"provider batches unknown to the database: {unknown}"
    return {"provider_batches": len(provider_batches), "answered": len(answered)}
