"""``batchline lag`` and ``batchline replay`` against real Kafka, PostgreSQL and the emulator.

One finished run (two waves of session events, the time between them noted), then the commands as
an operator runs them, in a subprocess: ``lag`` and ``replay`` refused while the services run (their
groups have members); after the stop, ``lag`` shows every group caught up, the dry runs of
``--to-datetime`` and ``--by-duration`` plan the offsets the waves imply and move nothing, and the
real replay of all four topics (``--topic``, each resolved to its group) puts every group back to
its first record. The services then run again over everything: results, batches, costs and the
emulator's own batch count must come out exactly as before.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncEngine

from emulator.server import EmulatorServer
from services.registry import SERVICES
from shared.kafka.replay import group_lag
from shared.settings import Settings
from tests.integration.test_pipeline_flow import session_event
from tests.pipeline import publish, rows, running_services, scalar, wait_until_terminal

COMPLETE = "PROCESSING_COMPLETE"


def run_cli(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "BATCHLINE_DATABASE_URL": str(settings.database_url),
        "BATCHLINE_KAFKA_BOOTSTRAP_SERVERS": settings.kafka_bootstrap_servers,
        "BATCHLINE_TOPIC_PREFIX": settings.topic_prefix,
        "BATCHLINE_OPENAI_BASE_URL": str(settings.openai_base_url),
        "BATCHLINE_OPENAI_API_KEY": "sk-test-" + "k" * 24,
    }
    return subprocess.run(
        [sys.executable, "-m", "cli.main", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )


async def cli(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    return await asyncio.to_thread(run_cli, settings, *args)


async def cli_json(settings: Settings, *args: str) -> Any:
    result = await cli(settings, *args, "--json")
    assert result.returncode == 0, result.stderr
    return orjson.loads(result.stdout)


async def wait_caught_up(settings: Settings, timeout_s: float = 90) -> None:
    deadline = time.monotonic() + timeout_s
    lags: dict[str, int] = {}
    while time.monotonic() < deadline:
        lags = {
            name: await group_lag(settings, settings.group_id(name), spec.topics(settings.topics))
            for name, spec in SERVICES.items()
        }
        if not any(lags.values()):
            return
        await asyncio.sleep(0.5)
    raise AssertionError(f"consumer groups still behind: {lags}")


async def outcome(settings: Settings, engine: AsyncEngine, emulator: EmulatorServer) -> dict[str, Any]:
    """What a replay must not change: results, requests, batches, costs, the provider's batches."""
    stats = await cli_json(settings, "stats")
    stats.pop("generated_at")
    return {
        "sessions": await rows(
            engine,
            "SELECT company_id, id, sentiment, category, summary, language, analysis_revision, analysed_at, "
            "updated_at FROM sessions ORDER BY company_id, id",
        ),
        "requests": await rows(
            engine,
            "SELECT id, status, attempt, batch_id, prompt_tokens, completion_tokens, completed_at, updated_at "
            "FROM ai_processing_requests ORDER BY id",
        ),
        "batches": await rows(
            engine,
            "SELECT id, status, provider_batch_id, request_count, processed_at, lines_input_tokens, "
            "lines_output_tokens, price_input_per_million FROM provider_batches ORDER BY id",
        ),
        "history": await scalar(engine, "SELECT count(*) FROM session_analyses_history"),
        "stats": stats,
        "provider_batches": len(emulator.emulator.stats(include_requests=False)["batches"]),
    }


def partitions(document: dict[str, Any], group: str) -> list[dict[str, Any]]:
    (entry,) = [g for g in document["groups"] if g["group"] == group]
    found: list[dict[str, Any]] = entry["partitions"]
    return found


