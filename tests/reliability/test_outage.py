"""Provider outage: every API call answers 500 or 429 for a while; the pipeline waits and resumes,
and nothing fails permanently.

The outage is arranged so that each service meets it mid-work, not by luck of timing:
- the ingesters are stopped while the first batches finish, and started again during the outage,
  so they must download result files from a provider that refuses (ingester path);
- one more wave of sessions is published and the outage starts as soon as one of its batches is
  in flight at the provider (poller path);
- the last wave is published during the outage (submitter path: uploads and creates fail).

The services' provider client gives up after ``provider_retry_max_s`` (5 s here), far shorter than
the outage, so what is tested is what the services do *after* the client's own retries: wait and
try again later, never fail a request for it.

Two forms: ``test_provider_outage`` (20 s outage, part of the normal run) and
``test_provider_outage_one_minute`` (60 s, marker ``chaos_full``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from devtools.dataset.generator import generate_events
from shared.kafka.topics import ensure_topics
from shared.settings import Settings
from tests.e2e.harness import assert_pipeline_invariants, pipeline_stack, wait_terminal
from tests.pipeline import publish, scalar
from tests.reliability.harness import (
    Stopwatch,
    assert_nothing_lost,
    expected_requests,
    log_counts,
    outcome_figures,
    report,
)

COMPANIES = ["acme-retail", "nordlicht-logistik", "soleil-hotels"]
MODELS = ["gpt-4o-mini", "gpt-4.1-mini"]
#: Every /v1 call answers 429 (with Retry-After) or 500; the admin API keeps working.
OUTAGE = {"http_429_rate": 0.5, "http_500_rate": 0.5}
CLEAR = {"http_429_rate": 0.0, "http_500_rate": 0.0}


async def wait_for(engine: AsyncEngine, sql: str, what: str, timeout_s: float = 120, **params: Any) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if await scalar(engine, sql, **params):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


async def outage_run(
    make_settings: Callable[..., Settings], engine: AsyncEngine, tmp_path: Path, *, outage_s: float, name: str
) -> dict[str, Any]:
    settings = make_settings(
        topic_partitions=6,
        batch_linger_s=1.0,
        batch_max_requests=100,
        max_attempts=3,
        provider_timeout_s=5.0,
        provider_retry_max_s=5.0,
        poll_interval_s=0.3,
        poll_max_interval_s=1.0,
        retry_backoff_s=0.5,
    )
    await ensure_topics(settings)
    events = list(generate_events(900, companies=COMPANIES, models=MODELS, seed=31))
    first, in_flight, during = events[:400], events[400:600], events[600:]
    clock = Stopwatch()
    emulator_args = ("--stage-seconds", "1.0", "--retry-after-seconds", "0.5")
    with pipeline_stack(settings, tmp_path / "logs", instances=2, emulator_args=emulator_args) as stack:
        ingesters = [stack.service(f"ingester-{i}") for i in (0, 1)]
        for p in ingesters:
            p.stop()
        await publish(settings, first)
        # Every request of the first wave submitted, and some batches finished, awaiting ingestion.
        await wait_for(
            engine,
            "SELECT count(*) = :n FROM ai_processing_requests WHERE status = 'BATCHING_IN_PROGRESS'",
            "the first wave to be submitted",
            n=sum(expected_requests(first).values()),
        )
        await wait_for(
            engine,
            "SELECT count(*) FILTER (WHERE status IN ('COMPLETED', 'EXPIRED', 'FAILED')) >= 3 "
            "AND count(*) FILTER (WHERE status NOT IN ('COMPLETED', 'EXPIRED', 'FAILED')) = 0 "
            "FROM provider_batches",
            "every batch of the first wave finished at the provider, waiting for an ingester",
        )
        await publish(settings, in_flight)
        await wait_for(
            engine,
            "SELECT count(*) > 0 FROM provider_batches "
            "WHERE status IN ('VALIDATING', 'IN_PROGRESS', 'FINALIZING')",
            "a batch of the second wave in flight at the provider",
        )

        stack.set_faults(**OUTAGE)
        outage_started = time.monotonic()
        faults_before = stack.emulator_stats()["counters"]
        for p in ingesters:
            p.start()
        await publish(settings, during)
        await asyncio.sleep(max(0.0, outage_s - (time.monotonic() - outage_started)))
        stats = stack.emulator_stats()
        stack.set_faults(**CLEAR)
        refused = sum(
            stats["counters"].get(k, 0) - faults_before.get(k, 0)
            for k in ("fault_http_429", "fault_http_500")
        )
        stuck_during_outage = await scalar(
            engine, "SELECT count(*) FROM ai_processing_requests WHERE status <> 'PROCESSING_COMPLETE'"
        )

        counts = await wait_terminal(engine, stack, sum(expected_requests(events).values()), timeout_s=300)
        figures: dict[str, Any] = {
            "outage_s": outage_s,
            "calls_refused_during_outage": refused,
            "requests_unfinished_at_outage_end": stuck_during_outage,
            "duration_s": clock(),
            "recovered_s_after_outage": round(time.monotonic() - outage_started - outage_s, 1),
        }
        figures.update(await assert_nothing_lost(engine, events))
        figures.update(await outcome_figures(engine, stack))
        await assert_pipeline_invariants(engine, stack, max_attempts=3)
        figures["batches_with_refused_polls"] = await scalar(
            engine, "SELECT count(*) FROM provider_batches WHERE last_error LIKE 'poll:%'"
        )
        figures["service_logs"] = log_counts(stack)
    report(f"outage-{name}", figures, tmp_path)
    assert counts == {"PROCESSING_COMPLETE": sum(expected_requests(events).values())}, counts
    assert figures["service_logs"]["dead_lettered"] == 0
    assert refused > 20, "the outage did not reach the services"
    # Each service met the outage: downloads, polls and submissions were refused and retried later.
    logs = figures["service_logs"]
    assert logs["handler_retries"] > 0, "no ingester met the outage"
    assert figures["batches_with_refused_polls"] > 0, "no poller met the outage"
    assert logs["submission_retries"] > 0, "no submitter met the outage"
    return figures


@pytest.mark.reliability
async def test_provider_outage(
    make_settings: Callable[..., Settings], engine: AsyncEngine, tmp_path: Path
) -> None:
    """20 s of 500/429 on every endpoint (the CI form)."""
    await outage_run(make_settings, engine, tmp_path, outage_s=20.0, name="20s")


@pytest.mark.chaos_full
async def test_provider_outage_one_minute(
    make_settings: Callable[..., Settings], engine: AsyncEngine, tmp_path: Path
) -> None:
    """A full minute of 500/429 on every endpoint."""
    await outage_run(make_settings, engine, tmp_path, outage_s=60.0, name="60s")
