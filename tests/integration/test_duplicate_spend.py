"""A duplicate provider batch that ran lines before it was cancelled is billed: the submitter records it,
settles it with the provider's counts and usage, and the report and stats show it as duplicate spend
(real Postgres and emulator; the duplicate is made as the takeover tests make it)."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import httpx
import orjson
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from cli.report import company_reports
from cli.stats import collect_stats
from emulator.config import EmulatorConfig
from emulator.server import EmulatorServer
from services.submitter import duplicate_sql
from services.submitter import repository as repo
from services.submitter.ports import DuplicateCopy, Unsubmitted
from services.submitter.service import Submitter, SubmitterConfig
from services.submitter.store import PostgresSubmitterStore
from shared.analysis import ProcessingType, chat_body
from shared.provider.base import LOCAL_BATCH_ID_KEY, BatchProvider, ProviderBatch
from shared.provider.openai import build_provider
from shared.settings import Settings
from tests.pipeline import rows

STAGE_S = 2.0
LINES = 4


@pytest.fixture
def emulator_config() -> EmulatorConfig:
    # Each stage lasts STAGE_S: a copy is in progress long enough to have run some lines, not all.
    return EmulatorConfig(port=0, stage_s=STAGE_S, seed=9)


async def _until(
    provider: BatchProvider, batch_id: str, done: Callable[[ProviderBatch], bool], timeout_s: float = 20.0
) -> ProviderBatch:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        batch = await provider.retrieve_batch(batch_id)
        if done(batch):
            return batch
        await asyncio.sleep(0.1)
    raise AssertionError(f"{batch_id} did not get there in {timeout_s}s")


async def test_a_cancelled_duplicate_s_processed_lines_are_counted_as_duplicate_spend(
    settings: Settings, engine: AsyncEngine, tmp_path: Path, emulator: EmulatorServer
) -> None:
    batch_id = uuid.uuid4()
    path = tmp_path / "in.jsonl"
    path.write_bytes(
        b"".join(
            orjson.dumps({"custom_id": f"r{i}", "method": "POST", "url": "/v1/chat/completions",
                          "body": chat_body(ProcessingType.SUMMARY, "gpt-4o-mini", f"user: question {i}")})
            + b"\n"
            for i in range(LINES)
        )
    )  # fmt: skip
    provider = build_provider(settings)
    submitter = Submitter(
        PostgresSubmitterStore(engine),
        provider,
        SubmitterConfig(
            max_requests=10, max_bytes=10**6, max_conversation_chars=1000, retry_delay_s=1,
            batch_created_topic=settings.topics.batch_created,
            batch_completed_topic=settings.topics.batch_completed,
        ),
        on_commit=lambda: None,
    )  # fmt: skip
    try:
        file = await provider.upload_file(path)
        winner = await provider.create_batch(file.id, metadata={LOCAL_BATCH_ID_KEY: str(batch_id)})
        loser = await provider.create_batch(file.id, metadata={LOCAL_BATCH_ID_KEY: str(batch_id)})
        async with engine.begin() as conn:
            await conn.execute(
                text(
                    "INSERT INTO provider_batches (id, company_id, model, provider, status, request_count, "
                    "poll_count, submit_attempts) "
                    "VALUES (:b, 'acme', 'gpt-4o-mini', 'openai', 'PENDING_SUBMISSION', 1, 0, 2)"
                ),
                {"b": batch_id},
            )
            assert await repo.record_submitted(conn, batch_id, winner.id)  # the other submitter won
        # The losing copy has run some of its lines, not all, when this submitter finds it lost.
        await _until(
            provider, loser.id, lambda b: b.status == "in_progress" and b.request_counts.completed > 0
        )
        unsubmitted = Unsubmitted(batch_id, "acme", "gpt-4o-mini", datetime.now(UTC), 1, file.id)
        await submitter._record(unsubmitted, loser.id)

        (found,) = await rows(engine, "SELECT provider_batch_id, batch_id, settled_at FROM duplicate_batches")
        assert (found.provider_batch_id, found.batch_id, found.settled_at) == (loser.id, batch_id, None)
        await _until(provider, loser.id, lambda b: b.status == "cancelled")
        await submitter.reconcile_once()
    finally:
        await provider.aclose()

    # What the provider itself reports for the copy, read raw from its API (not through our parser).
    async with httpx.AsyncClient() as client:
        raw = (
            await client.get(
                f"{emulator.base_url}/batches/{loser.id}",
                headers={"Authorization": f"Bearer {settings.openai_api_key}"},
            )
        ).json()
    assert raw["status"] == "cancelled" and 0 < raw["request_counts"]["completed"] < LINES
    assert raw["usage"]["input_tokens"] > 0 and raw["usage"]["output_tokens"] > 0
    (row,) = await rows(
        engine,
        "SELECT provider_status, request_total, request_completed, request_failed, prompt_tokens, "
        "completion_tokens, settled_at IS NOT NULL AS settled FROM duplicate_batches",
    )
    assert tuple(row) == (
        "cancelled",
        raw["request_counts"]["total"],
        raw["request_counts"]["completed"],
        raw["request_counts"]["failed"],
        raw["usage"]["input_tokens"],
        raw["usage"]["output_tokens"],
        True,
    )
    assert submitter.stats["orphans_cancelled"] == 1 and submitter.stats["orphans_settled"] == 1

    # gpt-4o-mini lists at 0.15 / 0.60 USD per million tokens; the batch price is half of that.
    billed = (
        Decimal(raw["usage"]["input_tokens"]) * Decimal("0.15") + Decimal(raw["usage"]["output_tokens"]) * Decimal("0.60")
    ) / 1_000_000 * Decimal("0.5")
    async with engine.connect() as conn:
        [report] = await company_reports(conn, Settings())
        stats = await collect_stats(conn, Settings())
    assert (report.company_id, report.duplicate_batches) == ("acme", 1)
    assert report.duplicate_cost_usd == billed  # exact decimals
    assert report.batch_cost_usd == 0  # no result was bought with it
    acme = stats.companies["acme"]
    assert (acme.duplicate_batches, acme.duplicate_input_tokens, acme.duplicate_output_tokens) == (
        1, raw["usage"]["input_tokens"], raw["usage"]["output_tokens"])  # fmt: skip
    assert acme.duplicate_cost_usd == billed


async def test_a_settled_copy_is_never_overwritten_and_counts_only_grow(engine: AsyncEngine) -> None:
    batch_id = uuid.uuid4()
    copy = DuplicateCopy("batch_dup", batch_id, "acme", "gpt-4o-mini")
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO provider_batches (id, company_id, model, provider, status, request_count, "
                "poll_count, submit_attempts) VALUES (:b, 'acme', 'gpt-4o-mini', 'openai', 'VALIDATING', 1, 0, 1)"
            ),
            {"b": batch_id},
        )
        await duplicate_sql.record(
            conn, [replace(copy, provider_status="in_progress", completed=2, input_tokens=50)]
        )
        # An older read finishing late: lower counts do not replace higher ones.
        await duplicate_sql.record(
            conn, [replace(copy, provider_status="in_progress", completed=1, input_tokens=20)]
        )
        assert await duplicate_sql.unsettled(conn, limit=10) == [
            replace(copy, provider_status="in_progress", completed=2, input_tokens=50)
        ]
        final = replace(copy, provider_status="cancelled", total=4, completed=3, failed=1, input_tokens=80,
                        output_tokens=9, settled=True)  # fmt: skip
        await duplicate_sql.record(conn, [final])
        await duplicate_sql.record(conn, [replace(final, provider_status="expired", input_tokens=999)])
        assert await duplicate_sql.unsettled(conn, limit=10) == []
    (row,) = await rows(
        engine,
        "SELECT provider_status, request_total, request_completed, request_failed, prompt_tokens, "
        "completion_tokens FROM duplicate_batches",
    )
    assert tuple(row) == ("cancelled", 4, 3, 1, 80, 9)
