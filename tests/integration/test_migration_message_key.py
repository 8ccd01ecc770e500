"""Migration 0009m: messages keep their rows and their uniqueness without the surrogate id."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest
from alembic import command

from shared.db.migrate import alembic_config
from tests.support import run_in_transaction as _run

PRIMARY_KEY = (
    "SELECT array_agg(a.attname::text ORDER BY k.n) AS columns FROM pg_constraint c "
    "CROSS JOIN LATERAL unnest(c.conkey) WITH ORDINALITY AS k(attnum, n) "
    "JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum "
    "WHERE c.conname = 'pk_session_messages'"
)
HAS_ID = "SELECT 1 FROM information_schema.columns WHERE table_name = 'session_messages' AND column_name = 'id'"
MESSAGES = 'SELECT session_id, "order", content FROM session_messages ORDER BY session_id, "order"'


def _message(session: str, order: int, content: str) -> str:
    return (
        'INSERT INTO session_messages (company_id, session_id, role, content, "order") '
        f"VALUES ('acme', '{session}', 'user', '{content}', {order})"
    )


async def test_0009m_keys_messages_by_session_and_order_keeping_rows_and_downgrades(empty_database: str) -> None:
    cfg = alembic_config(empty_database)
    await asyncio.to_thread(command.upgrade, cfg, "0008r")
    await _run(
        empty_database,
        "INSERT INTO sessions (id, company_id, started_at, content_hash, message_count) "
        "VALUES ('s-1', 'acme', now(), 'h', 2), ('s-2', 'acme', now(), 'h', 1)",
        _message("s-1", 0, "hello"),
        _message("s-1", 1, "bye"),
        _message("s-2", 0, "hi"),
    )
    await asyncio.to_thread(command.upgrade, cfg, "0009m")
    assert await _run(empty_database, HAS_ID) == []
    (key,) = await _run(empty_database, PRIMARY_KEY)
    assert key["columns"] == ["company_id", "session_id", "order"]
    kept = [tuple(r) for r in await _run(empty_database, MESSAGES)]
    assert kept == [("s-1", 0, "hello"), ("s-1", 1, "bye"), ("s-2", 0, "hi")]
    with pytest.raises(asyncpg.UniqueViolationError):
        await _run(empty_database, _message("s-1", 1, "again"))

    await asyncio.to_thread(command.downgrade, cfg, "0008r")
    assert len(await _run(empty_database, HAS_ID)) == 1
    (key,) = await _run(empty_database, PRIMARY_KEY)
    assert key["columns"] == ["id"]
    assert [tuple(r) for r in await _run(empty_database, MESSAGES)] == kept
    with pytest.raises(asyncpg.UniqueViolationError):
        await _run(empty_database, _message("s-2", 0, "again"))
    await _run(empty_database, _message("s-2", 1, "new"))  # ids are given again
    assert len(await _run(empty_database, "SELECT id FROM session_messages WHERE id IS NOT NULL")) == 4
