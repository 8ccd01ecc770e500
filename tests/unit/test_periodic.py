"""The one backoff formula and the one periodic loop, driven by a fake pause: no real time passes."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Sequence

import pytest
from structlog.testing import capture_logs

from shared.lifecycle import next_poll_delay_s, retry_delay_s
from shared.periodic import Backoff, backoff_delay, pause, run_periodically


class TestBackoffDelay:
    def test_doubles_from_base_and_stops_at_the_cap(self) -> None:
        assert [backoff_delay(n, base=1.0, cap=30.0) for n in range(1, 9)] == [1, 2, 4, 8, 16, 30, 30, 30]
        assert [backoff_delay(n, base=0.5, cap=15.0) for n in range(1, 8)] == [0.5, 1, 2, 4, 8, 15, 15]

    def test_no_failure_yet_waits_the_base(self) -> None:
        assert backoff_delay(0, base=2.5, cap=10.0) == 2.5
        assert backoff_delay(-3, base=2.5) == 2.5

    def test_max_growths_limits_the_factor_not_the_seconds(self) -> None:
        assert [backoff_delay(n, base=1.0, max_growths=6) for n in range(1, 10)] == [
            1, 2, 4, 8, 16, 32, 64, 64, 64,
        ]
        # Both limits: the relative one binds for a small base, the absolute one for a large base.
        assert [backoff_delay(n, base=1.0, cap=600.0, max_growths=5) for n in (5, 6, 7, 50)] == [16, 32, 32, 32]
        assert [backoff_delay(n, base=30.0, cap=600.0, max_growths=5) for n in range(1, 8)] == [
            30, 60, 120, 240, 480, 600, 600,
        ]

    def test_other_growth_factor(self) -> None:
        assert [backoff_delay(n, base=60.0, cap=600.0, factor=1.5) for n in range(1, 8)] == [
            60, 90, 135, 202.5, 303.75, 455.625, 600,
        ]

    def test_a_very_long_outage_does_not_overflow(self) -> None:
        assert backoff_delay(100_000, base=0.5, cap=15.0) == 15.0
        assert backoff_delay(100_000, base=0.5) == math.inf

    def test_policy_object_gives_the_same_delays(self) -> None:
        policy = Backoff(base_s=1.0, cap_s=10.0)
        assert [policy.delay(n) for n in range(1, 7)] == [1, 2, 4, 8, 10, 10]


def test_lifecycle_delays_keep_their_schedules() -> None:
    assert [retry_delay_s(a, 30.0) for a in range(0, 9)] == [30, 30, 60, 120, 240, 480, 960, 1920, 1920]
    assert [next_poll_delay_s(p, min_interval_s=60, max_interval_s=600) for p in range(7)] == [
        60, 90, 135, 202.5, 303.75, 455.625, 600,
    ]


class FakePause:
    """Records every wait instead of waiting; sets ``stop`` on the ``stop_after``-th wait."""

    def __init__(self, stop: asyncio.Event, *, stop_after: int, trace: list[str] | None = None) -> None:
        self.stop = stop
        self.stop_after = stop_after
        self.waits: list[float] = []
        self.events: list[tuple[asyncio.Event, ...]] = []
        self.trace = trace if trace is not None else []

    async def __call__(self, seconds: float, events: Sequence[asyncio.Event]) -> None:
        self.waits.append(seconds)
        self.events.append(tuple(events))
        self.trace.append(f"wait {seconds:g}")
        if len(self.waits) >= self.stop_after:
            self.stop.set()


class ScriptedStep:
    """Plays a script: True/False is the step's answer, an exception is raised."""

    def __init__(self, script: Sequence[bool | Exception], trace: list[str] | None = None) -> None:
        self.script = list(script)
        self.calls = 0
        self.trace = trace if trace is not None else []

    async def __call__(self) -> bool:
        outcome = self.script[min(self.calls, len(self.script) - 1)]
        self.calls += 1
        self.trace.append("step")
        if isinstance(outcome, Exception):
            raise outcome
        return outcome


async def test_more_work_runs_the_step_again_without_waiting() -> None:
    stop, trace = asyncio.Event(), list[str]()
    sleep = FakePause(stop, stop_after=1, trace=trace)
    step = ScriptedStep([True, True, True, False], trace)
    await run_periodically("t", step, interval_s=0.5, stop=stop, sleep=sleep)
    assert trace == ["step", "step", "step", "step", "wait 0.5"]


