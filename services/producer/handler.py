"""Producer handler: ``session.events`` in, sessions + processing requests + ``request.pending`` out.

One database transaction per consumer batch; the ``request.pending`` events are outbox rows in that
same transaction, so a request can never exist without its announcement (or the reverse).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import structlog
from sqlalchemy.ext.asyncio import AsyncEngine

from services.producer import repository as repo
from services.producer.sessions import content_hash, latest_per_session, plan_requests
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
    def __init__(self, engine: AsyncEngine, config: ProducerConfig, on_commit: Callable[[], None]) -> None:
        self._engine = engine
        self._config = config
        self._on_commit = on_commit

    async def __call__(self, deliveries: Sequence[Delivery[SessionEvent]]) -> list[Rejection]:
        rejections: list[Rejection] = []
        async with self._engine.begin() as conn:
            fresh_ids = await repo.first_seen(
                conn, self._config.group_id, (d.event.event_id for d in deliveries)
            )
            seen_in_batch: set[str] = set()
            fresh: list[Delivery[SessionEvent]] = []
            for d in deliveries:
                if d.event.event_id in fresh_ids and d.event.event_id not in seen_in_batch:
                    seen_in_batch.add(d.event.event_id)
                    fresh.append(d)
            if not fresh:
                return []

            stored = await repo.lock_sessions(conn, (d.event.session_id for d in fresh))
            # Tenant isolation: a session id never moves to another company's data. The owner is the
            # stored one, else the first event of this batch that names the session.
            owners = {sid: s.company_id for sid, s in stored.items()}
            kept: list[Delivery[SessionEvent]] = []
            for d in fresh:
                if owners.setdefault(d.event.session_id, d.event.company_id) != d.event.company_id:
                    rejections.append(Rejection.of(d, "session_id belongs to another company"))
                    continue
                kept.append(d)
            accepted = [d.event for d in kept]

            latest = latest_per_session(accepted)
            to_write = []
            for session_id, event in latest.items():
                before = stored.get(session_id)
                if before is not None and len(event.messages) < before.message_count:
                    continue  # an older, shorter copy of the conversation: keep what we have
                if before is None or before.content_hash != content_hash(event):
                    to_write.append(event)
            await repo.upsert_sessions(conn, to_write)
            new_ids = {e.session_id for e in to_write} - stored.keys()
            if new_ids:
                # Another producer may have created one of these sessions for another company after our
                # lock read found nothing to lock; the upsert left its row alone. Re-read the owners.
                now = await repo.lock_sessions(conn, new_ids)
                lost = {sid for sid, s in now.items() if s.company_id != owners[sid]}
                if lost:
                    for d in kept:
                        if d.event.session_id in lost:
                            rejections.append(Rejection.of(d, "session_id belongs to another company"))
                    accepted = [e for e in accepted if e.session_id not in lost]
                    to_write = [e for e in to_write if e.session_id not in lost]
            await repo.replace_messages(conn, to_write)

            planned = plan_requests(
                accepted,
                default_model=self._config.default_model,
                max_conversation_chars=self._config.max_conversation_chars,
            )
            created = await repo.insert_requests(conn, planned)
            await enqueue(
                conn, self._config.request_pending_topic, [pending_event(c, "created") for c in created]
            )
        self._on_commit()
        log.info(
            "sessions stored",
            events=len(deliveries),
            fresh=len(fresh),
            sessions=len(to_write),
            requests=len(created),
            rejected=len(rejections),
        )
        return rejections
