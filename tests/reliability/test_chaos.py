"""Chaos run: the four services as separate processes (two instances each) on their own Kafka and
PostgreSQL, the emulator with faults on (and a state dir, so its files and batches survive its
restarts), while a seeded driver SIGKILLs random instances, restarts the broker once and PostgreSQL
once (immediate shutdown = crash recovery), restarts the emulator twice (once SIGKILL, once
graceful) and revokes the services' key for a few seconds before writing the new one to their key
file.

At the end every request is terminal, nothing is lost, no request was answered in two successful
provider batches (counted from the emulator's own records), no batch mixes companies or models,
every provider batch is known to the database, no request failed for our fault (only for the
injected content faults, on its last attempt), every charged attempt is explained by a provider
batch that did not answer the request (so the revocation charged none), no configuration circuit
is left open, the provider refused the old key during the window, and no process died on its own.

Two forms:
- ``test_chaos_ci``: 1,000 sessions, >= 5 kills; part of the normal ``pytest`` run (CI).
- ``test_chaos_full``: 10,000 sessions, 10 companies, >= 20 kills; deselected by default
  (marker ``chaos_full``, not ``reliability``), run it with ``pytest -m chaos_full -s``.
  ``pytest -m reliability`` runs every CI form of tests/reliability.

``BATCHLINE_CHAOS_SEEDS=1,2,3`` runs either form once per seed (defaults: "1" for the CI form,
"1,2,3" for the full one). Figures are printed (``-s``, and in the terminal summary) and written to
``<tmp>/chaos-<form>-seed<N>.json``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from devtools.dataset.generator import generate_events
from tests.e2e.harness import assert_pipeline_invariants, wait_terminal
from tests.reliability.chaos import ChaosDriver, ChaosPlan
from tests.reliability.chaos_checks import (
    assert_attempts_explained,
    assert_circuits_closed,
    assert_failures_only_content,
)
from tests.reliability.harness import (
    CHAOS_FAULTS,
    Stopwatch,
    assert_nothing_lost,
    assert_provider_batches_unmixed,
    assert_secret_absent,
    expected_requests,
    feed,
    log_counts,
    outcome_figures,
    private_pipeline,
    report,
)

MODELS = ["gpt-4o-mini", "gpt-4.1-mini"]
MAX_ATTEMPTS = 4
#: The services' key before the revocation window (a test key: the secret scan looks for it too).
KEY = "sk-test-chaos-" + "k" * 24


def seeds(default: str) -> list[int]:
    return [int(s) for s in os.environ.get("BATCHLINE_CHAOS_SEEDS", default).split(",") if s.strip()]


async def chaos_run(
    tmp_path: Path,
    *,
    name: str,
    seed: int,
    sessions: int,
    companies: list[str],
    plan: ChaosPlan,
    feed_chunks: int,
    settle_timeout_s: float,
    **settings: Any,
) -> dict[str, Any]:
    events = list(generate_events(sessions, companies=companies, models=MODELS, seed=1_000 + seed))
    expected = expected_requests(events)
    clock = Stopwatch()
    figures: dict[str, Any] = {"form": name, "seed": seed}
    driver: ChaosDriver | None = None
    # The key the services start with, in the file they re-read; the emulator accepts any key until
    # the driver's revocation window rotates it.
    key_file = tmp_path / "openai.key"
    key_file.write_text(KEY + "\n", encoding="utf-8")
    emulator_args = (*CHAOS_FAULTS, "--state-dir", str(tmp_path / "emulator-state"))
    settings = {
        "openai_api_key": KEY,
        "openai_api_key_file": key_file,
        # The circuit's pauses compressed like every other clock of the run (15 s .. 300 s in production).
        "circuit_base_s": 0.5,
        "circuit_max_s": 2.0,
        **settings,
    }
    try:
        async with private_pipeline(
            tmp_path, instances=2, emulator_args=emulator_args, emulator_seed=seed, **settings
        ) as env:
            figures["log_dir"] = str(env.log_dir)
            driver = ChaosDriver(
                env.stack, plan, seed, kafka_node=env.kafka, postgres_node=env.pg, key_file=key_file
            )
            # Sessions keep arriving for most of the chaos window, so every kill and both infrastructure
            # restarts hit a pipeline with work in flight.
            feed_s = 0.9 * plan.window_s
            feeder = asyncio.create_task(feed(env.settings, events, chunks=feed_chunks, over_s=feed_s))
            try:
                await driver.run()
                figures["republished_chunks"] = await feeder
            finally:
                if not feeder.done():
                    feeder.cancel()
                    with contextlib.suppress(BaseException):
                        await feeder
            figures["chaos_s"] = clock()
            await wait_terminal(env.engine, env.stack, sum(expected.values()), timeout_s=settle_timeout_s)
            figures["duration_s"] = clock()
            figures.update(driver.figures())
            figures.update(await assert_nothing_lost(env.engine, events))
            figures.update(await outcome_figures(env.engine, env.stack))
            emulator_counters = driver.emulator_counters + Counter(env.stack.emulator_stats()["counters"])
            figures["emulator_fault_counters"] = {
                k: v for k, v in sorted(emulator_counters.items()) if k.startswith("fault_")
            }
            figures["provider_401s"] = emulator_counters["http_401"]
            invariants = await assert_pipeline_invariants(env.engine, env.stack, max_attempts=MAX_ATTEMPTS)
            figures["requests_answered_by_provider"] = invariants["answered"]
            figures["requests_in_two_provider_batches"] = 0  # asserted by assert_pipeline_invariants
            await assert_provider_batches_unmixed(env.engine, env.stack)
            figures.update(await assert_failures_only_content(env.engine, MAX_ATTEMPTS))
            figures.update(await assert_attempts_explained(env.engine, env.stack))
            figures.update(await assert_circuits_closed(env.engine, env.stack))
            figures["secret_scan_items"] = await assert_secret_absent(env, also=driver.rotated_keys)
            figures["service_logs"] = log_counts(env.stack)
    finally:
        if driver is not None:
            figures.setdefault("duration_s", clock())
            figures.update({k: v for k, v in driver.figures().items() if k not in figures})
            figures["timeline"] = driver.timeline()
            figures["crash_logs"] = driver.crash_logs
        report(f"chaos-{name}-seed{seed}", figures, tmp_path)
    assert driver is not None
    assert figures["kills"] >= plan.kills
    assert figures["kafka_restarts"] == plan.kafka_restarts
    assert figures["postgres_restarts"] == plan.postgres_restarts
    assert figures["emulator_restarts"] == plan.emulator_restarts
    assert figures["emulator_kills"] == plan.emulator_restarts // 2
    assert figures["key_revocations"] == plan.key_revocations
    if plan.key_revocations:
        assert figures["provider_401s"] > 0, "the revocation window never refused a call"
    assert figures["crashes"] == 0, f"processes died on their own: {list(driver.crash_logs)}"
    return figures


@pytest.mark.reliability
@pytest.mark.timeout(900)
@pytest.mark.parametrize("seed", seeds("1"))
async def test_chaos_ci(tmp_path: Path, seed: int) -> None:
    """The shortened form CI runs: 1,000 sessions, 8 kills, one broker and one database restart, two
    emulator restarts, one key-revocation window."""
    await chaos_run(
        tmp_path,
        name="ci",
        seed=seed,
        sessions=1_000,
        companies=["acme-retail", "nordlicht-logistik", "soleil-hotels", "vistula-foods", "baltic-tech"],
        plan=ChaosPlan(kills=8, interval_s=(2.0, 5.0)),
        feed_chunks=10,
        settle_timeout_s=300.0,
    )


@pytest.mark.chaos_full  # not `reliability`: `pytest -m reliability` runs the CI forms only
@pytest.mark.timeout(3 * 3600)
@pytest.mark.parametrize("seed", seeds("1,2,3"))
async def test_chaos_full(tmp_path: Path, seed: int) -> None:
    """The full run: 10,000 sessions across 10 companies, >= 20 kills, broker + database restarts,
    two emulator restarts, one key-revocation window."""
    await chaos_run(
        tmp_path,
        name="full",
        seed=seed,
        sessions=10_000,
        companies=[f"company-{i:02d}" for i in range(10)],
        plan=ChaosPlan(kills=24, interval_s=(3.0, 9.0)),
        feed_chunks=40,
        settle_timeout_s=1_800.0,
        batch_max_requests=500,
    )
