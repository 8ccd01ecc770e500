"""Two producer instances writing the same new sessions in different arrival orders never deadlock.

The interleaving that deadlocked (seen in CI, in the tenancy property test racing two handlers) is
forced here step by step: A holds a new session s1 (inserted, not committed); B writes [s2, s1], in
that arrival order; then A writes s2. If B inserted s2 before queueing on s1, A now waits on B while
B waits on A, and PostgreSQL kills one of them. In key order B queues on s1 *before* touching s2, so
A's write goes through, A commits, then B does.
"""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.producer import repository as repo
from shared.events import SessionEvent


def session(sid: str) -> SessionEvent:
    return SessionEvent.model_validate(
        {
            "event_id": f"ev-{sid}",
            "company_id": "co-a",
            "session_id": sid,
            "started_at": "2026-05-01T10:00:00Z",
            "messages": [{"role": "user", "content": f"hello from {sid}"}],
        }
    )


async def backend_pid(conn: AsyncConnection) -> int:
    return int((await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one())


async def wait_until_blocked(engine: AsyncEngine, pid: int) -> None:
    """Until ``pid`` waits on a lock (the state the interleaving needs before A's second write)."""
    async with engine.connect() as probe:
        for _ in range(200):
            waiting = (
                await probe.execute(
                    text("SELECT wait_event_type FROM pg_stat_activity WHERE pid = :pid"), {"pid": pid}
                )
            ).scalar_one_or_none()
            if waiting == "Lock":
                return
            await asyncio.sleep(0.05)
    raise AssertionError(f"backend {pid} never queued on a lock")


async def test_new_sessions_in_opposite_orders_do_not_deadlock(engine: AsyncEngine) -> None:
    async with engine.connect() as a, engine.connect() as b:
        await a.execute(text("SET lock_timeout = '20s'"))
        await b.execute(text("SET lock_timeout = '20s'"))
        b_pid = await backend_pid(b)
        await repo.upsert_sessions(a, [session("s1")])

        async def b_writes() -> Any:
            await repo.upsert_sessions(b, [session("s2"), session("s1")])
            await b.commit()

        b_task = asyncio.create_task(b_writes())
        await wait_until_blocked(engine, b_pid)
        await repo.upsert_sessions(a, [session("s2")])  # deadlock detected here when B went first on s2
        await a.commit()
        await asyncio.wait_for(b_task, 30)

    async with engine.connect() as check:
        stored = (await check.execute(text("SELECT id FROM sessions ORDER BY id"))).scalars().all()
    assert stored == ["s1", "s2"]
