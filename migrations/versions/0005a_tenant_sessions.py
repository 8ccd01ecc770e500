"""tenant-scoped sessions: a session is identified by (company_id, id)

Session ids come from each company's own systems, so two companies may well use the same ones ("1",
"2", ...). Until now ``sessions.id`` alone was the key and the producer dead-lettered an event whose
session id another company already used. From here on the company is part of the session's identity:
``sessions`` has the primary key (company_id, id); ``session_messages`` gains ``company_id`` (filled
from its session) and, like ``ai_processing_requests``, references its session by the pair; the
natural key of a request leads with the company, and serves the lookups of a session's requests
(``ix_requests_session`` on the session id alone is dropped: it would only duplicate that prefix).

Existing rows are kept as they are: every session keeps its id under the company that owned it, and
request ids are not recomputed (they are identities; only new requests derive theirs from the
company too). A request's ``company_id`` is aligned to its session's owner first, which the producer
already guaranteed (it refused any other company), so that the new foreign key always holds.

Downgrade restores ``sessions.id`` as the key, which is only possible while no id is used by two
companies: it refuses (and changes nothing) when one is.

Revision ID: 0005a
Revises: 0005m
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005a"
down_revision: str | None = "0005m"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_REQUEST_KEY = "uq_ai_processing_requests_session_id_processing_type_mo_5d52"
NEW_REQUEST_KEY = "uq_ai_processing_requests_company_id_session_id_process_2714"


def upgrade() -> None:
    op.add_column("session_messages", sa.Column("company_id", sa.String(200), nullable=True))
    op.execute(
        "UPDATE session_messages m SET company_id = s.company_id FROM sessions s WHERE s.id = m.session_id"
    )
    op.alter_column("session_messages", "company_id", nullable=False)
    op.execute(
        "UPDATE ai_processing_requests r SET company_id = s.company_id FROM sessions s "
        "WHERE s.id = r.session_id AND r.company_id IS DISTINCT FROM s.company_id"
    )

    op.drop_constraint(
        "fk_ai_processing_requests_session_id_sessions", "ai_processing_requests", "foreignkey"
    )
    op.drop_constraint("fk_session_messages_session_id_sessions", "session_messages", "foreignkey")
    op.drop_constraint("pk_sessions", "sessions", "primary")
    op.create_primary_key("pk_sessions", "sessions", ["company_id", "id"])

    op.drop_constraint(OLD_REQUEST_KEY, "ai_processing_requests", "unique")
    op.create_unique_constraint(
        NEW_REQUEST_KEY,
        "ai_processing_requests",
        ["company_id", "session_id", "processing_type", "model", "revision"],
    )
    op.drop_index("ix_requests_session", table_name="ai_processing_requests")
    op.drop_constraint("uq_session_messages_session_id_order", "session_messages", "unique")
    op.create_unique_constraint(
        "uq_session_messages_company_id_session_id_order",
        "session_messages",
        ["company_id", "session_id", "order"],
    )

    op.create_foreign_key(
        "fk_ai_processing_requests_company_id_sessions",
        "ai_processing_requests",
        "sessions",
        ["company_id", "session_id"],
        ["company_id", "id"],
        ondelete="CASCADE",
    )
    op.create_foreign_key(
        "fk_session_messages_company_id_sessions",
        "session_messages",
        "sessions",
        ["company_id", "session_id"],
        ["company_id", "id"],
        ondelete="CASCADE",
    )


def downgrade() -> None:
    shared = op.get_bind().execute(
        sa.text("SELECT id FROM sessions GROUP BY id HAVING count(*) > 1 ORDER BY id LIMIT 5")
    )
    ids = [r.id for r in shared]
    if ids:
        raise RuntimeError(
            "cannot downgrade below 0005a: these session ids are used by more than one company "
            f"(first {len(ids)}): {ids}; the older schema identifies a session by its id alone"
        )

    op.drop_constraint("fk_session_messages_company_id_sessions", "session_messages", "foreignkey")
    op.drop_constraint(
        "fk_ai_processing_requests_company_id_sessions", "ai_processing_requests", "foreignkey"
    )

    op.drop_constraint("uq_session_messages_company_id_session_id_order", "session_messages", "unique")
    op.create_unique_constraint(
        "uq_session_messages_session_id_order", "session_messages", ["session_id", "order"]
    )
    op.create_index("ix_requests_session", "ai_processing_requests", ["session_id"])
    op.drop_constraint(NEW_REQUEST_KEY, "ai_processing_requests", "unique")
    op.create_unique_constraint(
        OLD_REQUEST_KEY, "ai_processing_requests", ["session_id", "processing_type", "model", "revision"]
    )

    op.drop_constraint("pk_sessions", "sessions", "primary")
    op.create_primary_key("pk_sessions", "sessions", ["id"])
    op.create_foreign_key(
        "fk_session_messages_session_id_sessions",
        "session_messages",
        "sessions",
        ["session_id"],
        ["id"],
        ondelete="CASCADE",
    )
    op.create_foreign_key(
        "fk_ai_processing_requests_session_id_sessions",
        "ai_processing_requests",
        "sessions",
        ["session_id"],
        ["id"],
        ondelete="CASCADE",
    )
    op.drop_column("session_messages", "company_id")
