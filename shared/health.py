"""The probes of a service process: ``/healthz`` (alive), ``/readyz`` (ready) and ``/metrics``.

One small HTTP server in the process's own event loop, on ``BATCHLINE_METRICS_PORT``, so the
answers come from the loop that does the work: a process whose loop is stuck stops answering
``/healthz``, which is what a liveness probe must see.

- ``/healthz``: 200 while the process runs. It checks nothing outside the process on purpose: a
  database outage must not make Kubernetes restart every consumer (they wait for it by themselves).
- ``/readyz``: 200 when PostgreSQL answers, the Kafka cluster answers a metadata request and, for
  a service that calls a provider, no configuration circuit of that provider is open
  (``provider_circuits``: a revoked key, a quota). 503 otherwise. The body is JSON naming each check.
  The result is cached for ``READY_CACHE_S``: however often it is probed, a process runs at most one
  check a second against the database and the broker.
- ``/metrics``: the Prometheus exposition of :class:`shared.metrics.ServiceMetrics`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

import orjson
import structlog
from aiokafka import AIOKafkaProducer
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.metrics import ServiceMetrics

log = structlog.get_logger(__name__)

#: A readiness answer is reused for this long (probes cannot overload the database or the broker).
READY_CACHE_S = 1.0
#: Each dependency must answer within this, or it counts as unreachable.
CHECK_TIMEOUT_S = 2.0

PING_SQL = text("SELECT 1")
OPEN_CIRCUITS_SQL = text("SELECT model FROM provider_circuits WHERE provider = :provider ORDER BY model")


@dataclass(frozen=True, slots=True)
class Readiness:
    ready: bool
    checks: dict[str, str]
    checked_at: float

    def body(self) -> bytes:
        return orjson.dumps({"ready": self.ready, "checks": self.checks}, option=orjson.OPT_SORT_KEYS)


class ReadinessCheck:
    """PostgreSQL, Kafka and (with ``provider``) the provider's configuration circuits, cached."""

    def __init__(
        self,
        engine: AsyncEngine,
        producer: AIOKafkaProducer,
        *,
        provider: str | None = None,
        cache_s: float = READY_CACHE_S,
    ) -> None:
        self._engine = engine
        self._producer = producer
        self._provider = provider
        self._cache_s = cache_s
        self._last: Readiness | None = None
        self._lock = asyncio.Lock()
        self.checks_run = 0

    async def current(self) -> Readiness:
        async with self._lock:  # concurrent probes wait for one check instead of running their own
            last = self._last
            if last is not None and time.monotonic() - last.checked_at < self._cache_s:
                return last
            database, kafka = await asyncio.gather(self._database(), self._kafka())
            checks = {**database, "kafka": kafka}
            self.checks_run += 1
            ready = all(v in ("ok", "closed") for v in checks.values())
            if last is not None and last.ready != ready:
                log.warning("readiness changed", ready=ready, **checks)
            self._last = Readiness(ready, checks, time.monotonic())
            return self._last

    async def _database(self) -> dict[str, str]:
        try:
            async with asyncio.timeout(CHECK_TIMEOUT_S), self._engine.connect() as conn:
                if self._provider is None:
                    await conn.execute(PING_SQL)
                    return {"database": "ok"}
                models = (await conn.execute(OPEN_CIRCUITS_SQL, {"provider": self._provider})).scalars().all()
        except Exception as exc:  # the exception's type only: messages may carry hosts or users
            return {"database": f"unreachable ({type(exc).__name__})"}
        circuits = "closed" if not models else f"open ({self._provider}: {', '.join(models)})"
        return {"database": "ok", "circuits": circuits}

    async def _kafka(self) -> str:
        try:
            async with asyncio.timeout(CHECK_TIMEOUT_S):
                await self._producer.client.fetch_all_metadata()
        except Exception as exc:
            return f"unreachable ({type(exc).__name__})"
        return "ok"


ScrapeHook = Callable[[], Awaitable[None]]


class HealthServer:
    """Serves the three paths; ``before_scrape`` hooks refresh cached gauges before ``/metrics``."""

    def __init__(
        self, metrics: ServiceMetrics, readiness: ReadinessCheck, before_scrape: Sequence[ScrapeHook] = ()
    ) -> None:
        self._metrics = metrics
        self._readiness = readiness
        self._hooks = list(before_scrape)
        self._server: asyncio.Server | None = None

    async def start(self, port: int, host: str = "0.0.0.0") -> None:  # noqa: S104 - probed from outside
        self._server = await asyncio.start_server(self._serve, host, port)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def answer(self, path: str) -> tuple[int, str, bytes]:
        """(status, content type, body) of a GET of ``path``."""
        if path == "/healthz":
            return 200, "application/json", b'{"alive":true}'
        if path == "/readyz":
            state = await self._readiness.current()
            return (200 if state.ready else 503), "application/json", state.body()
        if path == "/metrics":
            for hook in self._hooks:
                await hook()
            return 200, "text/plain; version=0.0.4; charset=utf-8", self._metrics.render()
        return 404, "text/plain", b"not found: /healthz, /readyz, /metrics\n"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            async with asyncio.timeout(10.0):
                request = await reader.readline()
                while (line := await reader.readline()) not in (b"\r\n", b"\n", b""):
                    del line  # headers are not needed
                parts = request.decode("latin-1").split()
                if len(parts) < 2 or parts[0] not in ("GET", "HEAD"):
                    status, kind, body = 405, "text/plain", b"GET only\n"
                else:
                    status, kind, body = await self.answer(parts[1].split("?", 1)[0])
                reason = {200: "OK", 404: "Not Found", 405: "Method Not Allowed", 503: "Service Unavailable"}
                head = (
                    f"HTTP/1.1 {status} {reason[status]}\r\nContent-Type: {kind}\r\n"
                    f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
                )
                writer.write(head.encode() + (body if parts[:1] != ["HEAD"] else b""))
                await writer.drain()
        except (TimeoutError, ConnectionError) as exc:
            log.debug("probe connection dropped", error=type(exc).__name__)
        except Exception:
            log.exception("probe failed")
        finally:
            writer.close()
