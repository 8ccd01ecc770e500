"""The one pricing rule of batchline: what each batch cost, at the price it had, in exact decimals.

Every batch carries what it is charged for and at (written by the ingester when it processes it):
the tokens summed over its lines — input (cached ones included), of which cached, and output — and the
model's list prices per 1M tokens with the batch discount in force at that moment. So a price change
applies to work ingested after it, and past work keeps the price it had. A batch stored without a price
(its model had none configured then, or it was processed before prices were stored) is priced at the
prices configured now; a model with no price either way is listed as unpriced, not counted.

For one group of batches with the same prices, in USD (``Decimal``, never a float):

    realtime = ((input - cached) x input_price + cached x cached_price + output x output_price) / 1e6
    batch    = realtime x discount
    savings  = realtime - batch

The arithmetic itself is ``shared.pricing``'s (the submitter's budget admission prices with it too);
it runs in a decimal context that traps any rounding, so every figure is exact; rounding is left to the
display (``batchline stats`` tables show 4 decimals, its JSON the exact value).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.pricing import ZERO, Cost, cost
from shared.settings import ModelPrice, Settings

__all__ = ["ZERO", "CompanyCost", "Cost", "company_costs", "cost"]


@dataclass(slots=True)
class CompanyCost:
    cost: Cost = field(default_factory=Cost)
    unpriced_models: set[str] = field(default_factory=set)
    #: The same cost split by the batch API that ran the batches (``provider_batches.provider``).
    by_provider: dict[str, Cost] = field(default_factory=dict)


#: Tokens of the processed batches per (company, model, provider, prices): a price change makes a new
#: group.
#: ``:company`` NULL = every company (a custom plan folds the test away, so a filter can use an index).
_CHARGES = text(
    "SELECT company_id, model, provider, price_input_per_million AS pi, "
    "price_cached_input_per_million AS pc, price_output_per_million AS po, price_batch_discount AS pd, "
    "sum(lines_input_tokens) AS input, coalesce(sum(lines_cached_tokens), 0) AS cached, "
    "coalesce(sum(lines_output_tokens), 0) AS output FROM provider_batches "
    "WHERE lines_input_tokens IS NOT NULL AND (CAST(:company AS text) IS NULL OR company_id = :company) "
    "GROUP BY 1, 2, 3, 4, 5, 6, 7"
)


async def company_costs(
    conn: AsyncConnection, settings: Settings, company: str | None = None
) -> dict[str, CompanyCost]:
    """Cost per company: each group of batches at its stored price (else today's, else unpriced)."""
    out: dict[str, CompanyCost] = {}
    for row in await conn.execute(_CHARGES, {"company": company}):
        entry = out.setdefault(row.company_id, CompanyCost())
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
        charged = cost(price, discount, **tokens, output_tokens=int(row.output))
        entry.cost = entry.cost + charged
        entry.by_provider[row.provider] = entry.by_provider.get(row.provider, Cost()) + charged
    return out
