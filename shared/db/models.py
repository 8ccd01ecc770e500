"""Tables of batchline (SQLAlchemy 2, typed). The alembic migrations in ``migrations/`` create them.

Statuses are plain text with CHECK constraints listing ``shared.lifecycle``'s enums: readable in psql,
and a new status is a migration that widens the check rather than an ``ALTER TYPE``.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    PrimaryKeyConstraint,
    String,
    Text,
    UniqueConstraint,
    and_,
    column,
    false,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.sql.elements import ColumnElement

from shared.lifecycle import BATCH_TERMINAL, HOLDING_TOKENS, IN_FLIGHT, BatchStatus, RequestStatus

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

Timestamp = DateTime(timezone=True)


def status_in(*statuses: StrEnum) -> ColumnElement[bool]:
    """A CHECK or partial-index predicate built from the enums: DDL renders the values, no SQL spells them."""
    return column("status").in_(sorted(s.value for s in statuses))


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Session(Base):
    """One conversation of one company, identified by ``(company_id, id)``.

    Session ids come from each company's own systems, so two companies may use the same one: the
    company is part of the key everywhere (messages, requests), and nothing is found by ``id`` alone.
    """

    __tablename__ = "sessions"
    __table_args__ = (PrimaryKeyConstraint("company_id", "id"),)

    id: Mapped[str] = mapped_column(String(200))
    company_id: Mapped[str] = mapped_column(String(200), index=True)
    started_at: Mapped[datetime] = mapped_column(Timestamp)
    ended_at: Mapped[datetime | None] = mapped_column(Timestamp)
    summary: Mapped[str | None] = mapped_column(Text)
    sentiment: Mapped[str | None] = mapped_column(String(16))
    category: Mapped[str | None] = mapped_column(String(32))
    language: Mapped[str | None] = mapped_column(String(8))
    #: The stored summary was longer than the limit and was cut (kept with the answer, not failed).
    #: It sits beside ``summary`` because it describes that value: a later summary replaces both.
    summary_truncated: Mapped[bool] = mapped_column(Boolean, server_default=false())
    #: The request revision the analysis fields above came from, and when they were last written: a
    #: result of another revision first copies them to ``session_analyses_history`` (the ingester).
    analysis_revision: Mapped[str | None] = mapped_column(String(64))
    analysed_at: Mapped[datetime | None] = mapped_column(Timestamp)
    #: sha256 of the ordered messages; a re-analysis is keyed by it so replays create nothing new.
    content_hash: Mapped[str] = mapped_column(String(64))
    message_count: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(Timestamp, server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(Timestamp, server_default=func.now())


class SessionAnalysisHistory(Base):
    """A session's analysis as it stood before a result of another revision replaced it.

    ``batchline reprocess`` analyses sessions again under a new revision; the earlier answers stay
    readable here instead of being overwritten. Keyed by (company, session, revision), not by the
    session row, so a replayed ingest adds nothing and the key survives a change of the sessions'
    own identity; no foreign key, the history outlives nothing it needs.
    """

    __tablename__ = "session_analyses_history"
    __table_args__ = (PrimaryKeyConstraint("company_id", "session_id", "revision"),)

    company_id: Mapped[str] = mapped_column(String(200))
    session_id: Mapped[str] = mapped_column(String(200))
    revision: Mapped[str] = mapped_column(String(64))
    sentiment: Mapped[str | None] = mapped_column(String(16))
    category: Mapped[str | None] = mapped_column(String(32))
    summary: Mapped[str | None] = mapped_column(Text)
    language: Mapped[str | None] = mapped_column(String(8))
    summary_truncated: Mapped[bool] = mapped_column(Boolean, server_default=false())
    analysed_at: Mapped[datetime | None] = mapped_column(Timestamp)
    archived_at: Mapped[datetime] = mapped_column(Timestamp, server_default=func.now())


class StoredMessage(Base):
    """One message of a stored session, in conversation order (the event's messages as written)."""

    __tablename__ = "session_messages"
    __table_args__ = (
        UniqueConstraint("company_id", "session_id", "order"),
        ForeignKeyConstraint(
            ["company_id", "session_id"], ["sessions.company_id", "sessions.id"], ondelete="CASCADE"
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    company_id: Mapped[str] = mapped_column(String(200))
    session_id: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(32))
    content: Mapped[str] = mapped_column(Text)
    order: Mapped[int] = mapped_column("order", Integer)


class ProcessingRequest(Base):
    """One analysis of one session by one model. Its id is derived from its natural key (see producer)."""

    __tablename__ = "ai_processing_requests"
    __table_args__ = (
        # Also the index of a session's requests (its leading columns): no separate session index.
        UniqueConstraint("company_id", "session_id", "processing_type", "model", "revision"),
        ForeignKeyConstraint(
            ["company_id", "session_id"], ["sessions.company_id", "sessions.id"], ondelete="CASCADE"
        ),
        CheckConstraint(status_in(*RequestStatus), name="status"),
        CheckConstraint("attempt >= 1", name="attempt"),
        # What the submitter scans: pending, unbatched requests of one (company, model), oldest first;
        # ``id`` is the claim's tie-breaker, so the index walk is the claim order (no sort).
        Index(
            "ix_requests_pending",
            "company_id",
            "model",
            "requested_at",
            "id",
            postgresql_where=and_(status_in(RequestStatus.PENDING_BATCHING), column("batch_id").is_(None)),
        ),
        # ``batchline requests retry``: the failed requests of a company (few rows, a large table).
        Index(
            "ix_requests_failed",
            "company_id",
            "requested_at",
            postgresql_where=status_in(RequestStatus.PROCESSING_FAILED),
        ),
        Index("ix_requests_batch", "batch_id"),
        # The submitter's calibration: the most recently completed requests of a model.
        Index(
            "ix_requests_calibration",
            "model",
            "completed_at",
            postgresql_where=status_in(RequestStatus.PROCESSING_COMPLETE),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    session_id: Mapped[str] = mapped_column(String(200))
    company_id: Mapped[str] = mapped_column(String(200))
    processing_type: Mapped[str] = mapped_column(String(32))
    model: Mapped[str] = mapped_column(String(100))
    #: "initial", or the content hash a re-analysis was requested for.
    revision: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(32), default=RequestStatus.PENDING_BATCHING.value)
    #: References ``provider_batches.id``, enforced per statement by triggers (migration 0007s), not a
    #: foreign key: the claim sets it on 50,000 rows at once and a per-row check cost more than the rest.
    batch_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    attempt: Mapped[int] = mapped_column(Integer, default=1)
    approx_bytes: Mapped[int] = mapped_column(Integer, default=0)
    #: Input-token estimate from ``approx_bytes`` at the model's calibrated rate, written at its claim.
    est_tokens: Mapped[int | None] = mapped_column(Integer)
    #: Times it went back to pending for capacity (token_limit_exceeded): its retry delay grows with it.
    requeues: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    #: Backoff: not claimable before this time (retries, token-limit requeues).
    not_before: Mapped[datetime | None] = mapped_column(Timestamp)
    prompt_tokens: Mapped[int | None] = mapped_column(Integer)
    completion_tokens: Mapped[int | None] = mapped_column(Integer)
    total_tokens: Mapped[int | None] = mapped_column(Integer)
    #: Of ``prompt_tokens``, those the provider served from its prompt cache (all attempts).
    cached_tokens: Mapped[int | None] = mapped_column(Integer)
    success: Mapped[bool | None] = mapped_column(Boolean)
    error_message: Mapped[str | None] = mapped_column(Text)
    #: Finished by a fallback for an expired or cancelled batch's remainder: ``sync`` or ``provider``.
    fallback: Mapped[str | None] = mapped_column(String(16))
    #: The model first asked (the provider fallback maps it to one on the second provider).
    fallback_from_model: Mapped[str | None] = mapped_column(String(100))
    requested_at: Mapped[datetime] = mapped_column(Timestamp, server_default=func.now())
    completed_at: Mapped[datetime | None] = mapped_column(Timestamp)
    updated_at: Mapped[datetime] = mapped_column(Timestamp, server_default=func.now())


class Batch(Base):
    """One batch sent (or about to be sent) to a provider.

    It is recorded PENDING_SUBMISSION before the provider is called, so a crash leaves a trace that
    the submitter's reconciler can resume or clean up.
    """

    __tablename__ = "provider_batches"
    __table_args__ = (
        CheckConstraint(status_in(*BatchStatus), name="status"),
        Index(
            "ix_batches_due",
            "next_poll_at",
            postgresql_where=status_in(*IN_FLIGHT),
        ),
        Index(
            "ix_batches_unsubmitted",
            "created_at",
            postgresql_where=status_in(BatchStatus.PENDING_SUBMISSION),
        ),
        Index("ix_batches_company", "company_id", "status"),
        # The ingester's recovery sweep: finished by the provider, not ingested yet (few rows, while
        # the table keeps every PROCESSED batch ever made).
        Index(
            "ix_batches_unprocessed",
            "completed_at",
            postgresql_where=status_in(*BATCH_TERMINAL),
        ),
        # The enqueued tokens of a model (admission sums them under the model's lock).
        Index("ix_batches_enqueued", "provider", "model", postgresql_where=status_in(*HOLDING_TOKENS)),
        # Finished batches whose outcome the learned limit has not taken in yet.
        Index(
            "ix_batches_feedback",
            "provider",
            "model",
            postgresql_where=and_(
                column("limit_feedback_at").is_(None), column("estimated_tokens").is_not(None)
            ),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    company_id: Mapped[str] = mapped_column(String(200))
    model: Mapped[str] = mapped_column(String(100))
    provider: Mapped[str] = mapped_column(String(32), default="openai")
    provider_batch_id: Mapped[str | None] = mapped_column(String(200), unique=True)
    input_file_id: Mapped[str | None] = mapped_column(String(200))
    output_file_id: Mapped[str | None] = mapped_column(String(200))
    error_file_id: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(32), default=BatchStatus.PENDING_SUBMISSION.value)
    request_count: Mapped[int] = mapped_column(Integer, default=0)
    completed_count: Mapped[int | None] = mapped_column(Integer)
    failed_count: Mapped[int | None] = mapped_column(Integer)
    file_bytes: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(Timestamp, server_default=func.now())
    submitted_at: Mapped[datetime | None] = mapped_column(Timestamp)
    completed_at: Mapped[datetime | None] = mapped_column(Timestamp)
    processed_at: Mapped[datetime | None] = mapped_column(Timestamp)
    #: The poller's schedule, owned by the poller alone (set when it learns of the batch).
    next_poll_at: Mapped[datetime | None] = mapped_column(Timestamp)
    #: The submitter's retry timer for a batch still PENDING_SUBMISSION (a failed or abandoned attempt).
    submit_retry_at: Mapped[datetime | None] = mapped_column(Timestamp)
    poll_count: Mapped[int] = mapped_column(Integer, default=0)
    submit_attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    #: Codes of the provider's batch-level errors (e.g. token_limit_exceeded), for the ingester's rules.
    error_codes: Mapped[list[str] | None] = mapped_column(ARRAY(String(64)))
    #: The provider's ``errors.data[]`` of a failed batch (``code``, ``message``, ``param``, ``line``):
    #: errors naming input lines charge only the requests on those lines (``services.ingester.lines``).
    validation_errors: Mapped[list[dict[str, object]] | None] = mapped_column(JSONB)
    #: The ingester's own record of the batch (the poller's fields above are the provider's):
    #: consecutive failed ingests (configuration faults excluded), when the recovery sweep may try
    #: again, the last failure (or, once PROCESSED, why a file could not be read) and, after too many
    #: failures, since when the batch is quarantined (left alone until an operator clears it).
    ingest_failures: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    ingest_retry_at: Mapped[datetime | None] = mapped_column(Timestamp)
    ingest_error: Mapped[str | None] = mapped_column(Text)
    ingest_quarantined_at: Mapped[datetime | None] = mapped_column(Timestamp)
    #: Token admission (``services.submitter.token_budget``): the batch's input-token estimate (sum of
    #: its requests' ``est_tokens``), the model's enqueued tokens counted when it was admitted, the
    #: tokens-per-byte rate of its estimates, and when its outcome was fed back into the learned limit.
    estimated_tokens: Mapped[int | None] = mapped_column(BigInteger)
    admitted_enqueued: Mapped[int | None] = mapped_column(BigInteger)
    token_rate: Mapped[float | None] = mapped_column(Float)
    limit_feedback_at: Mapped[datetime | None] = mapped_column(Timestamp)
    #: Money (``cli.costs``): the list prices per 1M tokens and the batch discount the batch was charged
    #: at, written by the ingester when it processes the batch (NULL: no price was configured then),
    #: the usage summed over its output and error lines (what its requests store), the provider's own
    #: ``usage`` of the batch (written by the poller; NULL when the provider reports none), and whether
    #: the two differ (NULL: not compared).
    price_input_per_million: Mapped[Decimal | None] = mapped_column(Numeric)
    price_cached_input_per_million: Mapped[Decimal | None] = mapped_column(Numeric)
    price_output_per_million: Mapped[Decimal | None] = mapped_column(Numeric)
    price_batch_discount: Mapped[Decimal | None] = mapped_column(Numeric)
    lines_input_tokens: Mapped[int | None] = mapped_column(BigInteger)
    lines_cached_tokens: Mapped[int | None] = mapped_column(BigInteger)
    lines_output_tokens: Mapped[int | None] = mapped_column(BigInteger)
    provider_input_tokens: Mapped[int | None] = mapped_column(BigInteger)
    provider_cached_tokens: Mapped[int | None] = mapped_column(BigInteger)
    provider_output_tokens: Mapped[int | None] = mapped_column(BigInteger)
    usage_mismatch: Mapped[bool | None] = mapped_column(Boolean)


class ModelTokenLimit(Base):
    """The enqueued-token limit learned for a model from the provider's refusals (none = configured).

    ``learned_limit`` is in estimated tokens at ``tokens_per_byte``; when calibration moves the rate,
    the submitter rescales it, so it keeps meaning the same amount of work. ``lowered_at`` is the last
    refusal, ``updated_at`` the last change (down or up) and ``succeeded_at`` the admission time of the
    newest batch that succeeded since: a recovery step needs one admitted after the last change.
    """

    __tablename__ = "model_token_limits"
    __table_args__ = (PrimaryKeyConstraint("provider", "model"),)

    provider: Mapped[str] = mapped_column(String(32))
    model: Mapped[str] = mapped_column(String(100))
    learned_limit: Mapped[int] = mapped_column(BigInteger)
    tokens_per_byte: Mapped[float] = mapped_column(Float)
    lowered_at: Mapped[datetime] = mapped_column(Timestamp, server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(Timestamp, server_default=func.now())
    succeeded_at: Mapped[datetime | None] = mapped_column(Timestamp)


class CompanyBudget(Base):
    """A company's monthly spend cap in USD (``services.submitter.budget``); ``provider`` NULL = all.

    One row per (company, provider or none): the unique index folds NULL to '' so "all providers"
    is one row too. The claim reads this table every time, so a change applies without a restart.
    """

    __tablename__ = "company_budgets"
    __table_args__ = (
        CheckConstraint("monthly_usd >= 0", name="monthly_usd_not_negative"),
        Index("ux_company_budgets_scope", "company_id", text("coalesce(provider, '')"), unique=True),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    company_id: Mapped[str] = mapped_column(String(200))
    provider: Mapped[str | None] = mapped_column(String(32))
    monthly_usd: Mapped[Decimal] = mapped_column(Numeric)
    updated_at: Mapped[datetime] = mapped_column(Timestamp, server_default=func.now())


class BudgetHold(Base):
    """Why a group's pending requests wait: its company's budget cannot take them this month.

    Written by the claim that held them back (same transaction), removed by the first claim the
    budget no longer limits; ``held_requests`` is the group's claimable backlog at that claim.
    """

    __tablename__ = "budget_holds"
    __table_args__ = (PrimaryKeyConstraint("company_id", "model"),)

    company_id: Mapped[str] = mapped_column(String(200))
    model: Mapped[str] = mapped_column(String(100))
    provider: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(Text)
    held_requests: Mapped[int] = mapped_column(Integer)
    held_at: Mapped[datetime] = mapped_column(Timestamp, server_default=func.now())


class ProviderCircuit(Base):
    """An open configuration circuit of one (provider, model): submissions pause until ``probe_at``.

    Shared by every submitter instance (the rules are :mod:`shared.circuit`'s); the row is deleted when
    a probe succeeds, so the table holds only what is paused now (``batchline report`` lists it).
    """

    __tablename__ = "provider_circuits"
    __table_args__ = (PrimaryKeyConstraint("provider", "model"),)

    provider: Mapped[str] = mapped_column(String(32))
    model: Mapped[str] = mapped_column(String(100))
    reason: Mapped[str] = mapped_column(Text)
    opened_at: Mapped[datetime] = mapped_column(Timestamp)
    #: Configuration faults in a row since the circuit opened (the opening one included).
    faults: Mapped[int] = mapped_column(Integer)
    probe_at: Mapped[datetime] = mapped_column(Timestamp)


class BatchItem(Base):
    """Which requests went into which batch, kept after a request moves on (audit, accounting).

    Stored at ``fillfactor = 50`` (migration 0007s): the line written after the upload then updates
    each item in place (HOT) instead of adding a tuple and two index entries.
    """

    __tablename__ = "ai_batch_items"
    __table_args__ = (
        PrimaryKeyConstraint("batch_id", "request_id"),
        Index("ix_batch_items_request", "request_id"),
    )

    #: Both reference their tables (deleting either deletes the item) through per-statement triggers of
    #: migration 0007s instead of foreign keys: the claim inserts one item per claimed request.
    batch_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    request_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    attempt: Mapped[int] = mapped_column(Integer)
    #: The request's 1-based line in the batch's input file, written with the uploaded file's id.
    line: Mapped[int | None] = mapped_column(Integer)


class DuplicateBatch(Base):
    """A provider batch carrying one of our batch ids that is not the recorded copy (it was cancelled).

    Kept because the provider bills whatever lines such a copy processed before its cancellation took
    effect: the submitter records it when found and settles its counts and usage once the copy is
    finished (``services.submitter.duplicates``); the report and stats count it as duplicate spend.
    """

    __tablename__ = "duplicate_batches"
    __table_args__ = (
        Index("ix_duplicate_batches_unsettled", "found_at", postgresql_where=column("settled_at").is_(None)),
    )

    provider_batch_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    batch_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("provider_batches.id", ondelete="CASCADE"))
    company_id: Mapped[str] = mapped_column(String(200))
    model: Mapped[str] = mapped_column(String(100))
    #: The provider's own status text of the copy (lower case, as the API spells it).
    provider_status: Mapped[str | None] = mapped_column(String(32))
    request_total: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    request_completed: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    request_failed: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    prompt_tokens: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    completion_tokens: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    found_at: Mapped[datetime] = mapped_column(Timestamp, server_default=func.now())
    #: When the copy was seen finished: its counts and usage are final.
    settled_at: Mapped[datetime | None] = mapped_column(Timestamp)


class FallbackCall(Base):
    """One synchronous call of a request left by an expired or cancelled batch (migration 0006f).

    Claimed with a lease by the ingester's fallback worker; its usage and the full list price it was
    charged at are written in the same transaction as the request's answer, so a replay charges once.
    ``day`` (UTC) is what the per-company daily cap counts.
    """

    __tablename__ = "fallback_calls"
    __table_args__ = (
        PrimaryKeyConstraint("request_id", "batch_id"),
        Index("ix_fallback_calls_company_day", "company_id", "day"),
        Index("ix_fallback_calls_open", "created_at", postgresql_where=column("done_at").is_(None)),
    )

    request_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("ai_processing_requests.id", ondelete="CASCADE")
    )
    batch_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("provider_batches.id", ondelete="CASCADE")
    )
    company_id: Mapped[str] = mapped_column(String(200))
    model: Mapped[str] = mapped_column(String(100))
    day: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(Timestamp, server_default=func.now())
    lease_token: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    lease_until: Mapped[datetime | None] = mapped_column(Timestamp)
    claims: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    done_at: Mapped[datetime | None] = mapped_column(Timestamp)
    answered: Mapped[bool | None] = mapped_column(Boolean)
    error: Mapped[str | None] = mapped_column(Text)
    prompt_tokens: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    cached_tokens: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    completion_tokens: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    price_input_per_million: Mapped[Decimal | None] = mapped_column(Numeric)
    price_cached_input_per_million: Mapped[Decimal | None] = mapped_column(Numeric)
    price_output_per_million: Mapped[Decimal | None] = mapped_column(Numeric)
    price_batch_discount: Mapped[Decimal | None] = mapped_column(Numeric)


class OutboxMessage(Base):
    """Events written in the same transaction as the state they announce; a relay publishes them."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    topic: Mapped[str] = mapped_column(String(255))
    key: Mapped[bytes | None] = mapped_column(LargeBinary)
    payload: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(Timestamp, server_default=func.now())


class ProcessedEvent(Base):
    """Event ids a consumer group has applied, so a duplicate delivery is recognised cheaply.

    Kept ``processed_events_retention_s``, then pruned by the producer (``services.producer.housekeeping``).
    """

    __tablename__ = "processed_events"
    __table_args__ = (
        PrimaryKeyConstraint("consumer_group", "event_id"),
        # The producer's prune deletes ids past the retention: a range of this column.
        Index("ix_processed_events_processed_at", "processed_at"),
    )

    consumer_group: Mapped[str] = mapped_column(String(255))
    event_id: Mapped[str] = mapped_column(String(255))
    processed_at: Mapped[datetime] = mapped_column(Timestamp, server_default=func.now())


class WebhookEvent(Base):
    """A provider webhook delivery received, by its ``webhook-id`` (de-duplication of retries).

    Written by ``batchline webhooks`` in the transaction that wakes the poller for the named batch;
    pruned past ``webhook_events_retention_s`` by the receiver.
    """

    __tablename__ = "webhook_events"
    __table_args__ = (Index("ix_webhook_events_received_at", "received_at"),)

    webhook_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    event_type: Mapped[str] = mapped_column(String(64))
    provider_batch_id: Mapped[str] = mapped_column(String(200))
    #: The event's own ``created_at`` (Unix seconds, as the provider sent it).
    event_created_at: Mapped[int] = mapped_column(BigInteger)
    #: Whether the event named one of our batches.
    batch_found: Mapped[bool] = mapped_column(Boolean)
    received_at: Mapped[datetime] = mapped_column(Timestamp, server_default=func.now())
