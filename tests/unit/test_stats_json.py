"""The ``batchline stats --json`` document keeps its shape: scripts and dashboards read it.

The key sets are written out here by hand, so renaming, dropping or adding a key fails until this
file and the README table (which every key must appear in) are updated with it.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import orjson

from cli.budgets import BudgetLine, CompanyBudgets
from cli.costs import Cost
from cli.fallback_costs import FallbackCost
from cli.stats import CompanyStats, Stats, dumps, stats_document
from shared.lifecycle import BatchStatus, RequestStatus

ROOT = Path(__file__).resolve().parents[2]
TOP_KEYS = {"schema_version", "generated_at", "company", "companies", "totals"}
COMPANY_KEYS = {
    "sessions",
    "batches",
    "batches_total",
    "requests",
    "requests_total",
    "pending_requests",
    "in_progress_requests",
    "oldest_pending_requested_at",
    "oldest_pending_age_s",
    "input_tokens",
    "output_tokens",
    "cached_input_tokens",
    "batch_cost_usd",
    "realtime_cost_usd",
    "savings_usd",
    "unpriced_models",
    "duplicate_batches",
    "duplicate_input_tokens",
    "duplicate_output_tokens",
    "duplicate_cost_usd",
    "cost_by_provider",
    "budgets",
    "held_requests",
    "hold_reasons",
    "fallback",
}
BATCH_KEYS = {
    "PENDING_SUBMISSION", "VALIDATING", "IN_PROGRESS", "FINALIZING", "CANCELLING",
    "COMPLETED", "FAILED", "EXPIRED", "CANCELLED", "PROCESSED",
}  # fmt: skip
REQUEST_KEYS = {
    "PENDING_BATCHING",
    "BATCHING_IN_PROGRESS",
    "PROCESSING_COMPLETE",
    "PROCESSING_FAILED",
    "FALLBACK_IN_PROGRESS",
}
NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


def sample() -> Stats:
    acme = CompanyStats(sessions=2, oldest_pending_at=NOW - timedelta(seconds=90.5), input_tokens=7)
    acme.requests["PENDING_BATCHING"] = 1
    acme.batch_cost_usd, acme.realtime_cost_usd = Decimal("0.1"), Decimal("0.3")
    acme.cost_by_provider = {
        "openai": Cost(Decimal("0.2"), Decimal("0.075")),
        "anthropic": Cost(Decimal("0.1"), Decimal("0.025")),
    }
    acme.budgets = CompanyBudgets(
        [
            BudgetLine(None, Decimal("5"), Decimal("0.25")),
            BudgetLine("openai", Decimal("2.5"), Decimal("0.1")),
        ],
        held_requests=3,
        hold_reasons=["budget: company acme at $2.5001 of $2.5000 for openai (month 2026-05)"],
    )
    return Stats(NOW, None, {"acme": acme, "beta": CompanyStats()})


def test_the_keys_are_the_documented_ones() -> None:
    doc = stats_document(sample())
    assert set(doc) == TOP_KEYS
    assert sorted(doc["companies"]) == ["acme", "beta"]
    for company in (*doc["companies"].values(), doc["totals"]):
        assert set(company) == COMPANY_KEYS
        assert set(company["batches"]) == BATCH_KEYS
        assert set(company["requests"]) == REQUEST_KEYS


def test_the_status_keys_are_the_lifecycle_ones() -> None:
    # A status added to the lifecycle must show up in the document (and then in BATCH_KEYS above).
    assert {s.value for s in BatchStatus} == BATCH_KEYS
    assert {s.value for s in RequestStatus} == REQUEST_KEYS


def test_values_have_their_documented_types() -> None:
    doc = stats_document(sample())
    acme, beta = doc["companies"]["acme"], doc["companies"]["beta"]
    assert doc["schema_version"] == 1
    assert doc["generated_at"] == "2026-05-01T12:00:00+00:00"
    assert acme["oldest_pending_age_s"] == 90.5
    assert acme["oldest_pending_requested_at"] == "2026-05-01T11:58:29.500000+00:00"
    assert (beta["oldest_pending_age_s"], beta["oldest_pending_requested_at"]) == (None, None)
    # 0.3 - 0.1 is 0.19999999999999998 as a float; exact decimals, printed with at least 6 places.
    assert (acme["batch_cost_usd"], acme["realtime_cost_usd"], acme["savings_usd"]) == (
        "0.100000",
        "0.300000",
        "0.200000",
    )
    for company in (acme, beta, doc["totals"]):
        for key in COMPANY_KEYS - {
            "batches", "requests", "unpriced_models", "cost_by_provider", "budgets", "hold_reasons", "fallback"
        }:
            if key.endswith("_usd"):
                assert re.fullmatch(r"\d+\.\d{6,}", company[key]), key
            elif key.startswith("oldest_pending"):
                continue
            else:
                assert type(company[key]) is int, key
    assert doc["totals"]["input_tokens"] == 7
    # Caps are per company: each with its spend, exact; the totals add up the held requests only.
    assert acme["budgets"] == [
        {"provider": None, "monthly_usd": "5.000000", "spent_usd": "0.250000"},
        {"provider": "openai", "monthly_usd": "2.500000", "spent_usd": "0.100000"},
    ]
    assert (acme["held_requests"], beta["held_requests"], doc["totals"]["held_requests"]) == (3, 0, 3)
    assert acme["hold_reasons"] == ["budget: company acme at $2.5001 of $2.5000 for openai (month 2026-05)"]
    assert (beta["budgets"], beta["hold_reasons"], doc["totals"]["budgets"]) == ([], [], [])
    assert doc["totals"]["hold_reasons"] == acme["hold_reasons"]
    assert doc["totals"]["pending_requests"] == 1


def test_the_output_has_sorted_keys() -> None:
    out = dumps(sample())
    assert orjson.loads(out) == stats_document(sample())
    keys = re.findall(r'^  "(\w+)":', out, flags=re.MULTILINE)
    assert keys == sorted(TOP_KEYS)
    acme_keys = re.findall(
        r'^      "(\w+)":', out.split('"acme": {', 1)[1].split('"beta"', 1)[0], re.MULTILINE
    )
    assert acme_keys == sorted(COMPANY_KEYS)


def test_every_key_is_documented_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("**`batchline stats`**", 1)[1].split("`dev up` takes its ports", 1)[0]
    documented = set(re.findall(r"^\| `(\w+)` \|", section, flags=re.MULTILINE))
    assert documented == TOP_KEYS | COMPANY_KEYS


def test_cost_per_provider_is_split_and_summed_in_the_totals() -> None:
    doc = stats_document(sample())
    expected = {
        "anthropic": {"batch_cost_usd": "0.025000", "realtime_cost_usd": "0.100000"},
        "openai": {"batch_cost_usd": "0.075000", "realtime_cost_usd": "0.200000"},
    }
    assert doc["companies"]["acme"]["cost_by_provider"] == expected
    assert doc["companies"]["beta"]["cost_by_provider"] == {}
    assert doc["totals"]["cost_by_provider"] == expected


def test_the_fallback_object_shows_its_cost_against_the_batch_price_and_sums_in_the_totals() -> None:
    stats = sample()
    # 0.3 charged at full price for calls a batch would have run for 0.15 (a 0.5 batch discount).
    stats.companies["acme"].fallback = FallbackCost(
        sync_requests=3, sync_answered=2, provider_requests=1, charged=Cost(Decimal("0.3"), Decimal("0.15"))
    )
    stats.companies["beta"].fallback = FallbackCost(
        sync_requests=1, charged=Cost(Decimal("0.1"), Decimal("0.05"))
    )
    doc = stats_document(stats)
    assert doc["companies"]["acme"]["fallback"] == {
        "sync_requests": 3,
        "sync_answered": 2,
        "provider_requests": 1,
        "fallback_cost_usd": "0.300000",
        "batch_price_usd": "0.150000",
        "fallback_extra_usd": "0.150000",
    }
    assert doc["totals"]["fallback"] == {
        "sync_requests": 4,
        "sync_answered": 2,
        "provider_requests": 1,
        "fallback_cost_usd": "0.400000",
        "batch_price_usd": "0.200000",
        "fallback_extra_usd": "0.200000",
    }
