"""Migration 0007s: the claim's references checked per statement still refuse and cascade as foreign keys did."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest
from alembic import command

from shared.db.migrate import alembic_config
from tests.support import run_in_transaction as _run

BATCH = "00000000-0000-0000-0000-0000000000b1"
OTHER_BATCH = "00000000-0000-0000-0000-0000000000b2"
MISSING = "00000000-0000-0000-0000-0000000000ff"
REQUESTS = ("00000000-0000-0000-0000-000000000001", "00000000-0000-0000-0000-000000000002")
FOREIGN_KEYS = (
    "SELECT conname FROM pg_constraint WHERE contype = 'f' AND conname IN ("
    "'fk_ai_processing_requests_batch_id_provider_batches', 'fk_ai_batch_items_batch_id_provider_batches', "
    "'fk_ai_batch_items_request_id_ai_processing_requests')"
)

RELOPTIONS = "SELECT reloptions AS o FROM pg_class WHERE relname = 'ai_batch_items'"


def _batch(batch_id: str) -> str:
    return (
        "INSERT INTO provider_batches (id, company_id, model, provider, status, request_count, poll_count, "
        f"submit_attempts) VALUES ('{batch_id}', 'acme', 'm', 'openai', 'PENDING_SUBMISSION', 0, 0, 0)"
    )


def _request(request_id: str, batch_id: str | None) -> str:
    batch = f"'{batch_id}'" if batch_id else "NULL"
    return (
        "INSERT INTO ai_processing_requests (id, session_id, company_id, processing_type, model, revision, "
        f"status, attempt, approx_bytes, batch_id) VALUES ('{request_id}', 's-1', 'acme', 'summary', 'm', "
        f"'{request_id}', 'BATCHING_IN_PROGRESS', 1, 10, {batch})"
    )


def _item(batch_id: str, request_id: str) -> str:
    return f"INSERT INTO ai_batch_items (batch_id, request_id, attempt) VALUES ('{batch_id}', '{request_id}', 1)"


async def _seed(url: str) -> None:
    await _run(
        url,
        "INSERT INTO sessions (id, company_id, started_at, content_hash, message_count) "
        "VALUES ('s-1', 'acme', now(), 'h', 1)",
        _batch(BATCH),
        *(_request(r, BATCH) for r in REQUESTS),
        *(_item(BATCH, r) for r in REQUESTS),
    )


async def test_0007s_keeps_rows_refuses_dangling_references_cascades_and_downgrades(empty_database: str) -> None:
    cfg = alembic_config(empty_database)
    await asyncio.to_thread(command.upgrade, cfg, "0006q")
    await _seed(empty_database)
    await asyncio.to_thread(command.upgrade, cfg, "0007s")
    assert await _run(empty_database, FOREIGN_KEYS) == []
    (options,) = await _run(empty_database, RELOPTIONS)
    assert options["o"] == ["fillfactor=50"]  # room on each page for the line's in-place update
    assert len(await _run(empty_database, "SELECT 1 FROM ai_batch_items")) == 2

    # Every write naming a batch or request that does not exist is refused, as a foreign key refuses it.
    for dangling in (
        _item(MISSING, REQUESTS[0]),
        _item(BATCH, MISSING),
        _request(MISSING, MISSING),
        f"UPDATE ai_processing_requests SET batch_id = '{MISSING}'",
        f"UPDATE ai_batch_items SET batch_id = '{MISSING}' WHERE request_id = '{REQUESTS[0]}'",
        f"UPDATE provider_batches SET id = '{MISSING}'",
    ):
        with pytest.raises(asyncpg.ForeignKeyViolationError):
            await _run(empty_database, dangling)
    # ...and a good one among many bad ones does not let the statement through.
    with pytest.raises(asyncpg.ForeignKeyViolationError):
        await _run(
            empty_database,
            _batch(OTHER_BATCH),
            "INSERT INTO ai_batch_items (batch_id, request_id, attempt) "
            f"VALUES ('{OTHER_BATCH}', '{REQUESTS[0]}', 1), ('{MISSING}', '{REQUESTS[1]}', 1)",
        )
    assert len(await _run(empty_database, "SELECT 1 FROM ai_batch_items")) == 2

    # A batch its requests still point to cannot be deleted; once they let go, its items go with it.
    with pytest.raises(asyncpg.ForeignKeyViolationError):
        await _run(empty_database, f"DELETE FROM provider_batches WHERE id = '{BATCH}'")
    await _run(
        empty_database,
        _batch(OTHER_BATCH),
        f"UPDATE ai_processing_requests SET batch_id = '{OTHER_BATCH}'",
        *(_item(OTHER_BATCH, r) for r in REQUESTS),
        f"DELETE FROM provider_batches WHERE id = '{BATCH}'",
    )
    items = await _run(empty_database, "SELECT batch_id::text AS b FROM ai_batch_items")
    assert {r["b"] for r in items} == {OTHER_BATCH} and len(items) == 2
    # A deleted request takes its items with it.
    await _run(empty_database, f"DELETE FROM ai_processing_requests WHERE id = '{REQUESTS[0]}'")
    (left,) = await _run(empty_database, "SELECT request_id::text AS r FROM ai_batch_items")
    assert left["r"] == REQUESTS[1]

    await asyncio.to_thread(command.downgrade, cfg, "0006q")
    assert len(await _run(empty_database, FOREIGN_KEYS)) == 3
    (options,) = await _run(empty_database, RELOPTIONS)
    assert options["o"] is None
    with pytest.raises(asyncpg.ForeignKeyViolationError):
        await _run(empty_database, _item(MISSING, REQUESTS[1]))
    assert len(await _run(empty_database, "SELECT 1 FROM ai_batch_items")) == 1
