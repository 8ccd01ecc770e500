"""Migrations keep existing rows: an operator upgrading a live database loses nothing."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import asyncpg
import pytest
from alembic import command

from shared.db.migrate import alembic_config
from tests.support import _plain


async def _run(url: str, sql: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(_plain(url))
    try:
        return list(await conn.fetch(sql))
    finally:
        await conn.close()


async def test_0002_renames_the_batch_table_and_moves_the_submitters_retry_timer(empty_database: str) -> None:
    cfg = alembic_config(empty_database)
    await asyncio.to_thread(command.upgrade, cfg, "0001")
    await _run(
        empty_database,
        "INSERT INTO ai_batch_requests (id, company_id, model, provider, status, request_count, poll_count, "
        "submit_attempts, next_poll_at) VALUES "
        "('00000000-0000-0000-0000-000000000001', 'acme', 'm', 'openai', 'PENDING_SUBMISSION', 1, 0, 1, "
        "'2030-01-01T00:00:00Z'), "
        "('00000000-0000-0000-0000-000000000002', 'acme', 'm', 'openai', 'IN_PROGRESS', 1, 2, 1, "
        "'2031-01-01T00:00:00Z')",
    )

    # Up to the last revision with the foreign keys 0002 renamed (0007s checks them by triggers).
    await asyncio.to_thread(command.upgrade, cfg, "0006q")

    rows = await _run(
        empty_database,
        "SELECT status, extract(year FROM next_poll_at) AS poll, extract(year FROM submit_retry_at) AS retry "
        "FROM provider_batches ORDER BY id",
    )
    assert [(r["status"], r["poll"], r["retry"]) for r in rows] == [
        ("PENDING_SUBMISSION", None, 2030),
        ("IN_PROGRESS", 2031, None),
    ]
    names = {
        r["conname"]
        for r in await _run(empty_database, "SELECT conname FROM pg_constraint WHERE conname LIKE '%batch%'")
    }
    assert "pk_provider_batches" in names
    assert "fk_ai_batch_items_batch_id_provider_batches" in names
    assert not any("ai_batch_requests" in n for n in names), sorted(names)

    await asyncio.to_thread(command.downgrade, cfg, "0001")
    back = await _run(
        empty_database, "SELECT extract(year FROM next_poll_at) AS poll FROM ai_batch_requests ORDER BY id"
    )
    assert [r["poll"] for r in back] == [2030, 2031]


async def test_0003i_adds_the_ingest_fault_columns_with_defaults_and_downgrades(empty_database: str) -> None:
    cfg = alembic_config(empty_database)
    await asyncio.to_thread(command.upgrade, cfg, "0002")
    await _run(
        empty_database,
        "INSERT INTO provider_batches (id, company_id, model, provider, status, request_count, poll_count, "
        "submit_attempts) VALUES ('00000000-0000-0000-0000-000000000003', 'acme', 'm', 'openai', 'COMPLETED', 1, 1, 1)",
    )
    await _run(
        empty_database,
        "INSERT INTO sessions (id, company_id, started_at, content_hash, message_count, summary) "
        "VALUES ('s-1', 'acme', now(), 'h', 1, 'kept')",
    )

    await asyncio.to_thread(command.upgrade, cfg, "0003i")

    (batch,) = await _run(
        empty_database,
        "SELECT ingest_failures, ingest_retry_at, ingest_error, ingest_quarantined_at FROM provider_batches",
    )
    assert tuple(batch) == (0, None, None, None)
    (session,) = await _run(empty_database, "SELECT summary, summary_truncated FROM sessions")
    assert tuple(session) == ("kept", False)

    await asyncio.to_thread(command.downgrade, cfg, "0002")
    columns = {r["column_name"] for r in await _run(
        empty_database, "SELECT column_name FROM information_schema.columns WHERE table_name = 'provider_batches'"
    )}  # fmt: skip
    assert "ingest_failures" not in columns and "submit_retry_at" in columns


async def test_0004t_adds_token_admission_without_replaying_history_and_downgrades(
    empty_database: str,
) -> None:
    cfg = alembic_config(empty_database)
    await asyncio.to_thread(command.upgrade, cfg, "0003i")
    await _run(
        empty_database,
        "INSERT INTO provider_batches (id, company_id, model, provider, status, request_count, poll_count, "
        "submit_attempts, error_codes) VALUES ('00000000-0000-0000-0000-000000000004', 'acme', 'm', 'openai', "
        "'PROCESSED', 1, 1, 1, '{token_limit_exceeded}')",
    )
    await _run(
        empty_database,
        "INSERT INTO sessions (id, company_id, started_at, content_hash, message_count) "
        "VALUES ('s-1', 'acme', now(), 'h', 1)",
    )
    await _run(
        empty_database,
        "INSERT INTO ai_processing_requests (id, session_id, company_id, processing_type, model, revision, "
        "status, attempt, approx_bytes) VALUES ('00000000-0000-0000-0000-000000000005', 's-1', 'acme', "
        "'summary', 'm', 'initial', 'PENDING_BATCHING', 1, 10)",
    )

    await asyncio.to_thread(command.upgrade, cfg, "0004t")

    (batch,) = await _run(
        empty_database,
        "SELECT estimated_tokens, admitted_enqueued, limit_feedback_at IS NOT NULL AS read_back "
        "FROM provider_batches",
    )
    # An old refusal is not replayed into a learned limit: it is marked as read back already.
    assert tuple(batch) == (None, None, True)
    (request,) = await _run(empty_database, "SELECT est_tokens, requeues FROM ai_processing_requests")
    assert tuple(request) == (None, 0)
    assert await _run(empty_database, "SELECT * FROM model_token_limits") == []

    await asyncio.to_thread(command.downgrade, cfg, "0003i")
    tables = {r["table_name"] for r in await _run(
        empty_database, "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
    )}  # fmt: skip
    assert "model_token_limits" not in tables and "provider_batches" in tables


async def test_0004c_creates_the_circuit_table_and_drops_it_on_downgrade(empty_database: str) -> None:
    cfg = alembic_config(empty_database)
    await asyncio.to_thread(command.upgrade, cfg, "0004c")
    await _run(
        empty_database,
        "INSERT INTO provider_circuits (provider, model, reason, opened_at, faults, probe_at) "
        "VALUES ('openai', 'm', '401', now(), 1, now())",
    )
    (pk,) = await _run(
        empty_database,
        "SELECT conname FROM pg_constraint WHERE conrelid = 'provider_circuits'::regclass AND contype = 'p'",
    )
    assert pk["conname"] == "pk_provider_circuits"
    await asyncio.to_thread(command.downgrade, cfg, "0003i")
    (gone,) = await _run(empty_database, "SELECT to_regclass('provider_circuits') AS t")
    assert gone["t"] is None


async def test_0005r_adds_analysis_history_keeps_sessions_and_downgrades(empty_database: str) -> None:
    cfg = alembic_config(empty_database)
    await asyncio.to_thread(command.upgrade, cfg, "0004c")
    await _run(
        empty_database,
        "INSERT INTO sessions (id, company_id, started_at, content_hash, message_count, sentiment, summary) "
        "VALUES ('s-1', 'acme', now(), 'h', 1, 'positive', 'kept'), ('s-2', 'acme', now(), 'h', 1, NULL, NULL)",
    )
    await _run(
        empty_database,
        "INSERT INTO ai_processing_requests (id, session_id, company_id, processing_type, model, revision, "
        "status, attempt, approx_bytes, completed_at) VALUES "
        "('00000000-0000-0000-0000-000000000006', 's-1', 'acme', 'full_analysis', 'm', 'old', "
        "'PROCESSING_COMPLETE', 1, 10, '2026-05-01T10:00:00Z'), "
        "('00000000-0000-0000-0000-000000000007', 's-1', 'acme', 'full_analysis', 'm', 'newer', "
        "'PROCESSING_COMPLETE', 1, 10, '2026-05-02T10:00:00Z'), "
        "('00000000-0000-0000-0000-000000000008', 's-2', 'acme', 'full_analysis', 'm', 'h', "
        "'PROCESSING_FAILED', 1, 10, NULL)",
    )

    await asyncio.to_thread(command.upgrade, cfg, "0005r")

    got = await _run(
        empty_database,
        "SELECT id, sentiment, summary, analysis_revision, extract(day FROM analysed_at) AS day "
        "FROM sessions ORDER BY id",
    )
    # The current analysis is labelled with its latest completed request; a session without one is not.
    assert [tuple(r) for r in got] == [("s-1", "positive", "kept", "newer", 2), ("s-2", None, None, None, None)]
    await _run(
        empty_database,
        "INSERT INTO session_analyses_history (company_id, session_id, revision, summary) "
        "VALUES ('acme', 's-1', 'newer', 'kept')",
    )
    with pytest.raises(asyncpg.UniqueViolationError):
        await _run(
            empty_database,
            "INSERT INTO session_analyses_history (company_id, session_id, revision) VALUES ('acme', 's-1', 'newer')",
        )
    (index,) = await _run(
        empty_database, "SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_requests_failed'"
    )
    assert "PROCESSING_FAILED" in index["indexdef"]

    await asyncio.to_thread(command.downgrade, cfg, "0004c")
    (gone,) = await _run(empty_database, "SELECT to_regclass('session_analyses_history') AS t")
    assert gone["t"] is None
    columns = {r["column_name"] for r in await _run(
        empty_database, "SELECT column_name FROM information_schema.columns WHERE table_name = 'sessions'"
    )}  # fmt: skip
    assert "analysis_revision" not in columns and "analysed_at" not in columns
    kept = await _run(empty_database, "SELECT id, summary FROM sessions ORDER BY id")
    assert [tuple(r) for r in kept] == [("s-1", "kept"), ("s-2", None)]
    assert len(await _run(empty_database, "SELECT id FROM ai_processing_requests")) == 3


async def test_0005m_adds_money_columns_backfills_processed_batches_and_downgrades(empty_database: str) -> None:
    cfg = alembic_config(empty_database)
    await asyncio.to_thread(command.upgrade, cfg, "0004c")
    done, live = "00000000-0000-0000-0000-00000000000a", "00000000-0000-0000-0000-00000000000b"
    await _run(
        empty_database,
        "INSERT INTO provider_batches (id, company_id, model, provider, status, request_count, poll_count, "
        f"submit_attempts, processed_at) VALUES ('{done}', 'acme', 'm', 'openai', 'PROCESSED', 2, 1, 1, now()), "
        f"('{live}', 'acme', 'm', 'openai', 'IN_PROGRESS', 1, 1, 1, NULL)",
    )
    await _run(
        empty_database,
        "INSERT INTO sessions (id, company_id, started_at, content_hash, message_count) "
        "VALUES ('s-1', 'acme', now(), 'h', 1)",
    )
    await _run(
        empty_database,
        "INSERT INTO ai_processing_requests (id, session_id, company_id, processing_type, model, revision, "
        "status, attempt, approx_bytes, prompt_tokens, completion_tokens, batch_id) VALUES "
        f"('00000000-0000-0000-0000-000000000011', 's-1', 'acme', 'summary', 'm', 'r1', 'PROCESSING_COMPLETE', "
        f"1, 10, 1200, 300, '{done}'), "
        f"('00000000-0000-0000-0000-000000000012', 's-1', 'acme', 'sentiment_analysis', 'm', 'r1', "
        f"'PROCESSING_FAILED', 2, 10, 34, NULL, '{done}'), "
        f"('00000000-0000-0000-0000-000000000013', 's-1', 'acme', 'categorization', 'm', 'r1', "
        f"'BATCHING_IN_PROGRESS', 1, 10, NULL, NULL, '{live}')",
    )

    await asyncio.to_thread(command.upgrade, cfg, "0005m")

    batches = await _run(
        empty_database,
        "SELECT id::text AS id, lines_input_tokens, lines_cached_tokens, lines_output_tokens, "
        "price_input_per_million, price_batch_discount, provider_input_tokens, usage_mismatch "
        "FROM provider_batches ORDER BY id",
    )
    # The processed batch keeps what its requests spent (1,200 + 34 in, 300 out), with no price: the
    # report prices it at the configured price, as before. The unfinished one has nothing yet.
    assert [tuple(b) for b in batches] == [
        (done, 1234, 0, 300, None, None, None, None),
        (live, None, None, None, None, None, None, None),
    ]
    requests = await _run(
        empty_database, "SELECT prompt_tokens, cached_tokens FROM ai_processing_requests ORDER BY id"
    )
    assert [tuple(r) for r in requests] == [(1200, None), (34, None), (None, None)]

    await asyncio.to_thread(command.downgrade, cfg, "0004c")
    columns = {r["column_name"] for r in await _run(
        empty_database,
        "SELECT column_name FROM information_schema.columns WHERE table_name IN "
        "('provider_batches', 'ai_processing_requests')",
    )}  # fmt: skip
    assert not columns & {"lines_input_tokens", "price_input_per_million", "usage_mismatch", "cached_tokens"}
    assert len(await _run(empty_database, "SELECT id FROM provider_batches")) == 2
    assert len(await _run(empty_database, "SELECT id FROM ai_processing_requests")) == 3


async def test_0005a_keys_sessions_by_company_and_keeps_every_row(empty_database: str) -> None:
    cfg = alembic_config(empty_database)
    await asyncio.to_thread(command.upgrade, cfg, "0004c")
    for sql in (
        "INSERT INTO sessions (id, company_id, started_at, content_hash, message_count, summary) VALUES "
        "('1', 'acme', now(), 'h1', 2, 'acme one'), ('2', 'globex', now(), 'h2', 1, NULL)",
        'INSERT INTO session_messages (session_id, role, content, "order") VALUES '
        "('1', 'user', 'hello', 0), ('1', 'assistant', 'hi', 1), ('2', 'user', 'hallo', 0)",
        "INSERT INTO ai_processing_requests (id, session_id, company_id, processing_type, model, revision, "
        "status, attempt, approx_bytes) VALUES ('00000000-0000-0000-0000-000000000006', '1', 'acme', "
        "'summary', 'm', 'initial', 'PROCESSING_COMPLETE', 1, 10)",
    ):
        await _run(empty_database, sql)

    await asyncio.to_thread(command.upgrade, cfg, "0005a")

    messages = await _run(
        empty_database, 'SELECT company_id, session_id, content FROM session_messages ORDER BY session_id, "order"'
    )
    assert [tuple(r) for r in messages] == [("acme", "1", "hello"), ("acme", "1", "hi"), ("globex", "2", "hallo")]
    (request,) = await _run(empty_database, "SELECT id::text, company_id, session_id FROM ai_processing_requests")
    assert tuple(request) == ("00000000-0000-0000-0000-000000000006", "acme", "1")  # its id is kept
    # The new rule: another company may use session id "1"; its messages and requests are its own.
    await _run(
        empty_database,
        "INSERT INTO sessions (id, company_id, started_at, content_hash, message_count) "
        "VALUES ('1', 'globex', now(), 'h3', 1)",
    )
    await _run(
        empty_database,
        'INSERT INTO session_messages (company_id, session_id, role, content, "order") '
        "VALUES ('globex', '1', 'user', 'guten tag', 0)",
    )
    with pytest.raises(asyncpg.ForeignKeyViolationError):
        await _run(
            empty_database,
            'INSERT INTO session_messages (company_id, session_id, role, content, "order") '
            "VALUES ('initech', '1', 'user', 'no such session of initech', 0)",
        )
    (pk,) = await _run(
        empty_database,
        "SELECT pg_get_constraintdef(oid) AS d FROM pg_constraint WHERE conname = 'pk_sessions'",
    )
    assert pk["d"] == "PRIMARY KEY (company_id, id)"

    # Downgrade is refused while a session id is used by two companies, and changes nothing.
    with pytest.raises(RuntimeError, match="used by more than one company"):
        await asyncio.to_thread(command.downgrade, cfg, "0004c")
    assert len(await _run(empty_database, "SELECT 1 FROM sessions")) == 3
    await _run(empty_database, "DELETE FROM sessions WHERE company_id = 'globex' AND id = '1'")

    await asyncio.to_thread(command.downgrade, cfg, "0004c")
    back = await _run(
        empty_database, 'SELECT session_id, content FROM session_messages ORDER BY session_id, "order"'
    )
    assert [tuple(r) for r in back] == [("1", "hello"), ("1", "hi"), ("2", "hallo")]
    (summary,) = await _run(empty_database, "SELECT summary FROM sessions WHERE id = '1'")
    assert summary["summary"] == "acme one"
    assert len(await _run(empty_database, "SELECT 1 FROM ai_processing_requests WHERE session_id = '1'")) == 1
    (pk,) = await _run(
        empty_database,
        "SELECT pg_get_constraintdef(oid) AS d FROM pg_constraint WHERE conname = 'pk_sessions'",
    )
    assert pk["d"] == "PRIMARY KEY (id)"


async def test_0005l_adds_lines_errors_and_duplicates_keeping_rows_and_downgrades(empty_database: str) -> None:
    cfg = alembic_config(empty_database)
    await asyncio.to_thread(command.upgrade, cfg, "0004c")
    await _run(
        empty_database,
        "INSERT INTO provider_batches (id, company_id, model, provider, status, request_count, poll_count, "
        "submit_attempts, error_codes) VALUES ('00000000-0000-0000-0000-000000000006', 'acme', 'm', 'openai', "
        "'PROCESSED', 1, 1, 1, '{invalid_request}')",
    )
    await _run(
        empty_database,
        "INSERT INTO sessions (id, company_id, started_at, content_hash, message_count) "
        "VALUES ('s-1', 'acme', now(), 'h', 1)",
    )
    await _run(
        empty_database,
        "INSERT INTO ai_processing_requests (id, session_id, company_id, processing_type, model, revision, "
        "status, attempt, approx_bytes, batch_id) VALUES ('00000000-0000-0000-0000-000000000007', 's-1', "
        "'acme', 'summary', 'm', 'initial', 'PROCESSING_FAILED', 2, 10, '00000000-0000-0000-0000-000000000006')",
    )
    await _run(
        empty_database,
        "INSERT INTO ai_batch_items (batch_id, request_id, attempt) VALUES "
        "('00000000-0000-0000-0000-000000000006', '00000000-0000-0000-0000-000000000007', 1)",
    )

    await asyncio.to_thread(command.upgrade, cfg, "0005l")

    # Items of files written before: no line (the ingester keeps the old rule for them).
    (item,) = await _run(empty_database, "SELECT attempt, line FROM ai_batch_items")
    assert tuple(item) == (1, None)
    (batch,) = await _run(empty_database, "SELECT error_codes, validation_errors FROM provider_batches")
    assert tuple(batch) == (["invalid_request"], None)
    await _run(
        empty_database,
        "INSERT INTO duplicate_batches (provider_batch_id, batch_id, company_id, model) "
        "VALUES ('batch_dup', '00000000-0000-0000-0000-000000000006', 'acme', 'm')",
    )
    (dup,) = await _run(
        empty_database,
        "SELECT request_total, prompt_tokens, completion_tokens, settled_at, found_at IS NOT NULL AS found "
        "FROM duplicate_batches",
    )
    assert tuple(dup) == (0, 0, 0, None, True)

    await asyncio.to_thread(command.downgrade, cfg, "0004c")
    (gone,) = await _run(empty_database, "SELECT to_regclass('duplicate_batches') AS t")
    assert gone["t"] is None
    columns = {r["column_name"] for r in await _run(
        empty_database, "SELECT column_name FROM information_schema.columns WHERE table_name = 'ai_batch_items'"
    )}  # fmt: skip
    assert "line" not in columns and "attempt" in columns
    assert len(await _run(empty_database, "SELECT 1 FROM ai_batch_items")) == 1


async def test_0006w_adds_webhook_events_keeping_batches_and_downgrades(empty_database: str) -> None:
    cfg = alembic_config(empty_database)
    await asyncio.to_thread(command.upgrade, cfg, "0005l")
    await _run(
        empty_database,
        "INSERT INTO provider_batches (id, company_id, model, provider, provider_batch_id, status, "
        "request_count, poll_count, submit_attempts) VALUES ('00000000-0000-0000-0000-000000000009', 'acme', "
        "'m', 'openai', 'batch_w', 'IN_PROGRESS', 1, 3, 1)",
    )

    await asyncio.to_thread(command.upgrade, cfg, "0006w")

    (batch,) = await _run(empty_database, "SELECT provider_batch_id, poll_count FROM provider_batches")
    assert tuple(batch) == ("batch_w", 3)
    await _run(
        empty_database,
        "INSERT INTO webhook_events (webhook_id, event_type, provider_batch_id, event_created_at, batch_found) "
        "VALUES ('wh_1', 'batch.completed', 'batch_w', 1700000000, true)",
    )
    (event,) = await _run(empty_database, "SELECT batch_found, received_at IS NOT NULL AS stamped FROM webhook_events")
    assert tuple(event) == (True, True)

    await asyncio.to_thread(command.downgrade, cfg, "0005l")
    (gone,) = await _run(empty_database, "SELECT to_regclass('webhook_events') AS t")
    assert gone["t"] is None
    assert len(await _run(empty_database, "SELECT 1 FROM provider_batches")) == 1


async def test_0006b_adds_budgets_and_holds_keeping_rows_and_downgrades(empty_database: str) -> None:
    cfg = alembic_config(empty_database)
    await asyncio.to_thread(command.upgrade, cfg, "0006w")
    await _run(
        empty_database,
        "INSERT INTO provider_batches (id, company_id, model, provider, status, request_count, poll_count, "
        "submit_attempts) VALUES ('00000000-0000-0000-0000-000000000008', 'acme', 'm', 'openai', "
        "'PROCESSED', 1, 1, 1)",
    )

    await asyncio.to_thread(command.upgrade, cfg, "0006b")

    (batch,) = await _run(empty_database, "SELECT company_id, status FROM provider_batches")
    assert tuple(batch) == ("acme", "PROCESSED")
    await _run(
        empty_database,
        "INSERT INTO company_budgets (company_id, provider, monthly_usd) VALUES ('acme', NULL, 12.5), "
        "('acme', 'openai', 3)",
    )
    # One row per scope: a second "all providers" budget of the company is refused.
    with pytest.raises(asyncpg.UniqueViolationError):
        await _run(
            empty_database, "INSERT INTO company_budgets (company_id, monthly_usd) VALUES ('acme', 1)"
        )
    with pytest.raises(asyncpg.CheckViolationError):
        await _run(empty_database, "INSERT INTO company_budgets (company_id, monthly_usd) VALUES ('b', -1)")
    budgets = await _run(
        empty_database, "SELECT provider, monthly_usd::text AS usd FROM company_budgets ORDER BY provider"
    )
    assert [tuple(r) for r in budgets] == [("openai", "3"), (None, "12.5")]
    await _run(
        empty_database,
        "INSERT INTO budget_holds (company_id, model, provider, reason, held_requests) "
        "VALUES ('acme', 'm', 'openai', 'budget: company acme at $3.0000 of $3.0000 (month 2026-12)', 4)",
    )
    (hold,) = await _run(empty_database, "SELECT held_requests, held_at IS NOT NULL AS at FROM budget_holds")
    assert tuple(hold) == (4, True)

    await asyncio.to_thread(command.downgrade, cfg, "0006w")
    gone = await _run(
        empty_database, "SELECT to_regclass('company_budgets') AS b, to_regclass('budget_holds') AS h"
    )
    assert tuple(gone[0]) == (None, None)
    assert len(await _run(empty_database, "SELECT 1 FROM provider_batches")) == 1


async def test_0006f_adds_the_fallback_state_and_calls_keeping_rows_and_downgrades(empty_database: str) -> None:
    cfg = alembic_config(empty_database)
    await asyncio.to_thread(command.upgrade, cfg, "0006b")
    await _run(
        empty_database,
        "INSERT INTO provider_batches (id, company_id, model, provider, status, request_count, poll_count, "
        "submit_attempts, error_codes) VALUES ('00000000-0000-0000-0000-000000000016', 'acme', 'm', 'openai', "
        "'PROCESSED', 2, 1, 1, '{}')",
    )
    await _run(
        empty_database,
        "INSERT INTO sessions (id, company_id, started_at, content_hash, message_count) "
        "VALUES ('s-1', 'acme', now(), 'h', 1)",
    )
    await _run(
        empty_database,
        "INSERT INTO ai_processing_requests (id, session_id, company_id, processing_type, model, revision, "
        "status, attempt, approx_bytes, batch_id) VALUES "
        "('00000000-0000-0000-0000-000000000017', 's-1', 'acme', 'summary', 'm', 'initial', "
        "'PROCESSING_COMPLETE', 1, 10, '00000000-0000-0000-0000-000000000016'), "
        "('00000000-0000-0000-0000-000000000018', 's-1', 'acme', 'categorization', 'm', 'initial', "
        "'BATCHING_IN_PROGRESS', 2, 10, '00000000-0000-0000-0000-000000000016')",
    )

    await asyncio.to_thread(command.upgrade, cfg, "0006f")

    kept = await _run(
        empty_database, "SELECT status, attempt, fallback, fallback_from_model FROM ai_processing_requests ORDER BY id"
    )
    assert [tuple(r) for r in kept] == [("PROCESSING_COMPLETE", 1, None, None), ("BATCHING_IN_PROGRESS", 2, None, None)]
    # The new state is admitted, and a call row holds its usage and exact prices.
    await _run(
        empty_database,
        "UPDATE ai_processing_requests SET status = 'FALLBACK_IN_PROGRESS', fallback = 'sync' "
        "WHERE id = '00000000-0000-0000-0000-000000000018'",
    )
    await _run(
        empty_database,
        "INSERT INTO fallback_calls (request_id, batch_id, company_id, model, day, prompt_tokens, "
        "price_input_per_million) VALUES ('00000000-0000-0000-0000-000000000018', "
        "'00000000-0000-0000-0000-000000000016', 'acme', 'm', current_date, 7, 0.15)",
    )
    (call,) = await _run(empty_database, "SELECT claims, done_at, prompt_tokens, price_input_per_million FROM fallback_calls")
    assert tuple(call) == (0, None, 7, Decimal("0.15"))
    with pytest.raises(asyncpg.CheckViolationError):
        await _run(empty_database, "UPDATE ai_processing_requests SET status = 'NOT_A_STATE'")

    await asyncio.to_thread(command.downgrade, cfg, "0006b")
    (gone,) = await _run(empty_database, "SELECT to_regclass('fallback_calls') AS t")
    assert gone["t"] is None
    # A request caught in a call goes back to the batch path; every row is kept.
    back = await _run(empty_database, "SELECT status, batch_id, attempt FROM ai_processing_requests ORDER BY id")
    assert [(r["status"], r["attempt"]) for r in back] == [("PROCESSING_COMPLETE", 1), ("PENDING_BATCHING", 2)]
    assert back[1]["batch_id"] is None
    with pytest.raises(asyncpg.CheckViolationError):
        await _run(empty_database, "UPDATE ai_processing_requests SET status = 'FALLBACK_IN_PROGRESS'")


async def test_0006q_puts_the_claim_order_in_the_pending_index_keeping_rows_and_downgrades(
    empty_database: str,
) -> None:
    cfg = alembic_config(empty_database)
    await asyncio.to_thread(command.upgrade, cfg, "0006f")
    await _run(
        empty_database,
        "INSERT INTO sessions (id, company_id, started_at, content_hash, message_count) "
        "VALUES ('s-1', 'acme', now(), 'h', 1)",
    )
    await _run(
        empty_database,
        "INSERT INTO ai_processing_requests (id, session_id, company_id, processing_type, model, revision, "
        "status, attempt, approx_bytes) VALUES ('00000000-0000-0000-0000-000000000008', 's-1', 'acme', "
        "'summary', 'm', 'initial', 'PENDING_BATCHING', 1, 10)",
    )
    index = "SELECT indexdef AS d FROM pg_indexes WHERE indexname = 'ix_requests_pending'"

    await asyncio.to_thread(command.upgrade, cfg, "0006q")
    (after,) = await _run(empty_database, index)
    assert "(company_id, model, requested_at, id) WHERE" in after["d"]
    assert "PENDING_BATCHING" in after["d"] and "batch_id IS NULL" in after["d"]
    (row,) = await _run(empty_database, "SELECT id::text AS id, status FROM ai_processing_requests")
    assert tuple(row) == ("00000000-0000-0000-0000-000000000008", "PENDING_BATCHING")

    await asyncio.to_thread(command.downgrade, cfg, "0006f")
    (before,) = await _run(empty_database, index)
    assert "(company_id, model, requested_at) WHERE" in before["d"]
    assert len(await _run(empty_database, "SELECT 1 FROM ai_processing_requests")) == 1
