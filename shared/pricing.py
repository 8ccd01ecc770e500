"""The pricing arithmetic, pure and exact: what tokens cost at a model's list price and batch discount.

It lives in the core because two rooms price tokens: ``cli.costs`` (reports and stats: each batch at
the price stored with it) and the submitter's budget admission (``services.submitter.budget``: a
company's spend this month, estimated for unfinished batches). One function, so a report and the
admission can never disagree on what a token costs.

    realtime = ((input - cached) x input_price + cached x cached_price + output x output_price) / 1e6
    batch    = realtime x discount

Arithmetic runs in a decimal context that traps any rounding, so every figure is exact.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Context, Decimal, DivisionByZero, Inexact, InvalidOperation, Overflow, localcontext

from shared.settings import ModelPrice

ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class Cost:
    realtime_usd: Decimal = ZERO
    batch_usd: Decimal = ZERO

    @property
    def savings_usd(self) -> Decimal:
        return self.realtime_usd - self.batch_usd

    def __add__(self, other: Cost) -> Cost:
        with localcontext(exact_context()):
            return Cost(self.realtime_usd + other.realtime_usd, self.batch_usd + other.batch_usd)


def exact_context() -> Context:
    """Wide enough for any token count times any price, and raising where it would have to round."""
    return Context(prec=80, traps=[Inexact, InvalidOperation, DivisionByZero, Overflow])


def cost(
    price: ModelPrice, discount: Decimal, *, input_tokens: int, cached_tokens: int, output_tokens: int
) -> Cost:
    """The cost of these tokens at ``price`` (list, per 1M tokens) and ``discount`` (batch share).
    ``cached_tokens`` are a part of ``input_tokens`` (capped to them), as the provider counts them."""
    cached = min(max(0, cached_tokens), max(0, input_tokens))
    fresh = max(0, input_tokens) - cached
    with localcontext(exact_context()):
        per_million = (
            fresh * price.input_per_million
            + cached * price.cached_input_per_million
            + max(0, output_tokens) * price.output_per_million
        )
        realtime = per_million.scaleb(-6)
        return Cost(realtime_usd=realtime, batch_usd=realtime * discount)
