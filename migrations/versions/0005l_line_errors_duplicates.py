"""line errors and duplicate spend: which input line each request was, what the provider said per
line, and what the provider billed for copies of our batches that we cancelled

- ``ai_batch_items.line``: the request's 1-based line in the batch's input file, written with the
  uploaded file's id (same transaction, fenced by the submission attempt), so a validation error that
  names a line charges that request alone. NULL for items of files written before this revision: the
  ingester then keeps the old rule (a failed batch charges all its requests).
- ``provider_batches.validation_errors``: the provider's ``errors.data[]`` of a failed batch
  (``code``, ``message``, ``param``, ``line``), as the poller read it.
- ``duplicate_batches``: one row per provider batch carrying one of our batch ids that was not the
  copy recorded (cancelled by the submitter), with the provider's request counts and token usage once
  it has settled; ``batchline report`` and ``batchline stats`` count it as duplicate spend.

Revision ID: 0005l
Revises: 0005a
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB, UUID

revision: str = "0005l"
down_revision: str | None = "0005a"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("ai_batch_items", sa.Column("line", sa.Integer(), nullable=True))
    op.add_column("provider_batches", sa.Column("validation_errors", JSONB(), nullable=True))
    op.create_table(
        "duplicate_batches",
        sa.Column("provider_batch_id", sa.String(200), nullable=False),
        sa.Column("batch_id", UUID(as_uuid=True), nullable=False),
        sa.Column("company_id", sa.String(200), nullable=False),
        sa.Column("model", sa.String(100), nullable=False),
        sa.Column("provider_status", sa.String(32), nullable=True),
        sa.Column("request_total", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("request_completed", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("request_failed", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("prompt_tokens", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("completion_tokens", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("found_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("settled_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["provider_batches.id"],
            name="fk_duplicate_batches_batch_id_provider_batches",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("provider_batch_id", name="pk_duplicate_batches"),
    )
    op.create_index(
        "ix_duplicate_batches_unsettled",
        "duplicate_batches",
        ["found_at"],
        postgresql_where=sa.text("settled_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_duplicate_batches_unsettled", table_name="duplicate_batches")
    op.drop_table("duplicate_batches")
    op.drop_column("provider_batches", "validation_errors")
    op.drop_column("ai_batch_items", "line")
