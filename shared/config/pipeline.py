"""Settings of the pipeline's stages: batching and submission, polling, the webhook receiver."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from pydantic import BaseModel, Field, PositiveInt, SecretStr

from shared.config.limits import DEFAULT_ENQUEUED_TOKEN_LIMITS, MAX_REQUESTS_PER_FILE, PROVIDER_MAX_FILE_BYTES


class BatchingSettings(BaseModel):
    """Batch files, attempts, retries, token admission, budgets and circuits (producer to ingester)."""

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
    submit_flush_concurrency: int = Field(
        default=3,
        ge=1,
        description=(
            "Groups (company, model) one submitter claims and submits at the same time; each holds up to "
            "two database connections of BATCHLINE_DB_POOL_SIZE while it runs."
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


class PollingSettings(BaseModel):
    """The poller's schedule of one batch and when an unfinished one is given up."""

    poll_interval_s: float = Field(default=60.0, gt=0, description="Minimum time between polls of a batch.")
    poll_max_interval_s: float = Field(default=600.0, gt=0, description="Cap of the polling backoff.")
    batch_expiry_grace_s: float = Field(
        default=3_600.0, ge=0, description="After window + grace an unfinished batch is cancelled."
    )


class WebhookSettings(BaseModel):
    """The receiver of provider webhooks (`batchline webhooks`)."""

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
