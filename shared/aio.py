"""Small asyncio helpers every long-running loop uses to stay responsive to shutdown."""

from __future__ import annotations

import asyncio
import contextlib


async def sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    """Sleep, but return as soon as ``stop`` is set (graceful SIGTERM must not wait out a backoff)."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=max(seconds, 0.0))


async def wait_any(seconds: float, *events: asyncio.Event) -> None:
    """Return when any event is set or after ``seconds``."""
    waiters = [asyncio.ensure_future(e.wait()) for e in events]
    try:
        await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for w in waiters:
            w.cancel()
