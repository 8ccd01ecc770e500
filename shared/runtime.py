"""Running a service process: its long-lived components side by side, stopped together on SIGTERM.

A component is ``async def run(stop: asyncio.Event) -> None`` and returns when ``stop`` is set. If
one component dies, the others are stopped and the process exits non-zero, so a supervisor
(systemd, Kubernetes, the demo runner) restarts it; half a service is never left running.
"""

from __future__ import annotations

import asyncio
import gc
import signal
from collections.abc import Awaitable, Callable, Sequence

import structlog

log = structlog.get_logger(__name__)

Component = Callable[[asyncio.Event], Awaitable[None]]


class StoppedBeforeStart(Exception):
    """Shutdown was requested while the service still waited for its infrastructure to answer."""


def tune_gc(gen0_threshold: int) -> None:
    """Collect the youngest generation every ``gen0_threshold`` allocations instead of Python's 700.

    A service holds a whole consumer batch of events at once (the producer's 2,000 sessions are about
    35,000 pydantic models), and with Python 3.11's thresholds each young collection that promotes
    them makes the older generations, and so every live model, be scanned again and again: decoding
    2,000 events while the previous batches were alive cost 97 to 121 us an event, 37 us without
    collection, 41 us at 50,000. The objects alive at start (modules, settings, clients) are frozen
    out of collection altogether. 0 keeps Python's default.
    """
    if gen0_threshold <= 0:
        return
    gc.freeze()
    _, gen1, gen2 = gc.get_threshold()
    gc.set_threshold(gen0_threshold, gen1, gen2)


def install_signal_handlers(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)


async def run_components(components: Sequence[tuple[str, Component]], stop: asyncio.Event) -> None:
    """Run until ``stop`` is set or a component fails; a failure is re-raised after the others stop."""

    async def guarded(name: str, component: Component) -> None:
        try:
            await component(stop)
        except Exception:
            log.exception("component failed; stopping the service", component=name)
            stop.set()
            raise
        if not stop.is_set():
            log.error("component returned before stop was requested", component=name)
            stop.set()
            raise RuntimeError(f"component {name} exited unexpectedly")

    async with asyncio.TaskGroup() as group:
        for name, component in components:
            group.create_task(guarded(name, component), name=name)
