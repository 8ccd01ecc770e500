"""Gauges of the pipeline's state in the database: batches and requests by status, enqueued tokens.

They describe the whole deployment, not one process, so they come from the database, in one
statement of grouped counts (no query per status or per model), and every process serves the same
values: aggregate them with ``max`` (not ``sum``) across instances. A scrape reads them through a
cache (``max_age_s``), so however many scrapers and instances there are, each process runs the
statement at most once per period; when the database does not answer, the last values are served
and ``batchline_state_refresh_failures_total`` counts the failures.
"""

from __future__ import annotations

import asyncio
import time

import structlog
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.lifecycle import HOLDING_TOKENS, BatchStatus, RequestStatus
from shared.metrics import Gauge

log = structlog.get_logger(__name__)

#: One round trip: every family a labelled row (family, label, value).
STATE_SQL = text(
    """
    SELECT 'batches' AS family, status AS label, count(*)::float8 AS value
      FROM provider_batches GROUP BY status
    UNION ALL
    SELECT 'requests', status, count(*)::float8
      FROM ai_processing_requests GROUP BY status
    UNION ALL
    SELECT 'enqueued_tokens', model, coalesce(sum(estimated_tokens), 0)::float8
      FROM provider_batches WHERE status = ANY(:holding) GROUP BY model
    """
)

DEFAULT_MAX_AGE_S = 15.0


class StateGauges:
    def __init__(self, engine: AsyncEngine, *, max_age_s: float = DEFAULT_MAX_AGE_S) -> None:
        self._engine = engine
        self._max_age_s = max_age_s
        self._read_at: float | None = None
        self._lock = asyncio.Lock()
        self.values: dict[str, dict[str, float]] = {}
        self.stats = {"refreshes": 0, "refresh_failures": 0}

    async def refresh_if_stale(self) -> None:
        """Read the database unless a read younger than ``max_age_s`` exists (one at a time)."""
        async with self._lock:
            if self._read_at is not None and time.monotonic() - self._read_at < self._max_age_s:
                return
            try:
                async with asyncio.timeout(5.0), self._engine.connect() as conn:
                    rows = (await conn.execute(STATE_SQL, {"holding": sorted(HOLDING_TOKENS)})).all()
            except Exception as exc:  # the probes report the outage; metrics keep the last values
                self.stats["refresh_failures"] += 1
                log.warning("state metrics not refreshed", error=type(exc).__name__)
                self._read_at = time.monotonic()  # do not hammer a database that is down
                return
            values: dict[str, dict[str, float]] = {
                "batches": {s.value: 0.0 for s in BatchStatus},
                "requests": {s.value: 0.0 for s in RequestStatus},
                "enqueued_tokens": {},
            }
            for family, label, value in rows:
                values[family][label] = float(value)
            self.values = values
            self._read_at = time.monotonic()
            self.stats["refreshes"] += 1

    def _family(self, name: str) -> dict[tuple[str, ...], float]:
        return {(label,): value for label, value in self.values.get(name, {}).items()}

    def metrics(self) -> list[Gauge]:
        """``batchline_batches{status}``, ``batchline_requests{status}``,
        ``batchline_enqueued_tokens{model}``."""
        return [
            Gauge("batches", "provider batches by status (whole deployment)", ("status",),
                  lambda: self._family("batches")),
            Gauge("requests", "processing requests by status (whole deployment)", ("status",),
                  lambda: self._family("requests")),
            Gauge("enqueued_tokens", "estimated input tokens of batches holding the provider's queue",
                  ("model",), lambda: self._family("enqueued_tokens")),
        ]  # fmt: skip
