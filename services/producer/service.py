"""Producer handler: ``session.events`` in, sessions + processing requests + ``request.pending`` out.

One database transaction per consumer batch; the ``request.pending`` events are outbox rows in that
same transaction, so a request can never exist without its announcement (or the reverse).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import structlog
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.producer import repository as repo
from services.producer.sessions import (
    HashMemo,
    conversations_to_store,
    delivery_rounds,
    plan_requests,
    session_key,
)
from shared.events import SessionEvent, pending_event
from shared.kafka.consumer import Delivery, Rejection
from shared.outbox import enqueue

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class ProducerConfig:
    group_id: str
    request_pending_topic: str
    default_model: str
    max_conversation_chars: int


class SessionEventsHandler:
    """The pipeline's front door: turns what upstream systems say about sessions into work.

    It exists so that upstream publishers never talk to the database or the provider: they publish
    a session event, and this handler decides (idempotently, per content hash) which analyses that
    session needs, stores them as pending requests and announces them, all in one transaction.

    A session is the pair (company_id, session_id): each company's session ids are its own, so an
    event only ever reads and writes its own company's session, whatever ids other companies use.
    """

    def __init__(self, engine: AsyncEngine, config: ProducerConfig, on_commit: Callable[[], None]) -> None:
        self._engine = engine
        self._config = config
        self._on_commit = on_commit

    async def __call__(self, deliveries: Sequence[Delivery[SessionEvent]]) -> list[Rejection]:
        accepted_ids: set[str] = set()
        sessions = requests = 0
        async with self._engine.begin() as conn:
            fresh_ids = await repo.first_seen(
                conn, self._config.group_id, (d.event.event_id for d in deliveries)
            )
            rounds = delivery_rounds(deliveries, fresh_ids, lambda d: d.event.event_id, lambda d: d.value)
            if not rounds:
                return []
            for deliveries_of_round in rounds:
                todo = [d for d in deliveries_of_round if d.event.event_id not in accepted_ids]
                stored, created = await self._apply(conn, todo)
                accepted_ids.update(d.event.event_id for d in todo)
                sessions += stored
                requests += created
        self._on_commit()
        log.info(
            "sessions stored",
            events=len(deliveries),
            fresh=len(fresh_ids),
            sessions=sessions,
            requests=requests,
        )
        # Nothing is refused here: a decodable event is always its own company's to apply (events
        # breaking the contract were dead-lettered by the consumer loop before reaching the handler).
        return []

    async def _apply(self, conn: AsyncConnection, fresh: Sequence[Delivery[SessionEvent]]) -> tuple[int, int]:
        """Store one round of events; returns (sessions written, requests created)."""
        if not fresh:
            return 0, 0
        events = [d.event for d in fresh]
        hash_of = HashMemo()
        stored = await repo.lock_sessions(conn, (session_key(e) for e in events))
        to_write = conversations_to_store(
            events, {key: (s.message_count, s.content_hash) for key, s in stored.items()}, hash_of
        )
        inserted = await repo.upsert_sessions(conn, to_write, hash_of)
        await repo.replace_messages(conn, to_write, hash_of.ordered, inserted)
        planned = plan_requests(
            events,
            default_model=self._config.default_model,
            max_conversation_chars=self._config.max_conversation_chars,
            hash_of=hash_of,
            size_of=hash_of.approx_bytes,
        )
        created = await repo.insert_requests(conn, planned)
        pending = [pending_event(c, "created") for c in created]
        await enqueue(conn, self._config.request_pending_topic, pending)
        return len(to_write), len(created)
