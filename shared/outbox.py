"""Transactional outbox: events are rows written with the state they announce, then relayed to Kafka.

A handler never produces to Kafka directly. It inserts outbox rows in its own transaction, so the
state change and its announcement commit together or not at all. The relay publishes rows (acks=all)
and deletes them only after the broker acknowledged; a crash in between publishes them again, which
consumers tolerate (they are idempotent). Any process's relay may publish any row: rows are claimed
with ``FOR UPDATE SKIP LOCKED``, so a dead process's leftovers are picked up by the living.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Protocol

import structlog
from aiokafka import AIOKafkaProducer
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from shared.periodic import Backoff, run_periodically

log = structlog.get_logger(__name__)

#: After the n-th failed round in a row: 1, 2, 4, 8, then 10 s.
RELAY_BACKOFF = Backoff(base_s=1.0, cap_s=10.0)


class OutgoingEvent(Protocol):
    def key(self) -> bytes: ...
    def to_bytes(self) -> bytes: ...


async def enqueue(conn: AsyncConnection, topic: str, events: Sequence[OutgoingEvent]) -> int:
    """Add events to the outbox inside the caller's transaction, in their order (one statement).

    Two arrays unnested in one statement: the ORM's multi-row insert of the same 500 rows took
    about twice the wall time and 1.7 times the client CPU (measured for the producer's intake)."""
    if not events:
        return 0
    keys = [e.key() for e in events]
    await conn.execute(_ENQUEUE, {"topic": topic, "keys": keys, "payloads": [e.to_bytes() for e in events]})
    return len(events)


#: ``ORDER BY n``: ids (the relay's publishing order) follow the list's order.
_ENQUEUE = text(
    "INSERT INTO outbox (topic, key, payload) "
    "SELECT :topic, u.key, u.payload "
    "FROM unnest(CAST(:keys AS bytea[]), CAST(:payloads AS bytea[])) WITH ORDINALITY AS u(key, payload, n) "
    "ORDER BY u.n"
)

_CLAIM = text("SELECT id, topic, key, payload FROM outbox ORDER BY id LIMIT :limit FOR UPDATE SKIP LOCKED")
_DELETE = text("DELETE FROM outbox WHERE id = ANY(:ids)")


class OutboxRelay:
    """Publishes outbox rows. ``wake()`` after a commit makes the next round start at once."""

    def __init__(
        self,
        engine: AsyncEngine,
        producer: AIOKafkaProducer,
        *,
        batch_size: int = 1_000,
        idle_interval_s: float = 0.5,
    ) -> None:
        self._engine = engine
        self._producer = producer
        self._batch_size = batch_size
        self._idle = idle_interval_s
        self._wake = asyncio.Event()
        self.published = 0

    def wake(self) -> None:
        self._wake.set()

    async def publish_once(self) -> int:
        """Publish and delete one chunk of rows; returns how many were published."""
        async with self._engine.begin() as conn:
            rows = (await conn.execute(_CLAIM, {"limit": self._batch_size})).all()
            if not rows:
                return 0
            futures = [
                await self._producer.send(
                    row.topic, bytes(row.payload), key=bytes(row.key) if row.key else None
                )
                for row in rows
            ]
            await asyncio.gather(*futures)  # every row acknowledged by the broker before the delete commits
            await conn.execute(_DELETE, {"ids": [row.id for row in rows]})
        self.published += len(rows)
        return len(rows)

    async def run(self, stop: asyncio.Event) -> None:
        async def publish_round() -> bool:
            return await self.publish_once() > 0  # rows published: more may be waiting

        # Broker or database down: the rows stay, the next round tries again.
        await run_periodically(
            "outbox relay",
            publish_round,
            interval_s=self._idle,
            stop=stop,
            backoff=RELAY_BACKOFF,
            wake=self._wake,
        )
        # Drain what is left so a graceful stop leaves nothing unannounced.
        try:
            while await self.publish_once():
                pass
        except Exception as exc:
            log.warning("outbox drain on stop failed; rows stay for the next relay", error=repr(exc)[:300])
