"""The requests aggregate: one analysis of one session by one model, and its synchronous fallback calls."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    PrimaryKeyConstraint,
    String,
    Text,
    UniqueConstraint,
    and_,
    column,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from shared.db.models.base import Base, Timestamp, status_in
from shared.lifecycle import RequestStatus


class ProcessingRequest(Base):
    """One analysis of one session by one model. Its id is derived from its natural key (see producer)."""

    __tablename__ = "ai_processing_requests"
    __table_args__ = (
        # Also the index of a session's requests (its leading columns): no separate session index.
        UniqueConstraint("company_id", "session_id", "processing_type", "model", "revision"),
        # References its session by (company_id, session_id), checked once per statement by a
        # trigger with the foreign key's lock and cascade (migration 0008r), not per row.
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
