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
    claim_ownership,
    conversations_to_store,
    delivery_rounds,
    plan_requests,
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
    """

    def __init__(self, engine: AsyncEngine, config: ProducerConfig, on_commit: Callable[[], None]) -> None:
        self._engine = engine
        self._config = config
        self._on_commit = on_commit

    async def __call__(self, deliveries: Sequence[Delivery[SessionEvent]]) -> list[Rejection]:
        refused: list[Delivery[SessionEvent]] = []
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
                kept, refused_now, stored, created = await self._apply(conn, todo)
                accepted_ids.update(d.event.event_id for d in kept)
                refused += refused_now
                sessions += stored
                requests += created
            # Only accepted events count as processed: a refused one, fixed and re-published under
            # the same event id (what the README tells operators), must be applied, not skipped.
            await repo.forget(
                conn, self._config.group_id, {d.event.event_id for d in refused} - accepted_ids
            )
        self._on_commit()
        log.info(
            "sessions stored",
            events=len(deliveries),
            fresh=len(fresh_ids),
            sessions=sessions,
            requests=requests,
            rejected=len(refused),
        )
        return [Rejection.of(d, "session_id belongs to another company") for d in refused]

    async def _apply(
        self, conn: AsyncConnection, fresh: Sequence[Delivery[SessionEvent]]
    ) -> tuple[list[Delivery[SessionEvent]], list[Delivery[SessionEvent]], int, int]:
        """Store one round of events; returns (kept, refused, sessions written, requests created)."""
        if not fresh:
            return [], [], 0, 0
        stored = await repo.lock_sessions(conn, (d.event.session_id for d in fresh))
        kept, refused, owners = claim_ownership(
            [(d, d.event) for d in fresh], {sid: s.company_id for sid, s in stored.items()}
        )
        to_write = conversations_to_store(
            [d.event for d in kept], {sid: (s.message_count, s.content_hash) for sid, s in stored.items()}
        )
        await repo.upsert_sessions(conn, to_write)
        new_ids = {e.session_id for e in to_write} - stored.keys()
        if new_ids:
            # Another producer may have created one of these sessions for another company after our
            # lock read found nothing to lock (the upsert left its row alone): re-read the owners.
            now = await repo.lock_sessions(conn, new_ids)
            lost = {sid for sid, s in now.items() if s.company_id != owners[sid]}
            refused += [d for d in kept if d.event.session_id in lost]
            kept = [d for d in kept if d.event.session_id not in lost]
            to_write = [e for e in to_write if e.session_id not in lost]
        await repo.replace_messages(conn, to_write)
        planned = plan_requests(
            [d.event for d in kept],
            default_model=self._config.default_model,
            max_conversation_chars=self._config.max_conversation_chars,
        )
        created = await repo.insert_requests(conn, planned)
        pending = [pending_event(c, "created") for c in created]
        await enqueue(conn, self._config.request_pending_topic, pending)
        return kept, refused, len(to_write), len(created)
