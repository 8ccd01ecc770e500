"""Migration 0008r: messages and requests still reference their session as the foreign keys did.

The checks moved from per-row foreign keys to statement triggers so that no connection keeps a plan
made for a small ``sessions`` table. These tests pin what users of the schema rely on: a dangling
message or request is refused, deleting a session takes its messages, requests and batch items, and
a referenced key cannot change. They also check that a long-lived connection whose first writes met
an almost empty table still checks by the primary key once the table has grown.
"""

from __future__ import annotations

import asyncio

import asyncpg
import pytest
from alembic import command

from shared.db.migrate import alembic_config
from tests.support import _plain
from tests.support import run_in_transaction as _run

FOREIGN_KEYS = (
    "SELECT conname FROM pg_constraint WHERE contype = 'f' AND conname IN ("
    "'fk_session_messages_company_id_sessions', 'fk_ai_processing_requests_company_id_sessions')"
)
COMPANY_INDEX = "SELECT 1 FROM pg_indexes WHERE indexname = 'ix_sessions_company_id'"
REQUEST = "00000000-0000-0000-0000-000000000001"
BATCH = "00000000-0000-0000-0000-0000000000b1"


def _session(company: str, session: str) -> str:
    return (
        "INSERT INTO sessions (id, company_id, started_at, content_hash, message_count) "
        f"VALUES ('{session}', '{company}', now(), 'h', 1)"
    )


def _message(company: str, session: str, order: int = 0) -> str:
    return (
        'INSERT INTO session_messages (company_id, session_id, role, content, "order") '
        f"VALUES ('{company}', '{session}', 'user', 'hi', {order})"
    )


def _request(request_id: str, company: str, session: str) -> str:
    return (
        "INSERT INTO ai_processing_requests (id, session_id, company_id, processing_type, model, revision, "
        f"status, attempt, approx_bytes) VALUES ('{request_id}', '{session}', '{company}', 'summary', 'm', "
        "'r1', 'PENDING_BATCHING', 1, 10)"
    )


async def _count(url: str, table: str) -> int:
    (row,) = await _run(url, f"SELECT count(*) AS n FROM {table}")
    return int(row["n"])


async def test_0008r_keeps_rows_refuses_dangling_references_cascades_and_downgrades(empty_database: str) -> None:
    cfg = alembic_config(empty_database)
    await asyncio.to_thread(command.upgrade, cfg, "0007s")
    await _run(empty_database, _session("acme", "s-1"), _message("acme", "s-1"), _request(REQUEST, "acme", "s-1"))
    await asyncio.to_thread(command.upgrade, cfg, "0008r")
    assert await _run(empty_database, FOREIGN_KEYS) == []
    assert await _run(empty_database, COMPANY_INDEX) == []
    assert await _count(empty_database, "session_messages") == 1

    # A session of the same id in another company is not this company's session.
    for dangling in (
        _message("globex", "s-1"),
        _request("00000000-0000-0000-0000-000000000002", "globex", "s-1"),
        "UPDATE session_messages SET session_id = 's-2'",
        "UPDATE ai_processing_requests SET company_id = 'globex'",
        "UPDATE sessions SET id = 's-2'",
    ):
        with pytest.raises(asyncpg.ForeignKeyViolationError):
            await _run(empty_database, dangling)
    # One missing session among many present ones fails the whole statement, COPY included.
    with pytest.raises(asyncpg.ForeignKeyViolationError):
        await _run(
            empty_database,
            'INSERT INTO session_messages (company_id, session_id, role, content, "order") '
            "VALUES ('acme', 's-1', 'user', 'a', 1), ('acme', 'nope', 'user', 'b', 0)",
        )
    conn = await asyncpg.connect(_plain(empty_database))
    try:
        with pytest.raises(asyncpg.ForeignKeyViolationError):
            await conn.copy_records_to_table(
                "session_messages",
                records=[("acme", "s-1", "user", "a", 1), ("acme", "nope", "user", "b", 0)],
                columns=("company_id", "session_id", "role", "content", "order"),
            )
    finally:
        await conn.close()
    assert await _count(empty_database, "session_messages") == 1

    # Deleting a session takes its messages, its requests and the requests' batch items with it.
    await _run(
        empty_database,
        _session("acme", "s-2"),
        _message("acme", "s-2"),
        "INSERT INTO provider_batches (id, company_id, model, provider, status, request_count, poll_count, "
        f"submit_attempts) VALUES ('{BATCH}', 'acme', 'm', 'openai', 'PENDING_SUBMISSION', 0, 0, 0)",
        f"INSERT INTO ai_batch_items (batch_id, request_id, attempt) VALUES ('{BATCH}', '{REQUEST}', 1)",
    )
    await _run(empty_database, "DELETE FROM sessions WHERE id = 's-1'")
    assert await _count(empty_database, "ai_processing_requests") == 0
    assert await _count(empty_database, "ai_batch_items") == 0
    left = await _run(empty_database, "SELECT session_id FROM session_messages")
    assert [r["session_id"] for r in left] == ["s-2"]

    await asyncio.to_thread(command.downgrade, cfg, "0007s")
    assert len(await _run(empty_database, FOREIGN_KEYS)) == 2
    assert len(await _run(empty_database, COMPANY_INDEX)) == 1
    with pytest.raises(asyncpg.ForeignKeyViolationError):
        await _run(empty_database, _message("globex", "s-2"))
    assert await _count(empty_database, "session_messages") == 1


