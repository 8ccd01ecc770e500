"""Model list prices: the type a price is configured as, and the defaults for the models we know.

Kept apart from the settings so the pricing arithmetic (``shared.pricing``) and the reports share one
definition of a price, and a price update touches one table.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator


class ModelPrice(BaseModel):
    """Real-time list price of one model in USD per million tokens; batch cost applies the discount.

    Exact decimals (money is never a float): JSON numbers and strings both parse into ``Decimal``
    (write a price with more than 15 significant digits as a string, JSON numbers pass through a
    float). ``cached_input_per_million`` is the price of prompt tokens the provider served from its
    cache; left out, it is the input price (no caching discount is assumed).
    """

    model_config = ConfigDict(frozen=True)

    input_per_million: Decimal = Field(ge=0, allow_inf_nan=False)
    cached_input_per_million: Decimal = Field(ge=0, allow_inf_nan=False)
    output_per_million: Decimal = Field(ge=0, allow_inf_nan=False)

    @model_validator(mode="before")
    @classmethod
    def _cached_defaults_to_input(cls, data: Any) -> Any:
        unset = isinstance(data, dict) and data.get("cached_input_per_million") is None
        if unset and "input_per_million" in data:
            return {**data, "cached_input_per_million": data["input_per_million"]}
        return data

    @model_validator(mode="after")
    def _cache_is_no_dearer(self) -> ModelPrice:
        # A cached token costing more than a fresh one is a typo in the configuration, not a price.
        if self.cached_input_per_million > self.input_per_million:
            raise ValueError("cached_input_per_million cannot exceed input_per_million")
        return self


#: OpenAI's list prices (USD per 1M tokens: input, cached input, output), written as exact decimals.
DEFAULT_PRICES: dict[str, ModelPrice] = {
    "gpt-4o-mini": ModelPrice.model_validate(
        {"input_per_million": "0.15", "cached_input_per_million": "0.075", "output_per_million": "0.60"}
    ),
    "gpt-4o": ModelPrice.model_validate(
        {"input_per_million": "2.50", "cached_input_per_million": "1.25", "output_per_million": "10.00"}
    ),
    "gpt-4.1-mini": ModelPrice.model_validate(
        {"input_per_million": "0.40", "cached_input_per_million": "0.10", "output_per_million": "1.60"}
    ),
}
