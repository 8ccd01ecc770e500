"""``batchline stats`` against a real database: every figure checked against the test's own numbers.

Rows are inserted directly (two companies, requests in every status, batches in several statuses).
Counts are checked twice: against hand-written expectations, and against one plain ``count(*)`` per
(company, status) written here, so neither the command's grouping nor its status keys can hide a row.
Costs are priced by hand from each processed batch's lines' tokens, at the price stored with the
batch (acme-old1: gpt-4o-mini 0.15 in / 0.075 cached / 0.60 out, half for a batch) or, for batches
stored without one, at the prices this test configures (USD per million tokens): gpt-4o-mini 0.15 in
/ 0.60 out, gpt-4o 2.50 / 10.00 (no cached price: cached tokens at the input price); the batch price
is half the list price.
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from cli.stats import collect_stats, stats_document
from shared.lifecycle import BatchStatus, RequestStatus
from shared.settings import ModelPrice, Settings

PRICES = {
    "gpt-4o-mini": ModelPrice(input_per_million=0.15, output_per_million=0.60),
    "gpt-4o": ModelPrice(input_per_million=2.50, output_per_million=10.00),
}
PRICES_ENV = orjson.dumps({m: p.model_dump(mode="json") for m, p in PRICES.items()}).decode()
SETTINGS = Settings(model_prices=PRICES, batch_discount=Decimal("0.5"))

# pending, in a batch, complete, failed, in a synchronous fallback call
P, B, C, F, FB = (s.value for s in RequestStatus)
#: No fallback ran in this data set: every figure of the ``fallback`` object is zero.
NO_FALLBACK: dict[str, Any] = {
    "sync_requests": 0,
    "sync_answered": 0,
    "provider_requests": 0,
    "fallback_cost_usd": "0.000000",
    "batch_price_usd": "0.000000",
    "fallback_extra_usd": "0.000000",
}
NOW = datetime.now(UTC).replace(microsecond=0)
OLDEST_ACME = NOW - timedelta(hours=2)
OLDEST_BETA = NOW - timedelta(minutes=30)

SESSIONS = {"acme": ["a1", "a2", "a3"], "beta": ["b1", "b2"]}
#: (batch key, company, status, model, lines' (input, cached, output) tokens or None, stored price or
#: None); the in-progress requests of acme point at "acme-live".
STORED_MINI = ("0.15", "0.075", "0.60", "0.5")
BATCHES: list[tuple[str, str, BatchStatus, str, tuple[int, int, int] | None, tuple[str, ...] | None]] = [
    ("acme-new", "acme", BatchStatus.PENDING_SUBMISSION, "gpt-4o-mini", None, None),
    ("acme-live", "acme", BatchStatus.IN_PROGRESS, "gpt-4o", None, None),
    ("acme-done", "acme", BatchStatus.COMPLETED, "gpt-4o-mini", None, None),
    ("acme-old1", "acme", BatchStatus.PROCESSED, "gpt-4o-mini", (1_500_000, 400_000, 500_000), STORED_MINI),
    ("acme-old2", "acme", BatchStatus.PROCESSED, "gpt-4o", (100_000, 0, 0), None),
    ("beta-old", "beta", BatchStatus.PROCESSED, "gpt-4o-mini", (2_000_000, 0, 1_000_000), None),
    ("beta-odd", "beta", BatchStatus.PROCESSED, "mystery-model", (10, 0, 5), None),
    ("beta-bad", "beta", BatchStatus.FAILED, "gpt-4o-mini", None, None),
]
#: (session, company, model, status, requested_at, prompt, cached, completion tokens, batch key)
REQUESTS: list[tuple[str, str, str, str, datetime, int | None, int | None, int | None, str | None]] = [
    ("a1", "acme", "gpt-4o-mini", P, OLDEST_ACME, None, None, None, None),
    ("a2", "acme", "gpt-4o-mini", P, NOW - timedelta(hours=1), None, None, None, None),
    ("a3", "acme", "gpt-4o", P, NOW - timedelta(minutes=10), None, None, None, None),
    ("a1", "acme", "gpt-4o", B, NOW - timedelta(hours=5), None, None, None, "acme-live"),
    ("a2", "acme", "gpt-4o", B, NOW - timedelta(hours=5), None, None, None, "acme-live"),
    ("a1", "acme", "gpt-4o-mini", C, NOW - timedelta(days=1), 1_000_000, 400_000, 200_000, "acme-old1"),
    ("a2", "acme", "gpt-4o-mini", C, NOW - timedelta(days=1), 500_000, None, 300_000, "acme-old1"),
    ("a3", "acme", "gpt-4o", F, NOW - timedelta(days=2), 100_000, None, 0, "acme-old2"),
    ("b1", "beta", "gpt-4o-mini", P, OLDEST_BETA, None, None, None, None),
    ("b1", "beta", "gpt-4o-mini", C, NOW - timedelta(days=1), 2_000_000, None, 1_000_000, "beta-old"),
    ("b2", "beta", "mystery-model", F, NOW - timedelta(days=1), 10, None, 5, "beta-odd"),
]
#: Cancelled duplicate copies: (provider batch id, batch key, company, model, prompt, completion tokens).
DUPLICATES = [
    ("batch_dup1", "acme-live", "acme", "gpt-4o-mini", 400_000, 100_000),
    ("batch_dup2", "acme-done", "acme", "gpt-4o", 20_000, 10_000),
]


def zeros(statuses: Any) -> dict[str, int]:
    return {s.value: 0 for s in statuses}


EXPECTED: dict[str, dict[str, Any]] = {
    "acme": {
        "sessions": 3,
        "batches": zeros(BatchStatus)
        | {"PENDING_SUBMISSION": 1, "IN_PROGRESS": 1, "COMPLETED": 1, "PROCESSED": 2},
        "batches_total": 5,
        "requests": {P: 3, B: 2, C: 2, F: 1, FB: 0},
        "requests_total": 8,
        "pending_requests": 3,
        "in_progress_requests": 2,
        "input_tokens": 1_600_000,
        "output_tokens": 500_000,
        "cached_input_tokens": 400_000,
        # mini at its stored price: 1.1M fresh x 0.15 + 0.4M cached x 0.075 + 0.5M x 0.60
        # = 0.165 + 0.03 + 0.30 = 0.495; gpt-4o at today's: 0.1M x 2.50 = 0.25.
        "realtime_cost_usd": "0.745000",
        "batch_cost_usd": "0.372500",
        "savings_usd": "0.372500",
        "unpriced_models": [],
        # At the batch price: mini (0.4M x 0.15 + 0.1M x 0.60) x 0.5 = 0.06; gpt-4o (0.02M x 2.50 +
        # 0.01M x 10.00) x 0.5 = 0.075. On top of batch_cost_usd, and not in the savings.
        "duplicate_batches": 2,
        "duplicate_input_tokens": 420_000,
        "duplicate_output_tokens": 110_000,
        "duplicate_cost_usd": "0.135000",
        # acme-old2 (gpt-4o, 0.25 real-time) ran on Anthropic; the rest of acme's cost on OpenAI.
        "cost_by_provider": {
            "anthropic": {"batch_cost_usd": "0.125000", "realtime_cost_usd": "0.250000"},
            "openai": {"batch_cost_usd": "0.247500", "realtime_cost_usd": "0.495000"},
        },
        "budgets": [],
        "held_requests": 0,
        "hold_reasons": [],
        "fallback": NO_FALLBACK,
    },
    "beta": {
        "sessions": 2,
        "batches": zeros(BatchStatus) | {"PROCESSED": 2, "FAILED": 1},
        "batches_total": 3,
        "requests": {P: 1, B: 0, C: 1, F: 1, FB: 0},
        "requests_total": 3,
        "pending_requests": 1,
        "in_progress_requests": 0,
        "input_tokens": 2_000_010,
        "output_tokens": 1_000_005,
        "cached_input_tokens": 0,
        # mini: 2M x 0.15 + 1M x 0.60 = 0.90; mystery-model has no price and adds nothing.
        "realtime_cost_usd": "0.900000",
        "batch_cost_usd": "0.450000",
        "savings_usd": "0.450000",
        "unpriced_models": ["mystery-model"],
        "duplicate_batches": 0,
        "duplicate_input_tokens": 0,
        "duplicate_output_tokens": 0,
        "duplicate_cost_usd": "0.000000",
        "cost_by_provider": {"openai": {"batch_cost_usd": "0.450000", "realtime_cost_usd": "0.900000"}},
        "budgets": [],
        "held_requests": 0,
        "hold_reasons": [],
        "fallback": NO_FALLBACK,
    },
}
EXPECTED_TOTALS: dict[str, Any] = {
    "sessions": 5,
    "batches": zeros(BatchStatus)
    | {"PENDING_SUBMISSION": 1, "IN_PROGRESS": 1, "COMPLETED": 1, "PROCESSED": 4, "FAILED": 1},
    "batches_total": 8,
    "requests": {P: 4, B: 2, C: 3, F: 2, FB: 0},
    "requests_total": 11,
    "pending_requests": 4,
    "in_progress_requests": 2,
    "input_tokens": 3_600_010,
    "output_tokens": 1_500_005,
    "cached_input_tokens": 400_000,
    "realtime_cost_usd": "1.645000",
    "batch_cost_usd": "0.822500",
    "savings_usd": "0.822500",
    "unpriced_models": ["mystery-model"],
    "duplicate_batches": 2,
    "duplicate_input_tokens": 420_000,
    "duplicate_output_tokens": 110_000,
    "duplicate_cost_usd": "0.135000",
    "cost_by_provider": {
        "anthropic": {"batch_cost_usd": "0.125000", "realtime_cost_usd": "0.250000"},
        "openai": {"batch_cost_usd": "0.697500", "realtime_cost_usd": "1.395000"},
    },
    "budgets": [],
    "held_requests": 0,
    "hold_reasons": [],
    "fallback": NO_FALLBACK,
}
#: The batch that ran on Anthropic (every other batch: OpenAI).
ANTHROPIC_BATCH = "acme-old2"
AGE_KEYS = ("oldest_pending_requested_at", "oldest_pending_age_s")


async def seed(engine: AsyncEngine) -> None:
    batch_ids = {key: uuid.uuid4() for key, *_ in BATCHES}
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO sessions (id, company_id, started_at, content_hash, message_count) "
                "VALUES (:id, :c, now(), 'h', 2)"
            ),
            [{"id": s, "c": c} for c, ids in SESSIONS.items() for s in ids],
        )
        await conn.execute(
            text(
                "INSERT INTO provider_batches (id, company_id, model, provider, status, request_count, "
                "poll_count, submit_attempts, lines_input_tokens, lines_cached_tokens, lines_output_tokens, "
                "price_input_per_million, price_cached_input_per_million, price_output_per_million, "
                "price_batch_discount) VALUES (:id, :c, :m, :p, :s, 0, 0, 0, :li, :lc, :lo, "
                ":pi, :pc, :po, :pd)"
            ),
            [
                {"id": batch_ids[k], "c": c, "s": s.value, "m": m}
                | {"p": "anthropic" if k == ANTHROPIC_BATCH else "openai"}
                | dict(zip(("li", "lc", "lo"), lines or (None, None, None), strict=True))
                | dict(zip(("pi", "pc", "po", "pd"), [Decimal(p) for p in price] if price else [None] * 4, strict=True))
                for k, c, s, m, lines, price in BATCHES
            ],
        )
        await conn.execute(
            text(
                "INSERT INTO ai_processing_requests (id, session_id, company_id, processing_type, model, "
                "revision, status, attempt, approx_bytes, prompt_tokens, cached_tokens, completion_tokens, "
                "requested_at, batch_id) "
                "VALUES (:id, :s, :c, 'full_analysis', :m, :rev, :st, 1, 100, :pt, :cached, :ct, :at, :b)"
            ),
            [
                {
                    "id": uuid.uuid4(),
                    "s": s,
                    "c": c,
                    "m": m,
                    "rev": f"r{i}",
                    "st": st,
                    "at": at,
                    "pt": pt,
                    "cached": cached,
                    "ct": ct,
                    "b": batch_ids[b] if b else None,
                }
                for i, (s, c, m, st, at, pt, cached, ct, b) in enumerate(REQUESTS)
            ],
        )
        await conn.execute(
            text(
                "INSERT INTO duplicate_batches (provider_batch_id, batch_id, company_id, model, "
                "provider_status, prompt_tokens, completion_tokens, settled_at) "
                "VALUES (:p, :b, :c, :m, 'cancelled', :pt, :ct, now())"
            ),
            [
                {"p": p, "b": batch_ids[b], "c": c, "m": m, "pt": pt, "ct": ct}
                for p, b, c, m, pt, ct in DUPLICATES
            ],
        )


async def counted_here(engine: AsyncEngine) -> dict[str, dict[str, dict[str, int]]]:
    """Per company and status, one plain count each: the test's own reading of the tables."""
    out: dict[str, dict[str, dict[str, int]]] = {}
    async with engine.connect() as conn:
        for company in SESSIONS:
            batches = {
                s.value: int(
                    await conn.scalar(
                        text("SELECT count(*) FROM provider_batches WHERE company_id = :c AND status = :s"),
                        {"c": company, "s": s.value},
                    )
                    or 0
                )
                for s in BatchStatus
            }
            requests = {
                s.value: int(
                    await conn.scalar(
                        text(
                            "SELECT count(*) FROM ai_processing_requests WHERE company_id = :c AND status = :s"
                        ),
                        {"c": company, "s": s.value},
                    )
                    or 0
                )
                for s in RequestStatus
            }
            out[company] = {"batches": batches, "requests": requests}
    return out


