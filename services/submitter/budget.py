"""Budget admission: how many more estimated dollars (and so tokens) a company's claim may take.

A company may have a monthly cap in USD (``company_budgets``), over all providers (provider NULL)
and/or for one provider. The provider has no cap that holds for batches, so the submitter enforces
it where it spends: in the claim, under a lock per company, against what the company has already
committed this calendar month (UTC). This module holds the rules, pure; ``budget_sql`` reads the
figures in the claim's transaction and applies the verdict (the README's "Budgets" says the same).

- **Spend.** The company's batches created this month: a processed batch at its actual usage and the
  price stored with it (``shared.pricing``, as ``batchline report`` prices it); an unfinished one
  (claimed, in flight, or finished and not yet ingested) at its estimated input tokens and an output
  estimate of ``output_ratio`` tokens per input token, at today's price and batch discount. Batches
  that failed before any line ran cost nothing. A batch belongs to the month it was claimed in.
- **Output estimate.** ``output_ratio`` is the larger of the configured ratio
  (``BATCHLINE_BUDGET_OUTPUT_RATIO``) and the ratio observed on the company's processed batches of
  the model this month, so an underestimate corrects itself as results come in.
- **Allowance.** ``remaining = budget - spend``; the claim may take the estimated input tokens whose
  estimated cost fits ``remaining`` (the tightest of the budgets that apply). The claim's sizing rule
  lets its first request go over a positive allowance, so a company ends over its budget by less
  than one request's estimate, and its next claim takes nothing.
- **Hold.** Requests the budget left out stay pending; the group's hold records why
  (:func:`hold_reason`) until a claim that the budget no longer limits removes it: raising the budget,
  or the new month, lets them go at the next sweep (no restart: the claim reads the table every time).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Context, Decimal, localcontext

from services.submitter.token_budget import UNLIMITED
from shared.pricing import ZERO, cost, exact_context
from shared.settings import DEFAULT_PRICES, ModelPrice, Settings


@dataclass(frozen=True, slots=True)
class CompanyBudgetRow:
    """One cap as stored: ``provider`` None = over all providers."""

    company_id: str
    provider: str | None
    monthly_usd: Decimal


@dataclass(frozen=True, slots=True)
class Charge:
    """A group of one company's batches this month with the same model, provider and stored price.

    ``input/cached/output`` are the actual usage of its processed batches (``price`` and ``discount``
    stored with them; None = priced at today's), ``estimated`` the estimated input tokens of the
    unfinished ones.
    """

    model: str
    provider: str
    price: ModelPrice | None = None
    discount: Decimal | None = None
    input_tokens: int = 0
    cached_tokens: int = 0
    output_tokens: int = 0
    estimated_tokens: int = 0


@dataclass(frozen=True, slots=True)
class Pricing:
    """Today's prices and the output estimate, from the settings (what unfinished batches cost)."""

    prices: Mapping[str, ModelPrice]
    discount: Decimal
    output_ratio: Decimal

    @staticmethod
    def of(settings: Settings) -> Pricing:
        return Pricing(settings.model_prices, settings.batch_discount, settings.budget_output_ratio)


#: The settings' defaults, for a store built without settings (tests of other rules).
DEFAULT_PRICING = Pricing(DEFAULT_PRICES, Decimal("0.5"), Decimal("0.5"))


def _ceil(value: Decimal) -> int:
    return int(value.to_integral_value(rounding=ROUND_CEILING))


def output_ratio(charges: Iterable[Charge], model: str, configured: Decimal) -> Decimal:
    """The larger of ``configured`` and the output per input token of the model's processed batches."""
    inputs = outputs = 0
    for c in charges:
        if c.model == model:
            inputs += c.input_tokens
            outputs += c.output_tokens
    if inputs <= 0:
        return configured
    observed = Context(prec=28).divide(Decimal(outputs), Decimal(inputs))
    return max(configured, observed)


def estimated_cost(tokens: int, price: ModelPrice, discount: Decimal, ratio: Decimal) -> Decimal:
    """Batch USD of ``tokens`` estimated input tokens and the output the ratio expects of them."""
    with localcontext(exact_context()):
        output = _ceil(tokens * ratio)
    return cost(price, discount, input_tokens=tokens, cached_tokens=0, output_tokens=output).batch_usd


def charge_cost(charge: Charge, pricing: Pricing, ratio: Decimal) -> Decimal:
    """What a group of batches counts against a budget; an unpriced model counts nothing."""
    total = ZERO
    today = pricing.prices.get(charge.model)
    stored = charge.price is not None and charge.discount is not None
    price, discount = (charge.price, charge.discount) if stored else (today, pricing.discount)
    if price is not None and discount is not None and (charge.input_tokens or charge.output_tokens):
        total += cost(
            price,
            discount,
            input_tokens=charge.input_tokens,
            cached_tokens=charge.cached_tokens,
            output_tokens=charge.output_tokens,
        ).batch_usd
    if today is not None and charge.estimated_tokens:
        total += estimated_cost(charge.estimated_tokens, today, pricing.discount, ratio)
    return total


def month_spend(charges: Sequence[Charge], pricing: Pricing, provider: str | None = None) -> Decimal:
    """The company's spend this month under one budget's scope (``provider`` None = every provider)."""
    total = ZERO
    for c in charges:
        if provider is None or c.provider == provider:
            ratio = output_ratio(charges, c.model, pricing.output_ratio)
            with localcontext(exact_context()):
                total += charge_cost(c, pricing, ratio)
    return total


def affordable_tokens(remaining: Decimal, price: ModelPrice, discount: Decimal, ratio: Decimal) -> int:
    """The most estimated input tokens whose estimated cost fits ``remaining`` USD (0 when spent)."""
    if remaining <= 0:
        return 0
    per_token = estimated_cost(1_000_000, price, discount, ratio).scaleb(-6)
    if per_token <= 0:
        return UNLIMITED
    tokens = int(Context(prec=50, rounding=ROUND_FLOOR).divide(remaining, per_token).to_integral_value(
        rounding=ROUND_FLOOR))  # fmt: skip
    tokens = min(tokens, UNLIMITED)
    # The output estimate rounds up per batch: step back until the estimate really fits.
    while tokens > 0 and estimated_cost(tokens, price, discount, ratio) > remaining:
        tokens -= 1
    return tokens


@dataclass(frozen=True, slots=True)
class BudgetVerdict:
    """What the company's budgets let one claim take, in estimated input tokens of its model."""

    #: The allowance of the tightest budget; ``UNLIMITED`` when none applies (or the model is unpriced).
    tokens: int
    #: That budget and its spend so far (None when no budget applies).
    budget: CompanyBudgetRow | None = None
    spent: Decimal = ZERO
    #: The estimated cost of one input token of the model (to describe what the claim took).
    price: ModelPrice | None = None
    ratio: Decimal = ZERO

    @property
    def limited(self) -> bool:
        return self.budget is not None

    def spent_after(self, tokens: int, discount: Decimal) -> Decimal:
        """The budget's spend once a claim of ``tokens`` estimated input tokens is counted."""
        if self.price is None or tokens <= 0:
            return self.spent
        return self.spent + estimated_cost(tokens, self.price, discount, self.ratio)


def verdict(
    budgets: Sequence[CompanyBudgetRow],
    charges: Sequence[Charge],
    pricing: Pricing,
    *,
    provider: str,
    model: str,
) -> BudgetVerdict:
    """The tightest of the company's budgets that cover ``provider`` (module docstring)."""
    price = pricing.prices.get(model)
    if price is None:  # an unpriced model cannot be measured against dollars: not limited
        return BudgetVerdict(UNLIMITED)
    ratio = output_ratio(charges, model, pricing.output_ratio)
    best = BudgetVerdict(UNLIMITED)
    for b in budgets:
        if b.provider is not None and b.provider != provider:
            continue
        spent = month_spend(charges, pricing, b.provider)
        tokens = affordable_tokens(b.monthly_usd - spent, price, pricing.discount, ratio)
        if best.budget is None or tokens < best.tokens:
            best = BudgetVerdict(tokens, b, spent, price, ratio)
    return best


def money(amount: Decimal) -> str:
    """Dollars in a hold reason: 4 places, as the stats tables show them (the JSON has them exact)."""
    return f"${amount.quantize(Decimal('0.0001'), rounding=ROUND_CEILING):.4f}"


def hold_reason(budget: CompanyBudgetRow, spent: Decimal, month: str) -> str:
    """Why a company's requests wait, e.g. ``budget: company acme at $4.9871 of $5.0000 (month
    2026-12)``; a per-provider cap names its provider."""
    scope = f" for {budget.provider}" if budget.provider is not None else ""
    return (
        f"budget: company {budget.company_id} at {money(spent)} of {money(budget.monthly_usd)}{scope} "
        f"(month {month})"
    )
