"""set-based session references: messages and requests checked against sessions once per statement

The producer stores a round of sessions with one COPY of their messages and one INSERT of their
requests. Each row of both ran PostgreSQL's foreign-key check, a one-row query whose plan the backend
keeps for the life of the connection. A producer that started against a small ``sessions`` table kept
the plan made then: an index scan of ``ix_sessions_company_id`` (the company alone) filtered by id,
which reads every session of the company. Nothing re-planned it until autovacuum analysed the table,
so each check grew with the table. In ``bench.b4_end_to_end`` (20,000 sessions, five companies) the
COPY spent 47.8 s of server CPU on 200,000 messages (about 240 us each, against 8 us with a good plan);
``auto_explain`` showed that plan in the producer's checks. It is what B2 intake's occasional
20 to 120 s of database CPU was.

Both references are now enforced by statement-level triggers over the transition table, planned on
every call (``EXECUTE``), so the plan always fits the table as it is. The distinct sessions a
statement names are locked ``FOR KEY SHARE``, what a foreign-key check locks. A concurrent delete of
the session therefore waits for the writer, or the writer fails. A missing session fails the
statement with ``foreign_key_violation`` (23503). Deleting sessions deletes their messages and
requests, as the cascades did; a requests delete then takes its batch items (0007s). A referenced
key cannot change. ``ix_sessions_company_id`` goes: the primary key ``(company_id, id)`` leads with
the company and serves every lookup by company. The index's only effect was that plan, plus one more
index entry per stored session.

Not covered, unlike a foreign key: ``TRUNCATE sessions`` alone. No trigger sees it, and nothing in
batchline truncates it outside tests, which truncate every table.

Revision ID: 0008r
Revises: 0007s
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008r"
down_revision: str | None = "0007s"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_FKS = (
    ("session_messages", "fk_session_messages_company_id_sessions"),
    ("ai_processing_requests", "fk_ai_processing_requests_company_id_sessions"),
)

_FUNCTIONS = (
    # Child side, per statement: every session the new rows name exists, locked as a foreign key locks it.
    """
    CREATE FUNCTION session_refs_exist() RETURNS trigger LANGUAGE plpgsql AS $f$
    DECLARE wanted bigint; found bigint;
    BEGIN
        -- One pass over the statement's rows: their distinct sessions, counted and locked.
        EXECUTE 'WITH k AS MATERIALIZED (SELECT DISTINCT company_id, session_id FROM new_rows), '
                'locked AS MATERIALIZED (SELECT 1 FROM sessions s JOIN k '
                'ON s.company_id = k.company_id AND s.id = k.session_id FOR KEY SHARE OF s) '
                'SELECT (SELECT count(*) FROM k), (SELECT count(*) FROM locked)' INTO wanted, found;
        IF found < wanted THEN
            RAISE EXCEPTION 'insert or update on table "%" violates its reference to sessions', TG_TABLE_NAME
                USING ERRCODE = 'foreign_key_violation';
        END IF;
        RETURN NULL;
    END $f$
    """,
    # Child side, per row: an update that moves a row to another session (batchline never does).
    """
    CREATE FUNCTION session_ref_exists() RETURNS trigger LANGUAGE plpgsql AS $f$
    BEGIN
        PERFORM 1 FROM sessions WHERE company_id = NEW.company_id AND id = NEW.session_id FOR KEY SHARE;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'insert or update on table "%" violates its reference to sessions', TG_TABLE_NAME
                USING ERRCODE = 'foreign_key_violation';
        END IF;
        RETURN NULL;
    END $f$
    """,
    # Referenced side: the cascades the foreign keys had.
    """
    CREATE FUNCTION sessions_deleted() RETURNS trigger LANGUAGE plpgsql AS $f$
    BEGIN
        EXECUTE 'DELETE FROM session_messages m USING old_rows o '
                'WHERE m.company_id = o.company_id AND m.session_id = o.id';
        EXECUTE 'DELETE FROM ai_processing_requests r USING old_rows o '
                'WHERE r.company_id = o.company_id AND r.session_id = o.id';
        RETURN NULL;
    END $f$
    """,
    """
    CREATE FUNCTION session_key_fixed() RETURNS trigger LANGUAGE plpgsql AS $f$
    BEGIN
        PERFORM 1 FROM session_messages WHERE company_id = OLD.company_id AND session_id = OLD.id
        UNION ALL SELECT 1 FROM ai_processing_requests WHERE company_id = OLD.company_id AND session_id = OLD.id
        LIMIT 1;
        IF FOUND THEN
            RAISE EXCEPTION 'update on table "sessions" changes a referenced key'
                USING ERRCODE = 'foreign_key_violation';
        END IF;
        RETURN NULL;
    END $f$
    """,
)

_TRIGGERS = (
    *(
        f"CREATE TRIGGER {prefix}_session_ref_insert AFTER INSERT ON {table} "
        "REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION session_refs_exist()"
        for prefix, table in (("messages", "session_messages"), ("requests", "ai_processing_requests"))
    ),
    *(
        f"CREATE TRIGGER {prefix}_session_ref_update AFTER UPDATE OF company_id, session_id ON {table} "
        "FOR EACH ROW WHEN (NEW.company_id IS DISTINCT FROM OLD.company_id "
        "OR NEW.session_id IS DISTINCT FROM OLD.session_id) EXECUTE FUNCTION session_ref_exists()"
        for prefix, table in (("messages", "session_messages"), ("requests", "ai_processing_requests"))
    ),
    "CREATE TRIGGER sessions_deleted AFTER DELETE ON sessions "
    "REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION sessions_deleted()",
    "CREATE TRIGGER sessions_key_fixed AFTER UPDATE OF company_id, id ON sessions FOR EACH ROW "
    "WHEN (NEW.company_id IS DISTINCT FROM OLD.company_id OR NEW.id IS DISTINCT FROM OLD.id) "
    "EXECUTE FUNCTION session_key_fixed()",
)
_DROP_TRIGGERS = (
    ("session_messages", "messages_session_ref_insert"),
    ("ai_processing_requests", "requests_session_ref_insert"),
    ("session_messages", "messages_session_ref_update"),
    ("ai_processing_requests", "requests_session_ref_update"),
    ("sessions", "sessions_deleted"),
    ("sessions", "sessions_key_fixed"),
)
_DROP_FUNCTIONS = ("session_refs_exist", "session_ref_exists", "sessions_deleted", "session_key_fixed")


def upgrade() -> None:
    for table, name in _FKS:
        op.drop_constraint(name, table, type_="foreignkey")
    op.drop_index("ix_sessions_company_id", table_name="sessions")
    for sql in (*_FUNCTIONS, *_TRIGGERS):
        op.execute(sql)


def downgrade() -> None:
    for table, trigger in _DROP_TRIGGERS:
        op.execute(f"DROP TRIGGER {trigger} ON {table}")
    for function in _DROP_FUNCTIONS:
        op.execute(f"DROP FUNCTION {function}()")
    op.create_index("ix_sessions_company_id", "sessions", ["company_id"], unique=False)
    for table, name in _FKS:
        op.execute(
            f"ALTER TABLE {table} ADD CONSTRAINT {name} FOREIGN KEY (company_id, session_id) "
            "REFERENCES sessions (company_id, id) ON DELETE CASCADE"
        )