async def test_failures_back_off_and_a_success_resets_the_count() -> None:
    stop = asyncio.Event()
    sleep = FakePause(stop, stop_after=6)
    boom = OSError("database down")
    step = ScriptedStep([boom, boom, boom, False, boom, boom])
    with capture_logs() as logs:
        await run_periodically(
            "poll round", step, interval_s=0.25, stop=stop, backoff=Backoff(base_s=1.0, cap_s=30.0), sleep=sleep
        )
    assert sleep.waits == [1, 2, 4, 0.25, 1, 2]
    failed = [entry for entry in logs if entry["event"] == "poll round failed"]
    assert [entry["failures"] for entry in failed] == [1, 2, 3, 1, 2]
    assert all(entry["log_level"] == "warning" and "database down" in entry["error"] for entry in failed)


async def test_backoff_stops_growing_at_the_cap() -> None:
    stop = asyncio.Event()
    sleep = FakePause(stop, stop_after=8)
    step = ScriptedStep([RuntimeError("x")])
    await run_periodically("t", step, interval_s=0.5, stop=stop, backoff=Backoff(base_s=1.0, cap_s=10.0), sleep=sleep)
    assert sleep.waits == [1, 2, 4, 8, 10, 10, 10, 10]


async def test_without_a_backoff_a_failure_waits_one_interval() -> None:
    stop = asyncio.Event()
    sleep = FakePause(stop, stop_after=3)
    step = ScriptedStep([RuntimeError("x"), False, RuntimeError("y")])
    await run_periodically("t", step, interval_s=7.0, stop=stop, sleep=sleep)
    assert sleep.waits == [7, 7, 7]


async def test_returns_as_soon_as_a_step_sets_stop_without_waiting() -> None:
    stop = asyncio.Event()
    sleep = FakePause(stop, stop_after=100)

    async def step() -> bool:
        stop.set()  # SIGTERM arrives while the round runs
        return True

    await run_periodically("t", step, interval_s=0.5, stop=stop, sleep=sleep)
    assert sleep.waits == []


async def test_stop_already_set_runs_no_round() -> None:
    stop = asyncio.Event()
    stop.set()
    step = ScriptedStep([False])
    await run_periodically("t", step, interval_s=0.5, stop=stop, sleep=FakePause(stop, stop_after=1))
    assert step.calls == 0


async def test_every_wait_ends_on_stop_and_only_the_idle_wait_ends_on_wake() -> None:
    stop, wake = asyncio.Event(), asyncio.Event()
    sleep = FakePause(stop, stop_after=2)
    step = ScriptedStep([RuntimeError("x"), False])
    await run_periodically(
        "t", step, interval_s=0.5, stop=stop, backoff=Backoff(base_s=1.0), wake=wake, sleep=sleep
    )
    assert sleep.events == [(stop,), (stop, wake)]


async def test_wake_is_cleared_before_a_round_and_a_wake_during_it_is_kept() -> None:
    stop, wake = asyncio.Event(), asyncio.Event()
    wake.set()  # set before the loop started: the first round covers it
    seen: list[bool] = []
    woken_at_wait: list[bool] = []

    async def step() -> bool:
        seen.append(wake.is_set())
        wake.set()  # a commit that lands while the round runs
        return False

    async def sleep(seconds: float, events: Sequence[asyncio.Event]) -> None:
        woken_at_wait.append(wake.is_set())
        stop.set()

    await run_periodically("t", step, interval_s=0.5, stop=stop, wake=wake, sleep=sleep)
    assert seen == [False]
    assert woken_at_wait == [True]


async def test_the_real_pause_returns_when_stop_is_set_mid_wait() -> None:
    stop = asyncio.Event()
    waiting = asyncio.ensure_future(pause(10**9, (stop,)))
    for _ in range(5):
        await asyncio.sleep(0)
    assert not waiting.done()
    stop.set()
    await waiting  # a billion-second backoff does not hold up shutdown
    assert waiting.done() and waiting.exception() is None


async def test_the_real_pause_returns_when_any_event_is_set() -> None:
    stop, wake = asyncio.Event(), asyncio.Event()
    waiting = asyncio.ensure_future(pause(10**9, (stop, wake)))
    for _ in range(5):
        await asyncio.sleep(0)
    assert not waiting.done()
    wake.set()
    await waiting
    assert not stop.is_set() and waiting.exception() is None


async def test_cancellation_is_not_swallowed() -> None:
    stop = asyncio.Event()

    async def step() -> bool:
        raise asyncio.CancelledError

    with pytest.raises(asyncio.CancelledError):
        await run_periodically("t", step, interval_s=0.5, stop=stop, sleep=FakePause(stop, stop_after=1))
