"""The ingester against real PostgreSQL: nothing held during the download, short chunk transactions in
the producer's lock order, and exactly-once results under duplicates, crashes and deadlocks.

The provider is the in-memory ``FakeBatchProvider`` (the HTTP client has its own tests); the store is
the real ``PostgresIngestStore``.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from services.ingester.ports import Announce, Applied, Decided
from services.ingester.repository import PostgresIngestStore
from services.ingester.results import LineOutcome
from services.ingester.service import Ingester, IngesterConfig, IngestReport
from shared.kafka.consumer import default_is_transient
from tests.fakes import FakeBatchProvider, answer_line, error_line
from tests.pipeline import rows, scalar

TOPIC = "chunks.request.pending"
GOOD = {"sentiment": "POSITIVE", "category": "ONBOARDING", "summary": "first day", "language": "fr"}


class HookedProvider(FakeBatchProvider):
    """Runs ``during`` (once) when the first line is served: the download is in progress."""

    during: Callable[[], Awaitable[None]] | None = None

    async def iter_file_lines(self, file_id: str) -> AsyncIterator[bytes]:
        async for line in super().iter_file_lines(file_id):
            if self.during is not None:
                hook, self.during = self.during, None
                await hook()
            await asyncio.sleep(0)  # let a concurrent ingester interleave
            yield line


async def seed(engine: AsyncEngine, attempts: Sequence[int]) -> tuple[uuid.UUID, list[str]]:
    """A COMPLETED batch with one session and one claimed request per attempt; files file-out/file-err."""
    bid = uuid.uuid4()
    ids = [str(uuid.uuid4()) for _ in attempts]
    async with engine.begin() as conn:
        await conn.execute(text(
            "INSERT INTO provider_batches (id, company_id, model, provider, status, request_count, poll_count, "
            "submit_attempts, output_file_id, error_file_id) VALUES (:b, 'acme', 'gpt-4o-mini', 'openai', "
            "'COMPLETED', :n, 1, 1, 'file-out', 'file-err')"), {"b": bid, "n": len(ids)})  # fmt: skip
        for n, (rid, attempt) in enumerate(zip(ids, attempts, strict=True)):
            await conn.execute(text(
                "INSERT INTO sessions (id, company_id, started_at, content_hash, message_count) "
                "VALUES (:s, 'acme', now(), 'h', 1)"), {"s": f"s-{n:02}"})  # fmt: skip
            await conn.execute(text(
                "INSERT INTO ai_processing_requests (id, session_id, company_id, processing_type, model, revision, "
                "status, batch_id, attempt, approx_bytes) VALUES (:r, :s, 'acme', 'full_analysis', 'gpt-4o-mini', "
                "'rev', 'BATCHING_IN_PROGRESS', :b, :a, 100)"), {"r": rid, "s": f"s-{n:02}", "b": bid, "a": attempt})  # fmt: skip
            await conn.execute(text("INSERT INTO ai_batch_items VALUES (:b, :r, :a)"), {"b": bid, "r": rid, "a": attempt})
    return bid, ids


def ingester(engine: AsyncEngine, provider: FakeBatchProvider, *, chunk_size: int = 2,
             store: PostgresIngestStore | None = None) -> Ingester:  # fmt: skip
    config = IngesterConfig(max_attempts=3, retry_backoff_s=0, request_pending_topic=TOPIC, chunk_size=chunk_size)
    return Ingester(store or engine, provider, config, on_commit=lambda: None)


async def state(engine: AsyncEngine) -> list[tuple[object, ...]]:
    return [tuple(r) for r in await rows(
        engine, "SELECT s.id, r.status, r.attempt, r.batch_id IS NULL, s.category FROM ai_processing_requests r "
                "JOIN sessions s ON s.company_id = r.company_id AND s.id = r.session_id ORDER BY s.id")]  # fmt: skip


async def announced(engine: AsyncEngine) -> list[str]:
    return sorted(r.key for r in await rows(
        engine, "SELECT convert_from(payload, 'UTF8')::jsonb ->> 'request_id' AS key FROM outbox WHERE topic = :t",
        t=TOPIC))  # fmt: skip


def scenario(provider: FakeBatchProvider, ids: list[str]) -> None:
    """r0-r2 answered; r3 (attempt 1) and r4 (attempt 3) in the error file; r5 (1) and r6 (3) absent."""
    provider.files["file-out"] = [answer_line(r, GOOD) for r in ids[:3]] + [b"not json"]
    provider.files["file-err"] = [error_line(r, "server_error", "boom") for r in ids[3:5]]


ATTEMPTS = [1, 1, 1, 1, 3, 1, 3]
EXPECTED = [
    ("s-00", "PROCESSING_COMPLETE", 1, False, "ONBOARDING"),
    ("s-01", "PROCESSING_COMPLETE", 1, False, "ONBOARDING"),
    ("s-02", "PROCESSING_COMPLETE", 1, False, "ONBOARDING"),
    ("s-03", "PENDING_BATCHING", 2, True, None),
    ("s-04", "PROCESSING_FAILED", 3, False, None),
    ("s-05", "PENDING_BATCHING", 2, True, None),
    ("s-06", "PROCESSING_FAILED", 3, False, None),
]


async def assert_done_once(engine: AsyncEngine, bid: uuid.UUID, ids: list[str]) -> None:
    assert await state(engine) == EXPECTED
    assert await announced(engine) == sorted([ids[3], ids[5]])
    (batch,) = await rows(engine, "SELECT status, completed_count, failed_count FROM provider_batches")
    assert tuple(batch) == ("PROCESSED", 3, 2)


async def test_no_transaction_or_lock_is_held_while_the_files_download(engine: AsyncEngine) -> None:
    bid, ids = await seed(engine, ATTEMPTS)
    provider = HookedProvider()
    scenario(provider, ids)
    seen: dict[str, object] = {}

    async def during() -> None:
        seen["in_transaction"] = await scalar(
            engine, "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND state LIKE 'idle in transaction%'")  # fmt: skip
        async with engine.begin() as conn:  # the batch row and the sessions can be locked right now
            await conn.execute(text("SELECT 1 FROM provider_batches WHERE id = :b FOR UPDATE NOWAIT"), {"b": bid})
            await conn.execute(text("SELECT 1 FROM sessions FOR UPDATE NOWAIT"))

    provider.during = during
    report = await ingester(engine, provider).ingest(bid)

    assert seen == {"in_transaction": 0}
    assert (report.completed, report.retried, report.failed, report.unreadable_lines) == (3, 2, 2, 1)
    await assert_done_once(engine, bid, ids)


async def test_two_ingesters_of_one_batch_resolve_count_and_announce_everything_once(
    engine: AsyncEngine,
) -> None:
    bid, ids = await seed(engine, ATTEMPTS)
    provider = HookedProvider()
    scenario(provider, ids)

    reports: Sequence[IngestReport] = await asyncio.gather(
        ingester(engine, provider, chunk_size=1).ingest(bid), ingester(engine, provider, chunk_size=1).ingest(bid)
    )

    assert len(provider.called("iter_file_lines")) == 4  # both were past the PROCESSED check
    assert sum(r.completed for r in reports) == 3
    assert (sum(r.retried for r in reports), sum(r.failed for r in reports)) == (2, 2)
    assert sorted(r.skipped for r in reports) == [False, True]
    await assert_done_once(engine, bid, ids)


class CrashingStore(PostgresIngestStore):
    """Dies (raises) before its second chunk transaction, like a process killed between two commits."""

    chunks = 0

    async def apply_chunk(self, batch_id: uuid.UUID, successes: Sequence[LineOutcome],
                          failures: Sequence[Decided], announce: Announce) -> Applied:  # fmt: skip
        self.chunks += 1
        if self.chunks == 2:
            raise ConnectionResetError("killed between two chunks")
        return await super().apply_chunk(batch_id, successes, failures, announce)


async def test_a_crash_between_chunks_is_completed_by_a_reingest(engine: AsyncEngine) -> None:
    bid, ids = await seed(engine, ATTEMPTS)
    provider = HookedProvider()
    # Error lines first, so the first chunk (2 outcomes) already announces a retry.
    provider.files["file-out"] = [error_line(ids[3], "server_error", "boom"), answer_line(ids[0], GOOD),
                                  answer_line(ids[1], GOOD), answer_line(ids[2], GOOD), b"not json"]  # fmt: skip
    provider.files["file-err"] = [error_line(ids[4], "server_error", "boom")]
    crashing = CrashingStore(engine, pending_topic=TOPIC)
    with pytest.raises(ConnectionResetError):
        await ingester(engine, provider, store=crashing).ingest(bid)
    assert await scalar(engine, "SELECT status FROM provider_batches") == "COMPLETED"
    assert await announced(engine) == [ids[3]]
    assert [s[1] for s in await state(engine)][:4] == [
        "PROCESSING_COMPLETE", "BATCHING_IN_PROGRESS", "BATCHING_IN_PROGRESS", "PENDING_BATCHING"]  # fmt: skip

    report = await ingester(engine, provider).ingest(bid)

    # Only what the crash left: r1, r2 answered, r4 failed by its line, r5 and r6 absent.
    assert (report.completed, report.retried, report.failed, report.unreadable_lines) == (2, 1, 2, 1)
    await assert_done_once(engine, bid, ids)


async def test_a_producer_holding_sessions_never_deadlocks_with_a_chunk(engine: AsyncEngine) -> None:
    """The producer locks sessions (ORDER BY id) and then inserts requests, whose unique key may
    wait for a request row being updated. A chunk locks its sessions before touching any request, so
    it waits for the producer instead of holding what the producer waits for (no cycle)."""
    bid, ids = await seed(engine, [1, 1])
    provider = HookedProvider()
    provider.files["file-out"] = [answer_line(r, GOOD) for r in ids]
    provider.files["file-err"] = []
    async with engine.connect() as producer:
        tx = await producer.begin()
        await producer.execute(text("SELECT id FROM sessions ORDER BY id FOR UPDATE"))
        task = asyncio.create_task(ingester(engine, provider).ingest(bid))
        for _ in range(200):  # until the chunk waits for a session lock
            waiting = await scalar(engine, "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                                           "AND wait_event_type = 'Lock'")  # fmt: skip
            if waiting:
                break
            await asyncio.sleep(0.02)
        assert waiting == 1
        # The same (session, type, model, revision) again: must not wait for the ingester's chunk.
        inserted = await asyncio.wait_for(producer.execute(text(
            "INSERT INTO ai_processing_requests (id, session_id, company_id, processing_type, model, revision, "
            "status, attempt, approx_bytes) VALUES (:r, 's-01', 'acme', 'full_analysis', 'gpt-4o-mini', 'rev', "
            "'PENDING_BATCHING', 1, 100) ON CONFLICT DO NOTHING"), {"r": uuid.uuid4()}), timeout=5)  # fmt: skip
        assert inserted.rowcount == 0
        await tx.commit()
    report = await asyncio.wait_for(task, timeout=10)
    assert report.completed == 2


async def test_a_real_deadlock_is_transient_for_the_consumer_loop(engine: AsyncEngine) -> None:
    await seed(engine, [1, 1])
    barrier = asyncio.Barrier(2)

    async def lock(first: str, second: str) -> BaseException | None:
        async with engine.connect() as conn:
            try:
                async with conn.begin():
                    await conn.execute(text("SET LOCAL deadlock_timeout = '100ms'"))
                    await conn.execute(text("SELECT 1 FROM sessions WHERE id = :s FOR UPDATE"), {"s": first})
                    await barrier.wait()
                    await conn.execute(text("SELECT 1 FROM sessions WHERE id = :s FOR UPDATE"), {"s": second})
            except DBAPIError as exc:
                return exc
        return None

    results = await asyncio.gather(lock("s-00", "s-01"), lock("s-01", "s-00"))
    (error,) = [e for e in results if e is not None]
    assert "deadlock" in str(error)
    assert default_is_transient(error)
