"""The sessions aggregate: a company's conversation, its messages and its earlier analyses."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    Integer,
    PrimaryKeyConstraint,
    String,
    Text,
    false,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from shared.db.models.base import Base, Timestamp


class Session(Base):
    """One conversation of one company, identified by ``(company_id, id)``.

    Session ids come from each company's own systems, so two companies may use the same one: the
    company is part of the key everywhere (messages, requests), and nothing is found by ``id`` alone.
    """

    __tablename__ = "sessions"
    __table_args__ = (PrimaryKeyConstraint("company_id", "id"),)

    id: Mapped[str] = mapped_column(String(200))
    # No index of its own: the primary key leads with it (migration 0008r says what one cost).
    company_id: Mapped[str] = mapped_column(String(200))
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
        # The natural key, and the index of every read: no surrogate id (migration 0009m).
        PrimaryKeyConstraint("company_id", "session_id", "order"),
        # References its session by (company_id, session_id), checked once per statement by a
        # trigger with the foreign key's lock and cascade (migration 0008r), not per row.
    )

    company_id: Mapped[str] = mapped_column(String(200))
    session_id: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(32))
    content: Mapped[str] = mapped_column(Text)
    order: Mapped[int] = mapped_column("order", Integer)
