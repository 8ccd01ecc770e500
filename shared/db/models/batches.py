"""The batches aggregate: a provider batch, the requests it carried and the stray copies it left."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    PrimaryKeyConstraint,
    String,
    Text,
    and_,
    column,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from shared.db.models.base import Base, Timestamp, status_in
from shared.lifecycle import BATCH_TERMINAL, HOLDING_TOKENS, IN_FLIGHT, BatchStatus


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
