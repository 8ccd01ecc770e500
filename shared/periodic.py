"""One backoff formula and one periodic loop for every retry and background round in the services.

Hand-written copies drift (which failure waits ``base``, whether the exponent is clamped, whether a
wait is cut short by SIGTERM, whether a failure is logged with its count), so there is one of each:

- :func:`backoff_delay` is pure: the delay after the n-th consecutive failure. The loops below, the
  consumer's handler retries, the broker wait at start-up, the submission retry and the domain
  delays of :mod:`shared.lifecycle` all call it, each with its own parameters.
- :func:`run_periodically` runs one step of background work over and over until ``stop`` is set:
  at once again when the step reports more work, after ``interval_s`` when it is idle, after a
  growing backoff when it raised. Every wait returns the moment ``stop`` is set, so SIGTERM never
  waits out a backoff.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

import structlog

from shared.aio import sleep_or_stop, wait_any

log = structlog.get_logger(__name__)


def backoff_delay(
    failures: int,
    *,
    base: float,
    cap: float = math.inf,
    factor: float = 2.0,
    max_growths: int | None = None,
) -> float:
    """The wait after the ``failures``-th consecutive failure: ``base * factor ** (failures - 1)``.

    The first failure waits ``base`` (so does ``failures <= 1``). The delay grows at most
    ``max_growths`` times (a limit relative to ``base``) and never exceeds ``cap`` (an absolute
    limit); either may be left open. A long outage cannot overflow the float: past its range the
    growth is infinite and the cap applies.
    """
    growths = max(failures - 1, 0)
    if max_growths is not None:
        growths = min(growths, max_growths)
    try:
        grown = base * factor**growths
    except OverflowError:
        grown = math.inf
    return min(cap, grown)


@dataclass(frozen=True, slots=True)
class Backoff:
    """Parameters of :func:`backoff_delay`, kept together so a loop can be handed one policy."""

    base_s: float
    cap_s: float = math.inf
    factor: float = 2.0
    max_growths: int | None = None

    def delay(self, failures: int) -> float:
        return backoff_delay(
            failures, base=self.base_s, cap=self.cap_s, factor=self.factor, max_growths=self.max_growths
        )


#: One round of background work. Returns True when more work is waiting and the next round should
#: start at once (a full page was published, some batches were polled), False when it is idle.
Step = Callable[[], Awaitable[bool]]

#: Waits ``seconds`` or until any of ``events`` is set. Injected by tests to run without real time.
Pause = Callable[[float, Sequence[asyncio.Event]], Awaitable[None]]


async def pause(seconds: float, events: Sequence[asyncio.Event]) -> None:
    """The real :data:`Pause`: returns after ``seconds`` or as soon as one of ``events`` is set."""
    if len(events) == 1:
        await sleep_or_stop(events[0], seconds)
    else:
        await wait_any(seconds, *events)


async def run_periodically(
    name: str,
    step: Step,
    *,
    interval_s: float,
    stop: asyncio.Event,
    backoff: Backoff | None = None,
    wake: asyncio.Event | None = None,
    sleep: Pause = pause,
) -> None:
    """Run ``step`` until ``stop`` is set; a failing step is logged and retried, never fatal.

    - the step reports more work: the next round starts at once (after yielding to the loop);
    - the step is idle: wait ``interval_s``, cut short by ``stop`` or by ``wake`` (set by whoever
      just committed work for this loop; it is cleared before each round, so a wake-up that arrives
      while a round runs is not lost);
    - the step raises: log ``"<name> failed"`` with the count of consecutive failures and wait
      ``backoff.delay(failures)`` (``interval_s`` without a backoff), cut short only by ``stop``; a
      successful round resets the count.

    Returns once ``stop`` is set: it is checked before every round and ends every wait.
    """
    idle_events = (stop,) if wake is None else (stop, wake)
    failures = 0
    while not stop.is_set():
        if wake is not None:
            wake.clear()
        try:
            more = await step()
        except Exception as exc:  # the database, broker or provider is down: the next round retries
            failures += 1
            log.warning(f"{name} failed", error=repr(exc)[:300], failures=failures)
            await sleep(interval_s if backoff is None else backoff.delay(failures), (stop,))
            continue
        failures = 0
        if more:
            await asyncio.sleep(0)  # a step that always has work must still let SIGTERM land
        else:
            await sleep(interval_s, idle_events)
