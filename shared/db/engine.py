"""Engine construction. Nothing connects at import: services build one engine in their bootstrap.

Plan caching is set here for the whole code base. Every connection plans each execution afresh
(``plan_cache_mode = force_custom_plan``): the hot claims and sweeps bind their statuses, and only a
plan made for the bound values can prove a partial index's predicate (``ix_requests_pending``,
``ix_batches_due``, ``ix_batches_unsubmitted``, ``ix_batches_unprocessed``, ``ix_batches_enqueued``).
A reused plan is also a plan made for the tables as they were: the producer once let its transactions
reuse plans, and its connection kept a foreign-key check planned on a nearly empty ``sessions`` table
for as long as it lived (migration 0008r). Since 0008r no statement of batchline runs a cached plan
once per row, so planning each execution costs a few statements per transaction and nothing opts out
(B2 measured 3,297 sessions/s reusing plans and 3,321 without, bench/PROFILES.md).
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine


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
