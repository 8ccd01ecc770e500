"""Budget admission rules (``services.submitter.budget``), with every figure worked out by hand.

gpt-4o-mini lists at 0.15 / 0.075 / 0.60 USD per 1M tokens (in / cached / out), the batch discount is
0.5 and the configured output estimate 0.5 output tokens per input token, so one estimated input
token costs (0.15 + 0.5 x 0.60) x 0.5 / 1e6 = 0.225e-6 USD. The arithmetic is in the comments.
"""

from __future__ import annotations

from decimal import Decimal

from services.submitter.budget import (
    Charge,
    CompanyBudgetRow,
    Pricing,
    affordable_tokens,
    estimated_cost,
    hold_reason,
    month_spend,
    output_ratio,
    verdict,
)
from services.submitter.token_budget import UNLIMITED
from shared.settings import DEFAULT_PRICES, ModelPrice

D = Decimal
MINI = DEFAULT_PRICES["gpt-4o-mini"]
PRICING = Pricing(prices=DEFAULT_PRICES, discount=D("0.5"), output_ratio=D("0.5"))
ONE = ModelPrice.model_validate({"input_per_million": "1", "output_per_million": "1"})


def stored(provider: str, input_tokens: int, output_tokens: int = 0, model: str = "gpt-4o-mini") -> Charge:
    """A processed group at a stored price of 1 USD per 1M tokens, discount 0.5."""
    return Charge(model, provider, ONE, D("0.5"), input_tokens, 0, output_tokens)


def test_an_estimate_prices_input_and_the_expected_output() -> None:
    # 1,000 in x 0.15e-6 + 500 out x 0.60e-6 = 0.00045; half 0.000225.
    assert estimated_cost(1_000, MINI, D("0.5"), D("0.5")) == D("0.000225")
    # 1,001 in: output ceil(500.5) = 501; (150.15 + 300.6) e-6 x 0.5 = 0.000225375.
    assert estimated_cost(1_001, MINI, D("0.5"), D("0.5")) == D("0.000225375")


def test_affordable_tokens_never_cost_more_than_what_remains() -> None:
    assert affordable_tokens(D("0.000225"), MINI, D("0.5"), D("0.5")) == 1_000
    # 0.0002253 / 0.225e-6 = 1,001.3, but 1,001 tokens cost 0.000225375 (output rounds up): 1,000.
    assert affordable_tokens(D("0.0002253"), MINI, D("0.5"), D("0.5")) == 1_000
    assert affordable_tokens(D("0"), MINI, D("0.5"), D("0.5")) == 0
    assert affordable_tokens(D("-3"), MINI, D("0.5"), D("0.5")) == 0
    free = ModelPrice.model_validate({"input_per_million": "0", "output_per_million": "0"})
    assert affordable_tokens(D("1"), free, D("0.5"), D("0.5")) == UNLIMITED


def test_month_spend_is_actual_usage_at_the_stored_price_plus_estimates_at_todays() -> None:
    charges = [
        # stored price: (800,000 x 1 + 200,000 x 1 + 100,000 x 1) / 1e6 = 1.1; half 0.55.
        Charge("gpt-4o-mini", "openai", ONE, D("0.5"), 1_000_000, 200_000, 100_000),
        # unfinished: 1,000,000 in x 0.15 + 500,000 out x 0.60 = 0.45; half 0.225.
        Charge("gpt-4o-mini", "openai", estimated_tokens=1_000_000),
    ]
    # The observed ratio 100,000 / 1,000,000 = 0.1 is below the configured 0.5: 0.5 is used.
    assert month_spend(charges, PRICING) == D("0.775")


def test_an_observed_output_ratio_above_the_configured_one_is_used() -> None:
    charges = [stored("openai", 1_000_000, 2_000_000)]
    assert output_ratio(charges, "gpt-4o-mini", D("0.5")) == D(2)
    assert output_ratio(charges, "gpt-4o", D("0.5")) == D("0.5")
    # 1,000 in x 0.15e-6 + 2,000 out x 0.60e-6 = 0.00135; half 0.000675; plus the stored 1.5.
    both = [*charges, Charge("gpt-4o-mini", "openai", estimated_tokens=1_000)]
    assert month_spend(both, PRICING) == D("1.500675")


def test_a_model_with_no_price_counts_nothing() -> None:
    charges = [Charge("mystery", "openai", estimated_tokens=10_000_000)]
    assert month_spend(charges, PRICING) == D(0)
    got = verdict(
        [CompanyBudgetRow("acme", None, D("0.01"))], charges, PRICING, provider="openai", model="mystery"
    )
    assert got.tokens == UNLIMITED and not got.limited


def test_the_tightest_budget_that_covers_the_provider_decides() -> None:
    # 600,000 x 1e-6 x 0.5 = 0.3 on openai, 800,000 x 1e-6 x 0.5 = 0.4 on azure.
    charges = [stored("openai", 600_000), stored("azure", 800_000)]
    budgets = [CompanyBudgetRow("acme", None, D("1")), CompanyBudgetRow("acme", "openai", D("0.5"))]
    on_openai = verdict(budgets, charges, PRICING, provider="openai", model="gpt-4o-mini")
    # openai: 0.5 - 0.3 = 0.2 left (all: 1 - 0.7 = 0.3); 0.2 / 0.225e-6 = 888,888.9 -> 888,888.
    assert on_openai.budget == budgets[1]
    assert on_openai.spent == D("0.3")
    assert on_openai.tokens == 888_888
    on_azure = verdict(budgets, charges, PRICING, provider="azure", model="gpt-4o-mini")
    # Only the all-providers cap: 0.3 / 0.225e-6 = 1,333,333.3, but 1,333,333 tokens cost
    # (199,999.95 + 666,667 x 0.6) e-6 x 0.5 = 0.300000075 > 0.3: 1,333,332.
    assert on_azure.budget == budgets[0]
    assert on_azure.spent == D("0.7")
    assert on_azure.tokens == 1_333_332


def test_a_spent_budget_allows_nothing_and_no_budget_allows_everything() -> None:
    charges = [stored("openai", 2_000_000)]  # 1.0 spent
    spent = verdict(
        [CompanyBudgetRow("acme", None, D("0.9"))], charges, PRICING, provider="openai", model="gpt-4o-mini"
    )
    assert spent.tokens == 0 and spent.limited
    free = verdict([], charges, PRICING, provider="openai", model="gpt-4o-mini")
    assert free.tokens == UNLIMITED and not free.limited
    elsewhere = verdict(
        [CompanyBudgetRow("acme", "azure", D("0"))], charges, PRICING, provider="openai", model="gpt-4o-mini"
    )
    assert elsewhere.tokens == UNLIMITED


def test_spent_after_adds_what_a_claim_took() -> None:
    got = verdict([CompanyBudgetRow("acme", None, D("1"))], [stored("openai", 600_000)], PRICING,
                  provider="openai", model="gpt-4o-mini")  # fmt: skip
    # 0.3 + 1,000 tokens at 0.000225.
    assert got.spent_after(1_000, D("0.5")) == D("0.300225")
    assert got.spent_after(0, D("0.5")) == D("0.3")


def test_the_hold_reason_names_company_spend_budget_scope_and_month() -> None:
    assert (
        hold_reason(CompanyBudgetRow("acme", None, D("5")), D("4.98712"), "2026-12")
        == "budget: company acme at $4.9872 of $5.0000 (month 2026-12)"
    )
    assert (
        hold_reason(CompanyBudgetRow("acme", "openai", D("0.5")), D("0.3"), "2026-12")
        == "budget: company acme at $0.3000 of $0.5000 for openai (month 2026-12)"
    )
