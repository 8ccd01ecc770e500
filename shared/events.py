"""Event contracts on batchline's topics: JSON on the wire, keyed by company id, versioned.

Events wake a stage; the database is the truth. An event therefore carries what its consumer needs
to find the work (ids) and its partition key, not a copy of the state: the consumer reads the rows.

``schema_version`` is the version of one event type's contract (each type counts on its own):
- consumers ignore unknown fields, so *adding* a field needs no bump and no coordinated release;
- *removing* a field (or changing its meaning or type) is done by bumping the type's version. The
  writer then stamps the new version and every consumer lists the versions it reads (``READS``):
  a newer consumer still reads the older version (its extra fields are ignored), so a topic written
  before the change replays cleanly; an older consumer refuses the newer version with a reason and
  the record is dead-lettered instead of misread (the database sweeps recover the work). Deploy the
  consumers first, then the writers.
Consumers reject a missing required field or a wrong type with a reason that names the field; the
consumer loop dead-letters such records instead of stopping.

Versions today: ``session.upserted`` and ``request.pending`` 1; ``batch.created`` and
``batch.completed`` 2 (version 2 dropped the copies of database state nobody read: the provider ids,
model, request count, status and file ids; only ``batch_id`` is read, ``company_id`` is the key).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, ClassVar, Literal, Protocol, TypeVar

import orjson
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

from shared.analysis import ProcessingType

#: Version of the contracts that never changed (session events, request.pending, dead letters); also
#: what a record without ``schema_version`` is taken to be.
SCHEMA_VERSION: Literal[1] = 1


def _storable_text(v: str) -> str:
    """PostgreSQL text cannot hold NUL, and lone surrogates cannot be encoded as UTF-8.

    ASCII text has no surrogates: its encoding (a copy of every message, at intake) is skipped."""
    if "\x00" in v:
        raise ValueError("contains a NUL character")
    if v.isascii():
        return v
    try:
        v.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("contains a lone surrogate (not valid Unicode text)") from None
    return v


#: Identifiers come from upstream systems; bound them so a hostile value cannot bloat keys or rows,
#: and keep them storable (a NUL would otherwise fail the handler's SQL instead of the decode).
Ident = Annotated[
    str,
    StringConstraints(min_length=1, max_length=200, strip_whitespace=True),
    AfterValidator(_storable_text),
]
ModelName = Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9._:/-]+$")]

MAX_MESSAGES_PER_SESSION = 5_000
MAX_MESSAGE_CHARS = 100_000


class DecodeError(ValueError):
    """A record could not be turned into an event; ``str()`` is the reason stored in the DLQ."""


class _Event(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, str_strip_whitespace=False)

    #: Versions of this type's contract that :func:`decode` accepts (the current one and the older
    #: ones it can still read: versions that only had more fields).
    READS: ClassVar[frozenset[int]] = frozenset({SCHEMA_VERSION})

    schema_version: int = SCHEMA_VERSION
    event_id: Ident

    def key(self) -> bytes:
        """Kafka message key: the company id, so one company's events share a partition.

        Order across a company's events is not relied on: with relays in several processes, outbox
        rows may be published out of order, and every consumer is idempotent and order-independent.
        """
        return self.company_key().encode()

    def company_key(self) -> str:
        raise NotImplementedError

    def to_bytes(self) -> bytes:
        """The JSON of ``model_dump(mode="json")``, serialized by pydantic-core in one call."""
        return self.__pydantic_serializer__.to_json(self)


class SessionMessage(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    role: Annotated[str, StringConstraints(min_length=1, max_length=32), AfterValidator(_storable_text)]
    content: Annotated[str, StringConstraints(max_length=MAX_MESSAGE_CHARS), AfterValidator(_storable_text)]
    order: int | None = Field(
        default=None, ge=0, le=2**31 - 1, description="Position; list order is used when absent."
    )


class SessionEvent(_Event):
    """Upstream ``session.events``: a conversation to store and (re)analyse.

    A session is ``(company_id, session_id)``: session ids are each company's own, so the same id
    from two companies is two sessions. Idempotency: ``(company_id, session_id, processing_type,
    model)`` is analysed once. Sending the same session again with new messages updates the stored
    conversation; it is analysed again only when ``reanalyze`` is true (and then once per distinct
    conversation content).
    """

    type: Literal["session.upserted"] = "session.upserted"
    company_id: Ident
    session_id: Ident
    started_at: datetime
    ended_at: datetime | None = None
    messages: Annotated[list[SessionMessage], Field(min_length=1, max_length=MAX_MESSAGES_PER_SESSION)]
    processing_types: Annotated[list[ProcessingType], Field(min_length=1, max_length=4)] = Field(
        default_factory=lambda: [ProcessingType.FULL_ANALYSIS]
    )
    models: Annotated[list[ModelName], Field(min_length=1, max_length=4)] | None = None
    reanalyze: bool = False

    def company_key(self) -> str:
        return self.company_id

    @field_validator("started_at", "ended_at")
    @classmethod
    def _aware(cls, v: datetime | None) -> datetime | None:
        if v is not None and v.tzinfo is None:
            return v.replace(tzinfo=UTC)
        if v is not None and v.year in (1, 9999):
            # timestamptz is stored in UTC: 0001-01-01T00:00+05:00 or 9999-12-31T23:00-05:00 is a
            # valid Python datetime whose UTC instant is not (it failed the handler's SQL). An offset
            # is under a day, so only the first and last years can overflow.
            try:
                v.astimezone(UTC)
            except OverflowError:
                raise ValueError("out of range once converted to UTC") from None
        return v

    @model_validator(mode="after")
    def _consistent(self) -> SessionEvent:
        if self.ended_at is not None and self.ended_at < self.started_at:
            raise ValueError("ended_at is before started_at")
        orders = [m.order for m in self.messages if m.order is not None]
        if orders and len(orders) != len(self.messages):
            raise ValueError("messages: give 'order' for every message or for none")
        if len(set(orders)) != len(orders):
            raise ValueError("messages: duplicate 'order' values")
        if len(set(self.processing_types)) != len(self.processing_types):
            raise ValueError("processing_types: duplicates")
        return self

    def ordered_messages(self) -> list[tuple[int, str, str]]:
        """(order, role, content) sorted; list position stands in for a missing order."""
        rows = [
            (m.order if m.order is not None else i, m.role, m.content) for i, m in enumerate(self.messages)
        ]
        return sorted(rows)


class RequestPending(_Event):
    """A processing request waits for a batch (new, or returned for another attempt)."""

    type: Literal["request.pending"] = "request.pending"
    request_id: Ident
    company_id: Ident
    session_id: Ident
    processing_type: ProcessingType
    model: ModelName
    attempt: int = Field(ge=1)
    approx_bytes: int = Field(ge=0, description="Size estimate of its JSONL line, for the byte limit.")

    def company_key(self) -> str:
        return self.company_id


class PendingRequestRow(Protocol):
    """What a database row needs to be announced as pending (producer inserts, ingester retries)."""

    @property
    def id(self) -> uuid.UUID: ...
    @property
    def session_id(self) -> str: ...
    @property
    def company_id(self) -> str: ...
    @property
    def processing_type(self) -> str: ...
    @property
    def model(self) -> str: ...
    @property
    def attempt(self) -> int: ...
    @property
    def approx_bytes(self) -> int: ...


def pending_event(row: PendingRequestRow, cause: str) -> RequestPending:
    """``request.pending`` for a request row; ``cause`` keeps event ids unique per announcement."""
    return RequestPending(
        event_id=f"{row.id}:{row.attempt}:{cause}",
        request_id=str(row.id),
        company_id=row.company_id,
        session_id=row.session_id,
        processing_type=ProcessingType(row.processing_type),
        model=row.model,
        attempt=row.attempt,
        approx_bytes=row.approx_bytes,
    )


class BatchCreated(_Event):
    """A provider batch exists for a local batch: the poller schedules its first poll.

    Version 2 (v1 also had ``model``, ``provider_batch_id`` and ``request_count``, which the poller
    never read: it reads the batch row).
    """

    READS: ClassVar[frozenset[int]] = frozenset({1, 2})

    schema_version: int = 2
    type: Literal["batch.created"] = "batch.created"
    batch_id: uuid.UUID
    company_id: Ident

    def company_key(self) -> str:
        return self.company_id


class BatchCompleted(_Event):
    """A batch reached a terminal provider status (or failed at submission): the ingester resolves it.

    Version 2 (v1 also had ``model``, ``provider_batch_id``, ``status`` and the file ids: the ingester
    reads them from the batch row, which is what it must trust on a replay or a sweep anyway).
    """

    READS: ClassVar[frozenset[int]] = frozenset({1, 2})

    schema_version: int = 2
    type: Literal["batch.completed"] = "batch.completed"
    batch_id: uuid.UUID
    company_id: Ident

    def company_key(self) -> str:
        return self.company_id


#: Original bytes a dead letter carries in full. Base64 makes them 4/3 larger, and the letter must fit
#: the broker's default ``message.max.bytes`` (1 MiB) even for a record just under that size, so a
#: larger value (or key) is kept as a prefix, with its full size and SHA-256 to identify it.
DLQ_MAX_ORIGINAL_BYTES = 512 * 1024
DLQ_MAX_KEY_BYTES = 4 * 1024


class DeadLetter(BaseModel):
    """What lands on ``<topic>.dlq``: the original record plus why it could not be processed."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    schema_version: Literal[1] = SCHEMA_VERSION
    topic: str
    partition: int
    offset: int
    key: str | None = Field(description="Original key, base64 (a prefix if truncated).")
    value: str | None = Field(
        description="Original bytes, base64 (they may not be UTF-8 or JSON); a prefix if truncated."
    )
    error: str
    consumer_group: str
    failed_at: datetime
    truncated: bool = Field(default=False, description="key/value hold only a prefix of the original.")
    value_bytes: int | None = Field(default=None, description="Size of the original value.")
    value_sha256: str | None = Field(default=None, description="SHA-256 of the original value (hex).")

    def to_bytes(self) -> bytes:
        """The JSON of ``model_dump(mode="json")``, serialized by pydantic-core in one call."""
        return self.__pydantic_serializer__.to_json(self)


E = TypeVar("E", bound=_Event)


def decode(model: type[E], raw: bytes | None) -> E:
    """Parse one record value into ``model`` or raise DecodeError with a short, specific reason."""
    if raw is None:
        raise DecodeError("empty record value (tombstone)")
    try:
        data: Any = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise DecodeError(f"not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise DecodeError(f"expected a JSON object, got {type(data).__name__}")
    version = data.pop("schema_version", SCHEMA_VERSION)
    if type(version) is not int or version not in model.READS:
        reads = ", ".join(str(v) for v in sorted(model.READS))
        raise DecodeError(f"unsupported schema_version {version!r} (this consumer reads {reads})")
    try:
        # An older version is read as the current one: its fields are a superset.
        return model.model_validate(data)
    except ValidationError as exc:
        raise DecodeError(_reason(exc)) from None
    except RecursionError:
        raise DecodeError("payload nested too deeply") from None


def _reason(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors(include_url=False, include_input=False)[:5]:
        loc = ".".join(str(p) for p in err["loc"]) or "<root>"
        parts.append(f"{loc}: {err['msg']}")
    more = exc.error_count() - len(parts)
    suffix = f" (+{more} more)" if more > 0 else ""
    return "invalid event: " + "; ".join(parts) + suffix
