"""Issue 14's done-when for budgets: the four services in one event loop against real Kafka, PostgreSQL
and the emulator; two companies, a monthly cap below one company's demand.

Prices are set so the figures read easily: 1,000 USD per 1M tokens in and out, batch discount 0.5, so
one token costs 0.0005 USD at the batch price. One request is estimated at ``PRIOR`` input tokens (the
prior rate: the rate is not recalibrated during the test) and ``PRIOR / 2`` output tokens (the default
``BATCHLINE_BUDGET_OUTPUT_RATIO``), so its estimate is ``E = 1.5 x PRIOR x 0.0005`` USD (1.794). The
cap of ``co-a`` is 2 USD, below its demand; ``co-b`` has none. As batches are ingested their estimate
is replaced by the actual usage (lower), so ``co-a`` is served in several rounds until its actual
spend reaches the cap.

1. ``co-b`` finishes completely; ``co-a`` is served until its spend reaches its cap; the rest stays
   pending with a hold whose reason names the spend, the cap and the month, and whose count is the
   pending count; a claim made after every batch of ``co-a`` was ingested still holds them (its reason
   shows the actual spend the test computes from the batches' usage), and that spend is within one
   request's estimate of the cap.
2. ``batchline budgets set`` (a CLI process) raises the cap while the services keep running: every
   request of ``co-a`` completes and the hold is gone.
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import ROUND_CEILING, Decimal

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from cli.stats import collect_stats, stats_document
from emulator.server import EmulatorServer
from services.producer.sessions import approx_line_bytes
from shared.events import SessionEvent
from shared.kafka.topics import ensure_topics
from shared.settings import Settings
from shared.tokens import TokenRate
from tests.pipeline import publish, rows, running_services, scalar, wait_until_terminal

MODEL = "gpt-4o-mini"
COMPANIES = {"co-a": 20, "co-b": 10}
PER_BATCH = 5
PRICES = {
    MODEL: {"input_per_million": "1000", "cached_input_per_million": "1000", "output_per_million": "1000"}
}
TOKEN_USD = Decimal("0.0005")  # 1,000 / 1e6 x 0.5


def session_event(company: str, i: int) -> dict[str, object]:
    sid = f"{company}-{i:03d}"
    text = f"[{sid}] I need to change my shift next week, the schedule shows me on two late shifts in a row. "
    return {
        "event_id": f"ev-{sid}",
        "company_id": company,
        "session_id": sid,
        "started_at": "2026-05-01T10:00:00Z",
        "messages": [{"role": "user" if n % 2 == 0 else "assistant", "content": text * 3} for n in range(4)],
    }


#: Every request has the same size: the prior estimate of one, in input tokens.
PRIOR = TokenRate().estimate(approx_line_bytes(SessionEvent.model_validate(session_event("co-a", 0)), 60_000))
ONE_ESTIMATE = (PRIOR + (PRIOR + 1) // 2) * TOKEN_USD  # output estimate ceil(PRIOR x 0.5)
#: About 8 requests at their actual usage (about 0.24 USD each: the prior estimate is deliberately high,
#: some 7x the emulator's count), so well below the 20 requests of co-a.
CAP = Decimal("2.0")


def four_places_up(amount: Decimal) -> str:
    return f"{amount.quantize(Decimal('0.0001'), rounding=ROUND_CEILING):.4f}"


async def actual_spend(engine: AsyncEngine, company: str) -> Decimal:
    """The company's batches at their ingested usage (every token at 0.0005 USD: cached ones cost the same)."""
    tokens = await scalar(
        engine,
        "SELECT coalesce(sum(lines_input_tokens + lines_output_tokens), 0) FROM provider_batches "
        "WHERE company_id = :c",
        c=company,
    )
    return Decimal(int(tokens)) * TOKEN_USD


async def company_counts(engine: AsyncEngine, company: str) -> dict[str, int]:
    found = await rows(
        engine,
        "SELECT status, count(*) AS n FROM ai_processing_requests WHERE company_id = :c GROUP BY status",
        c=company,
    )
    return {r.status: int(r.n) for r in found}