def without_ages(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if k not in AGE_KEYS}


def check_age(company_doc: dict[str, Any], generated_at: str, oldest: datetime) -> None:
    assert datetime.fromisoformat(company_doc["oldest_pending_requested_at"]) == oldest
    age = company_doc["oldest_pending_age_s"]
    expected = (datetime.fromisoformat(generated_at) - oldest).total_seconds()
    assert abs(age - expected) < 0.001
    # Against this machine's clock too: the database and the test share it (a loose tolerance).
    assert abs(age - (datetime.now(UTC) - oldest).total_seconds()) < 120


def check_document(doc: dict[str, Any], companies: list[str]) -> None:
    assert doc["schema_version"] == 1
    assert sorted(doc["companies"]) == companies
    for company in companies:
        assert without_ages(doc["companies"][company]) == EXPECTED[company]
    oldest = {"acme": OLDEST_ACME, "beta": OLDEST_BETA}
    for company in companies:
        check_age(doc["companies"][company], doc["generated_at"], oldest[company])
    if companies == ["acme", "beta"]:
        assert without_ages(doc["totals"]) == EXPECTED_TOTALS
        check_age(doc["totals"], doc["generated_at"], OLDEST_ACME)


async def test_every_figure_matches_the_rows(engine: AsyncEngine) -> None:
    await seed(engine)
    async with engine.connect() as conn:
        doc = stats_document(await collect_stats(conn, SETTINGS))
    check_document(doc, ["acme", "beta"])
    here = await counted_here(engine)
    for company, counts in here.items():
        assert doc["companies"][company]["batches"] == counts["batches"]
        assert doc["companies"][company]["requests"] == counts["requests"]
    assert sum(here[c]["requests"][P] for c in here) == doc["totals"]["pending_requests"]


