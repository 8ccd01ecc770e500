"""budgets: a monthly spend cap per company (and per provider), and the holds it causes

- ``company_budgets``: ``monthly_usd`` (numeric, >= 0) per company and provider; ``provider`` NULL is
  the cap over all providers. A unique index on ``(company_id, coalesce(provider, ''))`` keeps one row
  per scope (``batchline budgets set`` upserts on it).
- ``budget_holds``: per (company, model), why its pending requests wait and how many there were, as
  the submitter's claim last saw it (``batchline stats`` shows them).

Nothing existing changes: a database without budgets admits exactly as before.

Revision ID: 0006b
Revises: 0006w
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006b"
down_revision: str | None = "0006w"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "company_budgets",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("company_id", sa.String(200), nullable=False),
        sa.Column("provider", sa.String(32), nullable=True),
        sa.Column("monthly_usd", sa.Numeric(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.CheckConstraint("monthly_usd >= 0", name="ck_company_budgets_monthly_usd_not_negative"),
        sa.PrimaryKeyConstraint("id", name="pk_company_budgets"),
    )
    op.create_index(
        "ux_company_budgets_scope",
        "company_budgets",
        ["company_id", sa.text("coalesce(provider, '')")],
        unique=True,
    )
    op.create_table(
        "budget_holds",
        sa.Column("company_id", sa.String(200), nullable=False),
        sa.Column("model", sa.String(100), nullable=False),
        sa.Column("provider", sa.String(32), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("held_requests", sa.Integer(), nullable=False),
        sa.Column("held_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("company_id", "model", name="pk_budget_holds"),
    )


def downgrade() -> None:
    op.drop_table("budget_holds")
    op.drop_index("ux_company_budgets_scope", table_name="company_budgets")
    op.drop_table("company_budgets")