async def settled_hold(engine: AsyncEngine, timeout_s: float) -> tuple[str, int, Decimal]:
    """Wait for co-b to finish and co-a to be held by a claim that saw all its batches ingested: every
    batch of co-a processed and the hold's reason showing that actual spend. (reason, held, spend)."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    last: object = None
    while asyncio.get_running_loop().time() < deadline:
        b = await company_counts(engine, "co-b")
        unprocessed = await scalar(
            engine,
            "SELECT count(*) FROM provider_batches WHERE company_id = 'co-a' AND lines_input_tokens IS NULL",
        )
        hold = await rows(engine, "SELECT reason, held_requests FROM budget_holds WHERE company_id = 'co-a'")
        spent = await actual_spend(engine, "co-a")
        last = (b, unprocessed, hold, spent)
        if b == {"PROCESSING_COMPLETE": COMPANIES["co-b"]} and unprocessed == 0 and hold:
            reason, held = hold[0].reason, int(hold[0].held_requests)
            if f" at ${four_places_up(spent)} of " in reason:
                return reason, held, spent
        await asyncio.sleep(0.25)
    raise AssertionError(f"no settled hold in {timeout_s}s: {last}")


def budgets_cli(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "BATCHLINE_DATABASE_URL": database_url}
    return subprocess.run(
        [sys.executable, "-m", "cli.main", "budgets", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )


@pytest.mark.parametrize("cap", [CAP], ids=["cap-2-usd"])
async def test_a_company_over_its_budget_waits_with_its_reason_and_finishes_once_raised(
    cap: Decimal,
    make_settings: Callable[..., Settings],
    engine: AsyncEngine,
    database_url: str,
    emulator: EmulatorServer,
) -> None:
    settings = make_settings(
        batch_max_requests=PER_BATCH, model_prices=PRICES, batch_discount="0.5", token_rate_refresh_s=3_600.0
    )
    await ensure_topics(settings)
    # A negative cap is a one-line error, exit 2, and writes nothing.
    refused = await asyncio.to_thread(budgets_cli, database_url, "set", "co-a", "-1")
    assert refused.returncode == 2 and refused.stderr.strip() == "error: a budget cannot be negative: -1"
    made = await asyncio.to_thread(budgets_cli, database_url, "set", "co-a", str(cap))
    assert made.returncode == 0, made.stderr

    events = [session_event(c, i) for c, n in COMPANIES.items() for i in range(n)]
    async with running_services(settings):
        await publish(settings, events)
        reason, held, spent = await settled_hold(engine, timeout_s=90)
        a = await company_counts(engine, "co-a")
        async with engine.connect() as conn:
            doc = stats_document(await collect_stats(conn, settings))

        month = datetime.now(UTC).strftime("%Y-%m")
        assert re.fullmatch(rf"budget: company co-a at \$[0-9]+\.[0-9]{{4}} of \${four_places_up(cap)} \(month {month}\)",
                            reason), reason  # fmt: skip
        pending = a.get("PENDING_BATCHING", 0)
        assert a.get("PROCESSING_COMPLETE", 0) + pending == COMPANIES["co-a"]
        assert pending >= 1 and a.get("PROCESSING_COMPLETE", 0) >= 1
        assert held == pending
        # Its spend never passes the cap by more than one request's estimate.
        assert spent <= cap + ONE_ESTIMATE, (spent, cap, ONE_ESTIMATE)
        stats_a = doc["companies"]["co-a"]
        assert (stats_a["held_requests"], stats_a["hold_reasons"]) == (pending, [reason])
        assert [(b["provider"], Decimal(b["monthly_usd"]), Decimal(b["spent_usd"])) for b in stats_a["budgets"]] == [
            (None, cap, spent)
        ]  # fmt: skip
        assert (doc["companies"]["co-b"]["held_requests"], doc["companies"]["co-b"]["budgets"]) == (0, [])
        print(
            f"\n[one request: {PRIOR} estimated input tokens, estimate {ONE_ESTIMATE} USD; cap {cap}] co-a "
            f"held {pending} of {COMPANIES['co-a']} at {spent} USD actual"
        )

        raised = await asyncio.to_thread(budgets_cli, database_url, "set", "co-a", "1000")
        assert raised.returncode == 0, raised.stderr
        counts = await wait_until_terminal(engine, len(events), timeout_s=90)

    assert counts == {"PROCESSING_COMPLETE": len(events)}
    assert await scalar(engine, "SELECT count(*) FROM budget_holds") == 0
    listed = await asyncio.to_thread(budgets_cli, database_url, "list", "--json")
    assert listed.returncode == 0, listed.stderr
    assert '"monthly_usd": "1000.000000"' in listed.stdout
