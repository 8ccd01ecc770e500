"""ingest faults: per-batch ingest setbacks and quarantine; the truncated-summary flag

The ingester's recovery sweep tried a failing batch first in every round and never reached the ones
behind it. Each batch now keeps its own record of failed ingests: ``ingest_failures`` (consecutive,
configuration faults excluded), ``ingest_retry_at`` (when the sweep may try it again),
``ingest_error`` (the last failure, or for a PROCESSED batch why its files could not be read) and
``ingest_quarantined_at`` (set after too many failures: the ingester leaves the batch alone until an
operator clears it). ``sessions.summary_truncated`` flags a stored summary cut to the length limit.

Revision ID: 0003i
Revises: 0002
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003i"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "provider_batches",
        sa.Column("ingest_failures", sa.Integer(), server_default=sa.text("0"), nullable=False),
    )
    op.add_column("provider_batches", sa.Column("ingest_retry_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("provider_batches", sa.Column("ingest_error", sa.Text(), nullable=True))
    op.add_column(
        "provider_batches", sa.Column("ingest_quarantined_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column(
        "sessions",
        sa.Column("summary_truncated", sa.Boolean(), server_default=sa.false(), nullable=False),
    )


def downgrade() -> None:
    op.drop_column("sessions", "summary_truncated")
    op.drop_column("provider_batches", "ingest_quarantined_at")
    op.drop_column("provider_batches", "ingest_error")
    op.drop_column("provider_batches", "ingest_retry_at")
    op.drop_column("provider_batches", "ingest_failures")
