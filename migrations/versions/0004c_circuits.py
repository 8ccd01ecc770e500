"""provider circuits: the configuration circuit of each (provider, model), shared by every submitter

A configuration fault (revoked key, 403, exhausted quota, unknown model, full file store) is not a
batch's fault and would hit every batch of that provider and model alike. The submitter that meets it
opens a circuit here, so every submitter instance pauses the same provider/model (no claims, no
attempts charged) until the probe time; the first submission after ``probe_at`` is the probe, and
its success deletes the row. One row per open circuit: an empty table means nothing is paused.

Revision ID: 0004c
Revises: 0004t
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004c"
down_revision: str | None = "0004t"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "provider_circuits",
        sa.Column("provider", sa.String(32), nullable=False),
        sa.Column("model", sa.String(100), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("faults", sa.Integer(), nullable=False),
        sa.Column("probe_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("provider", "model", name="pk_provider_circuits"),
    )


def downgrade() -> None:
    op.drop_table("provider_circuits")