async def test_one_company_and_an_unknown_one(engine: AsyncEngine) -> None:
    await seed(engine)
    async with engine.connect() as conn:
        beta = stats_document(await collect_stats(conn, SETTINGS, "beta"))
        nobody = stats_document(await collect_stats(conn, SETTINGS, "nobody"))
    assert beta["company"] == "beta"
    check_document(beta, ["beta"])
    assert without_ages(beta["totals"]) == EXPECTED["beta"]

    assert nobody["company"] == "nobody"
    assert nobody["companies"] == {}
    totals = nobody["totals"]
    assert totals["requests"] == zeros(RequestStatus)
    assert totals["batches"] == zeros(BatchStatus)
    assert (totals["sessions"], totals["input_tokens"], totals["batch_cost_usd"]) == (0, 0, "0.000000")
    assert (totals["oldest_pending_requested_at"], totals["oldest_pending_age_s"]) == (None, None)


def run_cli(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "BATCHLINE_DATABASE_URL": database_url,
        "BATCHLINE_MODEL_PRICES": PRICES_ENV,
        "BATCHLINE_BATCH_DISCOUNT": "0.5",
    }
    return subprocess.run(
        [sys.executable, "-m", "cli.main", "stats", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )


async def test_the_command_prints_the_same_document(engine: AsyncEngine, database_url: str) -> None:
    await seed(engine)
    result = await asyncio.to_thread(run_cli, database_url, "--json")
    assert result.returncode == 0, result.stderr
    doc = orjson.loads(result.stdout)
    check_document(doc, ["acme", "beta"])
    assert (
        result.stdout.strip() == orjson.dumps(doc, option=orjson.OPT_SORT_KEYS | orjson.OPT_INDENT_2).decode()
    )

    unknown = await asyncio.to_thread(run_cli, database_url, "--json", "--company", "nobody")
    assert unknown.returncode == 0, unknown.stderr
    assert orjson.loads(unknown.stdout)["companies"] == {}

    # acme's oldest pending request was written two hours before this module was imported: its age is
    # two hours plus however long the suite ran since, read on the clock around the command.
    before = (datetime.now(UTC) - OLDEST_ACME).total_seconds()
    table = await asyncio.to_thread(run_cli, database_url, "--company", "acme")
    after = (datetime.now(UTC) - OLDEST_ACME).total_seconds()
    assert table.returncode == 0, table.stderr
    assert "acme" in table.stdout and "beta" not in table.stdout
    shown = re.search(r"\b(\d+)h(\d\d)m(\d\d)s\b", table.stdout)
    assert shown is not None, table.stdout
    h, m, sec = (int(g) for g in shown.groups())
    assert int(before) - 1 <= h * 3600 + m * 60 + sec <= after + 1
