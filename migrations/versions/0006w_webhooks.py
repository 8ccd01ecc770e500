"""webhook events: the provider's webhook deliveries received, one row per ``webhook-id``

``batchline webhooks`` inserts the row in the transaction that wakes the poller for the batch the event
names (``provider_batches.next_poll_at = now()``), so a delivery the provider retries (same id) finds its
row and changes nothing. ``batch_found`` says whether the event named one of our batches (an event for a
batch we do not know is acknowledged and kept, so its retries are recognised too). Rows older than
``BATCHLINE_WEBHOOK_EVENTS_RETENTION_S`` are pruned by the receiver (``ix_webhook_events_received_at``).

Revision ID: 0006w
Revises: 0005l
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006w"
down_revision: str | None = "0005l"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "webhook_events",
        sa.Column("webhook_id", sa.String(255), nullable=False),
        sa.Column("event_type", sa.String(64), nullable=False),
        sa.Column("provider_batch_id", sa.String(200), nullable=False),
        sa.Column("event_created_at", sa.BigInteger(), nullable=False),
        sa.Column("batch_found", sa.Boolean(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("webhook_id", name="pk_webhook_events"),
    )
    op.create_index("ix_webhook_events_received_at", "webhook_events", ["received_at"])


def downgrade() -> None:
    op.drop_index("ix_webhook_events_received_at", table_name="webhook_events")
    op.drop_table("webhook_events")
