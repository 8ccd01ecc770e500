"""Running a service process: its long-lived components side by side, stopped together on SIGTERM.

A component is ``async def run(stop: asyncio.Event) -> None`` and returns when ``stop`` is set. If
one component dies, the others are stopped and the process exits non-zero, so a supervisor
(systemd, Kubernetes, the demo runner) restarts it; half a service is never left running.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Awaitable, Callable, Sequence

import structlog

log = structlog.get_logger(__name__)

Component = Callable[[asyncio.Event], Awaitable[None]]


class StoppedBeforeStart(Exception):
    """Shutdown was requested while the service still waited for its infrastructure to answer."""


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
