"""exact money: cached tokens per request; per batch its prices, its lines' usage and the provider's

Costs used to be computed at report time from today's prices; past work was re-priced whenever a price
changed. Now the ingester writes onto each batch, when it processes it, the price it was charged at
(input, cached input and output per 1M tokens, and the batch discount, exact ``numeric``) and the
usage summed over its output and error lines; the poller writes the provider's own ``usage`` of the
batch when it sees it finish, and the ingester flags a batch whose lines do not add up to it.

Batches processed before this migration get their lines' usage backfilled from the requests they
resolved (all attempts' tokens, as the old report counted them) and no price: the report prices those
at the configured prices, as it did before. Requests get ``cached_tokens`` (NULL: none recorded).

Revision ID: 0005m
Revises: 0005r
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005m"
down_revision: str | None = "0005r"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BATCH_COLUMNS = (
    ("price_input_per_million", sa.Numeric()),
    ("price_cached_input_per_million", sa.Numeric()),
    ("price_output_per_million", sa.Numeric()),
    ("price_batch_discount", sa.Numeric()),
    ("lines_input_tokens", sa.BigInteger()),
    ("lines_cached_tokens", sa.BigInteger()),
    ("lines_output_tokens", sa.BigInteger()),
    ("provider_input_tokens", sa.BigInteger()),
    ("provider_cached_tokens", sa.BigInteger()),
    ("provider_output_tokens", sa.BigInteger()),
    ("usage_mismatch", sa.Boolean()),
)

#: Processed batches keep their tokens in the costs: what their requests store is what the old report
#: priced (``processed_at`` marks them, so no status is spelled here).
_BACKFILL = """
UPDATE provider_batches b SET lines_input_tokens = u.pt, lines_cached_tokens = 0, lines_output_tokens = u.ct
FROM (SELECT batch_id, coalesce(sum(prompt_tokens), 0) AS pt, coalesce(sum(completion_tokens), 0) AS ct
      FROM ai_processing_requests WHERE batch_id IS NOT NULL GROUP BY batch_id) u
WHERE b.id = u.batch_id AND b.processed_at IS NOT NULL
"""


def upgrade() -> None:
    op.add_column("ai_processing_requests", sa.Column("cached_tokens", sa.Integer(), nullable=True))
    for name, type_ in _BATCH_COLUMNS:
        op.add_column("provider_batches", sa.Column(name, type_, nullable=True))
    op.execute(_BACKFILL)


def downgrade() -> None:
    for name, _ in reversed(_BATCH_COLUMNS):
        op.drop_column("provider_batches", name)
    op.drop_column("ai_processing_requests", "cached_tokens")
