"""SQL of budget admission: the company's caps, its spend this month, its lock and its holds.

Runs inside the claim's transaction (``store.PostgresSubmitterStore.claim``), after the model's token
admission: :func:`restrict` locks the company (two claims of the company, for any model, take turns,
so they cannot both spend the last of its budget), reads its caps and charges and narrows the
claim's token allowance to what the budget affords (``budget``); :func:`record_hold` then notes why
the requests left over wait, or removes the note once the budget no longer limits the group.
A company without a budget costs one indexed read and changes nothing. Nothing is cached: the caps
are read by every claim, so ``batchline budgets set`` applies at the next one.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import replace
from decimal import Decimal

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from services.submitter.accumulator import GroupKey
from services.submitter.budget import (
    BudgetVerdict,
    Charge,
    CompanyBudgetRow,
    Pricing,
    hold_reason,
    verdict,
)
from services.submitter.token_budget import UNLIMITED, Allowance
from shared.lifecycle import BatchStatus, RequestStatus
from shared.settings import ModelPrice

PENDING = RequestStatus.PENDING_BATCHING.value
#: A batch that failed and was not ingested ran no line: it costs nothing.
FAILED = BatchStatus.FAILED.value

#: ``:companies`` NULL = every company (``batchline budgets list`` and ``stats``).
_BUDGETS = text(
    "SELECT company_id, provider, monthly_usd FROM company_budgets "
    "WHERE CAST(:companies AS text[]) IS NULL OR company_id = ANY(:companies) "
    "ORDER BY company_id, provider NULLS FIRST"
)
#: The company's batches claimed this calendar month (UTC), per model, provider and stored price:
#: actual usage of the ingested ones, estimated input tokens of the others.
_CHARGES = text(
    "SELECT company_id, model, provider, price_input_per_million AS pi, "
    "price_cached_input_per_million AS pc, price_output_per_million AS po, price_batch_discount AS pd, "
    "coalesce(sum(lines_input_tokens), 0) AS input, coalesce(sum(lines_cached_tokens), 0) AS cached, "
    "coalesce(sum(lines_output_tokens), 0) AS output, coalesce(sum(estimated_tokens) "
    "FILTER (WHERE lines_input_tokens IS NULL AND status <> :failed), 0) AS estimated "
    "FROM provider_batches "
    "WHERE (CAST(:companies AS text[]) IS NULL OR company_id = ANY(:companies)) "
    "AND created_at >= date_trunc('month', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' "
    "GROUP BY 1, 2, 3, 4, 5, 6, 7"
)
_MONTH = text("SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM')")
_LOCK = text("SELECT pg_advisory_xact_lock(hashtextextended(:k, 1))")
_CLAIMED = text("SELECT coalesce(estimated_tokens, 0) FROM provider_batches WHERE id = :id")
#: What the group still has claimable after the claim, estimated as the claim estimates it.
_LEFT = text(
    "SELECT count(*) AS n, coalesce(sum(ceil(approx_bytes * CAST(:rate AS float8) - 1e-9)), 0)::bigint "
    "AS tokens FROM ai_processing_requests WHERE company_id = :c AND model = :m AND status = :pending "
    "AND batch_id IS NULL AND (not_before IS NULL OR not_before <= now())"
)
#: A replayed claim that finds the same hold writes nothing (the WHERE of the conflict update).
_HOLD = text(
    "INSERT INTO budget_holds (company_id, model, provider, reason, held_requests) "
    "VALUES (:c, :m, :p, :r, :n) ON CONFLICT (company_id, model) DO UPDATE SET "
    "provider = excluded.provider, reason = excluded.reason, held_requests = excluded.held_requests "
    "WHERE budget_holds.reason IS DISTINCT FROM excluded.reason "
    "OR budget_holds.held_requests <> excluded.held_requests"
)
_UNHOLD = text("DELETE FROM budget_holds WHERE company_id = :c AND model = :m")
_HOLDS = text(
    "SELECT company_id, model, provider, reason, held_requests, held_at FROM budget_holds "
    "WHERE CAST(:companies AS text[]) IS NULL OR company_id = ANY(:companies) ORDER BY company_id, model"
)


async def read_budgets(
    conn: AsyncConnection, companies: Sequence[str] | None = None
) -> dict[str, list[CompanyBudgetRow]]:
    out: dict[str, list[CompanyBudgetRow]] = {}
    params = {"companies": None if companies is None else list(companies)}
    for r in await conn.execute(_BUDGETS, params):
        out.setdefault(r.company_id, []).append(
            CompanyBudgetRow(r.company_id, r.provider, Decimal(r.monthly_usd))
        )
    return out


async def read_charges(
    conn: AsyncConnection, companies: Sequence[str] | None = None
) -> dict[str, list[Charge]]:
    """Per company, its charges this month (``budget.Charge``), one grouped statement."""
    out: dict[str, list[Charge]] = {}
    params = {"companies": None if companies is None else list(companies), "failed": FAILED}
    for r in await conn.execute(_CHARGES, params):
        price = None
        if r.pi is not None and r.pc is not None and r.po is not None:
            price = ModelPrice(input_per_million=r.pi, cached_input_per_million=r.pc, output_per_million=r.po)
        charge = Charge(
            r.model, r.provider, price, r.pd, int(r.input), int(r.cached), int(r.output), int(r.estimated)
        )
        out.setdefault(r.company_id, []).append(charge)
    return out


async def month(conn: AsyncConnection) -> str:
    """The calendar month budgets are counted in, ``YYYY-MM`` (UTC, the database's clock)."""
    return str(await conn.scalar(_MONTH))


async def restrict(
    conn: AsyncConnection, key: GroupKey, allowed: Allowance, pricing: Pricing, *, provider: str
) -> tuple[Allowance, BudgetVerdict]:
    """The claim's allowance narrowed to the company's budgets, and the verdict (for the hold).

    A budget that affords nothing also turns off the "first request alone" rules; one that affords
    a little keeps them, so a company ends at most one request's estimate over its budget.
    """
    budgets = (await read_budgets(conn, [key.company_id])).get(key.company_id, [])
    if not budgets:
        return allowed, BudgetVerdict(UNLIMITED)
    await conn.execute(_LOCK, {"k": f"budget|{key.company_id}"})
    charges = (await read_charges(conn, [key.company_id])).get(key.company_id, [])
    found = verdict(budgets, charges, pricing, provider=provider, model=key.model)
    if not found.limited:  # its caps cover another provider, or the model has no price
        await conn.execute(_UNHOLD, {"c": key.company_id, "m": key.model})
        return allowed, found
    narrowed = replace(
        allowed, share=min(allowed.share, found.tokens), empty=allowed.empty and found.tokens > 0
    )
    return narrowed, found


async def record_hold(
    conn: AsyncConnection,
    key: GroupKey,
    batch_id: uuid.UUID,
    found: BudgetVerdict,
    pricing: Pricing,
    *,
    provider: str,
    tokens_per_byte: float,
) -> bool:
    """After the claim: hold the group's leftover requests when the budget cannot take them; else
    remove its hold. Only for companies with a budget (``budgets clear`` removes the others' holds).
    True = the group is held."""
    if found.budget is None:
        return False
    claimed = int(await conn.scalar(_CLAIMED, {"id": batch_id}) or 0)
    left = (
        await conn.execute(
            _LEFT, {"c": key.company_id, "m": key.model, "pending": PENDING, "rate": tokens_per_byte}
        )
    ).one()
    if int(left.n) == 0 or int(left.tokens) <= found.tokens - claimed:
        await conn.execute(_UNHOLD, {"c": key.company_id, "m": key.model})
        return False
    reason = hold_reason(found.budget, found.spent_after(claimed, pricing.discount), await month(conn))
    params = {"c": key.company_id, "m": key.model, "p": provider, "r": reason, "n": int(left.n)}
    await conn.execute(_HOLD, params)
    return True


async def read_holds(
    conn: AsyncConnection, companies: Sequence[str] | None = None
) -> list[tuple[str, str, str, int]]:
    """(company, model, reason, held requests) of every hold, for ``stats`` and ``budgets list``."""
    rows = await conn.execute(_HOLDS, {"companies": None if companies is None else list(companies)})
    return [(r.company_id, r.model, r.reason, int(r.held_requests)) for r in rows]
