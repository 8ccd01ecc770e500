"""The dashboard's pure parts: the minute series of the throughput chart, DLQ depths, the routing."""

from __future__ import annotations

import asyncio
import itertools
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from aiokafka import TopicPartition

from cli.dashboard import Dashboard
from cli.dashboard_data import Minute, dlq_depths, minute_series, window_start

NOW = datetime(2026, 5, 1, 12, 30, 41, 500, tzinfo=UTC)


def test_the_window_ends_at_the_current_minute() -> None:
    assert window_start(NOW, 1) == datetime(2026, 5, 1, 11, 31, tzinfo=UTC)
    assert window_start(NOW, 3) == datetime(2026, 5, 1, 9, 31, tzinfo=UTC)


def test_every_minute_has_a_point_and_counts_stay_where_they_were() -> None:
    rows = [
        Minute(datetime(2026, 5, 1, 11, 31, tzinfo=UTC), 4, 1),
        Minute(datetime(2026, 5, 1, 12, 30, tzinfo=UTC), 7, 0),
    ]
    series = minute_series(rows, NOW, 1)
    assert len(series) == 60
    assert series[0] == Minute(datetime(2026, 5, 1, 11, 31, tzinfo=UTC), 4, 1)
    assert series[-1] == Minute(datetime(2026, 5, 1, 12, 30, tzinfo=UTC), 7, 0)
    assert all(b.at - a.at == timedelta(minutes=1) for a, b in itertools.pairwise(series))
    assert sum(m.completed for m in series) == 11
    assert sum(m.failed for m in series) == 1


def test_a_row_in_another_zone_lands_in_its_minute() -> None:
    plus2 = timezone(timedelta(hours=2))
    series = minute_series([Minute(datetime(2026, 5, 1, 14, 0, tzinfo=plus2), 3, 0)], NOW, 1)
    assert [m.at for m in series if m.completed] == [datetime(2026, 5, 1, 12, 0, tzinfo=UTC)]


def test_dlq_depth_is_end_minus_beginning_summed_over_partitions() -> None:
    a0, a1 = TopicPartition("a.dlq", 0), TopicPartition("a.dlq", 1)
    depths = dlq_depths(
        {"a.dlq": [0, 1], "b.dlq": []},
        begins={a0: 5, a1: 0},
        ends={a0: 9, a1: 2},
    )
    assert depths == {"a.dlq": 6, "b.dlq": None}


def answer(method: str, path: str) -> tuple[int, str, bytes]:
    dashboard: Any = Dashboard(None, None, None, hours=1, refresh_s=5)  # type: ignore[arg-type]
    return asyncio.run(dashboard.answer(method, path))


def test_only_reads_are_answered() -> None:
    for method in ("POST", "PUT", "PATCH", "DELETE", "OPTIONS"):
        status, _, body = answer(method, "/api/summary")
        assert (status, body) == (405, b"read-only: GET only\n")
    assert answer("GET", "/etc/passwd")[0] == 404
    assert answer("GET", "/../cli/dashboard.py")[0] == 404
