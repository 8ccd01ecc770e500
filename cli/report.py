"""What analysts read: results and costs per company, computed in SQL (one grouped query each).

Tokens are what the requests store (all attempts). Costs are ``cli.costs``'s: each batch at the
price stored with it when it was ingested (the batch discount included), cached input tokens at their
own price; the real-time equivalent is the same tokens at list price, and the difference is what
batching saved.

Duplicate spend is shown apart: provider batches carrying one of our batch ids that were not the
recorded copy (``duplicate_batches``; the submitter cancels them) are billed for the lines they
processed before the cancellation took effect. Their usage, priced at the batch price, is
``duplicate_cost_usd``: money spent on no result, on top of ``batch_cost_usd``, and not in the savings
(they compare the results' cost with what the same results would have cost in real time).

Operators also read here which batches the ingester quarantined (it gave up on them after repeated
failures; their requests wait until someone looks): they are listed with their reason. And which
configuration circuits are open (a provider/model whose submissions pause because our key, quota or
setting was refused): with their reason, since when, the next probe and the work waiting behind them.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from cli.costs import ZERO, Cost, company_costs, cost
from cli.fallback_costs import FallbackCost, fallback_costs
from shared.lifecycle import BATCH_INITIAL, REQUEST_INITIAL
from shared.settings import Settings


@dataclass(frozen=True, slots=True)
class OpenCircuit:
    provider: str
    model: str
    reason: str
    opened_at: datetime
    faults: int
    probe_at: datetime
    #: Batches claimed but not submitted, and requests not yet claimed, of that model.
    waiting_batches: int = 0
    pending_requests: int = 0


@dataclass(frozen=True, slots=True)
class QuarantinedBatch:
    batch_id: str
    failures: int
    reason: str


@dataclass(slots=True)
class CompanyReport:
    company_id: str
    sessions: int = 0
    requests: dict[str, int] = field(default_factory=dict)
    categories: dict[str, int] = field(default_factory=dict)
    sentiments: dict[str, int] = field(default_factory=dict)
    languages: dict[str, int] = field(default_factory=dict)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    #: Of ``prompt_tokens``, those the provider served from its prompt cache.
    cached_tokens: int = 0
    batch_cost_usd: Decimal = ZERO
    realtime_cost_usd: Decimal = ZERO
    unpriced_models: set[str] = field(default_factory=set)
    quarantined: list[QuarantinedBatch] = field(default_factory=list)
    #: Cancelled duplicate provider batches and what the provider billed for them (see the module doc).
    duplicate_batches: int = 0
    duplicate_prompt_tokens: int = 0
    duplicate_completion_tokens: int = 0
    duplicate_cost_usd: Decimal = ZERO
    #: Batch and real-time cost per provider (one company's requests may run on several).
    cost_by_provider: dict[str, Cost] = field(default_factory=dict)
    #: The fallback for expired or cancelled batches: its cost at full price against the batch price.
    fallback: FallbackCost = field(default_factory=FallbackCost)

    @property
    def savings_usd(self) -> Decimal:
        return self.realtime_cost_usd - self.batch_cost_usd


@dataclass(frozen=True, slots=True)
class ModelUsage:
    """Tokens one company spent on one model, all attempts of all its requests."""

    company_id: str
    model: str
    prompt_tokens: int
    completion_tokens: int
    cached_tokens: int = 0


#: Tokens per (company, model), as the requests store them.
#: ``:company`` NULL = every company (a custom plan folds the test away, so a filter can use an index).
_USAGE = text(
    "SELECT company_id, model, coalesce(sum(prompt_tokens), 0) AS pt, "
    "coalesce(sum(completion_tokens), 0) AS ct, coalesce(sum(cached_tokens), 0) AS cached "
    "FROM ai_processing_requests "
    "WHERE CAST(:company AS text) IS NULL OR company_id = :company GROUP BY 1, 2"
)


async def usage_by_model(conn: AsyncConnection, company: str | None = None) -> list[ModelUsage]:
    rows = await conn.execute(_USAGE, {"company": company})
    return [ModelUsage(r.company_id, r.model, int(r.pt), int(r.ct), int(r.cached)) for r in rows]


@dataclass(frozen=True, slots=True)
class DuplicateUsage:
    """What the duplicate provider batches of one company and model were billed (tokens, at batch price)."""

    usage: ModelUsage
    batches: int


#: Duplicate copies per (company, model), settled or not (an unsettled one shows what was seen so far).
_DUPLICATES = text(
    "SELECT company_id, model, count(*) AS n, coalesce(sum(prompt_tokens), 0) AS pt, "
    "coalesce(sum(completion_tokens), 0) AS ct FROM duplicate_batches "
    "WHERE CAST(:company AS text) IS NULL OR company_id = :company GROUP BY 1, 2"
)


async def duplicate_usage(conn: AsyncConnection, company: str | None = None) -> list[DuplicateUsage]:
    rows = await conn.execute(_DUPLICATES, {"company": company})
    return [DuplicateUsage(ModelUsage(r.company_id, r.model, int(r.pt), int(r.ct)), int(r.n)) for r in rows]


def duplicate_cost(settings: Settings, usage: ModelUsage) -> Decimal | None:
    """Batch-price cost of a duplicate's billed tokens at today's configured price (no price is stored
    for a copy we never ingest); None when the model has no configured price."""
    model_price = settings.model_prices.get(usage.model)
    if model_price is None:
        return None
    return cost(
        model_price,
        settings.batch_discount,
        input_tokens=usage.prompt_tokens,
        cached_tokens=0,
        output_tokens=usage.completion_tokens,
    ).batch_usd


async def company_reports(conn: AsyncConnection, settings: Settings) -> list[CompanyReport]:
    reports: dict[str, CompanyReport] = {}

    def get(company: str) -> CompanyReport:
        return reports.setdefault(company, CompanyReport(company))

    for row in await conn.execute(text("SELECT company_id, count(*) AS n FROM sessions GROUP BY company_id")):
        get(row.company_id).sessions = row.n
    for column, attr in (("category", "categories"), ("sentiment", "sentiments"), ("language", "languages")):
        rows = await conn.execute(
            text(
                f"SELECT company_id, {column} AS value, count(*) AS n FROM sessions "  # noqa: S608 - fixed names
                f"WHERE {column} IS NOT NULL GROUP BY 1, 2"
            )
        )
        for row in rows:
            getattr(get(row.company_id), attr)[row.value] = row.n
    totals: dict[str, dict[str, int]] = defaultdict(dict)
    for row in await conn.execute(
        text("SELECT company_id, status, count(*) AS n FROM ai_processing_requests GROUP BY 1, 2")
    ):
        totals[row.company_id][row.status] = row.n
    for company, by_status in totals.items():
        get(company).requests = by_status
    for usage in await usage_by_model(conn):
        report = get(usage.company_id)
        report.prompt_tokens += usage.prompt_tokens
        report.completion_tokens += usage.completion_tokens
        report.cached_tokens += usage.cached_tokens
    for company, charged in (await company_costs(conn, settings)).items():
        report = get(company)
        report.batch_cost_usd = charged.cost.batch_usd
        report.realtime_cost_usd = charged.cost.realtime_usd
        report.unpriced_models |= charged.unpriced_models
        report.cost_by_provider = dict(charged.by_provider)
    for company, fell_back in (await fallback_costs(conn, settings)).items():
        report = get(company)
        report.fallback = fell_back
        report.unpriced_models |= fell_back.unpriced_models
    for dup in await duplicate_usage(conn):
        report = get(dup.usage.company_id)
        report.duplicate_batches += dup.batches
        report.duplicate_prompt_tokens += dup.usage.prompt_tokens
        report.duplicate_completion_tokens += dup.usage.completion_tokens
        spent = duplicate_cost(settings, dup.usage)
        if spent is None:
            if dup.usage.prompt_tokens or dup.usage.completion_tokens:
                report.unpriced_models.add(dup.usage.model)
            continue
        report.duplicate_cost_usd += spent
    for row in await conn.execute(
        text(
            "SELECT id, company_id, ingest_failures, coalesce(ingest_error, '') AS reason "
            "FROM provider_batches WHERE ingest_quarantined_at IS NOT NULL ORDER BY ingest_quarantined_at, id"
        )
    ):
        get(row.company_id).quarantined.append(QuarantinedBatch(str(row.id), row.ingest_failures, row.reason))
    return sorted(reports.values(), key=lambda r: r.company_id)


async def open_circuits(conn: AsyncConnection) -> list[OpenCircuit]:
    """Every open configuration circuit with the work of its model that waits (all companies)."""
    rows = await conn.execute(
        text(
            "SELECT c.provider, c.model, c.reason, c.opened_at, c.faults, c.probe_at, "
            "(SELECT count(*) FROM provider_batches b WHERE b.provider = c.provider AND b.model = c.model "
            " AND b.status = :unsubmitted) AS waiting, "
            "(SELECT count(*) FROM ai_processing_requests r WHERE r.model = c.model "
            " AND r.status = :pending AND r.batch_id IS NULL) AS pending "
            "FROM provider_circuits c ORDER BY c.opened_at, c.provider, c.model"
        ),
        {"unsubmitted": BATCH_INITIAL.value, "pending": REQUEST_INITIAL.value},
    )
    return [
        OpenCircuit(r.provider, r.model, r.reason, r.opened_at, r.faults, r.probe_at, r.waiting, r.pending)
        for r in rows
    ]
