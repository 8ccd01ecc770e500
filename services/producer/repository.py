"""Set-based SQL of the producer: every statement handles a whole consumer batch at once."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from services.producer.sessions import HashOf, PlannedRequest, SessionKey, content_hash
from shared.events import SessionEvent
from shared.lifecycle import REQUEST_INITIAL


async def first_seen(conn: AsyncConnection, group: str, event_ids: Iterable[str]) -> set[str]:
    """Record event ids for the group; returns those not recorded before (the rest are duplicates).

    Recorded first, in the handler's transaction, so a second producer handling the same event id at
    the same time waits on this row instead of applying it too. The handler applies every event that
    reaches it (dead letters are decided before, by the consumer loop, and never recorded), so a
    dead-lettered event, fixed and re-published under its id, is processed.
    """
    ids = sorted(set(event_ids))
    if not ids:
        return set()
    rows = await conn.execute(
        text(
            "INSERT INTO processed_events (consumer_group, event_id) "
            "SELECT :g, unnest(CAST(:ids AS text[])) ON CONFLICT DO NOTHING RETURNING event_id"
        ),
        {"g": group, "ids": ids},
    )
    return {r.event_id for r in rows}


async def prune_processed(conn: AsyncConnection, *, older_than_s: float, limit: int) -> int:
    """Delete up to ``limit`` recorded event ids older than ``older_than_s``; returns how many.

    Bounded, so one round holds its locks briefly however much piled up; the caller repeats while
    a round comes back full. Oldest first, along ``ix_processed_events_processed_at``. ``SKIP
    LOCKED``: producers pruning at once share the rows instead of queueing on each other. The age
    test is repeated outside so a row is judged when it is deleted.
    """
    result = await conn.execute(
        text(
            """
            DELETE FROM processed_events
            WHERE ctid = ANY(ARRAY(
                SELECT ctid FROM processed_events
                WHERE processed_at < now() - make_interval(secs => :age)
                ORDER BY processed_at LIMIT :n FOR UPDATE SKIP LOCKED))
              AND processed_at < now() - make_interval(secs => :age)
            """
        ),
        {"age": older_than_s, "n": limit},
    )
    return int(getattr(result, "rowcount", 0) or 0)


@dataclass(frozen=True, slots=True)
class StoredSession:
    message_count: int
    content_hash: str


async def lock_sessions(conn: AsyncConnection, keys: Iterable[SessionKey]) -> dict[SessionKey, StoredSession]:
    """Existing sessions, row-locked so two producer instances cannot interleave writes to one session.

    Locked in (company_id, id) order, the order the ingester locks them in too (no deadlock)."""
    pairs = sorted(set(keys))
    rows = await conn.execute(
        text(
            "SELECT s.company_id, s.id, s.message_count, s.content_hash FROM sessions s "
            "JOIN unnest(CAST(:companies AS text[]), CAST(:ids AS text[])) AS k(company_id, id) "
            "ON s.company_id = k.company_id AND s.id = k.id "
            "ORDER BY s.company_id, s.id FOR UPDATE OF s"
        ),
        {"companies": [c for c, _ in pairs], "ids": [i for _, i in pairs]},
    )
    return {(r.company_id, r.id): StoredSession(r.message_count, r.content_hash) for r in rows}


async def upsert_sessions(
    conn: AsyncConnection, events: Sequence[SessionEvent], hash_of: HashOf = content_hash
) -> set[SessionKey]:
    """Insert new sessions, update changed ones; analysis fields are never touched here.

    Returns the sessions this statement inserted (``xmax = 0``: no earlier version of the row), which
    therefore have no stored messages yet.

    Keyed by (company_id, id): an event writes its own company's session only. Rows go in
    (company_id, id) order, the order ``lock_sessions`` locks in: two producers inserting the same
    *new* sessions in their arrival orders each waited on a row the other had just inserted (a
    deadlock the database broke by failing one batch)."""
    if not events:
        return set()
    events = sorted(events, key=lambda e: (e.company_id, e.session_id))
    rows = await conn.execute(
        text(
            """
            INSERT INTO sessions (id, company_id, started_at, ended_at, content_hash, message_count)
            SELECT * FROM unnest(CAST(:ids AS text[]), CAST(:companies AS text[]),
                                 CAST(:started AS timestamptz[]), CAST(:ended AS timestamptz[]),
                                 CAST(:hashes AS text[]), CAST(:counts AS int[]))
            ON CONFLICT (company_id, id) DO UPDATE SET
                started_at = EXCLUDED.started_at,
                ended_at = EXCLUDED.ended_at,
                content_hash = EXCLUDED.content_hash,
                message_count = EXCLUDED.message_count,
                updated_at = now()
            WHERE sessions.content_hash IS DISTINCT FROM EXCLUDED.content_hash
               OR sessions.ended_at IS DISTINCT FROM EXCLUDED.ended_at
            RETURNING company_id, id, xmax = 0 AS inserted
            """
        ),
        {
            "ids": [e.session_id for e in events],
            "companies": [e.company_id for e in events],
            "started": [e.started_at for e in events],
            "ended": [e.ended_at for e in events],
            "hashes": [hash_of(e) for e in events],
            "counts": [len(e.messages) for e in events],
        },
    )
    return {(r.company_id, r.id) for r in rows if r.inserted}


async def replace_messages(
    conn: AsyncConnection,
    events: Sequence[SessionEvent],
    ordered: Callable[[SessionEvent], list[tuple[int, str, str]]] = SessionEvent.ordered_messages,
    inserted: Collection[SessionKey] = frozenset(),
) -> None:
    """Store each event's conversation as the session's messages (events carry whole conversations).

    The old messages are deleted first for every session but those ``upsert_sessions`` has just
    inserted (they have none). That includes a session another producer created after our lock:
    ``upsert_sessions`` waited on it and updated it, so it has messages we must replace. Skipping the
    new ones matters: for a round of new sessions the delete found nothing, yet its plan, chosen on a
    table's stale statistics, sorted every stored message (27 to 78 ms a round in B2, growing with the
    table)."""
    if not events:
        return
    stored = [e for e in events if (e.company_id, e.session_id) not in inserted]
    if stored:
        await conn.execute(
            text(
                "DELETE FROM session_messages m "
                "USING unnest(CAST(:companies AS text[]), CAST(:ids AS text[])) AS k(company_id, id) "
                "WHERE m.company_id = k.company_id AND m.session_id = k.id"
            ),
            {"companies": [e.company_id for e in stored], "ids": [e.session_id for e in stored]},
        )
    records = [
        (e.company_id, e.session_id, role, content, order)
        for e in events
        for order, role, content in ordered(e)
    ]
    # COPY on the driver's connection, inside this transaction: binding five text arrays of a whole
    # batch (checked element by element by the driver) and unnesting them cost more than the write.
    driver = (await conn.get_raw_connection()).driver_connection
    if driver is None:
        raise RuntimeError("the database connection is closed")
    await driver.copy_records_to_table("session_messages", records=records, columns=MESSAGE_COLUMNS)


#: The columns a stored message is copied into, in the order of the records above.
MESSAGE_COLUMNS = ("company_id", "session_id", "role", "content", "order")


@dataclass(frozen=True, slots=True)
class CreatedRequest:
    id: uuid.UUID
    session_id: str
    company_id: str
    processing_type: str
    model: str
    approx_bytes: int
    attempt: int = 1


async def insert_requests(conn: AsyncConnection, planned: Sequence[PlannedRequest]) -> list[CreatedRequest]:
    """Create the planned requests that do not exist yet; returns only the ones created now.

    Without ``reanalyze`` a request is created only if no analysis of that (company, session, type,
    model) exists at all; with it, only if none exists for this content revision (the unique key).
    Requests made before sessions were tenant-scoped have ids of the old derivation: the natural
    key, not the id, is what recognises them.
    """
    if not planned:
        return []
    # In unique-key order, for the reason ``upsert_sessions`` sorts its rows.
    planned = sorted(
        planned, key=lambda p: (p.company_id, p.session_id, p.processing_type.value, p.model, p.revision)
    )
    rows = await conn.execute(
        text(
            """
            INSERT INTO ai_processing_requests
                (id, session_id, company_id, processing_type, model, revision, status, attempt, approx_bytes)
            SELECT u.id, u.session_id, u.company_id, u.ptype, u.model, u.revision, :initial, 1, u.approx_bytes
            FROM unnest(CAST(:ids AS uuid[]), CAST(:sids AS text[]), CAST(:companies AS text[]),
                        CAST(:ptypes AS text[]), CAST(:models AS text[]), CAST(:revisions AS text[]),
                        CAST(:sizes AS int[]), CAST(:reanalyze AS bool[]))
                 AS u(id, session_id, company_id, ptype, model, revision, approx_bytes, reanalyze)
            WHERE u.reanalyze OR NOT EXISTS (
                SELECT 1 FROM ai_processing_requests r
                WHERE r.company_id = u.company_id AND r.session_id = u.session_id
                  AND r.processing_type = u.ptype AND r.model = u.model)
            ON CONFLICT DO NOTHING
            RETURNING id, session_id, company_id, processing_type, model, approx_bytes
            """
        ),
        {
            "initial": REQUEST_INITIAL.value,
            "ids": [p.id for p in planned],
            "sids": [p.session_id for p in planned],
            "companies": [p.company_id for p in planned],
            "ptypes": [p.processing_type.value for p in planned],
            "models": [p.model for p in planned],
            "revisions": [p.revision for p in planned],
            "sizes": [p.approx_bytes for p in planned],
            "reanalyze": [p.reanalyze for p in planned],
        },
    )
    return [
        CreatedRequest(r.id, r.session_id, r.company_id, r.processing_type, r.model, r.approx_bytes)
        for r in rows
    ]
