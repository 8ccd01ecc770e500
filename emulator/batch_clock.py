"""A batch's status at any moment, derived from its timestamps on a compressed clock.

Nothing runs in the background: every read computes where the batch *is* from when it was
created, when (if) it was cancelled, when it expires and its plan. That makes the lifecycle
deterministic, survives restarts for free, and lets tests move time by shifting the clock.

Stages last ``stage_s`` each::

    created ─ validating ─┬─ in_progress ── finalizing ── completed
                          ├─ failed                        (plan "fail")
                          └─ in_progress ── expired        (plan "expire", or window passed)
    cancel while validating/in_progress: cancelling (stage_s) ── cancelled

Work is done in the record's ``order``; ``done`` lines at time t is the in_progress share of t.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from emulator.state import BatchRecord

CANCELLABLE = frozenset({"validating", "in_progress"})


@dataclass(frozen=True, slots=True)
class Phase:
    status: str
    done: int
    in_progress_at: float | None = None
    finalizing_at: float | None = None
    completed_at: float | None = None
    failed_at: float | None = None
    expired_at: float | None = None
    cancelling_at: float | None = None
    cancelled_at: float | None = None

    @property
    def terminal(self) -> bool:
        return self.status in ("completed", "failed", "expired", "cancelled")

    @property
    def ended_at(self) -> float | None:
        return self.completed_at or self.failed_at or self.expired_at or self.cancelled_at


def phase_at(rec: BatchRecord, now: float, stage_s: float) -> Phase:
    t0 = rec.created_at
    v_end, p_end, f_end = t0 + stage_s, t0 + 2 * stage_s, t0 + 3 * stage_s
    n = rec.total
    cap = rec.expire_fraction if rec.plan == "expire" else 1.0

    def done_at(t: float) -> int:
        # rounded: timestamps near 1.7e9 carry ~1e-7 s of float noise, which must not cost a line
        share = round(min(max((t - v_end) / stage_s, 0.0), cap), 6)
        return min(math.floor(share * n), n)

    started = v_end if rec.plan != "fail" else None
    cancel = rec.cancel_at
    if rec.plan == "fail":
        if cancel is not None and cancel < v_end:
            return _cancelling(cancel, now, stage_s, None, 0)
        if now < v_end:
            return Phase("validating", 0)
        return Phase("failed", 0, failed_at=v_end)

    expiry = rec.expires_at if rec.expires_at < p_end else None
    if rec.plan == "expire":
        expiry = min(expiry or p_end, p_end)
    end_of_work = expiry if expiry is not None else p_end
    if cancel is not None and cancel < end_of_work:
        return _cancelling(cancel, now, stage_s, started if cancel >= v_end else None, done_at(cancel))
    if expiry is not None:
        in_progress_at = v_end if expiry > v_end else None
        if now < min(v_end, expiry):
            return Phase("validating", 0)
        if now < expiry:
            return Phase("in_progress", done_at(now), in_progress_at=in_progress_at)
        return Phase("expired", done_at(expiry), in_progress_at=in_progress_at, expired_at=expiry)
    if now < v_end:
        return Phase("validating", 0)
    if now < p_end:
        return Phase("in_progress", done_at(now), in_progress_at=v_end)
    if now < f_end:
        return Phase("finalizing", n, in_progress_at=v_end, finalizing_at=p_end)
    return Phase("completed", n, in_progress_at=v_end, finalizing_at=p_end, completed_at=f_end)


def _cancelling(cancel: float, now: float, stage_s: float, started: float | None, done: int) -> Phase:
    if now < cancel + stage_s:
        return Phase("cancelling", done, in_progress_at=started, cancelling_at=cancel)
    return Phase(
        "cancelled", done, in_progress_at=started, cancelling_at=cancel, cancelled_at=cancel + stage_s
    )


def enqueued_until(rec: BatchRecord, stage_s: float) -> float | None:
    """The moment the batch stops counting against its model's enqueued tokens, or None if never.

    A batch is enqueued (``validating``, ``in_progress`` or ``finalizing`` by :func:`phase_at`) at
    time t exactly when ``t < enqueued_until(rec)``: the same decision as :func:`phase_at`, solved for
    t once, so the enqueued total can be kept as a running sum instead of a scan of every batch. A
    cancel before the end of work makes every phase ``cancelling``/``cancelled``: ``-inf``.
    """
    if rec.model is None or rec.plan == "fail":
        return None
    t0 = rec.created_at
    p_end, f_end = t0 + 2 * stage_s, t0 + 3 * stage_s
    expiry = rec.expires_at if rec.expires_at < p_end else None
    if rec.plan == "expire":
        expiry = min(expiry or p_end, p_end)
    end_of_work = expiry if expiry is not None else p_end
    if rec.cancel_at is not None and rec.cancel_at < end_of_work:
        return -math.inf
    return expiry if expiry is not None else f_end
