"""The report's rendering of costs and savings (the pricing rule itself: ``test_costs``)."""

from __future__ import annotations

import io
from decimal import Decimal

from rich.console import Console

from cli.report import CompanyReport, QuarantinedBatch
from cli.report_view import render_reports
from shared.settings import Settings


def test_savings_are_realtime_minus_batch_cost() -> None:
    report = CompanyReport("acme", batch_cost_usd=Decimal("0.375"), realtime_cost_usd=Decimal("0.75"))
    assert report.savings_usd == Decimal("0.375")
    assert CompanyReport("empty").savings_usd == 0


def test_rendered_report_shows_costs_savings_and_totals() -> None:
    reports = [
        CompanyReport(
            "acme",
            sessions=3,
            requests={"PROCESSING_COMPLETE": 5, "PROCESSING_FAILED": 1},
            prompt_tokens=1_000_000,
            completion_tokens=1_000_000,
            batch_cost_usd=Decimal("0.375"),
            realtime_cost_usd=Decimal("0.75"),
        ),
        CompanyReport(
            "beta",
            sessions=1,
            prompt_tokens=2_000_000,
            batch_cost_usd=Decimal("0.40"),
            realtime_cost_usd=Decimal("0.80"),
            unpriced_models={"mystery-model"},
        ),
    ]
    out = io.StringIO()
    render_reports(Console(file=out, width=200, color_system=None), reports, Settings())
    text = out.getvalue()
    acme = next(line for line in text.splitlines() if "acme" in line and "1,000,000" in line)
    cells = [cell.strip() for cell in acme.split("│")[1:-1]]
    assert cells == ["acme", "3", "5", "1", "1,000,000", "1,000,000", "0.3750", "0.7500", "0.3750", "0.0000"]
    assert "total: batch $0.7750 vs real-time $1.5500 (saved $0.7750 at a 50% batch price)" in text
    assert "no price configured for: mystery-model" in text
    assert "duplicate spend" not in text


def test_duplicate_spend_is_its_own_column_and_line_and_not_in_the_savings() -> None:
    # 1,000,000 in + 1,000,000 out of gpt-4o-mini at the batch price: (0.15 + 0.60) x 0.5 = 0.375.
    reports = [
        CompanyReport(
            "acme",
            batch_cost_usd=Decimal("0.10"),
            realtime_cost_usd=Decimal("0.20"),
            duplicate_batches=2,
            duplicate_prompt_tokens=1_000_000,
            duplicate_completion_tokens=1_000_000,
            duplicate_cost_usd=Decimal("0.375"),
        )
    ]
    out = io.StringIO()
    render_reports(Console(file=out, width=200, color_system=None), reports, Settings())
    text = out.getvalue()
    row = next(line for line in text.splitlines() if line.startswith("│ acme"))
    assert [cell.strip() for cell in row.split("│")[1:-1]][-2:] == ["0.1000", "0.3750"]
    assert "total: batch $0.1000 vs real-time $0.2000 (saved $0.1000 at a 50% batch price)" in text
    assert "duplicate spend: $0.3750 on 2 cancelled duplicate provider batches" in text


def test_quarantined_batches_are_listed_with_their_reason_and_absent_when_there_are_none() -> None:
    reason = "quarantined after 8 consecutive failed ingests; last: RetryableProviderError: HTTP 500 [x]"
    reports = [CompanyReport("acme", quarantined=[QuarantinedBatch("b-1", 8, reason)]), CompanyReport("beta")]
    out = io.StringIO()
    render_reports(Console(file=out, width=200, color_system=None), reports, Settings())
    lines = out.getvalue().splitlines()
    assert "quarantined batches: 1 (the ingester gave up on them; their requests wait for an operator)" in lines
    assert f"  acme batch b-1: {reason}" in lines

    clean = io.StringIO()
    render_reports(Console(file=clean, width=200, color_system=None), [CompanyReport("beta")], Settings())
    assert "quarantined" not in clean.getvalue()


def test_open_circuits_are_shown_with_their_reason_and_absent_when_none_is_open() -> None:
    from datetime import UTC, datetime

    from cli.report import OpenCircuit

    reason = "POST /files failed: HTTP 401 (invalid_api_key): Incorrect API key provided: sk-***abcd."
    circuit = OpenCircuit("openai", "gpt-4o-mini", reason, datetime(2026, 5, 1, 3, 0, tzinfo=UTC), 4,
                          datetime(2026, 5, 1, 3, 4, 30, tzinfo=UTC), waiting_batches=2, pending_requests=140)
    out = io.StringIO()
    render_reports(Console(file=out, width=250, color_system=None), [CompanyReport("acme")], Settings(), [circuit])
    lines = out.getvalue().splitlines()
    assert ("open configuration circuits: 1 (submissions paused, nothing charged; fix the key, quota or "
            "setting and they resume by themselves)") in lines
    assert (f"  openai/gpt-4o-mini since 2026-05-01 03:00:00 UTC, 4 faults, next probe 03:04:30 UTC, "
            f"waiting: 2 batches, 140 requests: {reason}") in lines

    clean = io.StringIO()
    render_reports(Console(file=clean, width=250, color_system=None), [CompanyReport("acme")], Settings())
    assert "circuit" not in clean.getvalue()
