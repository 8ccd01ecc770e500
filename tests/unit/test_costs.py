"""The pricing rule (``cli.costs``) and the price settings, with every dollar amount worked out by hand.

Prices are USD per million tokens. Defaults (``shared.settings.DEFAULT_PRICES``): gpt-4o-mini 0.15 in
/ 0.075 cached / 0.60 out, gpt-4o 2.50 / 1.25 / 10.00, gpt-4.1-mini 0.40 / 0.10 / 1.60. Input tokens
include the cached ones; a batch costs the discount (0.5 by default) times the list price. The
expected figures below are literals: the arithmetic is in the comments, not in the test.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from pydantic import ValidationError

from cli.costs import Cost, cost
from cli.stats import usd
from shared.settings import ModelPrice, Settings

D = Decimal
HALF = D("0.5")


def price(model: str) -> ModelPrice:
    return Settings().model_prices[model]


@pytest.mark.parametrize(
    ("model", "tokens_in", "cached", "tokens_out", "realtime", "batch"),
    [
        # 1,234,567 x 0.15 / 1e6 = 0.18518505; half of it 0.092592525.
        ("gpt-4o-mini", 1_234_567, 0, 0, "0.18518505", "0.092592525"),
        ("gpt-4o-mini", 0, 0, 1_000_000, "0.60", "0.30"),
        # 2,000 x 0.15e-6 + 500 x 0.60e-6 = 0.0003 + 0.0003.
        ("gpt-4o-mini", 2_000, 0, 500, "0.0006", "0.0003"),
        # fresh 1,000,000 x 0.15 = 0.15; cached 234,567 x 0.075 = 0.017592525; out 89,012 x 0.60
        # = 0.0534072; sum 0.220999725, half 0.1104998625.
        ("gpt-4o-mini", 1_234_567, 234_567, 89_012, "0.220999725", "0.1104998625"),
        # fresh 2,222,222 x 2.50 = 5.555555; cached 1,111,111 x 1.25 = 1.38888875; out 777,777 x 10
        # = 7.77777; sum 14.72221375, half 7.361106875.
        ("gpt-4o", 3_333_333, 1_111_111, 777_777, "14.72221375", "7.361106875"),
        # 0.25 x 0.40 + 0.125 x 1.60 = 0.10 + 0.20.
        ("gpt-4.1-mini", 250_000, 0, 125_000, "0.30", "0.15"),
        # every input token cached: 1,000,000 x 0.10.
        ("gpt-4.1-mini", 1_000_000, 1_000_000, 0, "0.10", "0.05"),
        ("gpt-4o", 0, 0, 0, "0", "0"),
        # one token of each: 2.50e-6 + 10.00e-6 = 0.0000125, half 0.00000625 (beyond 6 places).
        ("gpt-4o", 1, 0, 1, "0.0000125", "0.00000625"),
    ],
)
def test_cost_at_the_default_list_prices(
    model: str, tokens_in: int, cached: int, tokens_out: int, realtime: str, batch: str
) -> None:
    got = cost(price(model), HALF, input_tokens=tokens_in, cached_tokens=cached, output_tokens=tokens_out)
    assert got.realtime_usd == D(realtime)
    assert got.batch_usd == D(batch)
    assert got.savings_usd == D(realtime) - D(batch)


def test_a_configured_price_and_discount_are_used_exactly() -> None:
    house = ModelPrice.model_validate({"input_per_million": 3, "output_per_million": 7})
    # 500,000 x 3 + 2,000,000 x 7 = 1.5 + 14 = 15.5 list; a quarter is 3.875.
    got = cost(house, D("0.25"), input_tokens=500_000, cached_tokens=0, output_tokens=2_000_000)
    assert (got.realtime_usd, got.batch_usd, got.savings_usd) == (D("15.5"), D("3.875"), D("11.625"))


def test_cached_tokens_are_capped_to_the_input_tokens() -> None:
    mini = price("gpt-4o-mini")
    # 100 input tokens, "500 cached": all 100 at 0.075 = 0.0000075.
    got = cost(mini, HALF, input_tokens=100, cached_tokens=500, output_tokens=0)
    assert got.realtime_usd == D("0.0000075")


def test_sums_of_costs_stay_exact_where_floats_drift() -> None:
    # Ten times 0.1 in floats is 0.9999999999999999; in decimals exactly 1.
    tenth = Cost(realtime_usd=D("0.1"), batch_usd=D("0.05"))
    total = Cost()
    for _ in range(10):
        total = total + tenth
    assert (total.realtime_usd, total.batch_usd, total.savings_usd) == (D("1.0"), D("0.50"), D("0.50"))


def test_money_strings_are_exact_with_at_least_six_places() -> None:
    assert usd(D("0.387500")) == "0.387500"
    assert usd(D("0.092592525")) == "0.092592525"
    assert usd(D("0.00000625")) == "0.00000625"
    assert usd(D("0.15000000")) == "0.150000"
    assert usd(D("1500")) == "1500.000000"
    assert usd(D("0")) == "0.000000"


def test_prices_from_the_environment_are_exact_decimals(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "BATCHLINE_MODEL_PRICES",
        '{"m": {"input_per_million": 0.15, "cached_input_per_million": "0.075", "output_per_million": 0.6},'
        ' "n": {"input_per_million": "0.1234567890123456789", "output_per_million": 2}}',
    )
    monkeypatch.setenv("BATCHLINE_BATCH_DISCOUNT", "0.45")
    s = Settings()
    assert s.model_prices["m"] == ModelPrice(
        input_per_million=D("0.15"), cached_input_per_million=D("0.075"), output_per_million=D("0.6")
    )
    assert str(s.model_prices["m"].input_per_million) == "0.15"  # not 0.1499999999999999944...
    # No cached price: cached tokens cost the input price. A string keeps every digit.
    assert s.model_prices["n"].cached_input_per_million == D("0.1234567890123456789")
    assert s.batch_discount == D("0.45")
    assert isinstance(s.batch_discount, Decimal)


def test_the_default_prices_and_discount() -> None:
    s = Settings()
    assert s.batch_discount == D("0.5")
    assert s.model_prices["gpt-4o-mini"] == ModelPrice(
        input_per_million=D("0.15"), cached_input_per_million=D("0.075"), output_per_million=D("0.60")
    )


@pytest.mark.parametrize(
    "prices",
    [
        '{"m": {"input_per_million": -1, "output_per_million": 1}}',
        '{"m": {"input_per_million": "NaN", "output_per_million": 1}}',
        '{"m": {"input_per_million": "Infinity", "output_per_million": 1}}',
        '{"m": {"input_per_million": 1}}',
        # A cached token dearer than a fresh one is a configuration mistake.
        '{"m": {"input_per_million": 1, "cached_input_per_million": 2, "output_per_million": 1}}',
    ],
)
def test_invalid_prices_are_refused(monkeypatch: pytest.MonkeyPatch, prices: str) -> None:
    monkeypatch.setenv("BATCHLINE_MODEL_PRICES", prices)
    with pytest.raises(ValidationError):
        Settings()


@pytest.mark.parametrize("discount", ["-0.1", "1.5", "NaN"])
def test_invalid_discounts_are_refused(monkeypatch: pytest.MonkeyPatch, discount: str) -> None:
    monkeypatch.setenv("BATCHLINE_BATCH_DISCOUNT", discount)
    with pytest.raises(ValidationError):
        Settings()


def test_prices_reach_a_child_process_exactly(monkeypatch: pytest.MonkeyPatch) -> None:
    # The dev stack hands its settings to the service processes as BATCHLINE_* variables.
    from devtools.stack import settings_env

    parent = Settings.model_validate(
        {
            "batch_discount": "0.45",
            "model_prices": {"m": {"input_per_million": "0.1234567890123456789", "output_per_million": "2"}},
        }
    )
    for name, value in settings_env(parent).items():
        monkeypatch.setenv(name, value)
    child = Settings()
    assert child.model_prices == parent.model_prices
    assert child.model_prices["m"].input_per_million == D("0.1234567890123456789")
    assert child.batch_discount == D("0.45")
