"""Every knob batchline has, read from ``BATCHLINE_*`` environment variables.

Settings are built once per process (``Settings()``) and passed into whatever needs them; nothing
reads the environment anywhere else, so a test can hand a service a fully explicit configuration.
The README's configuration table is checked against this class by a unit test. The fields are grouped
by concern in ``shared.config``; this module composes them with the checks that span concerns and
stays the one place to import settings from.
"""

from __future__ import annotations

from pydantic import model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.config.infra import DatabaseSettings, KafkaSettings, LocalSettings, Topics
from shared.config.limits import (
    AZURE_FILE_TTL_RANGE_S,
    AZURE_MAX_REQUESTS_PER_FILE,
    DEFAULT_ENQUEUED_TOKEN_LIMITS,
    MAX_REQUESTS_PER_FILE,
    PROVIDER_MAX_FILE_BYTES,
    PROVIDER_MAX_REQUESTS_PER_FILE,
    WINDOW_24H_S,
    EndpointName,
    ProviderName,
)
from shared.config.pipeline import BatchingSettings, PollingSettings, WebhookSettings
from shared.config.prices import DEFAULT_PRICES, ModelPrice
from shared.config.provider import ProviderSettings

__all__ = [
    "AZURE_FILE_TTL_RANGE_S",
    "AZURE_MAX_REQUESTS_PER_FILE",
    "DEFAULT_ENQUEUED_TOKEN_LIMITS",
    "DEFAULT_PRICES",
    "MAX_REQUESTS_PER_FILE",
    "PROVIDER_MAX_FILE_BYTES",
    "PROVIDER_MAX_REQUESTS_PER_FILE",
    "WINDOW_24H_S",
    "EndpointName",
    "ModelPrice",
    "ProviderName",
    "Settings",
    "Topics",
]


class Settings(
    # Fields are listed base-most first, so the bases run in reverse: PostgreSQL's come first, as in
    # the README's table.
    LocalSettings,
    WebhookSettings,
    PollingSettings,
    BatchingSettings,
    ProviderSettings,
    KafkaSettings,
    DatabaseSettings,
    BaseSettings,
):
    """Configuration of every batchline process. Field ``x`` is environment variable ``BATCHLINE_X``."""

    model_config = SettingsConfigDict(env_prefix="BATCHLINE_", extra="ignore", frozen=True)

    @model_validator(mode="after")
    def _files_outlive_their_batch(self) -> Settings:
        # The provider reads the input file until the batch ends (window, then our grace to cancel).
        needed = WINDOW_24H_S + self.batch_expiry_grace_s
        if self.provider_input_file_ttl_s <= needed:
            raise ValueError(
                "BATCHLINE_PROVIDER_INPUT_FILE_TTL_S must exceed the 24 h completion window plus "
                f"BATCHLINE_BATCH_EXPIRY_GRACE_S ({needed:.0f} s)"
            )
        return self

    @model_validator(mode="after")
    def _providers_can_take_it(self) -> Settings:
        # Wrong provider settings fail at start, not as a 400 on the first batch of the model.
        for model, provider in self.model_providers.items():
            if provider == "azure" and model not in self.azure_deployments:
                raise ValueError(f"model {model} is routed to azure: set its AZURE_DEPLOYMENTS entry")
            if provider != "openai" and self.endpoint_of(model) != "chat_completions":
                raise ValueError(f"model {model}: the responses endpoint is only used with provider openai")
        if "azure" in self.model_providers.values() and not self.azure_base_url:
            raise ValueError("a model is routed to azure: set BATCHLINE_AZURE_BASE_URL")
        # Past its provider's limit the default model's every full batch would fail; other models'
        # files are capped at their provider's limit by the submitter (``max_requests_of``).
        cap = MAX_REQUESTS_PER_FILE[self.provider_of(self.default_model)]
        if self.batch_max_requests > cap:
            raise ValueError(
                f"BATCHLINE_BATCH_MAX_REQUESTS exceeds the {cap} requests per file of the default model's API"
            )
        return self

    def max_requests_of(self, model: str) -> int:
        """Requests per file for ``model``: the setting, capped by its provider's own limit."""
        return min(self.batch_max_requests, MAX_REQUESTS_PER_FILE[self.provider_of(model)])

    @model_validator(mode="after")
    def _fallback_is_complete(self) -> Settings:
        # One line per mistake at start, not a remainder stranded at the first expired batch.
        if self.fallback_mode != "provider":
            return self
        if self.fallback_provider is None:
            raise ValueError("BATCHLINE_FALLBACK_MODE=provider needs BATCHLINE_FALLBACK_PROVIDER")
        if not self.fallback_model_map:
            raise ValueError("BATCHLINE_FALLBACK_MODE=provider needs BATCHLINE_FALLBACK_MODEL_MAP")
        for source, target in sorted(self.fallback_model_map.items()):
            if self.provider_of(target) != self.fallback_provider:
                raise ValueError(
                    f"BATCHLINE_FALLBACK_MODEL_MAP sends {source} to {target}, which "
                    f"BATCHLINE_MODEL_PROVIDERS routes to {self.provider_of(target)}, "
                    f"not {self.fallback_provider}"
                )
            if self.provider_of(source) == self.fallback_provider:
                raise ValueError(
                    f"BATCHLINE_FALLBACK_MODEL_MAP: {source} already runs on {self.fallback_provider}"
                )
        return self
