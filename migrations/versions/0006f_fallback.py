"""fallback for the remainder: requests an expired or cancelled batch left unfinished, finished elsewhere

- ``ai_processing_requests.status`` may be ``FALLBACK_IN_PROGRESS``: handed to the synchronous API
  (``BATCHLINE_FALLBACK_MODE=sync``), owned by the ingester's fallback worker until it answers.
- ``ai_processing_requests.fallback`` (``sync`` | ``provider``) and ``fallback_from_model``: the request
  was finished by a fallback, and the model it was first asked of (the provider path maps the model
  to one on the second provider), so its cost is reported as fallback and compared with the batch price.
- ``fallback_calls``: one row per synchronous call of a request for one batch's remainder, claimed
  with a lease, holding its usage and the full list price it was charged at. Its ``day`` (UTC) is
  what the per-company daily cap counts; the row is written in the same transaction as the hand-over,
  and its result in the same transaction as the request's answer, so a replay charges nothing twice.

Revision ID: 0006f
Revises: 0006b
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

revision: str = "0006f"
down_revision: str | None = "0006b"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OLD = "status IN ('PENDING_BATCHING', 'BATCHING_IN_PROGRESS', 'PROCESSING_COMPLETE', 'PROCESSING_FAILED')"
_NEW = (
    "status IN ('PENDING_BATCHING', 'BATCHING_IN_PROGRESS', 'PROCESSING_COMPLETE', 'PROCESSING_FAILED', "
    "'FALLBACK_IN_PROGRESS')"
)


def upgrade() -> None:
    op.drop_constraint(op.f("ck_ai_processing_requests_status"), "ai_processing_requests", type_="check")
    op.create_check_constraint(
        op.f("ck_ai_processing_requests_status"), "ai_processing_requests", sa.text(_NEW)
    )
    op.add_column("ai_processing_requests", sa.Column("fallback", sa.String(16), nullable=True))
    op.add_column("ai_processing_requests", sa.Column("fallback_from_model", sa.String(100), nullable=True))
    op.create_table(
        "fallback_calls",
        sa.Column("request_id", UUID(as_uuid=True), nullable=False),
        sa.Column("batch_id", UUID(as_uuid=True), nullable=False),
        sa.Column("company_id", sa.String(200), nullable=False),
        sa.Column("model", sa.String(100), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("lease_token", UUID(as_uuid=True), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("claims", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("answered", sa.Boolean(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("prompt_tokens", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("cached_tokens", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("completion_tokens", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("price_input_per_million", sa.Numeric(), nullable=True),
        sa.Column("price_cached_input_per_million", sa.Numeric(), nullable=True),
        sa.Column("price_output_per_million", sa.Numeric(), nullable=True),
        sa.Column("price_batch_discount", sa.Numeric(), nullable=True),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["ai_processing_requests.id"],
            name="fk_fallback_calls_request_id_ai_processing_requests",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["provider_batches.id"],
            name="fk_fallback_calls_batch_id_provider_batches",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("request_id", "batch_id", name="pk_fallback_calls"),
    )
    op.create_index("ix_fallback_calls_company_day", "fallback_calls", ["company_id", "day"])
    op.create_index(
        "ix_fallback_calls_open",
        "fallback_calls",
        ["created_at"],
        postgresql_where=sa.text("done_at IS NULL"),
    )


def downgrade() -> None:
    # Requests still in a synchronous call go back to pending: the batch path finishes them.
    op.execute(
        "UPDATE ai_processing_requests SET status = 'PENDING_BATCHING', batch_id = NULL "
        "WHERE status = 'FALLBACK_IN_PROGRESS'"
    )
    op.drop_index("ix_fallback_calls_open", table_name="fallback_calls")
    op.drop_index("ix_fallback_calls_company_day", table_name="fallback_calls")
    op.drop_table("fallback_calls")
    op.drop_column("ai_processing_requests", "fallback_from_model")
    op.drop_column("ai_processing_requests", "fallback")
    op.drop_constraint(op.f("ck_ai_processing_requests_status"), "ai_processing_requests", type_="check")
    op.create_check_constraint(
        op.f("ck_ai_processing_requests_status"), "ai_processing_requests", sa.text(_OLD)
    )
