"""The flusher's round: due groups are flushed side by side (bounded), and a failed one is retried."""

from __future__ import annotations

import asyncio
from typing import Any, cast

import pytest

from services.submitter.accumulator import Accumulator, GroupKey
from services.submitter.main import Flusher
from services.submitter.ports import SubmitterStore
from services.submitter.service import Submitter
from shared.settings import Settings

KEYS = [GroupKey(f"c{i}", "m") for i in range(5)]


class FakeSubmitter:
    """Records how many flushes run at once; each waits until released, as on a round trip."""

    def __init__(self, failing: set[GroupKey] | None = None) -> None:
        self.running = 0
        self.most = 0
        self.flushed: list[GroupKey] = []
        self.failing = failing or set()
        self.release = asyncio.Event()

    async def flush_group(self, key: GroupKey) -> int:
        self.running += 1
        self.most = max(self.most, self.running)
        try:
            await self.release.wait()
            if key in self.failing:
                raise ConnectionError("database went away")
            self.flushed.append(key)
            return 1
        finally:
            self.running -= 1


class NoSweepStore:
    async def pending_groups(self, *, min_wait_s: float) -> list[GroupKey]:
        return []


def flusher(submitter: FakeSubmitter, acc: Accumulator, concurrency: int) -> Flusher:
    settings = Settings(batch_linger_s=1.0, submit_flush_concurrency=concurrency)
    store = cast(SubmitterStore, cast(Any, NoSweepStore()))
    f = Flusher(cast(Submitter, cast(Any, submitter)), acc, settings, store)
    f._last_sweep = float("inf")  # the round under test flushes what the accumulator says is due
    return f


def due_accumulator() -> Accumulator:
    acc = Accumulator(max_requests=1, max_bytes=1 << 20, linger_s=1.0)
    for i, key in enumerate(KEYS):
        acc.add(key, f"r{i}", 10, now=0.0)
    return acc


async def test_due_groups_are_flushed_concurrently_up_to_the_setting() -> None:
    fake = FakeSubmitter()
    round_ = asyncio.create_task(flusher(fake, due_accumulator(), concurrency=3)._round())
    for _ in range(20):
        await asyncio.sleep(0)
    assert fake.running == 3  # three flushes wait on their round trips at once, not one
    fake.release.set()
    await round_
    assert fake.most == 3
    assert sorted(fake.flushed) == KEYS  # every due group was flushed, each once


async def test_one_at_a_time_when_configured() -> None:
    fake = FakeSubmitter()
    fake.release.set()
    await flusher(fake, due_accumulator(), concurrency=1)._round()
    assert fake.most == 1
    assert fake.flushed == KEYS


async def test_a_failed_flush_leaves_its_group_due_and_the_others_are_still_submitted() -> None:
    fake = FakeSubmitter(failing={KEYS[1]})
    fake.release.set()
    acc = due_accumulator()
    with pytest.raises(ConnectionError):
        await flusher(fake, acc, concurrency=3)._round()
    assert sorted(fake.flushed) == [k for k in KEYS if k != KEYS[1]]
    assert KEYS[1] in acc.due(now=0.0)  # tried again on the next round, without waiting for a linger
