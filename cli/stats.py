"""``batchline stats``: where the pipeline stands, per company, from a handful of grouped queries.

The seed's ``getBatchProcessingStats`` answered "batches by status and pending requests" with one
query per company; here every figure comes from one ``GROUP BY company_id`` statement per table, read
in one REPEATABLE READ snapshot, so the numbers add up to each other and the cost of the command does
not grow with the number of companies. Costs are ``cli.costs``'s (the one pricing rule: each batch at
the price stored with it, exact decimals); the JSON prints them exactly, the tables to 4 decimals.

``--json`` prints the document of :func:`stats_document`, whose shape is versioned and documented in
the README ("batchline stats"): a monitoring script may depend on it, so keys are only ever added.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

import orjson
import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from cli.budgets import CompanyBudgets, budget_table, budgets_document, company_budgets
from cli.costs import ZERO, Cost, company_costs
from cli.fallback_costs import FallbackCost, fallback_costs
from cli.report import duplicate_cost, duplicate_usage, usage_by_model
from shared.errors import CliError
from shared.lifecycle import BatchStatus, RequestStatus
from shared.settings import Settings

#: Version of the ``--json`` document; raised only when a key changes meaning or disappears.
SCHEMA_VERSION = 1

# ``:company`` NULL = every company. The engine forces custom plans, which fold the NULL test away,
# so a filtered run can use a company index (see tests/integration/test_hot_query_plans.py).
_NOW = text("SELECT now() AS now")
_SESSIONS = text(
    "SELECT company_id, count(*) AS n FROM sessions "
    "WHERE CAST(:company AS text) IS NULL OR company_id = :company GROUP BY 1"
)
_BATCHES = text(
    "SELECT company_id, status, count(*) AS n FROM provider_batches "
    "WHERE CAST(:company AS text) IS NULL OR company_id = :company GROUP BY 1, 2"
)
#: ``min(requested_at)`` per status: the row of the pending status gives the oldest pending request.
_REQUESTS = text(
    "SELECT company_id, status, count(*) AS n, min(requested_at) AS oldest FROM ai_processing_requests "
    "WHERE CAST(:company AS text) IS NULL OR company_id = :company GROUP BY 1, 2"
)


def _zeros(statuses: type[BatchStatus] | type[RequestStatus]) -> dict[str, int]:
    """Every status of the lifecycle, so a status with no rows still appears (a stable shape)."""
    return {s.value: 0 for s in statuses}


@dataclass(slots=True)
class CompanyStats:
    sessions: int = 0
    batches: dict[str, int] = field(default_factory=lambda: _zeros(BatchStatus))
    requests: dict[str, int] = field(default_factory=lambda: _zeros(RequestStatus))
    oldest_pending_at: datetime | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    #: Of ``input_tokens``, those the provider served from its prompt cache.
    cached_input_tokens: int = 0
    batch_cost_usd: Decimal = ZERO
    realtime_cost_usd: Decimal = ZERO
    unpriced_models: set[str] = field(default_factory=set)
    #: Cancelled duplicate provider batches and their billed usage at the batch price (``cli.report``).
    duplicate_batches: int = 0
    duplicate_input_tokens: int = 0
    duplicate_output_tokens: int = 0
    duplicate_cost_usd: Decimal = ZERO
    #: Batch and real-time cost per provider (``openai``, ``anthropic``): the split of the two above.
    cost_by_provider: dict[str, Cost] = field(default_factory=dict)
    #: Monthly caps with this month's spend, and the requests they hold back (``cli.budgets``).
    budgets: CompanyBudgets = field(default_factory=CompanyBudgets)
    #: The fallback for expired or cancelled batches (``cli.fallback_costs``).
    fallback: FallbackCost = field(default_factory=FallbackCost)

    @property
    def pending(self) -> int:
        return self.requests[RequestStatus.PENDING_BATCHING.value]

    @property
    def in_progress(self) -> int:
        return self.requests[RequestStatus.BATCHING_IN_PROGRESS.value]

    @property
    def savings_usd(self) -> Decimal:
        return self.realtime_cost_usd - self.batch_cost_usd

    def add(self, other: CompanyStats) -> None:
        """Fold another company in (the totals): counts add up, the oldest pending is the older."""
        self.sessions += other.sessions
        for status, n in other.batches.items():
            self.batches[status] += n
        for status, n in other.requests.items():
            self.requests[status] += n
        if other.oldest_pending_at is not None and (
            self.oldest_pending_at is None or other.oldest_pending_at < self.oldest_pending_at
        ):
            self.oldest_pending_at = other.oldest_pending_at
        self.input_tokens += other.input_tokens
        self.output_tokens += other.output_tokens
        self.cached_input_tokens += other.cached_input_tokens
        self.batch_cost_usd += other.batch_cost_usd
        self.realtime_cost_usd += other.realtime_cost_usd
        self.unpriced_models |= other.unpriced_models
        self.duplicate_batches += other.duplicate_batches
        self.duplicate_input_tokens += other.duplicate_input_tokens
        self.duplicate_output_tokens += other.duplicate_output_tokens
        self.duplicate_cost_usd += other.duplicate_cost_usd
        for provider, spent in other.cost_by_provider.items():
            self.cost_by_provider[provider] = self.cost_by_provider.get(provider, Cost()) + spent
        # Caps are per company and do not add up; held requests and their reasons do.
        self.budgets.held_requests += other.budgets.held_requests
        self.budgets.hold_reasons.extend(other.budgets.hold_reasons)
        self.fallback.add(other.fallback)


@dataclass(slots=True)
class Stats:
    #: The database's clock when the snapshot was taken; pending ages are measured against it.
    generated_at: datetime
    company: str | None
    companies: dict[str, CompanyStats]

    def totals(self) -> CompanyStats:
        total = CompanyStats()
        for stats in self.companies.values():
            total.add(stats)
        return total


async def collect_stats(conn: AsyncConnection, settings: Settings, company: str | None = None) -> Stats:
    """Four grouped reads, the usage queries of the report, the batches' charges and the budgets; an
    unknown company yields no rows."""
    now = (await conn.execute(_NOW)).scalar_one()
    companies: dict[str, CompanyStats] = {}

    def get(company_id: str) -> CompanyStats:
        return companies.setdefault(company_id, CompanyStats())

    params = {"company": company}
    for row in await conn.execute(_SESSIONS, params):
        get(row.company_id).sessions = int(row.n)
    for row in await conn.execute(_BATCHES, params):
        get(row.company_id).batches[row.status] = int(row.n)
    for row in await conn.execute(_REQUESTS, params):
        stats = get(row.company_id)
        stats.requests[row.status] = int(row.n)
        if row.status == RequestStatus.PENDING_BATCHING.value:
            stats.oldest_pending_at = row.oldest
    for usage in await usage_by_model(conn, company):
        stats = get(usage.company_id)
        stats.input_tokens += usage.prompt_tokens
        stats.output_tokens += usage.completion_tokens
        stats.cached_input_tokens += usage.cached_tokens
    for company_id, charged in (await company_costs(conn, settings, company)).items():
        stats = get(company_id)
        stats.batch_cost_usd = charged.cost.batch_usd
        stats.realtime_cost_usd = charged.cost.realtime_usd
        stats.unpriced_models |= charged.unpriced_models
        stats.cost_by_provider = dict(charged.by_provider)
    for company_id, fell_back in (await fallback_costs(conn, settings, company)).items():
        stats = get(company_id)
        stats.fallback = fell_back
        stats.unpriced_models |= fell_back.unpriced_models
    for dup in await duplicate_usage(conn, company):
        stats = get(dup.usage.company_id)
        stats.duplicate_batches += dup.batches
        stats.duplicate_input_tokens += dup.usage.prompt_tokens
        stats.duplicate_output_tokens += dup.usage.completion_tokens
        spent = duplicate_cost(settings, dup.usage)
        if spent is None:
            if dup.usage.prompt_tokens or dup.usage.completion_tokens:
                stats.unpriced_models.add(dup.usage.model)
            continue
        stats.duplicate_cost_usd += spent
    for company_id, budgets in (await company_budgets(conn, settings, company)).items():
        get(company_id).budgets = budgets
    return Stats(now, company, dict(sorted(companies.items())))


def usd(amount: Decimal) -> str:
    """Money in the JSON document: the exact decimal as a string, never rounded, with at least 6
    places (``"0.387500"``, ``"0.09259252500"``), so a reader meets neither float noise nor rounding."""
    exponent = amount.normalize().as_tuple().exponent
    places = max(6, -exponent) if isinstance(exponent, int) else 6
    return f"{amount:.{places}f}"


def age_s(stats: CompanyStats, now: datetime) -> float | None:
    if stats.oldest_pending_at is None:
        return None
    return round(max(0.0, (now - stats.oldest_pending_at).total_seconds()), 3)


def company_document(stats: CompanyStats, now: datetime) -> dict[str, Any]:
    return {
        "sessions": stats.sessions,
        "batches": dict(stats.batches),
        "batches_total": sum(stats.batches.values()),
        "requests": dict(stats.requests),
        "requests_total": sum(stats.requests.values()),
        "pending_requests": stats.pending,
        "in_progress_requests": stats.in_progress,
        "oldest_pending_requested_at": (
            None if stats.oldest_pending_at is None else stats.oldest_pending_at.isoformat()
        ),
        "oldest_pending_age_s": age_s(stats, now),
        "input_tokens": stats.input_tokens,
        "output_tokens": stats.output_tokens,
        "cached_input_tokens": stats.cached_input_tokens,
        "batch_cost_usd": usd(stats.batch_cost_usd),
        "realtime_cost_usd": usd(stats.realtime_cost_usd),
        "savings_usd": usd(stats.savings_usd),
        "unpriced_models": sorted(stats.unpriced_models),
        "duplicate_batches": stats.duplicate_batches,
        "duplicate_input_tokens": stats.duplicate_input_tokens,
        "duplicate_output_tokens": stats.duplicate_output_tokens,
        "duplicate_cost_usd": usd(stats.duplicate_cost_usd),
        "cost_by_provider": {
            provider: {"batch_cost_usd": usd(c.batch_usd), "realtime_cost_usd": usd(c.realtime_usd)}
            for provider, c in sorted(stats.cost_by_provider.items())
        },
        **budgets_document(stats.budgets),
        "fallback": stats.fallback.document(usd),
    }


def stats_document(stats: Stats) -> dict[str, Any]:
    return {
        "schema_version": SCHEMA_VERSION,
        "generated_at": stats.generated_at.isoformat(),
        "company": stats.company,
        "companies": {c: company_document(s, stats.generated_at) for c, s in stats.companies.items()},
        "totals": company_document(stats.totals(), stats.generated_at),
    }


def dumps(stats: Stats) -> str:
    """The ``--json`` output: keys sorted, so two runs over the same data diff cleanly."""
    return orjson.dumps(stats_document(stats), option=orjson.OPT_SORT_KEYS | orjson.OPT_INDENT_2).decode()


async def load_stats(settings: Settings, company: str | None) -> Stats:
    from shared.bootstrap import database_url
    from shared.db.engine import make_engine

    engine = make_engine(database_url(settings), pool_size=1)
    try:
        async with engine.connect() as conn:
            # One snapshot for every query: the totals and the per-status counts agree with each other.
            await conn.execution_options(isolation_level="REPEATABLE READ")
            async with conn.begin():
                return await collect_stats(conn, settings, company)
    finally:
        await engine.dispose()


def _age_text(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m{secs:02d}s" if hours else f"{minutes}m{secs:02d}s"


def _table(title: str, columns: tuple[str, ...]) -> Table:
    table = Table(title=title)
    for column in columns:
        if column == "by status":  # the one free-text column: wraps instead of widening the table
            table.add_column(column, overflow="fold")
        else:
            table.add_column(column, justify="left" if column == "company" else "right", no_wrap=True)
    return table


def render_stats(console: Console, stats: Stats) -> None:
    """Three tables (requests, tokens and cost, batches), a row per company and one of totals; a
    fourth of budgets when a company has one or requests held by one."""
    if not stats.companies:
        scope = f"company {stats.company!r}" if stats.company is not None else "any company"
        console.print(f"no sessions, requests or batches for {scope}")
        return
    totals = stats.totals()
    rows = [*stats.companies.items(), ("total", totals)]
    requests = _table(
        "Requests per company",
        ("company", "sessions", "pending", "oldest pending", "in batch", "complete", "failed", "total"),
    )
    cost_columns = ("company", "tokens in", "cached in", "tokens out", "batch $", "real-time $", "saved $")
    costs = _table("Tokens and cost per company", (*cost_columns, "duplicate $"))
    for name, s in rows:
        requests.add_row(
            name,
            str(s.sessions),
            str(s.pending),
            _age_text(age_s(s, stats.generated_at)),
            str(s.in_progress),
            str(s.requests[RequestStatus.PROCESSING_COMPLETE.value]),
            str(s.requests[RequestStatus.PROCESSING_FAILED.value]),
            str(sum(s.requests.values())),
        )
        costs.add_row(
            name,
            f"{s.input_tokens:,}",
            f"{s.cached_input_tokens:,}",
            f"{s.output_tokens:,}",
            f"{s.batch_cost_usd:.4f}",
            f"{s.realtime_cost_usd:.4f}",
            f"{s.savings_usd:.4f}",
            f"{s.duplicate_cost_usd:.4f}",
        )
    batches = _table("Batches per company", ("company", "total", "by status"))
    for name, s in rows:
        by_status = ", ".join(f"{status.lower()} {n}" for status, n in s.batches.items() if n)
        batches.add_row(name, str(sum(s.batches.values())), by_status or "-")
    for table in (requests, costs, batches):
        console.print(table)
    limited = {
        name: s.budgets for name, s in stats.companies.items() if s.budgets.lines or s.budgets.held_requests
    }
    if limited:
        console.print(budget_table(limited))
    if totals.unpriced_models:
        console.print(
            f"[yellow]no price configured for: {', '.join(sorted(totals.unpriced_models))} "
            "(BATCHLINE_MODEL_PRICES)[/yellow]"
        )


def stats(
    company: Annotated[
        str | None, typer.Option("--company", help="Only this company (unknown: an empty result).")
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="One JSON document (shape: README, 'batchline stats').")
    ] = False,
) -> None:
    """Batches and requests by status, pending backlog and its age, tokens and cost, per company."""
    from cli.common import load_settings
    from cli.report_view import make_console

    settings = load_settings()
    try:
        result = asyncio.run(load_stats(settings, company))
    except OSError as exc:
        raise CliError(f"cannot reach the database: {exc}") from None
    if as_json:
        typer.echo(dumps(result))
    else:
        render_stats(make_console(), result)
