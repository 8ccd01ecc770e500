"""set-based batch references: the claim's three foreign keys checked once per statement, not per row

A 50,000-request claim spent about 2.9 s of its 4.4 s in PostgreSQL's foreign-key triggers: one
lookup-and-lock per row each for ``ai_processing_requests.batch_id``, ``ai_batch_items.batch_id`` and
``ai_batch_items.request_id`` (150,000 in all, 19 us each), all of them for the same batch and for
requests the statement itself had just locked. The same three references are now enforced by
statement-level triggers over the statement's transition table: the distinct referenced keys are
locked ``FOR KEY SHARE`` in one query (what a foreign-key check locks, so a concurrent delete of the
batch waits for, or fails, the writer exactly as before) and the statement fails with
``foreign_key_violation`` (23503) if one is missing. The referenced side keeps the old actions: deleting
a batch deletes its items and fails while a request still points to it, deleting a request deletes its
items, and a referenced key cannot change. Writes that cannot touch a reference (inserted requests
without a batch, item lines) are filtered by row-level ``WHEN`` conditions that never call a function.

``ai_batch_items`` also gets ``fillfactor = 50``: the item's ``line`` is written after the upload by one
UPDATE of every item of the batch, which with full pages (the claim's insert fills them) was a new
tuple and two index entries per item (0.46 s at 50,000); with room left on each page it is a HOT
update (0.13 s). The items' table takes about twice the space.

Not covered, unlike a foreign key: ``TRUNCATE`` of ``provider_batches`` or ``ai_processing_requests``
alone (no trigger sees it; nothing in batchline truncates them outside tests, which truncate all tables).

Revision ID: 0007s
Revises: 0006q
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007s"
down_revision: str | None = "0006q"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_FKS = (
    ("ai_processing_requests", "fk_ai_processing_requests_batch_id_provider_batches", "batch_id",
     "provider_batches", ""),
    ("ai_batch_items", "fk_ai_batch_items_batch_id_provider_batches", "batch_id", "provider_batches",
     " ON DELETE CASCADE"),
    ("ai_batch_items", "fk_ai_batch_items_request_id_ai_processing_requests", "request_id",
     "ai_processing_requests", " ON DELETE CASCADE"),
)

_FUNCTIONS = (
    # Child side: every batch the statement's new rows name exists, locked as a foreign key locks it.
    """
    CREATE FUNCTION batch_refs_exist() RETURNS trigger LANGUAGE plpgsql AS $f$
    DECLARE wanted bigint; found bigint;
    BEGIN
        SELECT count(DISTINCT batch_id) INTO wanted FROM new_rows;
        IF wanted > 0 THEN
            SELECT count(*) INTO found FROM (
                SELECT 1 FROM provider_batches WHERE id IN (SELECT batch_id FROM new_rows) FOR KEY SHARE
            ) locked;
            IF found < wanted THEN
                RAISE EXCEPTION 'insert or update on table "%" violates its reference to provider_batches',
                    TG_TABLE_NAME USING ERRCODE = 'foreign_key_violation';
            END IF;
        END IF;
        RETURN NULL;
    END $f$
    """,
    """
    CREATE FUNCTION item_requests_exist() RETURNS trigger LANGUAGE plpgsql AS $f$
    DECLARE wanted bigint; found bigint;
    BEGIN
        SELECT count(DISTINCT request_id) INTO wanted FROM new_rows;
        SELECT count(*) INTO found FROM (
            SELECT 1 FROM ai_processing_requests WHERE id IN (SELECT request_id FROM new_rows) FOR KEY SHARE
        ) locked;
        IF found < wanted THEN
            RAISE EXCEPTION 'insert or update on table "ai_batch_items" violates its reference to '
                'ai_processing_requests' USING ERRCODE = 'foreign_key_violation';
        END IF;
        RETURN NULL;
    END $f$
    """,
    # Row-level forms, for the writes that rarely or never change a reference (no transition table).
    """
    CREATE FUNCTION batch_ref_exists() RETURNS trigger LANGUAGE plpgsql AS $f$
    BEGIN
        PERFORM 1 FROM provider_batches WHERE id = NEW.batch_id FOR KEY SHARE;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'insert or update on table "%" violates its reference to provider_batches',
                TG_TABLE_NAME USING ERRCODE = 'foreign_key_violation';
        END IF;
        IF TG_TABLE_NAME = 'ai_batch_items' THEN
            PERFORM 1 FROM ai_processing_requests WHERE id = NEW.request_id FOR KEY SHARE;
            IF NOT FOUND THEN
                RAISE EXCEPTION 'insert or update on table "ai_batch_items" violates its reference to '
                    'ai_processing_requests' USING ERRCODE = 'foreign_key_violation';
            END IF;
        END IF;
        RETURN NULL;
    END $f$
    """,
    # Referenced side: the actions the foreign keys had (items cascade, requests block the delete).
    """
    CREATE FUNCTION batches_deleted() RETURNS trigger LANGUAGE plpgsql AS $f$
    BEGIN
        DELETE FROM ai_batch_items WHERE batch_id IN (SELECT id FROM old_rows);
        PERFORM 1 FROM ai_processing_requests WHERE batch_id IN (SELECT id FROM old_rows) LIMIT 1 FOR KEY SHARE;
        IF FOUND THEN
            RAISE EXCEPTION 'delete on table "provider_batches" violates the reference from '
                'ai_processing_requests' USING ERRCODE = 'foreign_key_violation';
        END IF;
        RETURN NULL;
    END $f$
    """,
    """
    CREATE FUNCTION requests_deleted() RETURNS trigger LANGUAGE plpgsql AS $f$
    BEGIN
        DELETE FROM ai_batch_items WHERE request_id IN (SELECT id FROM old_rows);
        RETURN NULL;
    END $f$
    """,
    """
    CREATE FUNCTION referenced_key_fixed() RETURNS trigger LANGUAGE plpgsql AS $f$
    BEGIN
        IF TG_TABLE_NAME = 'provider_batches' THEN
            PERFORM 1 FROM ai_batch_items WHERE batch_id = OLD.id
            UNION ALL SELECT 1 FROM ai_processing_requests WHERE batch_id = OLD.id LIMIT 1;
        ELSE
            PERFORM 1 FROM ai_batch_items WHERE request_id = OLD.id LIMIT 1;
        END IF;
        IF FOUND THEN
            RAISE EXCEPTION 'update on table "%" changes a referenced key', TG_TABLE_NAME
                USING ERRCODE = 'foreign_key_violation';
        END IF;
        RETURN NULL;
    END $f$
    """,
)

_TRIGGERS = (
    "CREATE TRIGGER requests_batch_ref_insert AFTER INSERT ON ai_processing_requests FOR EACH ROW "
    "WHEN (NEW.batch_id IS NOT NULL) EXECUTE FUNCTION batch_ref_exists()",
    "CREATE TRIGGER requests_batch_ref_update AFTER UPDATE ON ai_processing_requests "
    "REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION batch_refs_exist()",
    "CREATE TRIGGER items_batch_ref_insert AFTER INSERT ON ai_batch_items "
    "REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION batch_refs_exist()",
    "CREATE TRIGGER items_request_ref_insert AFTER INSERT ON ai_batch_items "
    "REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION item_requests_exist()",
    "CREATE TRIGGER items_refs_update AFTER UPDATE OF batch_id, request_id ON ai_batch_items FOR EACH ROW "
    "WHEN (NEW.batch_id IS DISTINCT FROM OLD.batch_id OR NEW.request_id IS DISTINCT FROM OLD.request_id) "
    "EXECUTE FUNCTION batch_ref_exists()",
    "CREATE TRIGGER batches_deleted AFTER DELETE ON provider_batches "
    "REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION batches_deleted()",
    "CREATE TRIGGER requests_deleted AFTER DELETE ON ai_processing_requests "
    "REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION requests_deleted()",
    "CREATE TRIGGER batches_key_fixed AFTER UPDATE OF id ON provider_batches FOR EACH ROW "
    "WHEN (NEW.id IS DISTINCT FROM OLD.id) EXECUTE FUNCTION referenced_key_fixed()",
    "CREATE TRIGGER requests_key_fixed AFTER UPDATE OF id ON ai_processing_requests FOR EACH ROW "
    "WHEN (NEW.id IS DISTINCT FROM OLD.id) EXECUTE FUNCTION referenced_key_fixed()",
)
_DROP_TRIGGERS = (
    ("ai_processing_requests", "requests_batch_ref_insert"),
    ("ai_processing_requests", "requests_batch_ref_update"),
    ("ai_batch_items", "items_batch_ref_insert"),
    ("ai_batch_items", "items_request_ref_insert"),
    ("ai_batch_items", "items_refs_update"),
    ("provider_batches", "batches_deleted"),
    ("ai_processing_requests", "requests_deleted"),
    ("provider_batches", "batches_key_fixed"),
    ("ai_processing_requests", "requests_key_fixed"),
)
_DROP_FUNCTIONS = (
    "batch_refs_exist", "item_requests_exist", "batch_ref_exists", "batches_deleted", "requests_deleted",
    "referenced_key_fixed",
)


def upgrade() -> None:
    for table, name, _column, _target, _action in _FKS:
        op.drop_constraint(name, table, type_="foreignkey")
    for sql in (*_FUNCTIONS, *_TRIGGERS):
        op.execute(sql)
    op.execute("ALTER TABLE ai_batch_items SET (fillfactor = 50)")


def downgrade() -> None:
    op.execute("ALTER TABLE ai_batch_items RESET (fillfactor)")
    for table, trigger in _DROP_TRIGGERS:
        op.execute(f"DROP TRIGGER {trigger} ON {table}")
    for function in _DROP_FUNCTIONS:
        op.execute(f"DROP FUNCTION {function}()")
    for table, name, column, target, action in _FKS:
        op.execute(f"ALTER TABLE {table} ADD CONSTRAINT {name} FOREIGN KEY ({column}) REFERENCES {target} (id){action}")
