"""Rendering company reports as rich tables (the demo's final screen and `batchline report`)."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from rich.console import Console
from rich.table import Table

from cli.report import CompanyReport, OpenCircuit, company_reports, open_circuits
from shared.settings import Settings


def make_console() -> Console:
    """A terminal keeps its own width; logs and pipes get 130 columns so tables stay readable."""
    return Console(width=None if Console().is_terminal else 130)


async def load_all(settings: Settings) -> tuple[list[CompanyReport], list[OpenCircuit]]:
    """The company reports and the open configuration circuits, read on one connection."""
    from shared.bootstrap import database_url
    from shared.db.engine import make_engine

    engine = make_engine(database_url(settings), pool_size=1)
    try:
        async with engine.connect() as conn:
            return await company_reports(conn, settings), await open_circuits(conn)
    finally:
        await engine.dispose()


def _top(counts: dict[str, int], n: int = 3) -> str:
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:n]
    rest = len(counts) - len(ranked)
    text = ", ".join(f"{k} {v}" for k, v in ranked)
    return f"{text} (+{rest})" if rest > 0 else text


def render_reports(
    console: Console,
    reports: list[CompanyReport],
    settings: Settings,
    circuits: Sequence[OpenCircuit] = (),
) -> None:
    costs = Table(title="Requests and cost per company")
    for column in (
        "company",
        "sessions",
        "complete",
        "failed",
        "tokens in",
        "tokens out",
        "batch $",
        "real-time $",
        "saved $",
        "duplicate $",
    ):
        costs.add_column(column, justify="left" if column == "company" else "right")
    results = Table(title="Analyses per company (top values)")
    for column in ("company", "sentiment", "categories", "languages"):
        results.add_column(column, overflow="fold")
    total_batch = total_rt = Decimal(0)
    for r in reports:
        costs.add_row(
            r.company_id,
            str(r.sessions),
            str(r.requests.get("PROCESSING_COMPLETE", 0)),
            str(r.requests.get("PROCESSING_FAILED", 0)),
            f"{r.prompt_tokens:,}",
            f"{r.completion_tokens:,}",
            f"{r.batch_cost_usd:.4f}",
            f"{r.realtime_cost_usd:.4f}",
            f"{r.savings_usd:.4f}",
            f"{r.duplicate_cost_usd:.4f}",
        )
        results.add_row(r.company_id, _top(r.sentiments), _top(r.categories), _top(r.languages, 4))
        total_batch += r.batch_cost_usd
        total_rt += r.realtime_cost_usd
    console.print(costs)
    console.print(results)
    console.print(
        f"total: batch ${total_batch:.4f} vs real-time ${total_rt:.4f} "
        f"(saved ${total_rt - total_batch:.4f} at a {settings.batch_discount:.0%} batch price)"
    )
    by_provider: dict[str, Decimal] = {}
    for r in reports:
        for provider, spent in r.cost_by_provider.items():
            by_provider[provider] = by_provider.get(provider, Decimal(0)) + spent.batch_usd
    if len(by_provider) > 1:
        split = ", ".join(f"{p} ${v:.4f}" for p, v in sorted(by_provider.items()))
        console.print(f"batch cost per provider: {split}", highlight=False)
    duplicates = sum(r.duplicate_batches for r in reports)
    if duplicates:
        console.print(
            f"[yellow]duplicate spend: ${sum(r.duplicate_cost_usd for r in reports):.4f} on {duplicates} "
            "cancelled duplicate provider batches (billed for the lines they ran; no result)[/yellow]",
            highlight=False,
        )
    render_fallback(console, reports)
    quarantined = [(r.company_id, q) for r in reports for q in r.quarantined]
    if quarantined:
        console.print(
            f"[red]quarantined batches: {len(quarantined)} (the ingester gave up on them; "
            "their requests wait for an operator)[/red]",
            highlight=False,
        )
        for company, q in quarantined:
            console.print(f"  {company} batch {q.batch_id}: {q.reason}", highlight=False, markup=False)
    render_circuits(console, circuits)
    unpriced = sorted({m for r in reports for m in r.unpriced_models})
    if unpriced:
        console.print(
            f"[yellow]no price configured for: {', '.join(unpriced)} (BATCHLINE_MODEL_PRICES)[/yellow]"
        )


def render_fallback(console: Console, reports: Sequence[CompanyReport]) -> None:
    """Only when a fallback ran: what it finished, what it cost at full price, and the batch price."""
    used = [r for r in reports if r.fallback.sync_requests or r.fallback.provider_requests]
    if not used:
        return
    table = Table(title="Fallback for expired or cancelled batches")
    columns = ("company", "sync calls", "answered", "provider", "fallback $", "at batch price $", "extra $")
    for column in columns:
        table.add_column(column, justify="left" if column == "company" else "right")
    for r in used:
        f = r.fallback
        table.add_row(
            r.company_id,
            str(f.sync_requests),
            str(f.sync_answered),
            str(f.provider_requests),
            f"{f.cost_usd:.4f}",
            f"{f.batch_price_usd:.4f}",
            f"{f.extra_usd:.4f}",
        )
    console.print(table)


def render_circuits(console: Console, circuits: Sequence[OpenCircuit]) -> None:
    """A short section, only when a circuit is open: what is paused, why, and when it is tried again."""
    if not circuits:
        return
    console.print(
        f"[red]open configuration circuits: {len(circuits)} (submissions paused, nothing charged; "
        "fix the key, quota or setting and they resume by themselves)[/red]",
        highlight=False,
    )
    for c in circuits:
        console.print(
            f"  {c.provider}/{c.model} since {c.opened_at:%Y-%m-%d %H:%M:%S %Z}, {c.faults} faults, "
            f"next probe {c.probe_at:%H:%M:%S %Z}, waiting: {c.waiting_batches} batches, "
            f"{c.pending_requests} requests: {c.reason}",
            highlight=False,
            markup=False,
        )
