"""provider batches: the batch table named for what it holds; the submitter's own retry timer

``ai_batch_requests`` held batches, not requests: it becomes ``provider_batches`` (constraints renamed
with it, so the naming convention still describes them). ``next_poll_at`` was both the poller's
schedule and the submitter's retry timer; the submitter gets ``submit_retry_at`` and keeps its
pending timers there, so the poller alone owns ``next_poll_at``.

Revision ID: 0002
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_RENAMES = [
    ("provider_batches", "pk_ai_batch_requests", "pk_provider_batches"),
    ("provider_batches", "uq_ai_batch_requests_provider_batch_id", "uq_provider_batches_provider_batch_id"),
    ("provider_batches", "ck_ai_batch_requests_status", "ck_provider_batches_status"),
    (
        "ai_processing_requests",
        "fk_ai_processing_requests_batch_id_ai_batch_requests",
        "fk_ai_processing_requests_batch_id_provider_batches",
    ),
    (
        "ai_batch_items",
        "fk_ai_batch_items_batch_id_ai_batch_requests",
        "fk_ai_batch_items_batch_id_provider_batches",
    ),
]



def _rename_generated(table: str, old_prefix: str, new_prefix: str) -> None:
    """PostgreSQL 18 names NOT NULL constraints ``<table>_<column>_not_null``: carry them over too."""
    # Identifiers are this module's constants (DDL cannot bind them), no outside value.
    op.execute(
        f"""
        DO $$ DECLARE c record; BEGIN
          FOR c IN SELECT conname FROM pg_constraint
                   WHERE conrelid = '{table}'::regclass AND starts_with(conname, '{old_prefix}_') LOOP
            EXECUTE format('ALTER TABLE {table} RENAME CONSTRAINT %I TO %I', c.conname,
                           '{new_prefix}' || substr(c.conname, {len(old_prefix) + 1}));
          END LOOP;
        END $$
        """  # noqa: S608
    )


def upgrade() -> None:
    op.rename_table("ai_batch_requests", "provider_batches")
    for table, old, new in _RENAMES:
        op.execute(f'ALTER TABLE {table} RENAME CONSTRAINT "{old}" TO "{new}"')
    _rename_generated("provider_batches", "ai_batch_requests", "provider_batches")
    op.add_column("provider_batches", sa.Column("submit_retry_at", sa.DateTime(timezone=True), nullable=True))
    # Pending batches kept their retry time in next_poll_at: move it to the submitter's column.
    op.execute(
        "UPDATE provider_batches SET submit_retry_at = next_poll_at, next_poll_at = NULL "
        "WHERE status = 'PENDING_SUBMISSION'"
    )


def downgrade() -> None:
    op.execute(
        "UPDATE provider_batches SET next_poll_at = submit_retry_at WHERE status = 'PENDING_SUBMISSION'"
    )
    op.drop_column("provider_batches", "submit_retry_at")
    _rename_generated("provider_batches", "provider_batches", "ai_batch_requests")
    for table, old, new in reversed(_RENAMES):
        op.execute(f'ALTER TABLE {table} RENAME CONSTRAINT "{new}" TO "{old}"')
    op.rename_table("provider_batches", "ai_batch_requests")
