"""What may hold a submission back: learned token limits, company budgets and their holds, circuits."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Float,
    Index,
    Integer,
    Numeric,
    PrimaryKeyConstraint,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from shared.db.models.base import Base, Timestamp


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
