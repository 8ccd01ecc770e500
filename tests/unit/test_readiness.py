"""Readiness in memory: what makes a process unready, and that probes share one cached check."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import orjson

from shared.health import HealthServer, ReadinessCheck
from shared.metrics import ServiceMetrics


class _Result:
    def __init__(self, models: list[str]) -> None:
        self._models = models

    def scalars(self) -> _Result:
        return self

    def all(self) -> list[str]:
        return self._models


class FakeEngine:
    """Answers the readiness statements; ``down`` makes connecting fail like a stopped server."""

    def __init__(self, open_models: list[str] | None = None) -> None:
        self.open_models = open_models or []
        self.down = False
        self.statements: list[str] = []

    @asynccontextmanager
    async def connect(self) -> AsyncIterator[FakeEngine]:
        if self.down:
            raise ConnectionRefusedError("connection refused")
        yield self

    async def execute(self, statement: Any, params: dict[str, Any] | None = None) -> _Result:
        self.statements.append(str(statement))
        await asyncio.sleep(0)  # a real round trip yields: concurrent probes really overlap
        return _Result(self.open_models)


class FakeClient:
    def __init__(self) -> None:
        self.metadata_requests = 0

    async def fetch_all_metadata(self) -> object:
        self.metadata_requests += 1
        return object()


class FakeProducer:
    def __init__(self) -> None:
        self.client = FakeClient()


def check(engine: FakeEngine, producer: FakeProducer, **kwargs: Any) -> ReadinessCheck:
    return ReadinessCheck(engine, producer, **kwargs)  # type: ignore[arg-type]


async def test_concurrent_probes_share_one_check_within_the_cache_time() -> None:
    engine, producer = FakeEngine(), FakeProducer()
    readiness = check(engine, producer, provider="openai", cache_s=60.0)
    answers = await asyncio.gather(*(readiness.current() for _ in range(50)))
    assert all(a.ready for a in answers)
    assert readiness.checks_run == 1
    assert len(engine.statements) == 1 and producer.client.metadata_requests == 1


async def test_without_a_cache_every_probe_checks_again() -> None:
    engine, producer = FakeEngine(), FakeProducer()
    readiness = check(engine, producer, cache_s=0.0)
    for _ in range(3):
        await readiness.current()
    assert readiness.checks_run == 3 and producer.client.metadata_requests == 3


async def test_an_unreachable_database_or_an_open_circuit_is_not_ready() -> None:
    engine, producer = FakeEngine(), FakeProducer()
    readiness = check(engine, producer, provider="openai", cache_s=0.0)
    assert (await readiness.current()).checks == {"database": "ok", "circuits": "closed", "kafka": "ok"}
    engine.open_models = ["gpt-4o", "gpt-4o-mini"]
    paused = await readiness.current()
    assert not paused.ready and paused.checks["circuits"] == "open (openai: gpt-4o, gpt-4o-mini)"
    engine.down = True
    down = await readiness.current()
    assert not down.ready
    assert down.checks == {"database": "unreachable (ConnectionRefusedError)", "kafka": "ok"}


async def test_a_service_without_a_provider_only_pings_the_database() -> None:
    engine, producer = FakeEngine(open_models=["gpt-4o"]), FakeProducer()
    state = await check(engine, producer).current()
    assert state.ready and state.checks == {"database": "ok", "kafka": "ok"}
    assert engine.statements == ["SELECT 1"]


async def test_the_server_answers_each_path() -> None:
    engine, producer = FakeEngine(), FakeProducer()
    scrapes: list[int] = []

    async def hook() -> None:
        scrapes.append(1)

    server = HealthServer(ServiceMetrics("producer"), check(engine, producer), before_scrape=[hook])
    assert await server.answer("/healthz") == (200, "application/json", b'{"alive":true}')
    status, _, body = await server.answer("/readyz")
    assert status == 200 and orjson.loads(body) == {"ready": True, "checks": {"database": "ok", "kafka": "ok"}}
    status, kind, _ = await server.answer("/metrics")
    assert status == 200 and kind.startswith("text/plain") and scrapes == [1]
    assert (await server.answer("/other"))[0] == 404
    engine.down = True
    server_down = HealthServer(ServiceMetrics("producer"), check(engine, producer))
    assert (await server_down.answer("/readyz"))[0] == 503
