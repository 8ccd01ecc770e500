"""The producer's background pruning of ``processed_events``, the table of event ids it has applied.

Every accepted session event leaves a row, so the table grows with the traffic forever unless it is
pruned. A row is only needed while its event can still be delivered again, i.e. while it is in the
topic; past the retention setting (which must exceed the topics' retention) it is deleted. Several
producer instances may prune at once: the delete skips rows another one holds.
"""

from __future__ import annotations

import asyncio

from sqlalchemy.ext.asyncio import AsyncEngine

from services.producer import repository as repo
from shared.periodic import Backoff, Pause, pause, run_periodically

#: Rows per DELETE: short transactions, so consumers inserting ids never wait long on the prune.
PRUNE_BATCH = 5_000
#: How often an idle pruner looks again; old rows only appear as time passes, so rarely is enough.
PRUNE_INTERVAL_S = 600.0
#: After the n-th failed round in a row (database down): 5, 10, 20, ... up to 300 s.
PRUNE_BACKOFF = Backoff(base_s=5.0, cap_s=300.0)


async def prune_round(engine: AsyncEngine, *, older_than_s: float, limit: int = PRUNE_BATCH) -> bool:
    """One bounded delete in its own transaction; True when it was full (more may be waiting)."""
    async with engine.begin() as conn:
        deleted = await repo.prune_processed(conn, older_than_s=older_than_s, limit=limit)
    return deleted >= limit


async def prune_forever(
    engine: AsyncEngine,
    stop: asyncio.Event,
    *,
    older_than_s: float,
    interval_s: float = PRUNE_INTERVAL_S,
    limit: int = PRUNE_BATCH,
    sleep: Pause = pause,
) -> None:
    """Prune until ``stop``: full rounds back to back, then one look every ``interval_s``."""

    async def step() -> bool:
        return await prune_round(engine, older_than_s=older_than_s, limit=limit)

    await run_periodically(
        "processed-events prune", step, interval_s=interval_s, stop=stop, backoff=PRUNE_BACKOFF, sleep=sleep
    )
