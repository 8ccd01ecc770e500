"""The one list of batchline's services: name, what it consumes, how to run it.

The command line (``batchline run``, ``batchline replay``), the process supervisor of the demo and
the tests, and the docs all read this table, so adding or renaming a service is one edit here.
Run functions are imported when a service starts, not when the table is read: listing the
services must not pull in every adapter.
"""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import cast

from shared.settings import Settings, Topics

RunFunction = Callable[[Settings, asyncio.Event], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class ServiceSpec:
    """One service: its consumer group is ``settings.group_id(name)``; it reads ``consumes``."""

    name: str
    consumes: tuple[str, ...]  # attribute names of :class:`shared.settings.Topics`
    module: str  # defines ``async def run(settings, stop)``

    def topics(self, topics: Topics) -> list[str]:
        return [str(getattr(topics, attr)) for attr in self.consumes]

    def load(self) -> RunFunction:
        return cast(RunFunction, importlib.import_module(self.module).run)


SERVICES: Mapping[str, ServiceSpec] = MappingProxyType(
    {
        spec.name: spec
        for spec in (
            ServiceSpec("producer", ("session_events",), "services.producer.main"),
            ServiceSpec("submitter", ("request_pending",), "services.submitter.main"),
            ServiceSpec("poller", ("batch_created",), "services.poller.main"),
            ServiceSpec("ingester", ("batch_completed",), "services.ingester.main"),
        )
    }
)
