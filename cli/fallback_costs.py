"""What the fallback for the remainder cost, next to what the same requests would have cost in a batch.

The sync fallback pays the full list price (``fallback_calls`` stores, per call, its usage, the list
prices and the batch discount in force when it ran). For each group of calls with the same prices:

    fallback_cost_usd    = realtime cost of their tokens (``cli.costs.cost``), what was charged
    batch_price_usd      = the same tokens x the stored batch discount, what a batch would have cost
    fallback_extra_usd   = the difference: the price of finishing the same day

A call stored without a price is priced at today's configured prices (else its model is unpriced).
The calls are not in ``provider_batches``, so this cost is on top of ``batch_cost_usd``.

Requests the provider fallback rerouted run in an ordinary batch of the fallback provider, so their
cost is in ``batch_cost_usd`` and ``cost_by_provider`` already; they are counted here
(``fallback_provider_requests``) so the report shows how much of the work the second provider took.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from cli.costs import ZERO, Cost, cost
from shared.settings import ModelPrice, Settings


@dataclass(slots=True)
class FallbackCost:
    #: Synchronous calls made and closed (answered or not), and those whose answer was kept.
    sync_requests: int = 0
    sync_answered: int = 0
    #: Requests sent to the fallback provider's batches.
    provider_requests: int = 0
    charged: Cost = field(default_factory=Cost)
    unpriced_models: set[str] = field(default_factory=set)

    @property
    def cost_usd(self) -> Decimal:
        return self.charged.realtime_usd

    @property
    def batch_price_usd(self) -> Decimal:
        return self.charged.batch_usd

    @property
    def extra_usd(self) -> Decimal:
        return self.charged.savings_usd

    def add(self, other: FallbackCost) -> None:
        self.sync_requests += other.sync_requests
        self.sync_answered += other.sync_answered
        self.provider_requests += other.provider_requests
        self.charged = self.charged + other.charged
        self.unpriced_models |= other.unpriced_models

    def document(self, usd: Any) -> dict[str, Any]:
        """The ``fallback`` object of ``batchline stats --json`` (``usd`` renders an amount)."""
        return {
            "sync_requests": self.sync_requests,
            "sync_answered": self.sync_answered,
            "provider_requests": self.provider_requests,
            "fallback_cost_usd": usd(self.cost_usd),
            "batch_price_usd": usd(self.batch_price_usd),
            "fallback_extra_usd": usd(self.extra_usd),
        }


#: ``:company`` NULL = every company.
_CALLS = text(
    "SELECT company_id, model, price_input_per_million AS pi, price_cached_input_per_million AS pc, "
    "price_output_per_million AS po, price_batch_discount AS pd, count(*) AS n, "
    "count(*) FILTER (WHERE answered) AS answered, coalesce(sum(prompt_tokens), 0) AS input, "
    "coalesce(sum(cached_tokens), 0) AS cached, coalesce(sum(completion_tokens), 0) AS output "
    "FROM fallback_calls WHERE done_at IS NOT NULL AND answered IS NOT NULL "
    "AND (CAST(:company AS text) IS NULL OR company_id = :company) GROUP BY 1, 2, 3, 4, 5, 6"
)
_REROUTED = text(
    "SELECT company_id, count(*) AS n FROM ai_processing_requests WHERE fallback = :provider "
    "AND (CAST(:company AS text) IS NULL OR company_id = :company) GROUP BY 1"
)


async def fallback_costs(
    conn: AsyncConnection, settings: Settings, company: str | None = None
) -> dict[str, FallbackCost]:
    out: dict[str, FallbackCost] = {}
    for row in await conn.execute(_CALLS, {"company": company}):
        entry = out.setdefault(row.company_id, FallbackCost())
        entry.sync_requests += int(row.n)
        entry.sync_answered += int(row.answered)
        if row.pi is not None and row.pc is not None and row.po is not None and row.pd is not None:
            price = ModelPrice(
                input_per_million=row.pi, cached_input_per_million=row.pc, output_per_million=row.po
            )
            discount: Decimal = row.pd
        elif (configured := settings.model_prices.get(row.model)) is not None:
            price, discount = configured, settings.batch_discount
        else:
            if row.input or row.output:
                entry.unpriced_models.add(row.model)
            continue
        tokens = {"input_tokens": int(row.input), "cached_tokens": int(row.cached)}
        entry.charged = entry.charged + cost(price, discount, **tokens, output_tokens=int(row.output))
    for row in await conn.execute(_REROUTED, {"company": company, "provider": "provider"}):
        out.setdefault(row.company_id, FallbackCost()).provider_requests += int(row.n)
    return out


__all__ = ["ZERO", "FallbackCost", "fallback_costs"]
