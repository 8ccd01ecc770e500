"""housekeeping indexes: the ingester's sweep of finished batches, the prune of processed event ids

``ix_batches_unprocessed``: the ingester's recovery sweep looks for provider-terminal batches
(COMPLETED, FAILED, EXPIRED, CANCELLED) nobody ingested, oldest first. Without it the sweep reads
every batch ever made (almost all PROCESSED) each round; the partial index holds only the few
waiting for the ingester. ``ix_processed_events_processed_at``: the producer's prune deletes the
ids older than the retention, a range of this column, instead of scanning the whole table.

Both are built CONCURRENTLY (outside the migration's transaction): ``processed_events`` may be
large when this runs on a live database, and a plain build would block the producer's inserts for
as long as it takes. A build that fails half-way leaves an INVALID index: drop it and upgrade again.

Revision ID: 0003s
Revises: 0003i
"""

from collections.abc import Sequence

from alembic import op
from sqlalchemy import text

revision: str = "0003s"
down_revision: str | None = "0003i"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: shared.lifecycle.BATCH_TERMINAL when this was written (migrations are history: spelled out).
_TERMINAL = "status IN ('CANCELLED', 'COMPLETED', 'EXPIRED', 'FAILED')"


def upgrade() -> None:
    with op.get_context().autocommit_block():
        op.create_index(
            "ix_batches_unprocessed",
            "provider_batches",
            ["completed_at"],
            postgresql_where=text(_TERMINAL),
            postgresql_concurrently=True,
            if_not_exists=True,
        )
        op.create_index(
            "ix_processed_events_processed_at",
            "processed_events",
            ["processed_at"],
            postgresql_concurrently=True,
            if_not_exists=True,
        )


def downgrade() -> None:
    with op.get_context().autocommit_block():
        op.drop_index(
            "ix_processed_events_processed_at",
            table_name="processed_events",
            postgresql_concurrently=True,
            if_exists=True,
        )
        op.drop_index(
            "ix_batches_unprocessed",
            table_name="provider_batches",
            postgresql_concurrently=True,
            if_exists=True,
        )