async def test_lag_and_replay_to_a_time_leave_every_outcome_unchanged(
    settings: Settings, engine: AsyncEngine, emulator: EmulatorServer
) -> None:
    first = [session_event(i, "acme") for i in range(8)]
    second = [session_event(i, "beta") for i in range(5)]
    producer = settings.group_id("producer")
    start = datetime.now(UTC) - timedelta(seconds=5)
    async with running_services(settings):
        await publish(settings, first)
        between = datetime.now(UTC) + timedelta(milliseconds=2)
        await asyncio.sleep(0.01)  # the second wave's timestamps come after ``between``
        await publish(settings, second)
        assert await wait_until_terminal(engine, 13, timeout_s=120) == {COMPLETE: 13}
        await wait_caught_up(settings)

        live = await cli_json(settings, "lag", "--service", "producer")
        (group,) = live["groups"]
        assert group["group"] == producer and group["members"] >= 1 and group["state"] == "Stable"
        assert all(p["consumer_id"] and p["client_id"] for p in group["partitions"])

        refused = await cli(settings, "replay", "producer", "--dry-run")
        assert refused.returncode == 2, refused.stderr
        assert f"consumer group {producer} has" in refused.stderr and "active members" in refused.stderr
        assert "stop its processes first" in refused.stderr and "Traceback" not in refused.stderr

    before = await outcome(settings, engine, emulator)
    assert before["provider_batches"] >= 2 and before["stats"]["totals"]["requests"][COMPLETE] == 13

    idle = await cli_json(settings, "lag")
    assert [g["service"] for g in idle["groups"]] == list(SERVICES)
    for g in idle["groups"]:
        assert g["members"] == 0 and g["lag"] == 0, g
        for p in g["partitions"]:  # a partition no record went to has nothing to commit
            assert p["lag"] == 0 and p["consumer_id"] is None, p
            assert p["committed_offset"] == p["end_offset"] or (p["committed_offset"], p["end_offset"]) == (
                None,
                0,
            )
    ends = {p["partition"]: p["end_offset"] for p in partitions(idle, producer)}
    committed = {p["partition"]: p["committed_offset"] for p in partitions(idle, producer)}
    assert sum(ends.values()) == 13  # every event, committed

    # Dry runs: the offsets a reset would commit, per partition; nothing moves.
    to_between = await cli_json(
        settings, "replay", "producer", "--to-datetime", between.isoformat(), "--dry-run"
    )
    moves = partitions(to_between, producer)
    assert to_between["dry_run"] is True
    assert {m["partition"]: m["before"] for m in moves} == committed
    assert sum(m["after"] for m in moves) == len(first)  # from the first record of the second wave on
    hour = await cli_json(settings, "replay", "producer", "--by-duration", "PT1H", "--dry-run")
    assert all(m["after"] == 0 for m in partitions(hour, producer))
    just_now = await cli_json(settings, "replay", "producer", "--by-duration", "PT0.001S", "--dry-run")
    assert {m["partition"]: m["after"] for m in partitions(just_now, producer)} == ends  # no newer record
    assert (await cli_json(settings, "lag"))["groups"] == idle["groups"]

    # The replay itself, per topic: each topic names the group that consumes it.
    topics = ("session.events", "request.pending", "batch.created", "batch.completed")
    args = [a for t in topics for a in ("--topic", t)]
    replayed = await cli_json(settings, "replay", *args, "--to-datetime", start.isoformat())
    assert sorted(g["group"] for g in replayed["groups"]) == sorted(settings.group_id(s) for s in SERVICES)
    behind = await cli_json(settings, "lag")
    for g in behind["groups"]:
        assert all(p["committed_offset"] == p["beginning_offset"] for p in g["partitions"]), g
        assert g["lag"] == sum(p["end_offset"] for p in g["partitions"]) > 0, g
    plain = await cli(settings, "replay", "--topic", "session.events", "--to-datetime", start.isoformat())
    assert plain.returncode == 0, plain.stderr
    assert f"{producer}: moved {len(ends)} partitions to the first record at or after" in " ".join(
        plain.stdout.split()
    )

    async with running_services(settings):
        await wait_caught_up(settings)
        assert await wait_until_terminal(engine, 13, timeout_s=60) == {COMPLETE: 13}
    assert await outcome(settings, engine, emulator) == before
