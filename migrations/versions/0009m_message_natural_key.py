"""messages keyed by (company_id, session_id, order): the surrogate id and its index go

Every stored message paid for a ``bigserial`` id it never used: a sequence call and a second
primary-key index entry besides the unique (company_id, session_id, order) that every read uses (the
batch file's conversation, the fallback's conversation, the producer's replace). A COPY of 20,000
messages cost 0.108 s of server CPU with the id and 0.058 s without (six alternating runs each). The
producer stores about ten per session, so this is about 25 us of database CPU per session. Nothing
reads ``session_messages.id``.

The unique constraint becomes the primary key. PostgreSQL cannot hand a constraint's index to another
constraint, so the index is built again, under a lock on the table, taking as long as building that
index takes. Dropping the column only changes the catalog. Downgrade gives the rows new ids in no
particular order.

Revision ID: 0009m
Revises: 0008r
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009m"
down_revision: str | None = "0008r"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_UNIQUE = "uq_session_messages_company_id_session_id_order"


def upgrade() -> None:
    op.execute("ALTER TABLE session_messages DROP CONSTRAINT pk_session_messages")
    op.execute("ALTER TABLE session_messages DROP COLUMN id")
    op.execute(f"ALTER TABLE session_messages DROP CONSTRAINT {_UNIQUE}")
    op.execute('ALTER TABLE session_messages ADD CONSTRAINT pk_session_messages PRIMARY KEY (company_id, session_id, "order")')


def downgrade() -> None:
    op.execute("ALTER TABLE session_messages DROP CONSTRAINT pk_session_messages")
    op.execute(f'ALTER TABLE session_messages ADD CONSTRAINT {_UNIQUE} UNIQUE (company_id, session_id, "order")')
    op.execute("ALTER TABLE session_messages ADD COLUMN id bigserial")
    op.execute("ALTER TABLE session_messages ADD CONSTRAINT pk_session_messages PRIMARY KEY (id)")
