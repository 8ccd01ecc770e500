"""Emulator configuration: server, compressed clock, API limits, and fault injection.

Field ``x`` is environment variable ``BATCHLINE_EMULATOR_X``. The fault fields form their own
model (:class:`FaultConfig`) because they can also be changed at runtime through
``POST /_emulator/faults``; everything else is fixed for the life of the server.

Faults are reproducible: per-line decisions draw from a generator seeded with ``seed`` and the
batch's creation number, per-request HTTP faults from one generator seeded with ``seed``, and the
``*_next`` / ``*_batches`` counters hit exactly the next N requests or batches.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.settings import PROVIDER_MAX_FILE_BYTES, PROVIDER_MAX_REQUESTS_PER_FILE


class FaultConfig(BaseModel):
    """What goes wrong, and how often. All zero = a well-behaved provider."""

    model_config = ConfigDict(validate_assignment=True, extra="forbid")

    # --- per request line of a batch --------------------------------------------------------
    line_error_rate: float = Field(default=0.0, ge=0, le=1, description="Lines answered with an HTTP error.")
    malformed_rate: float = Field(
        default=0.0, ge=0, le=1, description="Lines answered 200 with content that is not JSON or off-enum."
    )
    # --- whole batches (the next N created batches) -----------------------------------------
    validation_fail_batches: int = Field(default=0, ge=0, description="Fail validation (invalid_request).")
    token_limit_batches: int = Field(default=0, ge=0, description="Fail with token_limit_exceeded.")
    expire_batches: int = Field(default=0, ge=0, description="Expire with partial output.")
    expire_partial_fraction: float = Field(
        default=0.5, ge=0, le=1, description="Share of lines done when a batch expires by fault."
    )
    upload_race_lookups: int = Field(
        default=0, ge=0, description="Batch creations that answer 'Cannot find file' for a fresh upload."
    )
    # --- every /v1 HTTP request -------------------------------------------------------------
    http_429_rate: float = Field(default=0.0, ge=0, le=1)
    http_500_rate: float = Field(default=0.0, ge=0, le=1)
    http_429_next: int = Field(default=0, ge=0, description="The next N requests get 429.")
    http_500_next: int = Field(default=0, ge=0, description="The next N requests get 500.")
    retry_after_s: float = Field(default=1.0, ge=0, description="Retry-After sent with a 429.")
    latency_ms: int = Field(default=0, ge=0, description="Added to every request.")
    stall_next: int = Field(default=0, ge=0, description="The next N requests sleep stall_s first.")
    stall_s: float = Field(default=5.0, ge=0)
    lost_response_next: int = Field(
        default=0, ge=0, description="The next N requests are carried out but answered 502 (lost response)."
    )


class EmulatorConfig(BaseSettings, FaultConfig):
    """Everything the emulator server needs. Built once and passed to :func:`create_app`."""

    model_config = SettingsConfigDict(env_prefix="BATCHLINE_EMULATOR_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = Field(default=18080, ge=0, le=65535)
    api_key: SecretStr | None = Field(
        default=None, description="Required bearer token; unset = any non-empty key is accepted."
    )
    state_dir: Path | None = Field(
        default=None, description="Persist files and batches here; unset = memory."
    )
    seed: int = Field(default=0, description="Seeds ids, line faults and HTTP faults.")
    stage_s: float = Field(default=1.0, gt=0, description="Seconds spent in each lifecycle stage.")
    window_s: float = Field(
        default=86_400.0, gt=0, description="The completion window in emulated seconds (expires_at)."
    )
    max_requests_per_file: int = Field(default=PROVIDER_MAX_REQUESTS_PER_FILE, ge=1)
    max_file_bytes: int = Field(default=PROVIDER_MAX_FILE_BYTES, ge=1)
    max_upload_bytes: int = Field(default=512 * 1024 * 1024, ge=1, description="Hard limit of POST /files.")
    enqueued_token_limit: int | None = Field(
        default=None,
        ge=1,
        description="Per-model tokens in unfinished batches; over it = token_limit_exceeded.",
    )

    def faults(self) -> FaultConfig:
        return FaultConfig.model_validate(self.model_dump(include=set(FaultConfig.model_fields)))
