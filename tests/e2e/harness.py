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

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from devtools.stack import Stack, free_port
from shared.db.models import (
    Base,
    BudgetHold,
    CompanyBudget,
    DuplicateBatch,
    FallbackCall,
    ModelTokenLimit,
    OutboxMessage,
    ProviderCircuit,
    SessionAnalysisHistory,
    WebhookEvent,
)
from shared.events import DeadLetter
from shared.kafka.replay import group_lag
from shared.settings import PROVIDER_MAX_FILE_BYTES, PROVIDER_MAX_REQUESTS_PER_FILE, Settings, Topics
from tests.pipeline import read_all, rows, scalar


@contextmanager
def pipeline_stack(
    settings: Settings, log_dir: Path, *, instances: int = 1, emulator_args: tuple[str, ...] = ()
) -> Iterator[Stack]:
    port = free_port()
    # The emulator serves both providers: OpenAI's API under /v1, Anthropic's at the root's /v1/messages.
    settings = settings.model_copy(
        update={
            "openai_base_url": f"http://127.0.0.1:{port}/v1",
            "anthropic_base_url": f"http://127.0.0.1:{port}",
            # ... and Azure OpenAI's under /openai, for a run that routes a model there.
            **({"azure_base_url": f"http://127.0.0.1:{port}/openai"} if settings.azure_base_url else {}),
        }
    )
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


#: Tables left out of a replay snapshot, because their rows are not an outcome of the pipeline:
#: the outbox is the relay's queue of messages in flight (a row is deleted as soon as the broker
#: acknowledged it, and ids come from a sequence); ``wait_terminal`` already requires it to be empty.
#: Every other column of every other table is compared, timestamps included: a replay must not
#: touch a row at all (``processed_events.processed_at`` too, since a duplicate is ``DO NOTHING``).
SNAPSHOT_EXCLUDED_TABLES = frozenset({OutboxMessage.__table__.name})
#: Tables written only when something went wrong (open configuration circuits; token limits learned
#: from a provider refusal; duplicate provider batches cancelled), when a session is analysed again
#: (the analysis history; these runs analyse each session once) or by an operator (budgets, and the
#: holds they cause): empty in such a run, and compared like every other table (a replay must not open
#: a circuit, teach a limit, make a duplicate, archive an analysis or hold a request).
#: ``webhook_events`` is written by the webhook receiver alone, which these stacks do not run.
#: The synchronous fallback's calls are written only with BATCHLINE_FALLBACK_MODE=sync.
EMPTY_WHEN_HEALTHY = frozenset(
    {
        FallbackCall.__table__.name,
        ProviderCircuit.__table__.name,
        ModelTokenLimit.__table__.name,
        DuplicateBatch.__table__.name,
        SessionAnalysisHistory.__table__.name,
        WebhookEvent.__table__.name,
        CompanyBudget.__table__.name,
        BudgetHold.__table__.name,
    }
)


@dataclass(frozen=True)
class Outcome:
    #: Table name -> every row (all columns, in the table's column order), ordered by primary key.
    tables: dict[str, list[tuple[Any, ...]]]
    provider_batches: int


async def snapshot(engine: AsyncEngine, stack: Stack) -> Outcome:
    """Everything the pipeline wrote, read from the models' metadata (no table or column named here)."""
    tables: dict[str, list[tuple[Any, ...]]] = {}
    async with engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            if table.name in SNAPSHOT_EXCLUDED_TABLES:
                continue
            order = list(table.primary_key.columns) or list(table.columns)
            result = await conn.execute(select(table).order_by(*order))
            tables[table.name] = [tuple(r) for r in result]
    return Outcome(tables, len(stack.emulator_stats()["batches"]))


def snapshot_differences(before: Outcome, after: Outcome) -> list[str]:
    """Per table that changed: row counts and the first differing row, for the assertion message."""
    out: list[str] = []
    for name in sorted(before.tables.keys() | after.tables.keys()):
        old, new = before.tables.get(name, []), after.tables.get(name, [])
        if old == new:
            continue
        first = next(
            (i for i, (a, b) in enumerate(zip(old, new, strict=False)) if a != b), min(len(old), len(new))
        )
        out.append(
            f"{name}: {len(old)} -> {len(new)} rows; first difference at row {first}: "
            f"{old[first] if first < len(old) else None!r} -> {new[first] if first < len(new) else None!r}"
        )
    return out


async def dead_letters(settings: Settings) -> dict[str, list[DeadLetter]]:
    """Every letter on the ``.dlq`` twin of each pipeline topic, read from Kafka (earliest to end)."""
    letters: dict[str, list[DeadLetter]] = {}
    for topic in settings.topics.all():
        dlq = Topics.dlq(topic)
        records = await read_all(settings, dlq, partitions=settings.topic_partitions)
        letters[dlq] = [DeadLetter.model_validate_json(r.value) for r in records]
    return letters


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
        SELECT count(*) FROM sessions s
            JOIN ai_processing_requests r ON r.company_id = s.company_id AND r.session_id = s.id
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
    # Every provider batch is accounted for in the database (Azure's recorded with its ``azure:`` mark).
    ours = {
        r.provider_batch_id.removeprefix("azure:")
        for r in await rows(
            engine, "SELECT provider_batch_id FROM provider_batches WHERE provider_batch_id IS NOT NULL"
        )
    }
    unknown = [b["id"] for b in provider_batches if b["id"] not in ours]
    assert unknown == [], f"provider batches unknown to the database: {unknown}"
    return {"provider_batches": len(provider_batches), "answered": len(answered)}
