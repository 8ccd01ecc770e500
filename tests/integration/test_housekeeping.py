"""Pruning ``processed_events``: rows past the retention go, recent ones stay, in bounded rounds."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from services.producer.housekeeping import prune_forever, prune_round

DAY = 86_400.0
RETENTION_S = 15 * DAY
#: (group, event id, age): 25 rows past the retention, 4 within it (one a second short of it).
OLD = [("batchline-producer", f"old-{i}", timedelta(days=16 + i)) for i in range(23)] + [
    ("other-group", "old-a", timedelta(days=40)),
    ("other-group", "old-b", timedelta(days=15, minutes=5)),
]
RECENT = [
    ("batchline-producer", "new-0", timedelta(0)),
    ("batchline-producer", "new-1", timedelta(days=1)),
    ("other-group", "new-2", timedelta(days=14)),
    ("batchline-producer", "new-3", timedelta(days=15) - timedelta(minutes=5)),
]


async def seed(engine: AsyncEngine) -> None:
    """Ages count from now (the test's start), not from the module's import: a long suite run would
    otherwise age the row five minutes short of the retention past it."""
    now = datetime.now(UTC)
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO processed_events (consumer_group, event_id, processed_at) VALUES (:g, :e, :at)"
            ),
            [{"g": g, "e": e, "at": now - age} for g, e, age in OLD + RECENT],
        )


async def remaining(engine: AsyncEngine) -> set[tuple[str, str]]:
    async with engine.connect() as conn:
        rows = await conn.execute(text("SELECT consumer_group, event_id FROM processed_events"))
        return {(r.consumer_group, r.event_id) for r in rows}


async def test_old_rows_go_in_bounded_rounds_and_recent_ones_stay(engine: AsyncEngine) -> None:
    await seed(engine)
    # 25 old rows, 10 a round: two full rounds (more waiting), then a partial one (done).
    rounds = [await prune_round(engine, older_than_s=RETENTION_S, limit=10) for _ in range(3)]
    assert rounds == [True, True, False]
    assert await remaining(engine) == {(g, e) for g, e, _ in RECENT}
    assert await prune_round(engine, older_than_s=RETENTION_S, limit=10) is False
    assert await remaining(engine) == {(g, e) for g, e, _ in RECENT}


async def test_the_loop_prunes_until_idle(engine: AsyncEngine) -> None:
    await seed(engine)
    stop = asyncio.Event()
    waits: list[float] = []

    async def first_idle_wait_stops(seconds: float, events: Sequence[asyncio.Event]) -> None:
        waits.append(seconds)
        stop.set()

    await prune_forever(
        engine, stop, older_than_s=RETENTION_S, interval_s=600.0, limit=7, sleep=first_idle_wait_stops
    )
    # Rounds of 7, 7, 7, 4: the full ones ran back to back, the partial one led to one idle wait.
    assert waits == [600.0]
    assert await remaining(engine) == {(g, e) for g, e, _ in RECENT}
