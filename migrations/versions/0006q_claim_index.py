"""claim index: the pending index ends with the claim's tie-breaker (``id``)

The submitter claims pending requests ``ORDER BY requested_at, id``. With ``id`` missing from
``ix_requests_pending`` the planner could not read the candidates in claim order from the index: at
50,000 pending rows it scanned the table, sorted every row (spilling to disk) and sorted again for the
running sums. With ``(company_id, model, requested_at, id)`` the index walk is the claim order, the
``LIMIT`` stops it early and neither sort is needed. Same name and predicate, one more column: every
query that used the old index can use this one.

Revision ID: 0006q
Revises: 0006f
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006q"
down_revision: str | None = "0006f"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PENDING = sa.text("status = 'PENDING_BATCHING' AND batch_id IS NULL")


def _recreate(columns: list[str]) -> None:
    op.drop_index("ix_requests_pending", table_name="ai_processing_requests")
    op.create_index("ix_requests_pending", "ai_processing_requests", columns, postgresql_where=PENDING)


def upgrade() -> None:
    _recreate(["company_id", "model", "requested_at", "id"])


def downgrade() -> None:
    _recreate(["company_id", "model", "requested_at"])
