"""The sync fallback charges and writes each request once, whatever is replayed or re-run.

Against real PostgreSQL, with the ingester's hand-over and the fallback worker driven directly: an
expired batch whose lines all expired, a synchronous API stand-in that counts its calls, and then the
things at-least-once delivery does: the batch ingested again, the hand-over run again, the worker run
again, and a worker whose lease ran out writing after another worker finished the call.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import orjson
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from emulator.model import chat_completion
from services.ingester.fallback import FallbackWorker, PostgresFallback, WorkerConfig, release_open_calls
from services.ingester.fallback_sql import CallResult, claim_calls, record_calls
from services.ingester.results import Usage
from services.ingester.service import Ingester, IngesterConfig
from shared.settings import ModelPrice
from tests.fakes import FakeBatchProvider
from tests.pipeline import rows, scalar

TOPIC = "t.request.pending"
MODEL = "gpt-4o-mini"
PRICE = ModelPrice(
    input_per_million=Decimal("3"), cached_input_per_million=Decimal("3"), output_per_million=Decimal("9")
)


class CountingApi:
    """The synchronous API's stand-in: the emulator's own answer for each body, and a call count."""

    def __init__(self) -> None:
        self.calls = 0

    async def complete(self, body: dict[str, Any]) -> dict[str, Any]:
        self.calls += 1
        return chat_completion(body, completion_id=f"c{self.calls}", created=0)


@pytest.fixture
async def expired(engine: AsyncEngine) -> tuple[uuid.UUID, list[uuid.UUID]]:
    """An EXPIRED batch of three requests, none of which ran (no output, no error file)."""
    bid, ids = uuid.uuid4(), [uuid.uuid4() for _ in range(3)]
    async with engine.begin() as conn:
        await conn.execute(text(
            "INSERT INTO provider_batches (id, company_id, model, provider, status, request_count, poll_count, "
            "submit_attempts, completed_at) VALUES (:b, 'acme', :m, 'openai', 'EXPIRED', 3, 1, 1, now())"),
            {"b": bid, "m": MODEL})  # fmt: skip
        for n, rid in enumerate(ids):
            await conn.execute(text(
                "INSERT INTO sessions (id, company_id, started_at, content_hash, message_count) "
                "VALUES (:s, 'acme', now(), 'h', 1)"), {"s": f"s{n}"})  # fmt: skip
            await conn.execute(text(
                "INSERT INTO session_messages (company_id, session_id, role, content, \"order\") "
                "VALUES ('acme', :s, 'user', 'I need to swap my shift next week, please.', 0)"), {"s": f"s{n}"})  # fmt: skip
            await conn.execute(text(
                "INSERT INTO ai_processing_requests (id, session_id, company_id, processing_type, model, revision, "
                "status, batch_id, attempt, approx_bytes) VALUES (:r, :s, 'acme', 'summary', :m, 'rev', "
                "'BATCHING_IN_PROGRESS', :b, 1, 100)"), {"r": rid, "s": f"s{n}", "b": bid, "m": MODEL})  # fmt: skip
            await conn.execute(text("INSERT INTO ai_batch_items VALUES (:b, :r, 1)"), {"b": bid, "r": rid})
    return bid, ids


def parts(engine: AsyncEngine, api: CountingApi, *, cap: int = 100) -> tuple[Ingester, FallbackWorker]:
    fallback = PostgresFallback(engine, mode="sync", daily_cap=cap, model_map={}, pending_topic=TOPIC)
    config = IngesterConfig(max_attempts=3, retry_backoff_s=0, request_pending_topic=TOPIC)
    ingester = Ingester(engine, FakeBatchProvider(), config, on_commit=lambda: None, fallback=fallback)
    worker = FallbackWorker(
        engine,
        api,
        WorkerConfig(max_attempts=3, retry_backoff_s=0, pending_topic=TOPIC, max_conversation_chars=10_000,
                     prices={MODEL: PRICE}),
        on_commit=lambda: None,
    )  # fmt: skip
    return ingester, worker


async def test_replays_and_reruns_call_and_charge_each_request_once(
    engine: AsyncEngine, expired: tuple[uuid.UUID, list[uuid.UUID]]
) -> None:
    bid, _ids = expired
    api = CountingApi()
    ingester, worker = parts(engine, api)

    first = await ingester.ingest(bid)
    assert (first.fallback, first.retried) == (3, 0)
    again = await ingester.ingest(bid)  # a replayed batch.completed: the batch is PROCESSED
    assert again.skipped
    assert await scalar(engine, "SELECT count(*) FROM fallback_calls") == 3

    assert await worker.run_once() == 3
    assert await worker.run_once() == 0  # nothing left: no second call
    assert api.calls == 3
    done = await rows(engine, "SELECT status, prompt_tokens, completion_tokens FROM ai_processing_requests")
    calls = await rows(engine, "SELECT prompt_tokens, completion_tokens, done_at FROM fallback_calls")
    assert {r.status for r in done} == {"PROCESSING_COMPLETE"}
    assert sorted((r.prompt_tokens, r.completion_tokens) for r in done) == sorted(
        (c.prompt_tokens, c.completion_tokens) for c in calls
    )
    assert await scalar(engine, "SELECT count(*) FROM sessions WHERE summary IS NOT NULL") == 3


async def test_a_worker_whose_lease_ran_out_writes_nothing_after_another_finished_the_call(
    engine: AsyncEngine, expired: tuple[uuid.UUID, list[uuid.UUID]]
) -> None:
    bid, _ids = expired
    api = CountingApi()
    ingester, worker = parts(engine, api)
    await ingester.ingest(bid)

    stale = uuid.uuid4()
    async with engine.begin() as conn:
        claimed = await claim_calls(conn, stale, limit=10, lease_s=60)
    assert len(claimed) == 3
    # The stale worker stalls past its lease; another worker claims the calls and finishes them.
    async with engine.begin() as conn:
        await conn.execute(text("UPDATE fallback_calls SET lease_until = now() - interval '1 second'"))
    assert await worker.run_once() == 3
    before = await rows(
        engine, "SELECT request_id, prompt_tokens, claims FROM fallback_calls ORDER BY request_id"
    )

    async with engine.begin() as conn:
        late = [CallResult(c.request_id, True, None, Usage(999, 999, 1998, 0)) for c in claimed]
        owned = await record_calls(conn, bid, stale, late, price=PRICE, discount=Decimal("0.5"))
    assert owned == set()
    assert (
        await rows(engine, "SELECT request_id, prompt_tokens, claims FROM fallback_calls ORDER BY request_id")
        == before
    )
    assert all(c.claims == 2 for c in before)
    assert await scalar(engine, "SELECT max(prompt_tokens) FROM ai_processing_requests") < 999


async def test_the_cap_counts_the_companys_calls_of_the_day_across_batches(
    engine: AsyncEngine, expired: tuple[uuid.UUID, list[uuid.UUID]]
) -> None:
    bid, ids = expired
    ingester, _ = parts(engine, CountingApi(), cap=2)
    report = await ingester.ingest(bid)
    assert (report.fallback, report.retried) == (2, 1)
    (back,) = await rows(
        engine,
        "SELECT attempt, error_message, batch_id FROM ai_processing_requests WHERE status = 'PENDING_BATCHING'",
    )
    assert back.batch_id is None and back.attempt == 2
    assert "fallback_capped: company acme used its 2 synchronous fallback requests" in back.error_message
    pending = await rows(engine, "SELECT payload FROM outbox")
    assert [orjson.loads(p.payload)["request_id"] for p in pending] == [
        str(r)
        for r in ids
        if r not in {c.request_id for c in await rows(engine, "SELECT request_id FROM fallback_calls")}
    ]


async def test_turning_the_sync_fallback_off_sends_waiting_requests_back_to_the_batch_path(
    engine: AsyncEngine, expired: tuple[uuid.UUID, list[uuid.UUID]]
) -> None:
    bid, ids = expired
    ingester, _ = parts(engine, CountingApi())
    await ingester.ingest(bid)
    assert (
        await scalar(
            engine, "SELECT count(*) FROM ai_processing_requests WHERE status = 'FALLBACK_IN_PROGRESS'"
        )
        == 3
    )

    assert await release_open_calls(engine, TOPIC, "off") == 3
    assert await release_open_calls(engine, TOPIC, "off") == 0  # a restart releases nothing twice
    back = await rows(engine, "SELECT status, attempt, batch_id, error_message FROM ai_processing_requests")
    assert {(r.status, r.attempt, r.batch_id) for r in back} == {("PENDING_BATCHING", 1, None)}
    assert all(r.error_message.startswith("fallback_released: BATCHLINE_FALLBACK_MODE is off") for r in back)
    events = [orjson.loads(r.payload) for r in await rows(engine, "SELECT payload FROM outbox")]
    assert sorted(e["request_id"] for e in events) == sorted(str(r) for r in ids)
    # Closed uncharged: no call counts as made.
    assert (
        await scalar(
            engine, "SELECT count(*) FROM fallback_calls WHERE done_at IS NULL OR answered IS NOT NULL"
        )
        == 0
    )


async def test_a_model_the_sync_api_cannot_answer_goes_the_default_way(
    engine: AsyncEngine, expired: tuple[uuid.UUID, list[uuid.UUID]]
) -> None:
    bid, _ids = expired
    fallback = PostgresFallback(
        engine,
        mode="sync",
        daily_cap=100,
        model_map={},
        pending_topic=TOPIC,
        sync_models=lambda m: m != MODEL,
    )
    config = IngesterConfig(max_attempts=3, retry_backoff_s=0, request_pending_topic=TOPIC)
    report = await Ingester(
        engine, FakeBatchProvider(), config, on_commit=lambda: None, fallback=fallback
    ).ingest(bid)
    assert (report.fallback, report.retried) == (0, 3)
    assert await scalar(engine, "SELECT count(*) FROM fallback_calls") == 0
    reasons = await rows(engine, "SELECT attempt, error_message FROM ai_processing_requests")
    assert {(r.attempt, r.error_message) for r in reasons} == {
        (2, "batch_expired: the batch expired before this request ran")
    }
