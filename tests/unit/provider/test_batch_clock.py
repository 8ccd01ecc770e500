"""Batch status derived from timestamps on the compressed clock."""

from __future__ import annotations

from typing import Any

import pytest

from emulator.batch_clock import phase_at
from emulator.state import BatchRecord

S = 10.0  # seconds per stage


def _batch(n: int = 10, plan: str = "run", **kwargs: Any) -> BatchRecord:
    defaults: dict[str, Any] = {
        "id": "batch_1",
        "seq": 1,
        "input_file_id": "file-1",
        "endpoint": "/v1/chat/completions",
        "completion_window": "24h",
        "metadata": None,
        "created_at": 1000.0,
        "expires_at": 1000.0 + 86_400,
        "plan": plan,
        "custom_ids": [f"c{i}" for i in range(n)],
        "outcomes": ["ok"] * n,
        "order": list(range(n)),
    }
    return BatchRecord(**(defaults | kwargs))


@pytest.mark.parametrize(
    ("t", "status", "done"),
    [(0, "validating", 0), (9.9, "validating", 0), (10, "in_progress", 0), (15, "in_progress", 5),
     (20, "finalizing", 10), (30, "completed", 10), (1e6, "completed", 10)],
)  # fmt: skip
def test_happy_path(t: float, status: str, done: int) -> None:
    phase = phase_at(_batch(), 1000 + t, S)
    assert (phase.status, phase.done) == (status, done)


def test_completed_timestamps() -> None:
    phase = phase_at(_batch(), 1100, S)
    assert (phase.in_progress_at, phase.finalizing_at, phase.completed_at) == (1010, 1020, 1030)
    assert phase.terminal


def test_failed_at_validation() -> None:
    batch = _batch(plan="fail")
    assert phase_at(batch, 1005, S).status == "validating"
    phase = phase_at(batch, 1010, S)
    assert (phase.status, phase.failed_at, phase.in_progress_at) == ("failed", 1010, None)


def test_expire_fault_keeps_the_partial_share() -> None:
    batch = _batch(plan="expire", expire_fraction=0.3)
    assert phase_at(batch, 1019, S).status == "in_progress"
    assert phase_at(batch, 1019, S).done == 3  # capped at the share that will be done
    phase = phase_at(batch, 1020, S)
    assert (phase.status, phase.done, phase.expired_at) == ("expired", 3, 1020)


def test_window_ending_during_in_progress() -> None:
    batch = _batch(expires_at=1014.0)
    phase = phase_at(batch, 1050, S)
    assert (phase.status, phase.done, phase.expired_at) == ("expired", 4, 1014)


def test_window_ending_during_validation() -> None:
    phase = phase_at(_batch(expires_at=1005.0), 1050, S)
    assert (phase.status, phase.done, phase.in_progress_at) == ("expired", 0, None)


def test_cancel_during_in_progress() -> None:
    batch = _batch(cancel_at=1016.0)
    phase = phase_at(batch, 1020, S)
    assert (phase.status, phase.done, phase.cancelling_at) == ("cancelling", 6, 1016)
    phase = phase_at(batch, 1026, S)
    assert (phase.status, phase.done, phase.cancelled_at, phase.in_progress_at) == (
        "cancelled",
        6,
        1026,
        1010,
    )


def test_cancel_during_validation() -> None:
    phase = phase_at(_batch(cancel_at=1002.0, plan="fail"), 1100, S)
    assert (phase.status, phase.done, phase.in_progress_at) == ("cancelled", 0, None)


def test_float_noise_does_not_lose_a_line() -> None:
    created = 1_795_500_000.123456
    batch = _batch(n=8, created_at=created, expires_at=created + 0.3)
    assert phase_at(batch, created + 1, 0.2).done == 4
