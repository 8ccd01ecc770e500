"""Emulator configuration: server, compressed clock, API limits, and fault injection.

Field ``x`` is environment variable ``BATCHLINE_EMULATOR_X`` (lists and mappings as JSON, e.g.
``BATCHLINE_EMULATOR_ENQUEUED_TOKEN_LIMITS='{"gpt-4o": 90000}'``). Two groups of fields form their
own models because they can also be changed at runtime: the faults (:class:`FaultConfig`,
``POST /_emulator/faults``) and the walls, the real service's limits (:class:`WallConfig`,
``POST /_emulator/walls``; the accepted keys through ``POST /_emulator/keys``). Everything else is
fixed for the life of the server.

Every duration is in seconds of the emulator's one clock: wall time plus the offset that
``POST /_emulator/clock`` advances. ``stage_s``, ``window_s``, file expiry and ``output_file_ttl_s``
all run on it, so a test either waits or advances the clock, and both agree.

Faults are reproducible: per-line decisions draw from a generator seeded with ``seed`` and the
batch's creation number, per-request HTTP faults from one generator seeded with ``seed``, and the
``*_next`` / ``*_batches`` counters hit exactly the next N requests or batches.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, PositiveInt, SecretStr
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
    # --- validation of batch input lines (every batch created while set) --------------------
    invalid_lines: list[str | int] = Field(
        default_factory=list,
        description="custom_ids (strings) or 1-based line numbers (integers) that validation rejects.",
    )
    invalid_line_rate: float = Field(
        default=0.0, ge=0, le=1, description="Share of lines that validation rejects (seeded per batch)."
    )
    # --- Anthropic's /v1/messages/batches only ----------------------------------------------
    overloaded_next: int = Field(
        default=0, ge=0, description="The next N Anthropic requests get 529 overloaded_error."
    )
    overloaded_rate: float = Field(
        default=0.0, ge=0, le=1, description="Share of Anthropic requests answered 529 overloaded_error."
    )


class WallConfig(BaseModel):
    """The real service's limits that a client runs into. All unset = no wall (the default).

    Off by default because the pipeline does not react to them yet; tests switch them on. The
    exceptions are limits every real account has at one fixed value (Anthropic's 29-day results
    and 256 MB per batch): they are on at that value, and a test lowers them.
    """

    model_config = ConfigDict(validate_assignment=True, extra="forbid")

    enqueued_token_limit: int | None = Field(
        default=None,
        ge=1,
        description="Default per-model limit of enqueued tokens; over it = token_limit_exceeded.",
    )
    enqueued_token_limits: dict[str, PositiveInt] = Field(
        default_factory=dict, description="Per-model limits, overriding enqueued_token_limit."
    )
    output_file_ttl_s: float | None = Field(
        default=None,
        ge=0,
        description="Output/error files expire this long after their batch ended (clock seconds).",
    )
    max_files: int | None = Field(default=None, ge=0, description="Files the organisation may store.")
    max_storage_bytes: int | None = Field(
        default=None, ge=0, description="Bytes the organisation may store, all files together."
    )

    anthropic_queue_limit: int | None = Field(
        default=None,
        ge=1,
        description="Anthropic: requests per model in the processing queue; over it = 429 rate_limit_error.",
    )
    anthropic_queue_limits: dict[str, PositiveInt] = Field(
        default_factory=dict,
        description="Anthropic: per-model queue limits, overriding anthropic_queue_limit.",
    )
    anthropic_results_ttl_s: float | None = Field(
        default=29 * 86_400.0,
        ge=0,
        description="Anthropic: results are gone (404) this long after the batch was created; null = never.",
    )
    anthropic_max_batch_bytes: int = Field(
        default=256 * 1024 * 1024,
        ge=1,
        description="Anthropic: a larger create body = 413 request_too_large.",
    )

    def token_limit(self, model: str | None) -> int | None:
        """The limit of ``model``: its own entry, else the default (limits are per model at OpenAI)."""
        if model is not None and model in self.enqueued_token_limits:
            return self.enqueued_token_limits[model]
        return self.enqueued_token_limit

    def queue_limit(self, model: str) -> int | None:
        """Anthropic's limit of ``model``'s requests in the processing queue (per model, like OpenAI's)."""
        return self.anthropic_queue_limits.get(model, self.anthropic_queue_limit)


class EmulatorConfig(BaseSettings, WallConfig, FaultConfig):
    """Everything the emulator server needs. Built once and passed to :func:`create_app`."""

    model_config = SettingsConfigDict(env_prefix="BATCHLINE_EMULATOR_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = Field(default=18080, ge=0, le=65535)
    api_key: SecretStr | None = Field(
        default=None, description="Required bearer token; unset = any non-empty key is accepted."
    )
    api_keys: list[SecretStr] = Field(
        default_factory=list, description="Further accepted bearer tokens (key rotation: old and new)."
    )
    keys_revoked: bool = Field(default=False, description="Every key is refused (401) until restored.")
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
    webhook_url: str | None = Field(
        default=None, description="POST a signed batch.* event here when a batch ends; unset = no webhooks."
    )
    webhook_secret: SecretStr | None = Field(
        default=None, description="The whsec_ secret webhooks are signed with (needed with webhook_url)."
    )
    answer_mode: Literal["model", "fast"] = Field(
        default="model",
        description=(
            "How answered lines are judged: 'model' runs the keyword stand-in model over each conversation; "
            "'fast' (benchmarks) answers every line with one fixed schema-valid analysis, so a benchmark "
            "measures the pipeline rather than the stand-in model."
        ),
    )

    def faults(self) -> FaultConfig:
        return FaultConfig.model_validate(self.model_dump(include=set(FaultConfig.model_fields)))

    def walls(self) -> WallConfig:
        return WallConfig.model_validate(self.model_dump(include=set(WallConfig.model_fields)))

    def keys(self) -> list[str] | None:
        """The accepted keys; None = any non-empty key."""
        keys = ([self.api_key] if self.api_key is not None else []) + self.api_keys
        return [k.get_secret_value() for k in keys] or None
