"""``batchline budgets set | list | clear`` as processes against a real database.

Seeded spend this month, worked out by hand (batch discount 0.5, output estimate 0.5 per input token):
- acme, openai, processed: 1,000,000 input tokens at a stored 1 USD per 1M: 1.0 x 0.5 = 0.5;
- acme, openai, in flight: 1,000,000 estimated tokens of gpt-4o-mini at today's 0.15 in / 0.60 out:
  (0.15 + 0.5 x 0.60) x 0.5 = 0.225;
- acme, azure, processed: 1,000,000 at 1 USD per 1M: 0.5 (counts only for the all-providers cap);
- acme, openai, failed before ingest: 1,000,000 estimated, costs nothing;
- acme, processed 40 days ago: 10,000,000 tokens, another month.
So the all-providers cap sees 1.225 and the openai cap 0.725.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from typing import Any

import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.lifecycle import BatchStatus
from tests.pipeline import scalar

MINI = "gpt-4o-mini"


def budgets_cli(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "BATCHLINE_DATABASE_URL": database_url, "BATCHLINE_BATCH_DISCOUNT": "0.5"}
    env.pop("BATCHLINE_MODEL_PRICES", None)
    env.pop("BATCHLINE_BUDGET_OUTPUT_RATIO", None)
    return subprocess.run(
        [sys.executable, "-m", "cli.main", "budgets", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )


async def cli(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return await asyncio.to_thread(budgets_cli, database_url, *args)


async def seed(engine: AsyncEngine) -> None:
    batches: list[dict[str, Any]] = [
        {"p": "openai", "s": BatchStatus.PROCESSED, "li": 1_000_000, "est": None, "age": 0},
        {"p": "openai", "s": BatchStatus.IN_PROGRESS, "li": None, "est": 1_000_000, "age": 0},
        {"p": "azure", "s": BatchStatus.PROCESSED, "li": 1_000_000, "est": None, "age": 0},
        {"p": "openai", "s": BatchStatus.FAILED, "li": None, "est": 1_000_000, "age": 0},
        {"p": "openai", "s": BatchStatus.PROCESSED, "li": 10_000_000, "est": None, "age": 40},
    ]
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO provider_batches (id, company_id, model, provider, status, request_count, "
                "poll_count, submit_attempts, lines_input_tokens, lines_cached_tokens, lines_output_tokens, "
                "price_input_per_million, price_cached_input_per_million, price_output_per_million, "
                "price_batch_discount, estimated_tokens, created_at) VALUES (:id, 'acme', :m, :p, :s, 1, 0, 0, "
                ":li, CASE WHEN CAST(:li AS bigint) IS NULL THEN NULL ELSE 0 END, "
                "CASE WHEN CAST(:li AS bigint) IS NULL THEN NULL ELSE 0 END, :pr, :pr, :pr, :pd, :est, "
                "now() - make_interval(days => :age))"
            ),
            [
                b
                | {
                    "id": uuid.uuid4(),
                    "m": MINI,
                    "s": b["s"].value,
                    "pr": 1 if b["li"] is not None else None,
                    "pd": 0.5 if b["li"] is not None else None,
                }
                for b in batches
            ],
        )


async def test_set_list_and_clear(engine: AsyncEngine, database_url: str) -> None:
    await seed(engine)
    assert (await cli(database_url, "set", "acme", "5")).returncode == 0
    made = await cli(database_url, "set", "acme", "1", "--provider", "openai")
    assert (made.returncode, made.stdout.strip()) == (0, "budget of acme for openai: 1 USD per month")
    # Set again: the same scope is changed, not duplicated.
    assert (await cli(database_url, "set", "acme", "1.00", "--provider", "openai")).returncode == 0
    assert await scalar(engine, "SELECT count(*) FROM company_budgets") == 2

    listed = await cli(database_url, "list", "--json")
    assert listed.returncode == 0, listed.stderr
    doc = orjson.loads(listed.stdout)
    assert doc["companies"] == {
        "acme": {
            "budgets": [
                {"provider": None, "monthly_usd": "5.000000", "spent_usd": "1.225000"},
                {"provider": "openai", "monthly_usd": "1.000000", "spent_usd": "0.725000"},
            ],
            "held_requests": 0,
            "hold_reasons": [],
        }
    }
    table = await cli(database_url, "list")
    assert table.returncode == 0 and "1.2250" in table.stdout and "0.7250" in table.stdout

    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO budget_holds (company_id, model, provider, reason, held_requests) "
                "VALUES ('acme', :m, 'openai', 'budget: company acme at $1.0001 of $1.0000 for openai "
                "(month 2026-12)', 7)"
            ),
            {"m": MINI},
        )
    held = orjson.loads((await cli(database_url, "list", "--json", "--company", "acme")).stdout)
    assert held["companies"]["acme"]["held_requests"] == 7

    cleared = await cli(database_url, "clear", "acme", "--provider", "openai")
    assert (cleared.returncode, cleared.stdout.strip()) == (0, "budget of acme for openai cleared")
    assert await scalar(engine, "SELECT count(*) FROM budget_holds") == 0
    left = orjson.loads((await cli(database_url, "list", "--json")).stdout)["companies"]["acme"]["budgets"]
    assert left == [{"provider": None, "monthly_usd": "5.000000", "spent_usd": "1.225000"}]
    again = await cli(database_url, "clear", "acme", "--provider", "openai")
    assert (again.returncode, again.stdout.strip()) == (0, "no budget of acme for openai; nothing cleared")


async def test_bad_arguments_are_one_line_errors_with_status_2(
    engine: AsyncEngine, database_url: str
) -> None:
    cases = {
        ("set", "acme", "-5"): "error: a budget cannot be negative: -5",
        ("set", "acme", "abc"): "error: not an amount in USD: 'abc'",
        ("set", "acme", "NaN"): "error: not an amount in USD: 'NaN'",
        ("set", "", "5"): "error: COMPANY must be 1 to 200 characters",
        ("set", "acme", "5", "--provider", ""): "error: --provider must be 1 to 32 characters",
    }
    for args, message in cases.items():
        result = await cli(database_url, *args)
        assert (result.returncode, result.stderr.strip()) == (2, message), args
    assert await scalar(engine, "SELECT count(*) FROM company_budgets") == 0
