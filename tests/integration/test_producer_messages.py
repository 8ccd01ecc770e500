"""The producer's stored conversation is always the latest event's, whether the session is new or not."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from services.producer import repository as repo
from shared.events import SessionEvent


def event(session: str, *contents: str, company: str = "acme") -> SessionEvent:
    data: dict[str, Any] = {
        "event_id": f"{company}-{session}-{len(contents)}",
        "company_id": company,
        "session_id": session,
        "started_at": "2026-05-01T10:00:00Z",
        "messages": [{"role": "user", "content": c} for c in contents],
    }
    return SessionEvent.model_validate(data)


async def store(engine: AsyncEngine, *events: SessionEvent) -> set[tuple[str, str]]:
    async with engine.begin() as conn:
        inserted = await repo.upsert_sessions(conn, events)
        await repo.replace_messages(conn, events, inserted=inserted)
    return inserted


async def messages(engine: AsyncEngine) -> list[tuple[str, str, int, str]]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            text(
                'SELECT company_id, session_id, "order", content FROM session_messages '
                'ORDER BY company_id, session_id, "order"'
            )
        )
        return [tuple(r) for r in rows]  # type: ignore[misc]


async def test_new_sessions_are_reported_inserted_and_get_their_messages(engine: AsyncEngine) -> None:
    inserted = await store(engine, event("s1", "a", "b"), event("s1", "x", company="other"))
    assert inserted == {("acme", "s1"), ("other", "s1")}
    assert await messages(engine) == [("acme", "s1", 0, "a"), ("acme", "s1", 1, "b"), ("other", "s1", 0, "x")]


async def test_a_changed_conversation_replaces_the_stored_one(engine: AsyncEngine) -> None:
    await store(engine, event("s1", "a", "b", "c"), event("s2", "keep"))
    inserted = await store(engine, event("s1", "new"), event("s3", "fresh"))
    assert inserted == {("acme", "s3")}  # s1 existed: updated, so its old messages had to go
    assert await messages(engine) == [
        ("acme", "s1", 0, "new"),
        ("acme", "s2", 0, "keep"),
        ("acme", "s3", 0, "fresh"),
    ]


async def test_an_unchanged_session_stored_again_keeps_one_copy_of_its_messages(engine: AsyncEngine) -> None:
    """The upsert leaves an unchanged row alone (and returns nothing for it); its messages are still
    replaced, not added to: a second copy would break the (company, session, order) key."""
    await store(engine, event("s1", "a", "b"))
    assert await store(engine, event("s1", "a", "b")) == set()
    assert await messages(engine) == [("acme", "s1", 0, "a"), ("acme", "s1", 1, "b")]
