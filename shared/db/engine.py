"""Engine construction. Nothing connects at import: services build one engine in their bootstrap.

Plan caching is set here for the whole code base. Every connection plans each execution afresh
(``plan_cache_mode = force_custom_plan``): the hot claims and sweeps bind their statuses, and only a
plan made for the bound values can prove a partial index's predicate (``ix_requests_pending``,
``ix_batches_due``, ``ix_batches_unsubmitted``, ``ix_batches_unprocessed``, ``ix_batches_enqueued``).
The price is paid where PostgreSQL runs a cached plan once per row: a foreign-key check of every
inserted message and request. Since migration 0007s only the producer inserts such rows, and its
transaction opts out with :func:`reuse_plans`; B1 and B3 measured no gain from reusing plans
engine-wide (bench/PROFILES.md, "Plan caching").
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine


def asyncpg_url(url: str) -> str:
    """Accept the plain ``postgresql://`` URLs operators paste and point them at the asyncpg driver."""
    for prefix in ("postgresql+asyncpg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    raise ValueError("database URL must start with postgresql:// (or postgresql+asyncpg://)")


def make_engine(url: str, *, pool_size: int = 5, application_name: str = "batchline") -> AsyncEngine:
    return create_async_engine(
        asyncpg_url(url),
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,  # survive a database restart without failing the first query after it
        pool_recycle=1800,
        connect_args={
            "server_settings": {
                "application_name": application_name,
                # asyncpg prepares every statement: after five runs PostgreSQL may switch to a generic
                # plan, which cannot prove a partial index's predicate from a bound status
                # (``WHERE status = 'PENDING_BATCHING'``) and scans instead. Plan each run.
                "plan_cache_mode": "force_custom_plan",
            }
        },
    )


async def reuse_plans(conn: AsyncConnection) -> None:
    """Let PostgreSQL keep its plans until this transaction ends (``SET LOCAL plan_cache_mode = auto``).

    For write transactions whose rows each run a foreign-key check (a cached plan, re-planned per
    row when forced: COPYing messages took 2.5 times the server CPU) and whose statements filter on
    no status, so a reused plan cannot miss a partial index. ``LOCAL``: the pooled connection goes
    back to forced planning at commit or rollback, whichever transaction takes it next.
    """
    await conn.execute(_REUSE_PLANS)


_REUSE_PLANS = text("SET LOCAL plan_cache_mode = auto")
