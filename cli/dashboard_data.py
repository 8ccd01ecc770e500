"""What ``batchline dashboard`` shows: the ``stats --json`` document, throughput per minute, DLQ depths.

The per-company figures are :func:`cli.stats.stats_document` of :func:`cli.stats.collect_stats`,
unchanged: the page and ``batchline stats --json`` cannot disagree because they are the same code on
the same kind of snapshot (one REPEATABLE READ transaction). The transaction is also READ ONLY: the
dashboard is a window on the database, and PostgreSQL itself refuses a write from it, whatever a
future change to these queries might try.

Throughput comes from the requests' own ``completed_at`` (set when a request is resolved, complete
or failed), so it needs no extra bookkeeping and survives a restart of the dashboard.

DLQ depth is what Kafka holds: end offset minus beginning offset of every ``<topic>.dlq`` partition
(the consumers write there only what they could not decode; nothing in the database counts them).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from cli.stats import collect_stats, stats_document
from shared.kafka.connection import client_options
from shared.lifecycle import RequestStatus
from shared.settings import Settings, Topics

#: The first statement of every dashboard transaction: PostgreSQL rejects any write after it.
READ_ONLY = text("SET TRANSACTION READ ONLY")
#: Requests resolved per minute and outcome inside the window (``:complete`` / ``:failed`` bound).
_THROUGHPUT = text(
    "SELECT date_trunc('minute', completed_at) AS minute, "
    "count(*) FILTER (WHERE status = :complete) AS completed, "
    "count(*) FILTER (WHERE status = :failed) AS failed "
    "FROM ai_processing_requests "
    "WHERE completed_at >= :since AND status = ANY(:resolved) GROUP BY 1 ORDER BY 1"
)
#: Kafka calls of one refresh give up after this; the page then shows the DLQ as unknown.
KAFKA_TIMEOUT_S = 5.0


@dataclass(frozen=True, slots=True)
class Minute:
    at: datetime
    completed: int
    failed: int


def window_start(now: datetime, hours: int) -> datetime:
    """The first whole minute of the window: ``hours`` back from ``now``'s minute, inclusive."""
    return now.replace(second=0, microsecond=0) - timedelta(hours=hours) + timedelta(minutes=1)


def minute_series(rows: Iterable[Minute], now: datetime, hours: int) -> list[Minute]:
    """One point per minute of the window, zeros where nothing was resolved (a chart without gaps)."""
    by_minute = {row.at: row for row in rows}
    start = window_start(now, hours)
    points = []
    for i in range(hours * 60):
        at = start + timedelta(minutes=i)
        points.append(by_minute.get(at, Minute(at, 0, 0)))
    return points


async def throughput(conn: AsyncConnection, now: datetime, hours: int) -> list[Minute]:
    complete, failed = RequestStatus.PROCESSING_COMPLETE.value, RequestStatus.PROCESSING_FAILED.value
    params = {
        "since": window_start(now, hours),
        "complete": complete,
        "failed": failed,
        "resolved": [complete, failed],
    }
    rows = await conn.execute(_THROUGHPUT, params)
    return minute_series((Minute(r.minute, int(r.completed), int(r.failed)) for r in rows), now, hours)


async def database_summary(engine: AsyncEngine, settings: Settings, hours: int) -> dict[str, Any]:
    """The stats document and the throughput series, read in one read-only snapshot."""
    async with engine.connect() as conn:
        await conn.execution_options(isolation_level="REPEATABLE READ")
        async with conn.begin():
            await conn.execute(READ_ONLY)
            stats = await collect_stats(conn, settings)
            series = await throughput(conn, stats.generated_at, hours)
    return {
        "stats": stats_document(stats),
        "window_hours": hours,
        "throughput": [
            {"minute": m.at.isoformat(), "completed": m.completed, "failed": m.failed} for m in series
        ],
    }


def dlq_depths(
    partitions: dict[str, Sequence[int]],
    begins: dict[TopicPartition, int],
    ends: dict[TopicPartition, int],
) -> dict[str, int | None]:
    """Records held per DLQ topic; None for a topic that does not exist (not created yet)."""
    out: dict[str, int | None] = {}
    for topic, numbers in partitions.items():
        tps = [TopicPartition(topic, p) for p in numbers]
        out[topic] = sum(ends[tp] - begins[tp] for tp in tps) if tps else None
    return out


class DlqReader:
    """Long-lived Kafka clients for the DLQ depths (one refresh every few seconds would otherwise
    open and close two connections each time); rebuilt after an error, so a broker restart heals."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._topics = [Topics.dlq(t) for t in settings.topics.all()]
        self._admin: AIOKafkaAdminClient | None = None
        self._reader: AIOKafkaConsumer | None = None

    async def depths(self) -> dict[str, int | None]:
        try:
            async with asyncio.timeout(KAFKA_TIMEOUT_S):
                admin, reader = await self._clients()
                partitions: dict[str, Sequence[int]] = {topic: [] for topic in self._topics}
                for found in await admin.describe_topics(self._topics):
                    if not found.get("error_code", 0):
                        partitions[found["topic"]] = sorted(p["partition"] for p in found["partitions"])
                tps = [TopicPartition(t, p) for t, ps in partitions.items() for p in ps]
                begins = await reader.beginning_offsets(tps) if tps else {}
                ends = await reader.end_offsets(tps) if tps else {}
        except BaseException:
            await self.close()
            raise
        return dlq_depths(partitions, begins, ends)

    async def _clients(self) -> tuple[AIOKafkaAdminClient, AIOKafkaConsumer]:
        if self._admin is None or self._reader is None:
            options = client_options(self._settings)
            self._admin = AIOKafkaAdminClient(**options, client_id="batchline-dashboard")
            self._reader = AIOKafkaConsumer(**options, group_id=None, enable_auto_commit=False)
            await self._admin.start()
            await self._reader.start()
        return self._admin, self._reader

    async def close(self) -> None:
        admin, reader, self._admin, self._reader = self._admin, self._reader, None, None
        for client in (reader, admin):
            if client is None:
                continue
            with contextlib.suppress(Exception):  # closing a broken client: nothing left to do
                await (client.stop() if isinstance(client, AIOKafkaConsumer) else client.close())
