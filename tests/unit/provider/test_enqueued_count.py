"""The running sum of enqueued tokens gives the answer of a scan of every batch's phase.

The emulator keeps the enqueued tokens per model incrementally (a scan on every creation made 10,000
creations take minutes); these tests hold it to the scan's definition, including cancels, expiries,
refused batches and a clock set back.
"""

from __future__ import annotations

import random

from emulator.batch_clock import CANCELLABLE, enqueued_until, phase_at
from emulator.state import BatchRecord
from emulator.walls import ENQUEUED_STATUSES, EnqueuedCount, enqueued_tokens

STAGE_S = 1.0


def _record(seq: int, *, created: float, tokens: int, model: str | None = "m", plan: str = "run",
            expires: float | None = None, cancel: float | None = None) -> BatchRecord:  # fmt: skip
    return BatchRecord(
        id=f"batch_{seq}",
        seq=seq,
        input_file_id="file-1",
        endpoint="/v1/chat/completions",
        completion_window="24h",
        metadata=None,
        created_at=created,
        expires_at=expires if expires is not None else created + 86_400,
        plan=plan,
        model=model,
        prompt_tokens=tokens,
        cancel_at=cancel,
        expire_fraction=0.5,
    )


def test_counts_enqueued_batches_until_they_leave() -> None:
    count = EnqueuedCount(STAGE_S)
    a = _record(1, created=100.0, tokens=100)
    b = _record(2, created=100.0, tokens=50)
    refused = _record(3, created=100.0, tokens=7, plan="fail")
    zero = _record(4, created=100.0, tokens=0, model="z")
    for rec in (a, b, refused, zero):
        count.add(rec)
    assert count.current(100.5, [a, b, refused, zero]) == {"m": 150, "z": 0}
    b.cancel_at = 100.6
    count.changed(b)
    assert count.current(100.6, [a, b, refused, zero]) == {"m": 100, "z": 0}
    assert count.current(102.9, [a, b, refused, zero]) == {"m": 100, "z": 0}  # finalizing
    assert count.current(103.0, [a, b, refused, zero]) == {}  # completed
    # set back: a is enqueued again; b, cancelled before its work ended, never is
    assert count.current(100.5, [a, b, refused, zero]) == {"m": 100, "z": 0}


def test_random_histories_match_the_scan() -> None:
    rng = random.Random(12)
    for _ in range(40):
        count = EnqueuedCount(STAGE_S)
        batches: list[BatchRecord] = []
        now = 1_000.0
        for step in range(120):
            now += rng.choice([0.0, 0.05, 0.3, 0.9]) if rng.random() > 0.05 else -rng.uniform(0, 2)
            roll = rng.random()
            if roll < 0.4:
                rec = _record(
                    len(batches), created=now, tokens=rng.randrange(0, 500),
                    model=rng.choice(["m", "n", None]), plan=rng.choice(["run", "run", "fail", "expire"]),
                    expires=now + rng.choice([0.5, 1.5, 2.5, 86_400.0]),
                )  # fmt: skip
                batches.append(rec)
                count.add(rec)
            elif roll < 0.5 and batches:
                rec = rng.choice(batches)
                if rec.cancel_at is None and phase_at(rec, now, STAGE_S).status in CANCELLABLE:
                    rec.cancel_at = now
                    count.changed(rec)
            got = count.current(now, batches)
            assert got == enqueued_tokens(batches, now, STAGE_S), (step, now)


def test_enqueued_until_is_the_phase_boundary() -> None:
    cases = [
        _record(1, created=10.0, tokens=1),
        _record(2, created=10.0, tokens=1, plan="expire"),
        _record(3, created=10.0, tokens=1, expires=10.5),
        _record(4, created=10.0, tokens=1, expires=11.5),
        _record(5, created=10.0, tokens=1, cancel=10.7),
        _record(6, created=10.0, tokens=1, cancel=12.5),  # after the work ended: ignored
    ]
    assert [enqueued_until(r, STAGE_S) for r in cases] == [13.0, 12.0, 10.5, 11.5, float("-inf"), 13.0]
    for rec in cases:
        until = enqueued_until(rec, STAGE_S)
        assert until is not None
        for i in range(0, 160):
            t = 9.0 + i * 0.05
            assert (t < until) == (phase_at(rec, t, STAGE_S).status in ENQUEUED_STATUSES), (rec.seq, t)
