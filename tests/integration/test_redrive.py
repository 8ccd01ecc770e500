"""``batchline requests retry`` and ``batchline reprocess`` against real Kafka, PostgreSQL and the emulator.

The pipeline test forces every request to fail (every line answered with an error, one attempt
allowed), then re-drives them with the real command and lets the services finish them; then it
reprocesses the sessions twice: the second run must find the first run's requests and create nothing,
so exactly one new set of provider batches exists and every earlier analysis is kept as history.
The chunk tests seed rows directly and check the filters and the chunking, set by set.
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import orjson
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from cli.redrive import Filters, plan_reprocess, reprocess, retry_failed
from emulator.config import EmulatorConfig
from emulator.server import EmulatorServer
from services.ingester.repository import apply_successes, lock_sessions
from services.ingester.results import LineOutcome, Usage
from shared.analysis import ProcessingType
from shared.kafka.topics import ensure_topics
from shared.settings import Settings
from tests.integration.test_pipeline_flow import session_event
from tests.pipeline import publish, rows, running_services, scalar, wait_until_terminal

FAILED, PENDING, COMPLETE = "PROCESSING_FAILED", "PENDING_BATCHING", "PROCESSING_COMPLETE"


@pytest.fixture
def emulator_config() -> EmulatorConfig:
    # Every line fails until the test lifts the fault: with one attempt, every request fails for good.
    return EmulatorConfig(port=0, stage_s=0.1, seed=11, line_error_rate=1.0)


def run_cli(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "BATCHLINE_DATABASE_URL": str(settings.database_url),
        "BATCHLINE_KAFKA_BOOTSTRAP_SERVERS": settings.kafka_bootstrap_servers,
        "BATCHLINE_TOPIC_PREFIX": settings.topic_prefix,
    }
    return subprocess.run(
        [sys.executable, "-m", "cli.main", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )


async def cli(settings: Settings, *args: str) -> str:
    result = await asyncio.to_thread(run_cli, settings, *args)
    assert result.returncode == 0, result.stderr
    return " ".join(result.stdout.split())  # rich may wrap a long line


async def emulator_batches_by_request(emulator: EmulatorServer) -> dict[str, int]:
    """How many provider batches the emulator holds each request id in (its own records)."""
    counts: dict[str, int] = {}
    for batch in emulator.emulator.stats()["batches"]:
        for custom_id in batch["custom_ids"]:
            counts[custom_id] = counts.get(custom_id, 0) + 1
    return counts


async def test_retry_completes_every_failed_request_and_reprocess_twice_adds_one_batch_set(
    make_settings: Callable[..., Settings], engine: AsyncEngine, emulator: EmulatorServer
) -> None:
    settings = make_settings(max_attempts=1)
    await ensure_topics(settings)
    events = [session_event(i, "acme") for i in range(12)] + [session_event(i, "beta") for i in range(4)]
    async with running_services(settings):
        await publish(settings, events)
        assert await wait_until_terminal(engine, 16, timeout_s=90) == {FAILED: 16}
        emulator.emulator.faults.update({"line_error_rate": 0.0})

        dry = await cli(settings, "requests", "retry", "--company", "acme", "--dry-run")
        assert "dry run: 12 failed requests of company 'acme' match; nothing changed" in dry
        assert (
            await scalar(engine, "SELECT count(*) FROM ai_processing_requests WHERE status = :s", s=FAILED)
            == 16
        )

        out = await cli(settings, "requests", "retry", "--company", "acme")
        assert "retried 12 of 12 failed requests of company 'acme'" in out
        counts = await wait_until_terminal(engine, 16, timeout_s=90)
        assert counts == {COMPLETE: 12, FAILED: 4}  # beta's were not asked for
        again = await cli(settings, "requests", "retry", "--company", "acme")
        assert "retried 0 of 0 failed requests" in again

        # What reprocess must keep: the analysis as it stands (a marked summary, to tell it apart).
        async with engine.begin() as conn:
            await conn.execute(
                text("UPDATE sessions SET summary = 'before: ' || id WHERE company_id = 'acme'")
            )
        before = {
            r.id: r
            for r in await rows(engine, "SELECT * FROM sessions WHERE company_id = 'acme' ORDER BY id")
        }
        assert all(r.analysis_revision and r.analysed_at and r.sentiment for r in before.values())
        assert await scalar(engine, "SELECT count(*) FROM session_analyses_history") == 0
        batches_before = await scalar(engine, "SELECT count(*) FROM provider_batches")

        preview = await cli(settings, "reprocess", "--company", "acme", "--dry-run")
        assert "12 sessions of company 'acme', 12 analyses match; would create 12 requests" in preview
        assert await scalar(engine, "SELECT count(*) FROM ai_processing_requests") == 16  # dry run: nothing
        first = await cli(settings, "reprocess", "--company", "acme")
        match = re.search(r"revision (\S+): 12 sessions of company 'acme', 12 analyses match; created 12 requests "
                          r"\(0 existed already\)", first)  # fmt: skip
        assert match, first
        revision = match.group(1)
        assert revision.startswith("reprocess-")
        assert await wait_until_terminal(engine, 28, timeout_s=90) == {COMPLETE: 24, FAILED: 4}
        batches_after_first = await scalar(engine, "SELECT count(*) FROM provider_batches")

        second = await cli(settings, "reprocess", "--company", "acme")
        assert f"revision {revision}: 12 sessions" in second
        assert "created 0 requests (12 existed already)" in second
        # Nothing was created or announced, so nothing can be batched: no outbox row, nothing pending.
        assert await scalar(engine, "SELECT count(*) FROM outbox") == 0
        assert await scalar(engine, "SELECT count(*) FROM ai_processing_requests") == 28
        assert await scalar(
            engine, "SELECT count(*) FROM ai_processing_requests WHERE status <> ALL(:s)", s=[COMPLETE, FAILED]
        ) == 0  # fmt: skip

    assert batches_after_first > batches_before
    assert await scalar(engine, "SELECT count(*) FROM provider_batches") == batches_after_first
    new = await rows(
        engine, "SELECT id, session_id, status FROM ai_processing_requests WHERE revision = :r", r=revision
    )
    assert sorted(r.session_id for r in new) == sorted(before)
    assert {r.status for r in new} == {COMPLETE}
    in_emulator = await emulator_batches_by_request(emulator)
    assert [in_emulator.get(str(r.id), 0) for r in new] == [1] * 12  # one provider batch each, never two
    assert len(in_emulator) == await scalar(engine, "SELECT count(DISTINCT request_id) FROM ai_batch_items")

    history = {
        r.session_id: r
        for r in await rows(engine, "SELECT * FROM session_analyses_history ORDER BY session_id")
    }
    assert sorted(history) == sorted(before)
    for sid, old in before.items():
        kept = history[sid]
        assert (kept.company_id, kept.revision, kept.summary) == (
            "acme",
            old.analysis_revision,
            f"before: {sid}",
        )
        assert (kept.sentiment, kept.category, kept.language) == (old.sentiment, old.category, old.language)
        assert kept.analysed_at == old.analysed_at
    now = {r.id: r for r in await rows(engine, "SELECT * FROM sessions WHERE company_id = 'acme'")}
    assert {r.analysis_revision for r in now.values()} == {revision}
    assert all(not r.summary.startswith("before: ") and r.analysed_at > before[sid].analysed_at
               for sid, r in now.items())  # fmt: skip
    beta = await scalar(engine, "SELECT count(*) FROM ai_processing_requests WHERE company_id = 'beta'")
    assert beta == 4


# --------------------------------------------------------------------------- chunks and filters

T0 = datetime(2026, 5, 1, tzinfo=UTC)


async def seed(engine: AsyncEngine) -> dict[str, uuid.UUID]:
    """Sessions s0..s9 of acme (s{i} started at T0 + i hours), one failed full_analysis each on
    gpt-4o-mini (s0..s4: reason 'Rate limit', s5..s9: 'invalid JSON'), requested at T0 + i hours;
    s0 also a completed summary on gpt-4o; one failed request of beta."""
    ids: dict[str, uuid.UUID] = {}
    sessions, requests = [], []
    for i in range(10):
        sid = f"s{i}"
        sessions.append({"id": sid, "c": "acme", "t": T0 + timedelta(hours=i)})
        ids[sid] = uuid.uuid4()
        reason = "batch_failed: Rate limit reached" if i < 5 else "answer is not valid JSON"
        requests.append(
            {"id": ids[sid], "s": sid, "c": "acme", "p": "full_analysis", "m": "gpt-4o-mini", "st": FAILED,
             "e": reason, "t": T0 + timedelta(hours=i), "a": 3}
        )  # fmt: skip
    ids["s0-summary"] = uuid.uuid4()
    requests.append(
        {"id": ids["s0-summary"], "s": "s0", "c": "acme", "p": "summary", "m": "gpt-4o", "st": COMPLETE,
         "e": None, "t": T0, "a": 1}
    )  # fmt: skip
    sessions.append({"id": "b0", "c": "beta", "t": T0})
    ids["b0"] = uuid.uuid4()
    requests.append(
        {"id": ids["b0"], "s": "b0", "c": "beta", "p": "full_analysis", "m": "gpt-4o-mini", "st": FAILED,
         "e": "batch_failed: Rate limit reached", "t": T0, "a": 3}
    )  # fmt: skip
    async with engine.begin() as conn:
        await conn.execute(
            text("INSERT INTO sessions (id, company_id, started_at, content_hash, message_count) "
                 "VALUES (:id, :c, :t, 'h', 1)"),
            sessions,
        )  # fmt: skip
        await conn.execute(
            text("INSERT INTO ai_processing_requests (id, session_id, company_id, processing_type, model, "
                 "revision, status, attempt, approx_bytes, error_message, requested_at, requeues, not_before) "
                 "VALUES (:id, :s, :c, :p, :m, 'h', :st, :a, 1000, :e, :t, 2, now())"),
            requests,
        )  # fmt: skip
    return ids


async def outbox_events(engine: AsyncEngine) -> list[dict[str, object]]:
    return [orjson.loads(r.payload) for r in await rows(engine, "SELECT payload FROM outbox ORDER BY id")]


async def test_retry_filters_moves_in_chunks_and_announces_each_request(engine: AsyncEngine) -> None:
    ids = await seed(engine)
    narrow = Filters(
        "acme", since=T0 + timedelta(hours=1), until=T0 + timedelta(hours=8), reason="rate LIMIT"
    )
    assert await retry_failed(engine, narrow, topic="t.request.pending", chunk=2) == 4  # s1..s4

    moved = await rows(
        engine,
        "SELECT session_id, status, attempt, requeues, not_before, batch_id FROM ai_processing_requests "
        "WHERE status = :s ORDER BY session_id",
        s=PENDING,
    )
    assert [(r.session_id, r.attempt, r.requeues, r.not_before, r.batch_id) for r in moved] == [
        (f"s{i}", 1, 0, None, None) for i in range(1, 5)
    ]
    events = await outbox_events(engine)
    assert sorted(e["request_id"] for e in events) == sorted(str(ids[f"s{i}"]) for i in range(1, 5))
    assert {(e["type"], e["company_id"], e["attempt"]) for e in events} == {("request.pending", "acme", 1)}
    assert await scalar(engine, "SELECT count(DISTINCT topic) FROM outbox") == 1

    # Everything else of acme (type and model filters), in chunks of 3; then nothing is left to move.
    rest = Filters("acme", processing_type=ProcessingType.FULL_ANALYSIS, model="gpt-4o-mini")
    progress: list[int] = []
    assert await retry_failed(engine, rest, topic="t.request.pending", chunk=3, progress=progress.append) == 6
    assert progress == [3, 3]
    assert await retry_failed(engine, rest, topic="t.request.pending", chunk=3) == 0
    assert await scalar(engine, "SELECT count(*) FROM outbox") == 10
    assert (
        await scalar(engine, "SELECT status FROM ai_processing_requests WHERE id = :i", i=ids["b0"]) == FAILED
    )
    assert await scalar(engine, "SELECT status FROM ai_processing_requests WHERE id = :i", i=ids["s0-summary"]) == (
        COMPLETE
    )  # fmt: skip
    assert await retry_failed(engine, Filters("acme", model="gpt-4o"), topic="t", chunk=3) == 0


async def test_reprocess_creates_each_analysis_once_per_revision_in_chunks(engine: AsyncEngine) -> None:
    await seed(engine)
    filters = Filters("acme", since=T0, until=T0 + timedelta(hours=5))  # s0..s4: 5 sessions, 6 analyses
    plan = await plan_reprocess(engine, filters, "r1")
    assert (plan.sessions, plan.analyses, plan.present) == (5, 6, 0)

    progress: list[int] = []
    done = await reprocess(
        engine, filters, "r1", topic="t.request.pending", chunk=4, progress=progress.append
    )
    assert (done.created, done.existing) == (6, 0)
    assert progress == [4, 2]
    created = await rows(
        engine,
        "SELECT session_id, processing_type, model, status, attempt, approx_bytes FROM ai_processing_requests "
        "WHERE revision = 'r1' ORDER BY session_id, processing_type",
    )
    assert [(r.session_id, r.processing_type, r.model) for r in created] == [
        ("s0", "full_analysis", "gpt-4o-mini"),
        ("s0", "summary", "gpt-4o"),
        *((f"s{i}", "full_analysis", "gpt-4o-mini") for i in range(1, 5)),
    ]
    assert {(r.status, r.attempt, r.approx_bytes) for r in created} == {(PENDING, 1, 1000)}
    assert len(await outbox_events(engine)) == 6

    again = await reprocess(engine, filters, "r1", topic="t.request.pending", chunk=4)
    assert (again.created, again.existing) == (0, 6)
    assert len(await outbox_events(engine)) == 6
    assert (await plan_reprocess(engine, filters, "r1")).present == 6

    # A type filter under another revision: only the summary analysis of s0.
    summary = Filters("acme", processing_type=ProcessingType.SUMMARY)
    assert (await reprocess(engine, summary, "r2", topic="t", chunk=4)).created == 1
    assert await scalar(engine, "SELECT count(*) FROM ai_processing_requests WHERE company_id = 'beta'") == 1


# --------------------------------------------------------------------------- the ingester's history


async def test_a_result_of_another_revision_archives_the_stored_analysis_once(engine: AsyncEngine) -> None:
    """s-old holds an analysis of revision r0, s-same one of r1, s-new none; the batch answers all three
    under r1. Only s-old's analysis goes to the history, and ingesting the chunk again adds nothing."""
    bid = uuid.uuid4()
    analysed = datetime(2026, 5, 1, 12, tzinfo=UTC)
    ids = {sid: uuid.uuid4() for sid in ("s-old", "s-same", "s-new")}
    async with engine.begin() as conn:
        await conn.execute(text(
            "INSERT INTO provider_batches (id, company_id, model, provider, status, request_count, poll_count, "
            "submit_attempts) VALUES (:b, 'acme', 'gpt-4o-mini', 'openai', 'COMPLETED', 3, 1, 1)"), {"b": bid})  # fmt: skip
        await conn.execute(
            text("INSERT INTO sessions (id, company_id, started_at, content_hash, message_count, sentiment, "
                 "category, summary, language, summary_truncated, analysis_revision, analysed_at) "
                 "VALUES (:s, 'acme', now(), 'h', 1, :sent, :cat, :summ, :lang, true, :rev, :at)"),
            [
                {"s": "s-old", "sent": "NEGATIVE", "cat": "PAYROLL", "summ": "old words", "lang": "de", "rev": "r0",
                 "at": analysed},
                {"s": "s-same", "sent": "NEUTRAL", "cat": "PAYROLL", "summ": "same words", "lang": "de", "rev": "r1",
                 "at": analysed},
                {"s": "s-new", "sent": None, "cat": None, "summ": None, "lang": None, "rev": None, "at": None},
            ],
        )  # fmt: skip
        await conn.execute(
            text("INSERT INTO ai_processing_requests (id, session_id, company_id, processing_type, model, "
                 "revision, status, batch_id, attempt, approx_bytes) "
                 "VALUES (:r, :s, 'acme', 'full_analysis', 'gpt-4o-mini', 'r1', 'BATCHING_IN_PROGRESS', :b, 1, 10)"),
            [{"r": rid, "s": sid, "b": bid} for sid, rid in ids.items()],
        )  # fmt: skip
    fields = {"sentiment": "POSITIVE", "category": "ONBOARDING", "summary": "new words", "language": "fr"}
    chunk = [LineOutcome(str(rid), fields, None, Usage(10, 5, 15)) for rid in ids.values()]
    for _ in range(2):  # the second time is a replay of the same chunk
        async with engine.begin() as conn:
            await lock_sessions(conn, bid, [o.custom_id for o in chunk])
            await apply_successes(conn, bid, chunk)

    history = await rows(engine, "SELECT * FROM session_analyses_history")
    assert [
        (h.company_id, h.session_id, h.revision, h.sentiment, h.category, h.summary, h.language,
         h.summary_truncated, h.analysed_at)
        for h in history
    ] == [("acme", "s-old", "r0", "NEGATIVE", "PAYROLL", "old words", "de", True, analysed)]  # fmt: skip
    assert history[0].archived_at is not None
    now = await rows(
        engine, "SELECT id, sentiment, summary, summary_truncated, analysis_revision FROM sessions ORDER BY id"
    )
    assert [tuple(r) for r in now] == [
        ("s-new", "POSITIVE", "new words", False, "r1"),
        ("s-old", "POSITIVE", "new words", False, "r1"),
        ("s-same", "POSITIVE", "new words", False, "r1"),
    ]
