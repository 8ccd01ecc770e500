"""Fallback for the remainder: an expired batch's unfinished requests finish the same run, at full price.

The four services run in one event loop against real Kafka, PostgreSQL and the emulator, which expires
the first batch with half of its lines done (the other half are ``batch_expired`` error lines, as the
provider writes them). With ``BATCHLINE_FALLBACK_MODE=sync`` the ingester hands those requests to the
synchronous chat completions API instead of a new batch; the costs are checked against prices written
here, and the daily cap sends the excess to a new batch. Fallback off is the existing tests' behaviour.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from cli.report import company_reports
from cli.stats import collect_stats
from emulator.config import EmulatorConfig
from emulator.server import EmulatorServer
from shared.settings import ModelPrice, Settings
from tests.integration.test_pipeline_flow import session_event
from tests.pipeline import publish, rows, running_services, scalar, wait_until_terminal

MODEL = "gpt-4o-mini"
#: USD per 1M tokens, chosen here (not the shipped defaults) so the expected money is this file's.
IN, CACHED, OUT = Decimal("2.00"), Decimal("1.00"), Decimal("8.00")
DISCOUNT = Decimal("0.5")
SESSIONS = 10


@pytest.fixture
def emulator_config() -> EmulatorConfig:
    # The first batch expires with half its lines done; every later one completes.
    return EmulatorConfig(port=0, stage_s=0.1, seed=5, expire_batches=1, expire_partial_fraction=0.5)


def fallback_settings(make_settings: Any, **overrides: Any) -> Settings:
    return make_settings(
        fallback_mode="sync",
        model_prices={
            MODEL: ModelPrice(input_per_million=IN, cached_input_per_million=CACHED, output_per_million=OUT)
        },
        batch_discount=DISCOUNT,
        # All sessions in one batch: it flushes at the count, long before the linger.
        batch_max_requests=SESSIONS,
        batch_linger_s=3.0,
        **overrides,
    )


async def emulator_counters(emulator: EmulatorServer) -> dict[str, int]:
    async with httpx.AsyncClient(base_url=emulator.url) as client:
        response = await client.get("/_emulator/stats", params={"requests": "false"})
        response.raise_for_status()
        counters: dict[str, int] = response.json()["counters"]
        return counters


def full_price(calls: list[Any]) -> Decimal:
    """The calls' tokens at this file's list prices: what the fallback must have charged."""
    total = Decimal(0)
    for c in calls:
        fresh = c.prompt_tokens - c.cached_tokens
        total += (fresh * IN + c.cached_tokens * CACHED + c.completion_tokens * OUT) / Decimal(1_000_000)
    return total


async def test_an_expired_batch_finishes_every_request_through_the_sync_api_at_full_price(
    make_settings: Any, engine: AsyncEngine, emulator: EmulatorServer
) -> None:
    settings = fallback_settings(make_settings)
    from shared.kafka.topics import ensure_topics

    await ensure_topics(settings)
    async with running_services(settings):
        await publish(settings, [session_event(i, "acme", model=MODEL) for i in range(SESSIONS)])
        counts = await wait_until_terminal(engine, SESSIONS, timeout_s=90)

    assert counts == {"PROCESSING_COMPLETE": SESSIONS}
    # One batch, expired, and no new batch for its remainder: each request went into one batch only.
    (batch,) = await rows(engine, "SELECT status, completed_count, request_count FROM provider_batches")
    assert (batch.status, batch.request_count) == ("PROCESSED", SESSIONS)
    assert await scalar(engine, "SELECT count(*) FROM ai_batch_items") == SESSIONS
    assert (await emulator_counters(emulator)).get("batches_expired") == 1

    calls = await rows(
        engine,
        "SELECT f.request_id, f.answered, f.done_at, f.prompt_tokens, f.cached_tokens, f.completion_tokens, "
        "f.price_input_per_million AS pi, f.price_cached_input_per_million AS pc, "
        "f.price_output_per_million AS po, f.price_batch_discount AS pd, r.prompt_tokens AS request_pt, "
        "r.completion_tokens AS request_ct, r.fallback, r.attempt FROM fallback_calls f "
        "JOIN ai_processing_requests r ON r.id = f.request_id",
    )
    unfinished = SESSIONS - batch.completed_count
    assert unfinished > 0 and len(calls) == unfinished
    assert (await emulator_counters(emulator)).get("sync_completions") == unfinished
    for c in calls:
        assert c.answered is True and c.done_at is not None and c.fallback == "sync"
        assert (c.pi, c.pc, c.po, c.pd) == (IN, CACHED, OUT, DISCOUNT)
        # The expired line had no usage: the request's tokens are the call's, recorded once.
        assert (c.request_pt, c.request_ct) == (c.prompt_tokens, c.completion_tokens)
        assert c.prompt_tokens > 0 and c.completion_tokens > 0
        assert c.attempt == 1  # the batch never ran it: no attempt charged
    assert await scalar(engine, "SELECT count(*) FROM ai_processing_requests WHERE fallback IS NULL") == (
        batch.completed_count
    )

    charged = full_price(calls)
    async with engine.connect() as conn:
        (report,) = await company_reports(conn, settings)
        stats = await collect_stats(conn, settings)
    assert report.fallback.sync_requests == report.fallback.sync_answered == unfinished
    assert report.fallback.cost_usd == charged
    assert report.fallback.batch_price_usd == charged * DISCOUNT
    assert report.fallback.extra_usd == charged - charged * DISCOUNT
    acme = stats.companies["acme"].fallback
    assert (acme.cost_usd, acme.batch_price_usd) == (charged, charged * DISCOUNT)


async def test_the_daily_cap_sends_the_excess_to_a_new_batch(
    make_settings: Any, engine: AsyncEngine, emulator: EmulatorServer
) -> None:
    cap = 2
    settings = fallback_settings(make_settings, fallback_sync_daily_cap=cap)
    from shared.kafka.topics import ensure_topics

    await ensure_topics(settings)
    async with running_services(settings):
        await publish(settings, [session_event(i, "acme", model=MODEL) for i in range(SESSIONS)])
        counts = await wait_until_terminal(engine, SESSIONS, timeout_s=90)

    assert counts == {"PROCESSING_COMPLETE": SESSIONS}
    first_completed = await scalar(
        engine, "SELECT completed_count FROM provider_batches ORDER BY created_at LIMIT 1"
    )
    unfinished = SESSIONS - first_completed
    assert unfinished > cap
    assert await scalar(engine, "SELECT count(*) FROM fallback_calls WHERE answered") == cap
    assert (await emulator_counters(emulator)).get("sync_completions") == cap
    # The excess went back to pending and into a second batch (the emulator completes it).
    assert await scalar(engine, "SELECT count(*) FROM provider_batches") == 2
    second = await rows(
        engine,
        "SELECT r.fallback, r.attempt FROM ai_processing_requests r "
        "WHERE (SELECT count(*) FROM ai_batch_items i WHERE i.request_id = r.id) = 2",
    )
    assert len(second) == unfinished - cap
    assert all(r.fallback is None for r in second)


CLAUDE = "claude-3-5-haiku-latest"


async def test_with_the_provider_fallback_the_remainder_runs_in_a_batch_on_the_second_provider(
    make_settings: Any, engine: AsyncEngine, emulator: EmulatorServer
) -> None:
    settings = make_settings(
        fallback_mode="provider",
        fallback_provider="anthropic",
        fallback_model_map={MODEL: CLAUDE},
        model_providers={CLAUDE: "anthropic"},
        anthropic_base_url=emulator.url,
        batch_max_requests=SESSIONS,
        batch_linger_s=3.0,
    )
    from shared.kafka.topics import ensure_topics

    await ensure_topics(settings)
    async with running_services(settings):
        await publish(settings, [session_event(i, "acme", model=MODEL) for i in range(SESSIONS)])
        counts = await wait_until_terminal(engine, SESSIONS, timeout_s=90)

    assert counts == {"PROCESSING_COMPLETE": SESSIONS}
    batches = await rows(
        engine,
        "SELECT provider, model, request_count, completed_count FROM provider_batches ORDER BY created_at",
    )
    assert [(b.provider, b.model) for b in batches] == [("openai", MODEL), ("anthropic", CLAUDE)]
    unfinished = SESSIONS - batches[0].completed_count
    assert batches[1].request_count == unfinished
    rerouted = await rows(
        engine,
        "SELECT model, fallback_from_model, attempt FROM ai_processing_requests WHERE fallback = 'provider'",
    )
    assert len(rerouted) == unfinished
    assert {(r.model, r.fallback_from_model, r.attempt) for r in rerouted} == {(CLAUDE, MODEL, 1)}
    assert (await emulator_counters(emulator)).get("sync_completions") is None  # no synchronous call
    async with engine.connect() as conn:
        (report,) = await company_reports(conn, settings)
    assert report.fallback.provider_requests == unfinished
    assert report.fallback.sync_requests == 0
