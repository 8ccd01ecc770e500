"""The port the services depend on to talk to a batch provider, and its error tree.

Error tree (callers catch the narrowest class that changes what they do)::

    ProviderError                 anything the provider call could not do
    ├── RetryableProviderError    429, 5xx, timeouts, connection errors: try again later
    └── PermanentProviderError    other 4xx: the request itself is wrong; retrying cannot help
        ├── ConfigurationFault    401, 403, unknown model, bad window, quota, full file store:
        │                         our configuration or account must change, not the batch
        └── ProviderNotFound      404: the file or batch does not exist (or not yet: upload race)

Every error also says who must act (:class:`FaultOwner`): the operator (configuration), the batch's
content, or nobody (transient). Callers decide by owner, so a revoked key pauses work instead of
failing the backlog, and only a content fault costs a request an attempt.

Messages never contain the API key: adapters build them from status, method and path only.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from shared.lifecycle import BATCH_TERMINAL, PROVIDER_STATUS_MAP

BATCH_ENDPOINT = "/v1/chat/completions"
#: Metadata key that carries our local batch id; reconciliation finds provider batches by it.
LOCAL_BATCH_ID_KEY = "batchline_batch_id"

#: The provider's spelling of the lifecycle's terminal batch statuses (derived: one list of terminals).
TERMINAL_PROVIDER_STATUSES = frozenset(k for k, v in PROVIDER_STATUS_MAP.items() if v in BATCH_TERMINAL)


class FaultOwner(StrEnum):
    #: Our configuration or account (key, permissions, model, window, quota, file store): pause.
    CONFIGURATION = "configuration"
    #: The batch's content (validation errors, a bad line): charge only what is named.
    CONTENT = "content"
    #: Nobody's: rate limits, server errors, timeouts. Retry later, within a cap.
    TRANSIENT = "transient"


class ProviderError(Exception):
    """A provider call failed. ``status`` is the HTTP status when there was a response."""

    owner: FaultOwner = FaultOwner.CONTENT

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


class RetryableProviderError(ProviderError):
    """Transient: rate limit, server error, timeout. Retrying later is expected to succeed."""

    owner = FaultOwner.TRANSIENT

    #: Seconds the provider asked us to wait (``Retry-After``), when it said; callers may use it
    #: to schedule their next try after the adapter's own retry budget ran out.
    retry_after: float | None = None


class PermanentProviderError(ProviderError):
    """The provider rejected the request; sending it again unchanged will fail again."""


class ConfigurationFault(PermanentProviderError):
    """Refused because of who we are or how we are set up; the batch would fail anywhere the same.

    Nothing about the requests is wrong: callers pause the provider/model (a circuit) and try again
    with backoff, charging no attempt, until an operator fixes the key, quota or setting.
    """

    owner = FaultOwner.CONFIGURATION


class ProviderNotFound(PermanentProviderError):
    """The file or batch does not exist."""


@dataclass(frozen=True, slots=True)
class RequestCounts:
    total: int = 0
    completed: int = 0
    failed: int = 0


@dataclass(frozen=True, slots=True)
class BatchUsage:
    """The provider's ``usage`` of a whole batch (OpenAI, batches created since 2025-09): input tokens
    (cached ones included), of which served from the prompt cache, and output tokens."""

    input_tokens: int = 0
    cached_tokens: int = 0
    output_tokens: int = 0


@dataclass(frozen=True, slots=True)
class BatchError:
    code: str | None
    message: str | None
    line: int | None = None
    param: str | None = None


@dataclass(frozen=True, slots=True)
class ProviderFile:
    id: str
    bytes: int
    filename: str
    purpose: str
    created_at: int


@dataclass(frozen=True, slots=True)
class ProviderBatch:
    """The provider's batch object, reduced to what batchline reads. ``raw`` keeps the full JSON."""

    id: str
    status: str
    input_file_id: str
    output_file_id: str | None
    error_file_id: str | None
    created_at: int
    expires_at: int | None
    request_counts: RequestCounts
    errors: tuple[BatchError, ...] = ()
    metadata: dict[str, str] = field(default_factory=dict)
    #: None when the provider reports no usage (older batches, other providers).
    usage: BatchUsage | None = None
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def local_batch_id(self) -> str | None:
        return self.metadata.get(LOCAL_BATCH_ID_KEY)

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL_PROVIDER_STATUSES


@runtime_checkable
class BatchProvider(Protocol):
    """What the submitter, poller and ingester need from a batch API (OpenAI's shape)."""

    async def upload_file(self, path: Path, *, filename: str | None = None) -> ProviderFile:
        """Upload a JSONL file with ``purpose=batch``, streaming it from disk."""

    async def create_batch(self, input_file_id: str, *, metadata: dict[str, str]) -> ProviderBatch:
        """Create a ``/v1/chat/completions`` batch over an uploaded file (24h window from settings)."""

    async def retrieve_batch(self, batch_id: str) -> ProviderBatch: ...

    async def cancel_batch(self, batch_id: str) -> ProviderBatch: ...

    def list_batches(self, *, page_size: int = 100, model: str | None = None) -> AsyncIterator[ProviderBatch]:
        """All batches, newest first, following ``after`` cursors until ``has_more`` is false.

        ``model`` narrows a listing over several APIs to the one that runs that model, so looking for
        one batch never depends on (or fails with) another provider; a single adapter ignores it."""

    def iter_file_lines(self, file_id: str) -> AsyncIterator[bytes]:
        """The file's content as a stream of non-empty lines (without newline), bounded memory."""

    async def delete_file(self, file_id: str) -> bool:
        """Delete a file; True when the provider confirms. A file that does not exist raises
        :class:`ProviderNotFound` (callers that only want it gone treat that as done)."""

    async def aclose(self) -> None: ...
