"""Settings of the provider side: endpoints, keys, routing of models, files, prices and fallbacks."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, PositiveInt, SecretStr, field_validator

from shared.config.limits import AZURE_FILE_TTL_RANGE_S, EndpointName, ProviderName
from shared.config.prices import DEFAULT_PRICES, ModelPrice


class ProviderSettings(BaseModel):
    """How batchline reaches each provider and which of them runs a model."""

    openai_base_url: str = Field(
        default="http://127.0.0.1:18080/v1", description="OpenAI-compatible API root (emulator by default)."
    )
    openai_api_key: SecretStr = Field(default=SecretStr("sk-local-emulator"), description="Bearer token.")
    openai_api_key_file: Path | None = Field(
        default=None,
        description=(
            "File holding the key (a mounted secret); re-read when it changes, so rotation needs no restart."
        ),
    )
    model_providers: dict[str, ProviderName] = Field(
        default_factory=dict,
        description=(
            'JSON: model -> "openai", "anthropic" or "azure", the batch API that runs it; unlisted = openai.'
        ),
    )
    model_endpoints: dict[str, EndpointName] = Field(
        default_factory=dict,
        description=(
            'JSON: model -> "chat_completions" or "responses" (/v1/responses), the OpenAI endpoint its '
            "lines go to; unlisted = chat_completions."
        ),
    )
    azure_base_url: str | None = Field(
        default=None,
        description=(
            "Azure OpenAI root, https://{resource}.openai.azure.com/openai; required when a model is azure."
        ),
    )
    azure_api_key: SecretStr = Field(
        default=SecretStr("sk-local-emulator"), description="Azure OpenAI key, sent as the api-key header."
    )
    azure_api_key_file: Path | None = Field(
        default=None, description="File holding the Azure key; re-read when it changes."
    )
    azure_api_version: str = Field(default="2024-10-21", description="The api-version query parameter (GA).")
    azure_deployments: dict[str, str] = Field(
        default_factory=dict,
        description=(
            "JSON: model -> its Azure global-batch deployment name (the line's model); every azure model."
        ),
    )
    azure_file_ttl_s: int = Field(
        default=AZURE_FILE_TTL_RANGE_S[0],
        ge=AZURE_FILE_TTL_RANGE_S[0],
        le=AZURE_FILE_TTL_RANGE_S[1],
        description="Expiry of Azure batch input files (Azure requires one within 14 to 30 days).",
    )
    anthropic_base_url: str = Field(
        default="http://127.0.0.1:18080",
        description="Anthropic API root, without /v1 (the emulator serves both providers by default).",
    )
    anthropic_api_key: SecretStr = Field(
        default=SecretStr("sk-local-emulator"), description="Anthropic key, sent as x-api-key."
    )
    anthropic_api_key_file: Path | None = Field(
        default=None, description="File holding the Anthropic key; re-read when it changes."
    )
    anthropic_version: str = Field(default="2023-06-01", description="The anthropic-version header.")
    anthropic_max_tokens: PositiveInt = Field(
        default=1024, description="max_tokens of an Anthropic request whose line sets none."
    )
    provider_timeout_s: float = Field(default=60.0, gt=0, description="Per HTTP request.")
    provider_retry_max_s: float = Field(default=300.0, gt=0, description="Total retry budget per call.")
    default_model: str = Field(default="gpt-4o-mini", description="Model when an event names none.")
    completion_window: str = Field(default="24h", description="Batch completion window sent to the provider.")
    model_prices: dict[str, ModelPrice] = Field(
        default_factory=lambda: dict(DEFAULT_PRICES),
        description=(
            "JSON: model -> {input_per_million, cached_input_per_million, output_per_million}, list prices "
            "in USD (decimals; cached defaults to input). Stored with each batch when it is ingested."
        ),
    )
    provider_input_file_ttl_s: int = Field(
        default=172_800,
        ge=3_600,
        le=2_592_000,
        description="Uploaded input files expire after this (the provider keeps them 30 days otherwise).",
    )
    provider_output_file_ttl_s: int = Field(
        default=604_800,
        ge=3_600,
        le=2_592_000,
        description="Output and error files of a batch expire this long after its creation.",
    )
    batch_discount: Decimal = Field(
        default=Decimal("0.5"),
        ge=0,
        le=1,
        allow_inf_nan=False,
        description="Batch price = list price x this (a decimal; stored with each batch at ingest).",
    )
    fallback_mode: Literal["off", "sync", "provider"] = Field(
        default="off",
        description=(
            "What finishes the requests an expired or cancelled batch left: off (a new batch), sync (the "
            "synchronous API at full price) or provider (a batch on BATCHLINE_FALLBACK_PROVIDER)."
        ),
    )
    fallback_sync_daily_cap: int = Field(
        default=1_000,
        ge=0,
        description="Requests per company per UTC day the sync fallback may run; the rest wait for a batch.",
    )
    fallback_sync_concurrency: PositiveInt = Field(
        default=8, le=256, description="Synchronous fallback calls in flight per ingester process."
    )
    fallback_provider: Literal["openai", "anthropic"] | None = Field(
        default=None, description="The second batch API of the provider fallback."
    )
    fallback_model_map: dict[str, str] = Field(
        default_factory=dict,
        description=(
            "JSON: model -> model run by BATCHLINE_FALLBACK_PROVIDER (routed there in "
            "BATCHLINE_MODEL_PROVIDERS); a model not listed goes back to its own provider."
        ),
    )
    keep_provider_files: bool = Field(
        default=False,
        description="Keep a batch's input, output and error files at the provider once it is processed.",
    )

    @field_validator("completion_window")
    @classmethod
    def _window_the_provider_accepts(cls, v: str) -> str:
        # OpenAI's Batch API refuses any other window (400 at create): fail at start, not per batch.
        if v != "24h":
            raise ValueError("the OpenAI Batch API accepts only '24h'")
        return v

    def provider_of(self, model: str) -> ProviderName:
        """The batch API that runs ``model`` (``BATCHLINE_MODEL_PROVIDERS``; openai when unlisted)."""
        return self.model_providers.get(model, "openai")

    def endpoint_of(self, model: str) -> EndpointName:
        """The OpenAI endpoint ``model``'s lines go to (``BATCHLINE_MODEL_ENDPOINTS``)."""
        return self.model_endpoints.get(model, "chat_completions")
