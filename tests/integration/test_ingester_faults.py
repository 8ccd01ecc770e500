"""Unreadable files and failing batches against real PostgreSQL: the rows the fault rules write.

The provider is the in-memory ``FakeBatchProvider`` (a file it does not hold answers 404); the store is
the real ``PostgresIngestStore``, so the sweep's query, the setback columns and the report's SQL are
the ones production runs. Expected values are written by hand.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from cli.report import company_reports
from services.ingester.service import Ingester, IngesterConfig
from shared.provider.base import RetryableProviderError
from shared.settings import Settings
from tests.fakes import FakeBatchProvider, answer_line
from tests.pipeline import rows, scalar

TOPIC = "faults.request.pending"
GOOD = {"sentiment": "NEGATIVE", "category": "ACCESS_LOGIN", "summary": "locked out", "language": "fi"}
OUTAGE = "RetryableProviderError: GET /files/out-bad/content failed: HTTP 500"


class AlwaysFailing(FakeBatchProvider):
    """``out-bad`` answers 500 on every download (after the adapter's retries)."""

    async def iter_file_lines(self, file_id: str) -> AsyncIterator[bytes]:
        if file_id == "out-bad":
            self.calls.append(("iter_file_lines", file_id))
            raise RetryableProviderError("GET /files/out-bad/content failed: HTTP 500", status=500)
        async for line in super().iter_file_lines(file_id):
            yield line


async def seed(engine: AsyncEngine, name: str, *, output: str, completed_ago_s: float,
               attempts: tuple[int, ...] = (1,)) -> tuple[uuid.UUID, list[str]]:  # fmt: skip
    """A COMPLETED batch (output file ``output``, no error file) with one session and request per attempt."""
    bid = uuid.uuid4()
    ids = [str(uuid.uuid4()) for _ in attempts]
    async with engine.begin() as conn:
        await conn.execute(text(
            "INSERT INTO provider_batches (id, company_id, model, provider, status, request_count, poll_count, "
            "submit_attempts, input_file_id, output_file_id, completed_at) VALUES (:b, 'acme', 'gpt-4o-mini', "
            "'openai', 'COMPLETED', :n, 1, 1, :inp, :out, now() - make_interval(secs => :ago))"),
            {"b": bid, "n": len(ids), "inp": f"in-{name}", "out": output, "ago": completed_ago_s})  # fmt: skip
        for n, (rid, attempt) in enumerate(zip(ids, attempts, strict=True)):
            session = f"{name}-{n}"
            await conn.execute(text(
                "INSERT INTO sessions (id, company_id, started_at, content_hash, message_count) "
                "VALUES (:s, 'acme', now(), 'h', 1)"), {"s": session})  # fmt: skip
            await conn.execute(text(
                "INSERT INTO ai_processing_requests (id, session_id, company_id, processing_type, model, revision, "
                "status, batch_id, attempt, approx_bytes) VALUES (:r, :s, 'acme', 'full_analysis', 'gpt-4o-mini', "
                "'rev', 'BATCHING_IN_PROGRESS', :b, :a, 100)"), {"r": rid, "s": session, "b": bid, "a": attempt})  # fmt: skip
            await conn.execute(text("INSERT INTO ai_batch_items VALUES (:b, :r, :a)"), {"b": bid, "r": rid, "a": attempt})
    return bid, ids


def ingester(engine: AsyncEngine, provider: FakeBatchProvider, *, quarantine_after: int = 8) -> Ingester:
    config = IngesterConfig(max_attempts=3, retry_backoff_s=0, request_pending_topic=TOPIC,
                            setback_base_s=3_600, setback_cap_s=7_200, quarantine_after=quarantine_after)  # fmt: skip
    return Ingester(engine, provider, config, on_commit=lambda: None)


async def setback_of(engine: AsyncEngine, bid: uuid.UUID) -> tuple[object, ...]:
    (row,) = await rows(engine, "SELECT status, ingest_failures, ingest_error, ingest_retry_at > now() AS waiting, "
                                "ingest_quarantined_at IS NOT NULL AS quarantined FROM provider_batches WHERE id = :b",
                        b=bid)  # fmt: skip
    return tuple(row)


async def test_a_batch_that_always_fails_backs_off_alone_and_the_others_are_swept_in_the_same_round(
    engine: AsyncEngine,
) -> None:
    bad, stuck = await seed(engine, "bad", output="out-bad", completed_ago_s=300)  # the oldest: swept first
    good1, ids1 = await seed(engine, "good1", output="out-1", completed_ago_s=200)
    good2, ids2 = await seed(engine, "good2", output="out-2", completed_ago_s=100)
    provider = AlwaysFailing()
    provider.files["out-1"] = [answer_line(ids1[0], GOOD)]
    provider.files["out-2"] = [answer_line(ids2[0], GOOD)]
    ing = ingester(engine, provider, quarantine_after=2)

    assert await ing.sweep_once(older_than_s=60) == 2

    statuses = await rows(engine, "SELECT id, status FROM provider_batches ORDER BY completed_at")
    assert [(r.id, r.status) for r in statuses] == [(bad, "COMPLETED"), (good1, "PROCESSED"), (good2, "PROCESSED")]
    assert await scalar(engine, "SELECT count(*) FROM ai_processing_requests WHERE status = 'PROCESSING_COMPLETE'") == 2
    assert await scalar(engine, "SELECT status FROM ai_processing_requests WHERE id = :r", r=stuck[0]) == (
        "BATCHING_IN_PROGRESS")  # fmt: skip
    assert await setback_of(engine, bad) == ("COMPLETED", 1, OUTAGE, True, False)

    # Its retry time is an hour away: the next round leaves it alone (and has nothing else to do).
    assert await ing.sweep_once(older_than_s=60) == 0
    assert provider.called("iter_file_lines").count("out-bad") == 1

    # Once due, it is tried again; its second failure in a row quarantines it (quarantine_after=2).
    async with engine.begin() as conn:
        await conn.execute(text("UPDATE provider_batches SET ingest_retry_at = now() - interval '1 second'"))
    assert await ing.sweep_once(older_than_s=60) == 0
    quarantined = f"quarantined after 2 consecutive failed ingests; last: {OUTAGE}"
    assert await setback_of(engine, bad) == ("COMPLETED", 2, quarantined, True, True)
    async with engine.begin() as conn:
        await conn.execute(text("UPDATE provider_batches SET ingest_retry_at = now() - interval '1 second'"))
    assert await ing.sweep_once(older_than_s=60) == 0
    assert (await ing.handle_event(bad)).status == "quarantined"
    assert provider.called("iter_file_lines").count("out-bad") == 2

    # Operators see it in the report, with its reason.
    async with engine.connect() as conn:
        (acme,) = await company_reports(conn, Settings())
    assert [(q.batch_id, q.failures, q.reason) for q in acme.quarantined] == [(str(bad), 2, quarantined)]


async def test_an_output_file_gone_at_the_provider_processes_the_batch_and_retries_its_requests(
    engine: AsyncEngine,
) -> None:
    bid, (fresh, worn) = await seed(engine, "lost", output="out-gone", completed_ago_s=0, attempts=(1, 3))
    provider = FakeBatchProvider()  # holds no out-gone: 404

    report = await ingester(engine, provider).handle_event(bid)

    reason = "file_unreadable: output file out-gone: no file out-gone"
    assert (report.retried, report.failed, report.unreadable_files, report.skipped) == (1, 1, 1, False)
    got = await rows(engine, "SELECT id::text AS id, status, attempt, batch_id IS NULL AS released, error_message "
                             "FROM ai_processing_requests ORDER BY attempt")  # fmt: skip
    assert [tuple(r) for r in got] == [
        (fresh, "PENDING_BATCHING", 2, True, reason),
        (worn, "PROCESSING_FAILED", 3, False, reason + " (after 3 attempts)"),
    ]
    (batch,) = await rows(engine, "SELECT status, failed_count, ingest_error, ingest_failures FROM provider_batches")
    assert tuple(batch) == ("PROCESSED", 1, reason, 0)
    assert await scalar(engine, "SELECT count(*) FROM outbox WHERE topic = :t", t=TOPIC) == 1
