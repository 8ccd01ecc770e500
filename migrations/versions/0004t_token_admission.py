"""token admission: estimated tokens per request and batch, requeue counts, learned limits per model

The provider caps the input tokens of all unfinished batches per organisation and model and fails a
batch over the cap at validation (``token_limit_exceeded``). The submitter now admits work against
that budget, so it must know what it has enqueued:

- ``ai_processing_requests.est_tokens``: the request's input-token estimate, written when it is
  claimed; ``requeues``: how often it went back for capacity (its retry delay grows with it).
- ``provider_batches.estimated_tokens`` (sum over its requests), ``admitted_enqueued`` (what else
  was counted enqueued for the model when it was admitted), ``token_rate`` (tokens per byte its
  estimates were made at) and ``limit_feedback_at`` (when the submitter read its outcome back into
  the learned limit; set for every row that exists before this revision, so history is not replayed).
- ``model_token_limits``: the limit learned from refusals per (provider, model).

Revision ID: 0004t
Revises: 0003s
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004t"
down_revision: str | None = "0003s"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("ai_processing_requests", sa.Column("est_tokens", sa.Integer(), nullable=True))
    op.add_column(
        "ai_processing_requests",
        sa.Column("requeues", sa.Integer(), server_default=sa.text("0"), nullable=False),
    )
    op.add_column("provider_batches", sa.Column("estimated_tokens", sa.BigInteger(), nullable=True))
    op.add_column("provider_batches", sa.Column("admitted_enqueued", sa.BigInteger(), nullable=True))
    op.add_column("provider_batches", sa.Column("token_rate", sa.Float(), nullable=True))
    op.add_column(
        "provider_batches", sa.Column("limit_feedback_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.execute("UPDATE provider_batches SET limit_feedback_at = now()")
    op.create_index(
        "ix_batches_enqueued",
        "provider_batches",
        ["provider", "model"],
        unique=False,
        postgresql_where=sa.text(
            "status IN ('CANCELLING', 'FINALIZING', 'IN_PROGRESS', 'PENDING_SUBMISSION', 'VALIDATING')"
        ),
    )
    op.create_index(
        "ix_batches_feedback",
        "provider_batches",
        ["provider", "model"],
        unique=False,
        postgresql_where=sa.text("limit_feedback_at IS NULL AND estimated_tokens IS NOT NULL"),
    )
    op.create_index(
        "ix_requests_calibration",
        "ai_processing_requests",
        ["model", "completed_at"],
        unique=False,
        postgresql_where=sa.text("status IN ('PROCESSING_COMPLETE')"),
    )
    op.create_table(
        "model_token_limits",
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("model", sa.String(length=100), nullable=False),
        sa.Column("learned_limit", sa.BigInteger(), nullable=False),
        sa.Column("tokens_per_byte", sa.Float(), nullable=False),
        sa.Column("lowered_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("succeeded_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("provider", "model", name=op.f("pk_model_token_limits")),
    )


def downgrade() -> None:
    op.drop_table("model_token_limits")
    op.drop_index("ix_requests_calibration", table_name="ai_processing_requests")
    op.drop_index("ix_batches_feedback", table_name="provider_batches")
    op.drop_index("ix_batches_enqueued", table_name="provider_batches")
    for column in ("limit_feedback_at", "token_rate", "admitted_enqueued", "estimated_tokens"):
        op.drop_column("provider_batches", column)
    op.drop_column("ai_processing_requests", "requeues")
    op.drop_column("ai_processing_requests", "est_tokens")
