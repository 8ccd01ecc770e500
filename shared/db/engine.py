"""Engine construction. Nothing connects at import: services build one engine in their bootstrap."""

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
                # Statuses are bound parameters, and asyncpg prepares every statement: after five
                # runs PostgreSQL may switch to a generic plan, which cannot prove a partial index's
                # predicate (``WHERE status = 'PENDING_BATCHING'``) and scans instead. Plan each run.
                "plan_cache_mode": "force_custom_plan",
            }
        },
    )
