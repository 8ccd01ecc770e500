"""Every knob batchline has, read from ``BATCHLINE_*`` environment variables.

Settings are built once per process (``Settings()``) and passed into whatever needs them; nothing
reads the environment anywhere else, so a test can hand a service a fully explicit configuration.
The README's configuration table is checked against this class by a unit test.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PositiveInt, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

#: Hard limits of OpenAI's Batch API (documented; the emulator enforces the same numbers).
PROVIDER_MAX_REQUESTS_PER_FILE = 50_000
#: Azure OpenAI global batch takes twice as many requests per file (``too_many_tasks`` beyond).
AZURE_MAX_REQUESTS_PER_FILE = 100_000
#: Azure requires an expiry on batch input files, within this range (seconds).
AZURE_FILE_TTL_RANGE_S = (1_209_600, 2_592_000)
#: Requests per file each provider accepts; the setting's own bound is the largest of them.
MAX_REQUESTS_PER_FILE: dict[str, int] = {
    "openai": PROVIDER_MAX_REQUESTS_PER_FILE,
    "azure": AZURE_MAX_REQUESTS_PER_FILE,
    "anthropic": 100_000,
}
ProviderName = Literal["openai", "anthropic", "azure"]
EndpointName = Literal["chat_completions", "responses"]
PROVIDER_MAX_FILE_BYTES = 200 * 1024 * 1024


#: The only completion window the OpenAI Batch API accepts, in seconds.
WINDOW_24H_S = 86_400


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


#: OpenAI's tier-1 batch queue limits (enqueued input tokens per model and organisation).
DEFAULT_ENQUEUED_TOKEN_LIMITS: dict[str, int] = {"gpt-4o-mini": 2_000_000, "gpt-4o": 90_000}

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


class Topics(BaseModel):
    """Resolved topic names; each has a ``.dlq`` twin for records its consumer could not decode."""

    session_events: str
    request_pending: str
    batch_created: str
    batch_completed: str

    def all(self) -> list[str]:
        return [self.session_events, self.request_pending, self.batch_created, self.batch_completed]

    @staticmethod
    def dlq(topic: str) -> str:
        return f"{topic}.dlq"


class Settings(BaseSettings):
    """Configuration of every batchline process. Field ``x`` is environment variable ``BATCHLINE_X``."""

    model_config = SettingsConfigDict(env_prefix="BATCHLINE_", extra="ignore", frozen=True)

    # --- PostgreSQL ---------------------------------------------------------------------------
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy/asyncpg URL; unset = the embedded PostgreSQL started by `batchline dev up`.",
    )
    db_pool_size: int = Field(default=5, ge=1, description="Connections per process.")

    # --- Kafka ----------------------------------------------------------------------------------
    kafka_bootstrap_servers: str = Field(default="127.0.0.1:19092", description="Broker list.")
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = Field(
        default="PLAINTEXT", description="PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL."
    )
    kafka_sasl_mechanism: str | None = Field(default=None, description="e.g. PLAIN, SCRAM-SHA-512.")
    kafka_sasl_username: str | None = Field(default=None, description="SASL user.")
    kafka_sasl_password: SecretStr | None = Field(default=None, description="SASL password (secret).")
    kafka_ssl_cafile: Path | None = Field(default=None, description="CA bundle for SSL/SASL_SSL.")
    topic_prefix: str = Field(
        default="", description="Prepended to every topic and consumer-group name (isolates environments)."
    )
    topic_partitions: int = Field(default=6, ge=1, description="Partitions per topic at creation.")
    topic_replication_factor: int = Field(default=1, ge=1, description="Replicas per topic at creation.")
    consumer_max_records: int = Field(default=500, ge=1, description="Records per `getmany` call.")
    producer_max_records: int = Field(
        default=2_000,
        ge=1,
        description=(
            "Records per `getmany` call of the producer (session events): one handler transaction and "
            "one offset commit each, so larger batches share their round trips (B2 in `bench/PROFILES.md`)."
        ),
    )

    # --- Provider -------------------------------------------------------------------------------
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

    # --- Batching -------------------------------------------------------------------------------
    batch_max_requests: int = Field(
        default=1_000,
        ge=1,
        le=max(MAX_REQUESTS_PER_FILE.values()),
        description=(
            "Requests per batch file (max 50,000 at OpenAI, 100,000 at Azure and Anthropic; the default "
            "model's provider bounds it, each model's file is capped at its provider's limit)."
        ),
    )
    batch_max_bytes: int = Field(
        default=PROVIDER_MAX_FILE_BYTES,
        ge=1024,
        le=PROVIDER_MAX_FILE_BYTES,
        description="Bytes per batch file.",
    )
    batch_linger_s: float = Field(
        default=60.0, ge=0, description="Oldest pending request waits at most this."
    )
    max_conversation_chars: int = Field(
        default=60_000, ge=1_000, description="Longer conversations are truncated (head and tail kept)."
    )
    max_attempts: int = Field(default=3, ge=1, description="Tries per request before PROCESSING_FAILED.")
    processed_events_retention_s: int = Field(
        default=1_296_000,
        ge=3_600,
        description=(
            "Recorded event ids older than this are pruned by the producer; must exceed the topics' "
            "retention, or replays re-apply old events (Kafka's defaults keep a record up to 14 days)."
        ),
    )
    retry_backoff_s: float = Field(default=30.0, ge=0, description="Base delay before a retried request.")
    enqueued_token_limits: dict[str, PositiveInt] = Field(
        default_factory=lambda: dict(DEFAULT_ENQUEUED_TOKEN_LIMITS),
        description="JSON: model -> input tokens the provider lets us have enqueued (see Token admission).",
    )
    enqueued_token_limit_default: PositiveInt | None = Field(
        default=None, description="Limit of models not in BATCHLINE_ENQUEUED_TOKEN_LIMITS; unset = unlimited."
    )
    token_rate_refresh_s: float = Field(
        default=60.0, gt=0, description="How often a model's tokens-per-byte estimate is recalibrated."
    )
    token_limit_recovery_s: float = Field(
        default=600.0,
        gt=0,
        description=(
            "A limit learned from a provider refusal rises one step per this many seconds in which its "
            "batches succeeded (until it is back at the configured limit)."
        ),
    )
    budget_output_ratio: Decimal = Field(
        default=Decimal("0.5"),
        ge=0,
        allow_inf_nan=False,
        description=(
            "Budgets: output tokens expected per estimated input token of an unfinished batch (the "
            "ratio seen on the company's processed batches this month is used when higher)."
        ),
    )
    submit_max_transient_failures: int = Field(
        default=6,
        ge=1,
        description=(
            "Submission attempts of a batch that may fail transiently (5xx, 429, timeouts, after the "
            "client's retries); then the batch is released and its requests go back with no attempt charged."
        ),
    )
    circuit_base_s: float = Field(
        default=15.0,
        gt=0,
        description=(
            "Pause of a provider/model after a configuration fault (revoked key, 403, quota, unknown model, "
            "full file store); each failed probe doubles it."
        ),
    )
    circuit_max_s: float = Field(
        default=300.0, gt=0, description="Longest pause between two probes of an open circuit."
    )
    ingest_quarantine_after: int = Field(
        default=8,
        ge=1,
        description="Failed ingests in a row (configuration faults aside) before a batch is quarantined.",
    )

    # --- Polling --------------------------------------------------------------------------------
    poll_interval_s: float = Field(default=60.0, gt=0, description="Minimum time between polls of a batch.")
    poll_max_interval_s: float = Field(default=600.0, gt=0, description="Cap of the polling backoff.")
    batch_expiry_grace_s: float = Field(
        default=3_600.0, ge=0, description="After window + grace an unfinished batch is cancelled."
    )

    # --- Webhooks (`batchline webhooks`) ---------------------------------------------------------
    webhook_secret: SecretStr | None = Field(
        default=None,
        description="The endpoint's signing secret (`whsec_...`) the provider signs its events with.",
    )
    webhook_secret_file: Path | None = Field(
        default=None,
        description="File holding the signing secret (a mounted secret); re-read when it changes.",
    )
    webhook_host: str = Field(default="127.0.0.1", description="Interface the webhook receiver binds.")
    webhook_port: int = Field(default=18090, ge=0, le=65535, description="Port of the webhook receiver.")
    webhook_events_retention_s: int = Field(
        default=604_800,
        ge=3_600,
        description=(
            "Received webhook ids are kept this long for de-duplication (OpenAI retries a delivery "
            "for up to 72 h)."
        ),
    )

    # --- Local infrastructure -------------------------------------------------------------------
    home: Path = Field(default=Path(".batchline"), description="Data, logs and caches of `batchline dev`.")
    kafka_port: int = Field(default=19092, ge=1, le=65535, description="Local broker port (`dev up`).")
    kafka_controller_port: int = Field(
        default=19093, ge=1, le=65535, description="Local KRaft controller port."
    )
    postgres_port: int = Field(default=15432, ge=1, le=65535, description="Local embedded PostgreSQL port.")
    emulator_port: int = Field(default=18080, ge=1, le=65535, description="Provider emulator port (demo).")
    log_level: str = Field(default="INFO", description="DEBUG, INFO, WARNING or ERROR.")
    log_json: bool = Field(default=False, description="JSON log lines instead of console rendering.")
    metrics_port: int | None = Field(
        default=None,
        ge=0,
        le=65535,
        description="Serve the probes /healthz, /readyz and Prometheus /metrics on this port; unset = off.",
    )
    test_crash_point: Literal["after_upload", "after_create"] | None = Field(
        default=None, description="Test hook only: the submitter exits at this point of a submission."
    )

    @field_validator("completion_window")
    @classmethod
    def _window_the_provider_accepts(cls, v: str) -> str:
        # OpenAI's Batch API refuses any other window (400 at create): fail at start, not per batch.
        if v != "24h":
            raise ValueError("the OpenAI Batch API accepts only '24h'")
        return v

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

    @field_validator("topic_prefix")
    @classmethod
    def _prefix_is_topic_safe(cls, v: str) -> str:
        if v and not all(c.isalnum() or c in "._-" for c in v):
            raise ValueError("topic_prefix may only contain letters, digits, '.', '_' and '-'")
        return v

    @property
    def topics(self) -> Topics:
        p = self.topic_prefix
        return Topics(
            session_events=f"{p}session.events",
            request_pending=f"{p}request.pending",
            batch_created=f"{p}batch.created",
            batch_completed=f"{p}batch.completed",
        )

    def provider_of(self, model: str) -> ProviderName:
        """The batch API that runs ``model`` (``BATCHLINE_MODEL_PROVIDERS``; openai when unlisted)."""
        return self.model_providers.get(model, "openai")

    def endpoint_of(self, model: str) -> EndpointName:
        """The OpenAI endpoint ``model``'s lines go to (``BATCHLINE_MODEL_ENDPOINTS``)."""
        return self.model_endpoints.get(model, "chat_completions")

    def group_id(self, service: str) -> str:
        """Consumer group of a service, e.g. ``batchline-producer``."""
        return f"{self.topic_prefix}batchline-{service}"