async def _plans_of_checks(url: str, revision: str) -> list[str]:
    """The plan lines that read ``sessions`` while messages are stored, on a connection as old as the table.

    The connection's first writes meet a table analysed at one row; then the table grows to 20,000
    sessions of five companies and three more messages are stored. ``auto_explain`` (sent to this
    client) shows what each check ran.
    """
    await asyncio.to_thread(command.upgrade, alembic_config(url), revision)
    conn = await asyncpg.connect(_plain(url), server_settings={"plan_cache_mode": "auto"})
    logs: list[str] = []
    conn.add_log_listener(lambda _c, message: logs.append(message.message))
    try:
        await conn.execute(_session("acme", "t"))
        await conn.execute("ANALYZE sessions")
        for n in range(8):  # enough checks for PostgreSQL to settle on a generic plan
            async with conn.transaction():
                await conn.execute(_session("acme", f"t-{n}"))
                await conn.execute(_message("acme", f"t-{n}"))
        await conn.execute(
            "INSERT INTO sessions (id, company_id, started_at, content_hash, message_count) "
            "SELECT 's-' || g, 'c' || (g % 5), now(), 'h', 1 FROM generate_series(1, 20000) g"
        )
        await conn.execute(
            "LOAD 'auto_explain'; SET auto_explain.log_min_duration = 0; "
            "SET auto_explain.log_nested_statements = on; SET client_min_messages = log"
        )
        await conn.execute(
            'INSERT INTO session_messages (company_id, session_id, role, content, "order") '
            "SELECT 'c' || (g % 5), 's-' || g, 'user', 'hi', 0 FROM generate_series(1, 3) g"
        )
    finally:
        await conn.close()
    return [line.strip() for m in logs for line in m.splitlines() if " on sessions " in line]


async def test_a_connection_that_started_on_a_small_table_checks_references_by_the_primary_key(
    empty_database: str,
) -> None:
    """The producer's pooled connection lives for hours: its checks must not keep their first plan.

    Under the foreign key (0007s) this connection's checks still scan the whole table, the plan made
    while it held one row; ``auto_explain`` of B4's producer showed the same with the company index.
    """
    lines = await _plans_of_checks(empty_database, "head")
    assert lines, "no check of sessions was explained"
    assert all("using pk_sessions" in line for line in lines), lines
