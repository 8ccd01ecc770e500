"""analysis history: earlier analyses of a session kept when it is analysed again

``batchline reprocess`` analyses sessions again under a new request revision. The session row holds
one analysis (sentiment, category, summary, language, summary_truncated); it now also says which
revision wrote it (``analysis_revision``) and when (``analysed_at``), and the ingester copies the
stored analysis into ``session_analyses_history`` before a result of another revision overwrites it.
The history is keyed by (company_id, session_id, revision), so a replayed ingest adds nothing.

Existing sessions are given the revision and time of their latest completed request, so their
current analysis is archived under its real revision when it is first replaced.

Revision ID: 0005r
Revises: 0004c
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005r"
down_revision: str | None = "0004c"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: Statuses as they were when this migration was written (a migration must keep its meaning when the
#: enums later change); bound or rendered by SQLAlchemy, never spelled inside SQL text.
_COMPLETE = "PROCESSING_COMPLETE"
_FAILED = "PROCESSING_FAILED"

_BACKFILL = sa.text(
    """
    UPDATE sessions s SET analysis_revision = latest.revision, analysed_at = latest.completed_at
    FROM (SELECT DISTINCT ON (session_id) session_id, revision, completed_at
          FROM ai_processing_requests WHERE status = :done
          ORDER BY session_id, completed_at DESC NULLS LAST, requested_at DESC) AS latest
    WHERE s.id = latest.session_id
    """
).bindparams(done=_COMPLETE)


def upgrade() -> None:
    op.add_column("sessions", sa.Column("analysis_revision", sa.String(64), nullable=True))
    op.add_column("sessions", sa.Column("analysed_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "session_analyses_history",
        sa.Column("company_id", sa.String(200), nullable=False),
        sa.Column("session_id", sa.String(200), nullable=False),
        sa.Column("revision", sa.String(64), nullable=False),
        sa.Column("sentiment", sa.String(16), nullable=True),
        sa.Column("category", sa.String(32), nullable=True),
        sa.Column("summary", sa.Text(), nullable=True),
        sa.Column("language", sa.String(8), nullable=True),
        sa.Column("summary_truncated", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("analysed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("archived_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("company_id", "session_id", "revision", name="pk_session_analyses_history"),
    )
    op.execute(_BACKFILL)
    # ``batchline requests retry`` reads a company's failed requests: a small part of a large table.
    op.create_index(
        "ix_requests_failed",
        "ai_processing_requests",
        ["company_id", "requested_at"],
        postgresql_where=sa.column("status").in_([_FAILED]),
    )


def downgrade() -> None:
    op.drop_index("ix_requests_failed", table_name="ai_processing_requests")
    op.drop_table("session_analyses_history")
    op.drop_column("sessions", "analysed_at")
    op.drop_column("sessions", "analysis_revision")
