"""Exact money end to end: batches run through the emulator, then this test prices them itself.

Four batches (two companies, three models) are created at the emulator, polled and ingested by the real
poller and ingester. The first three are ingested at the prices of epoch 1 (which has no price for
gpt-4.1-mini), the fourth after a price change (epoch 2); ``batchline stats --json`` then runs with the
prices of epoch 2 configured. The test reads the tables with its own SQL and prices each batch with
the literal prices of the epoch it was ingested in and its own decimal arithmetic (the gpt-4.1-mini
batch, stored without a price, at today's), then compares every count, token total and money figure
of the document exactly — not to the cent, to the last digit. The emulator's own batch ``usage`` is
checked against the requests' tokens too, independently of the ingester's sums, and a provider usage
that disagrees with the lines is flagged on the batch and counted.

The emulator reports cached tokens for repeated system prompts (``emulator/output_files.py``), and
answers a quarter of the lines off-schema: those requests fail (one attempt allowed) with their
tokens, which are paid for like any other.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from emulator.config import EmulatorConfig
from services.ingester.service import Ingester, IngesterConfig
from shared.analysis import ProcessingType, chat_body
from shared.lifecycle import BatchStatus, RequestStatus
from shared.provider.base import LOCAL_BATCH_ID_KEY
from shared.provider.openai import build_provider
from shared.settings import ModelPrice, Settings
from tests.integration.test_poller_ingester import poll_until, poller
from tests.pipeline import rows, scalar

D = Decimal
#: USD per 1M tokens (input, cached input, output) and the batch discount of each price epoch.
EPOCH_1 = {
    "gpt-4o-mini": (D("0.15"), D("0.075"), D("0.60")),
    "gpt-4o": (D("2.50"), D("1.25"), D("10.00")),
}
DISCOUNT_1 = D("0.5")
EPOCH_2 = {
    "gpt-4o-mini": (D("0.30"), D("0.12"), D("1.20")),
    "gpt-4o": (D("5"), D("2"), D("20")),
    "gpt-4.1-mini": (D("0.40"), D("0.10"), D("1.60")),
}
DISCOUNT_2 = D("0.4")


@pytest.fixture
def emulator_config() -> EmulatorConfig:
    return EmulatorConfig(port=0, stage_s=0.1, seed=7, malformed_rate=0.25)


def prices(table: dict[str, tuple[Decimal, Decimal, Decimal]]) -> dict[str, ModelPrice]:
    return {
        m: ModelPrice(input_per_million=i, cached_input_per_million=c, output_per_million=o)
        for m, (i, c, o) in table.items()
    }


async def create_batch(
    engine: AsyncEngine, settings: Settings, tmp_path: Path, company: str, model: str, n: int
) -> tuple[uuid.UUID, str]:
    """A session, n claimed requests of varied length, a provider batch at the emulator, its local row."""
    batch_id = uuid.uuid4()
    request_ids = [uuid.uuid4() for _ in range(n)]
    path = tmp_path / f"{batch_id}.jsonl"
    path.write_bytes(
        b"".join(
            orjson.dumps(
                {
                    "custom_id": str(r),
                    "method": "POST",
                    "url": "/v1/chat/completions",
                    "body": chat_body(
                        ProcessingType.FULL_ANALYSIS, model, "user: I need vacation days. " * (i + 1)
                    ),
                }
            )
            + b"\n"
            for i, r in enumerate(request_ids)
        )
    )
    provider = build_provider(settings)
    try:
        uploaded = await provider.upload_file(path)
        created = await provider.create_batch(uploaded.id, metadata={LOCAL_BATCH_ID_KEY: str(batch_id)})
    finally:
        await provider.aclose()
    session = f"{company}-{batch_id}"
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO sessions (id, company_id, started_at, content_hash, message_count) "
                "VALUES (:s, :c, now(), 'h', 1)"
            ),
            {"s": session, "c": company},
        )
        await conn.execute(
            text(
                "INSERT INTO provider_batches (id, company_id, model, provider, provider_batch_id, input_file_id, "
                "status, request_count, poll_count, submit_attempts, submitted_at, next_poll_at) VALUES "
                "(:b, :c, :m, 'openai', :p, :f, 'VALIDATING', :n, 0, 1, now(), now())"
            ),
            {"b": batch_id, "c": company, "m": model, "p": created.id, "f": uploaded.id, "n": n},
        )
        for r in request_ids:
            await conn.execute(
                text(
                    "INSERT INTO ai_processing_requests (id, session_id, company_id, processing_type, model, "
                    "revision, status, batch_id, attempt, approx_bytes) VALUES (:r, :s, :c, 'full_analysis', "
                    ":m, :rev, 'BATCHING_IN_PROGRESS', :b, 1, 100)"
                ),
                {"r": r, "s": session, "c": company, "m": model, "b": batch_id, "rev": str(r)},
            )
            await conn.execute(text("INSERT INTO ai_batch_items VALUES (:b, :r, 1)"), {"b": batch_id, "r": r})
    return batch_id, created.id


def ingester(engine: AsyncEngine, settings: Settings, table: dict[str, Any], discount: Decimal) -> Ingester:
    config = IngesterConfig(
        max_attempts=1,
        retry_backoff_s=0,
        request_pending_topic=settings.topics.request_pending,
        prices=prices(table),
        batch_discount=discount,
    )
    return Ingester(engine, build_provider(settings), config, on_commit=lambda: None)


async def run_batch(engine: AsyncEngine, settings: Settings, batch_id: uuid.UUID, ing: Ingester) -> None:
    await poll_until(poller(engine, settings), engine, batch_id, BatchStatus.COMPLETED.value)
    report = await ing.ingest(batch_id)
    assert report.status == BatchStatus.COMPLETED.value and not report.skipped


def stats_json(settings: Settings) -> dict[str, Any]:
    env = {
        **os.environ,
        "BATCHLINE_DATABASE_URL": str(settings.database_url),
        "BATCHLINE_MODEL_PRICES": orjson.dumps(
            {
                m: {
                    "input_per_million": str(i),
                    "cached_input_per_million": str(c),
                    "output_per_million": str(o),
                }
                for m, (i, c, o) in EPOCH_2.items()
            }
        ).decode(),
        "BATCHLINE_BATCH_DISCOUNT": str(DISCOUNT_2),
    }
    result = subprocess.run(
        [sys.executable, "-m", "cli.main", "stats", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    doc: dict[str, Any] = orjson.loads(result.stdout)
    return doc


async def batch_tokens(engine: AsyncEngine, batch_id: uuid.UUID) -> tuple[int, int, int]:
    """The test's own reading: what the batch's requests store (one attempt each, so all of it is theirs)."""
    row = (
        await rows(
            engine,
            "SELECT coalesce(sum(prompt_tokens), 0) AS i, coalesce(sum(cached_tokens), 0) AS c, "
            "coalesce(sum(completion_tokens), 0) AS o FROM ai_processing_requests WHERE batch_id = :b",
            b=batch_id,
        )
    )[0]
    return int(row.i), int(row.c), int(row.o)


async def test_stats_json_matches_the_tables_priced_here(
    settings: Settings, engine: AsyncEngine, tmp_path: Path
) -> None:
    # (company, model, requests, the prices it is ingested at, the prices that price it in the end)
    plan = [
        ("acme", "gpt-4o-mini", 9, 1),
        ("acme", "gpt-4o", 4, 1),
        ("beta", "gpt-4.1-mini", 5, 1),  # no price in epoch 1: stored unpriced, priced at today's (epoch 2)
        ("beta", "gpt-4o-mini", 6, 2),
    ]
    batches: list[tuple[uuid.UUID, str, str, str, int]] = []
    first, second = (
        ingester(engine, settings, EPOCH_1, DISCOUNT_1),
        ingester(engine, settings, EPOCH_2, DISCOUNT_2),
    )
    for company, model, n, epoch in plan:
        batch_id, provider_batch_id = await create_batch(engine, settings, tmp_path, company, model, n)
        await run_batch(engine, settings, batch_id, first if epoch == 1 else second)
        batches.append((batch_id, provider_batch_id, company, model, epoch))

    doc = await asyncio.to_thread(stats_json, settings)

    # --- counts, read here with plain counts per (company, status) --------------------------------
    for company in ("acme", "beta"):
        got = doc["companies"][company]
        assert got["sessions"] == await scalar(
            engine, "SELECT count(*) FROM sessions WHERE company_id = :c", c=company
        )
        for status in BatchStatus:
            assert got["batches"][status.value] == await scalar(
                engine,
                "SELECT count(*) FROM provider_batches WHERE company_id = :c AND status = :s",
                c=company,
                s=status.value,
            )
        for status in RequestStatus:
            assert got["requests"][status.value] == await scalar(
                engine,
                "SELECT count(*) FROM ai_processing_requests WHERE company_id = :c AND status = :s",
                c=company,
                s=status.value,
            )
    assert doc["totals"]["batches"][BatchStatus.PROCESSED.value] == 4
    assert doc["totals"]["requests_total"] == 24
    # Some answers were off-schema: failed for good, their tokens still count (and are paid for).
    assert doc["totals"]["requests"][RequestStatus.PROCESSING_FAILED.value] > 0

    # --- tokens and money, priced here --------------------------------------------------------
    expected: dict[str, dict[str, Any]] = {
        c: {"input": 0, "cached": 0, "output": 0, "realtime": D(0), "batch": D(0)} for c in ("acme", "beta")
    }
    provider = build_provider(settings)
    try:
        for batch_id, provider_batch_id, company, model, epoch in batches:
            tokens_in, cached, tokens_out = await batch_tokens(engine, batch_id)
            # The provider's own figures for the batch agree with what the requests store.
            remote = await provider.retrieve_batch(provider_batch_id)
            assert remote.usage is not None
            assert (remote.usage.input_tokens, remote.usage.cached_tokens, remote.usage.output_tokens) == (
                tokens_in,
                cached,
                tokens_out,
            )
            stored_prices = EPOCH_1 if epoch == 1 and model in EPOCH_1 else EPOCH_2
            discount = DISCOUNT_1 if epoch == 1 and model in EPOCH_1 else DISCOUNT_2
            p_in, p_cached, p_out = stored_prices[model]
            realtime = ((tokens_in - cached) * p_in + cached * p_cached + tokens_out * p_out) * D("0.000001")
            e = expected[company]
            e["input"] += tokens_in
            e["cached"] += cached
            e["output"] += tokens_out
            e["realtime"] += realtime
            e["batch"] += realtime * discount
    finally:
        await provider.aclose()
    assert sum(e["cached"] for e in expected.values()) > 0  # the cached price was exercised
    for company, e in expected.items():
        got = doc["companies"][company]
        assert (got["input_tokens"], got["cached_input_tokens"], got["output_tokens"]) == (
            e["input"],
            e["cached"],
            e["output"],
        )
        assert D(got["realtime_cost_usd"]) == e["realtime"]
        assert D(got["batch_cost_usd"]) == e["batch"]
        assert D(got["savings_usd"]) == e["realtime"] - e["batch"]
        assert got["unpriced_models"] == []
    totals = doc["totals"]
    assert D(totals["realtime_cost_usd"]) == expected["acme"]["realtime"] + expected["beta"]["realtime"]
    assert D(totals["batch_cost_usd"]) == expected["acme"]["batch"] + expected["beta"]["batch"]
    assert totals["input_tokens"] == expected["acme"]["input"] + expected["beta"]["input"]

    # No batch was flagged: every provider usage equals the sum of its lines.
    assert (
        await scalar(engine, "SELECT count(*) FROM provider_batches WHERE usage_mismatch IS NOT FALSE") == 0
    )
    assert first.stats["usage_mismatches"] == second.stats["usage_mismatches"] == 0


async def test_a_provider_usage_that_differs_from_the_lines_is_flagged_and_counted(
    settings: Settings, engine: AsyncEngine, tmp_path: Path
) -> None:
    batch_id, _ = await create_batch(engine, settings, tmp_path, "acme", "gpt-4o-mini", 3)
    await poll_until(poller(engine, settings), engine, batch_id, BatchStatus.COMPLETED.value)
    async with engine.begin() as conn:  # as if the provider billed 7 output tokens no line accounts for
        await conn.execute(
            text(
                "UPDATE provider_batches SET provider_output_tokens = provider_output_tokens + 7 WHERE id = :b"
            ),
            {"b": batch_id},
        )
    ing = ingester(engine, settings, EPOCH_1, DISCOUNT_1)
    await ing.ingest(batch_id)
    await ing.ingest(batch_id)  # a replay changes nothing and counts nothing again
    row = (
        await rows(
            engine,
            "SELECT usage_mismatch, lines_input_tokens, lines_cached_tokens, lines_output_tokens, "
            "provider_output_tokens, price_input_per_million, price_batch_discount FROM provider_batches "
            "WHERE id = :b",
            b=batch_id,
        )
    )[0]
    assert row.usage_mismatch is True
    assert ing.stats["usage_mismatches"] == 1
    assert (row.lines_input_tokens, row.lines_cached_tokens, row.lines_output_tokens) == await batch_tokens(
        engine, batch_id
    )
    assert row.provider_output_tokens == row.lines_output_tokens + 7
    assert (row.price_input_per_million, row.price_batch_discount) == (D("0.15"), D("0.5"))
