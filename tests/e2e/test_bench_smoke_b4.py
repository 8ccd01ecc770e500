"""The B4 benchmark's own code path, small: 300 sessions through the four services as processes.

Correctness only (every request resolved, the counts right, the stage figures filled); the speed is
``bench/b4_end_to_end.py``'s to report, never a test's to assert.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from bench.b4_end_to_end import STAGES, make_events, rows_of, run_b4
from shared.kafka.topics import ensure_topics
from shared.settings import Settings
from tests.pipeline import scalar


async def test_b4_smoke_300_sessions_all_resolved(
    make_settings: Callable[..., Settings], engine: AsyncEngine, tmp_path: Path
) -> None:
    settings = make_settings(topic_partitions=3, batch_linger_s=0.5, batch_max_requests=5000)
    await ensure_topics(settings)
    _, expected = make_events(300)
    run = await run_b4(settings, tmp_path / "logs", sessions=300, timeout_s=300)

    assert run.requests == expected
    assert run.counts == {"PROCESSING_COMPLETE": expected}
    assert await scalar(engine, "SELECT count(*) FROM sessions") == 300
    assert await scalar(engine, "SELECT count(*) FROM ai_batch_items") == expected
    assert await scalar(engine, "SELECT count(*) FROM provider_batches WHERE status <> 'PROCESSED'") == 0
    # fast answer mode: every full analysis carries the emulator's fixed answer
    assert await scalar(engine, "SELECT count(*) FROM sessions WHERE sentiment = 'NEUTRAL' AND language = 'en'") == 300
    # every stage figure comes from the database's timestamps, and every process was measured
    assert set(run.stages) == set(STAGES) and all(v >= 0 for v in run.stages.values())
    assert run.stages["provider + poll"] > 0
    assert {"emulator", "producer-0", "submitter-0", "poller-0", "ingester-0"} <= set(run.cpu_s)
    (row,) = rows_of([run])
    assert row.bench == "B4 end to end, 1 instance each" and "sessions/s" in row.figure
