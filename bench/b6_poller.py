"""B6 poller: many in-flight batches, polled by the real poller against the emulator as a process.

``--batches`` provider batches are created at the emulator (one shared one-line input file; a stage
long enough that none finishes during the run) and recorded in a scratch database as in flight and due.
The poller's own code (:class:`services.poller.service.Poller` on the PostgreSQL store, the OpenAI
client, the settings-derived config) then runs its rounds in this process for ``--seconds``, with the
store wrapped to time every database call. Figures:

* database time per poll cycle (adopt + claim + the claimed batches' reschedules), mean and p95;
* provider calls per second, counted by the emulator itself, against the rate a bare client reaches
  on the same emulator with the poller's concurrency, measured in the same run (the provider side's
  limit, not the poller's);
* proof of the minimum interval: the emulator's own log of every retrieval (``/_emulator/polls``);
  the smallest gap between two polls of one batch must be at least ``poll_interval_s``. Under the
  load few or no batches come round twice (the backlog is worked oldest first), so a second run
  polls 50 batches for 10 s at a 0.5 s minimum interval, where every batch is due again and again.
  The log is read right after the poller's window: the emulator keeps only the latest 64 retrievals
  of a batch, and the bare-client probe that follows retrieves the same batches (on 50 batches,
  enough to push every poll of the poller out of the log). The proof holds only with repeat polls,
  none sooner than the interval, and every poll the database recorded also in the emulator's log.

Run: ``python -m bench.b6_poller --batches 10000 --seconds 30``. Asserts nothing about speed.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import statistics
import tempfile
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
import orjson
from sqlalchemy import text

from bench.results import BenchRow, save
from bench.scratch import scratch_settings
from devtools.stack import Stack, free_port
from services.poller.main import poller_config
from services.poller.ports import DueBatch, Terminal
from services.poller.service import Poller
from services.poller.store import PostgresPollerStore
from shared.analysis import ProcessingType, chat_body
from shared.db.engine import make_engine
from shared.lifecycle import BatchStatus
from shared.outbox import OutgoingEvent
from shared.provider.base import BatchProvider
from shared.provider.openai import build_provider
from shared.settings import Settings

_SEED = text(
    "INSERT INTO provider_batches (id, company_id, model, provider, status, provider_batch_id, request_count, "
    "poll_count, submit_attempts, submitted_at, next_poll_at) "
    "SELECT gen_random_uuid(), 'bench-co', 'gpt-4o-mini', 'openai', :status, p, 1, 0, 1, now(), now() "
    "FROM unnest(CAST(:ids AS text[])) AS p"
)
_POLLS = text(
    "SELECT coalesce(sum(poll_count), 0) AS polls, count(*) FILTER (WHERE poll_count > 0) AS polled FROM provider_batches"
)


class TimedStore:
    """The PostgreSQL store, timing every call: what one poll cycle costs the database."""

    def __init__(self, inner: PostgresPollerStore) -> None:
        self._inner = inner
        self.round_s = 0.0

    async def _timed(self, call: Any, *args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return await call(*args, **kwargs)
        finally:
            self.round_s += time.perf_counter() - started

    async def track(self, batch_ids: Sequence[uuid.UUID], *, first_delay_s: float) -> int:
        return int(await self._timed(self._inner.track, batch_ids, first_delay_s=first_delay_s))

    async def adopt(self, *, older_than_s: float, first_delay_s: float) -> int:
        return int(
            await self._timed(self._inner.adopt, older_than_s=older_than_s, first_delay_s=first_delay_s)
        )

    async def claim_due(self, *, limit: int, lease_s: float) -> list[DueBatch]:
        due: list[DueBatch] = await self._timed(self._inner.claim_due, limit=limit, lease_s=lease_s)
        return due

    async def renew_lease(self, batch_id: uuid.UUID, *, lease_s: float) -> bool:
        return bool(await self._timed(self._inner.renew_lease, batch_id, lease_s=lease_s))

    async def reschedule(
        self,
        batch_id: uuid.UUID,
        status: BatchStatus,
        *,
        delay_s: float,
        completed: int | None,
        failed: int | None,
        last_error: str | None,
    ) -> bool:
        return bool(
            await self._timed(
                self._inner.reschedule,
                batch_id,
                status,
                delay_s=delay_s,
                completed=completed,
                failed=failed,
                last_error=last_error,
            )
        )

    async def finish(
        self, batch_id: uuid.UUID, outcome: Terminal, *, topic: str, event: OutgoingEvent
    ) -> bool:
        return bool(await self._timed(self._inner.finish, batch_id, outcome, topic=topic, event=event))


async def create_batches(provider: BatchProvider, n: int, tmp: Path) -> list[str]:
    """``n`` provider batches over one uploaded one-line file (creation is what costs; the file is shared)."""
    path = tmp / "one.jsonl"

    line = {
        "custom_id": "bench-1",
        "method": "POST",
        "url": "/v1/chat/completions",
        "body": chat_body(ProcessingType.FULL_ANALYSIS, "gpt-4o-mini", "user: hello"),
    }
    path.write_bytes(orjson.dumps(line) + b"\n")
    uploaded = await provider.upload_file(path)
    gate = asyncio.Semaphore(32)

    async def one() -> str:
        async with gate:
            return (await provider.create_batch(uploaded.id, metadata={})).id

    return list(await asyncio.gather(*(one() for _ in range(n))))


async def bare_rate(provider: BatchProvider, ids: list[str], concurrency: int, seconds: float) -> float:
    """Retrievals per second a bare client reaches with ``concurrency`` calls in flight (no database)."""
    deadline = time.monotonic() + seconds
    done = 0

    async def worker(offset: int) -> None:
        nonlocal done
        i = offset
        while time.monotonic() < deadline:
            await provider.retrieve_batch(ids[i % len(ids)])
            done += 1
            i += concurrency

    started = time.monotonic()
    await asyncio.gather(*(worker(k) for k in range(concurrency)))
    return done / (time.monotonic() - started)


async def retrievals(port: int) -> dict[str, list[float]]:
    """The emulator's log of retrievals per batch (clock times), as it stands now."""
    async with httpx.AsyncClient(timeout=60) as client:
        answer = await client.get(f"http://127.0.0.1:{port}/_emulator/polls")
    batches: dict[str, list[float]] = answer.raise_for_status().json()["batches"]
    return batches


async def run_b6(settings: Settings, log_dir: Path, *, batches: int, seconds: float) -> dict[str, Any]:
    port = free_port()
    settings = settings.model_copy(update={"openai_base_url": f"http://127.0.0.1:{port}/v1"})
    stack = Stack(settings, log_dir)
    engine = make_engine(settings.database_url or "", pool_size=10)
    try:
        stack.start_emulator(port, "--stage-seconds", "36000")
        provider = build_provider(settings)
        try:
            started = time.monotonic()
            ids = await create_batches(provider, batches, log_dir)
            seed_s = time.monotonic() - started
            async with engine.begin() as conn:
                await conn.execute(_SEED, {"ids": ids, "status": BatchStatus.VALIDATING.value})
            config = poller_config(settings)
            store = TimedStore(PostgresPollerStore(engine))
            poller = Poller(store, provider, config, on_commit=lambda: None)
            tick = max(0.05, min(1.0, settings.poll_interval_s / 4))  # as services.poller.main
            db_s: list[float] = []
            round_s: list[float] = []
            polled: list[int] = []
            t0 = time.time()
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline:
                store.round_s = 0.0
                began = time.perf_counter()
                n = await poller.poll_due_once()
                round_s.append(time.perf_counter() - began)
                db_s.append(store.round_s)
                polled.append(n)
                if n == 0:
                    await asyncio.sleep(tick)
            t1 = time.time()
            log = await retrievals(port)
            bare = await bare_rate(provider, ids, config.concurrency, min(5.0, seconds))
        finally:
            await provider.aclose()
        async with engine.connect() as conn:
            db_polls = (await conn.execute(_POLLS)).one()
    finally:
        stack.stop()
        await engine.dispose()
    # Only the poller's window (the batches' creation is no retrieval, but keep the bound explicit).
    times = {b: [t for t in ts if t0 <= t <= t1] for b, ts in log.items()}
    calls = sum(len(ts) for ts in times.values())
    gaps = [b - a for ts in times.values() for a, b in itertools.pairwise(ts)]
    busy = [d for d, n in zip(db_s, polled, strict=True) if n]
    return {
        "batches": batches,
        "seed_s": seed_s,
        "seconds": t1 - t0,
        "calls": calls,
        "calls_per_s": calls / (t1 - t0),
        "bare_per_s": bare,
        "rounds": len(round_s),
        "busy_rounds": len(busy),
        "db_ms_mean": 1000 * statistics.fmean(busy) if busy else 0.0,
        "db_ms_p95": 1000 * statistics.quantiles(busy, n=20)[-1] if len(busy) >= 20 else 0.0,
        "round_ms_mean": 1000
        * statistics.fmean([r for r, n in zip(round_s, polled, strict=True) if n] or [0.0]),
        "per_round": statistics.fmean([n for n in polled if n] or [0]),
        "min_interval_s": settings.poll_interval_s,
        "repeat_polls": len(gaps),
        "min_gap_s": min(gaps) if gaps else None,
        "too_soon": sum(1 for g in gaps if g < settings.poll_interval_s),
        "db_polls": int(db_polls.polls),
        "db_polled": int(db_polls.polled),
    }


def interval_verdict(load: dict[str, Any], proof: dict[str, Any]) -> tuple[bool, str]:
    """Whether the runs show the minimum interval held, and why not when they do not.

    No repeat poll proves nothing (no gap to measure), and a log missing some of the polls the
    database counted may have lost the one gap that was too short."""
    too_soon = load["too_soon"] + proof["too_soon"]
    if too_soon:
        return False, f"polls sooner than the minimum interval: {too_soon}"
    if proof["repeat_polls"] == 0:
        return False, "not shown: no batch of the proof run was polled twice"
    if proof["calls"] < proof["db_polls"]:
        return False, (
            f"not shown: the emulator's log holds {proof['calls']:,} of the {proof['db_polls']:,} polls"
            " the database counted"
        )
    return True, "every gap at least the minimum interval"


def rows_of(load: dict[str, Any], proof: dict[str, Any]) -> list[BenchRow]:
    gap = "n/a" if proof["min_gap_s"] is None else f"{proof['min_gap_s']:.2f} s"
    met, why = interval_verdict(load, proof)
    return [
        BenchRow(
            bench=f"B6 poller, {load['batches']:,} in-flight batches",
            figure=(
                f"{load['calls_per_s']:,.0f} provider calls/s; DB {load['db_ms_mean']:.1f} ms per poll cycle"
                f" (p95 {load['db_ms_p95']:.1f} ms)"
            ),
            baseline=f"{load['calls_per_s'] / load['bare_per_s']:.0%} of a bare client's {load['bare_per_s']:,.0f} calls/s",
            limit=f"cycle {load['round_ms_mean']:.0f} ms wall for {load['per_round']:.1f} batches",
            target="",
            met=None,
            notes=(
                f"{load['calls']:,} polls in {load['seconds']:.1f} s counted by the emulator (the database counts"
                f" {load['db_polls']:,}); DB time per cycle is the sum of its calls (adopt, claim, one reschedule per"
                f" polled batch; these overlap); {load['busy_rounds']} busy cycles; seeding {load['seed_s']:.0f} s"
            ),
        ),
        BenchRow(
            bench="B6 poller, minimum interval",
            figure=f"shortest gap between two polls of one batch {gap}",
            baseline="",
            limit="",
            target=f">= poll_interval_s ({proof['min_interval_s']:g} s)",
            met=met,
            notes=(
                f"{why}; from the emulator's own retrieval log: {proof['calls']:,} polls (the database counts"
                f" {proof['db_polls']:,}), {proof['repeat_polls']:,} of them repeats, of {proof['batches']}"
                f" batches in {proof['seconds']:.0f} s, {proof['too_soon']} sooner than"
                f" {proof['min_interval_s']:g} s; under load ({load['batches']:,} batches): {load['repeat_polls']:,}"
                f" repeat polls, {load['too_soon']} sooner"
            ),
        ),
    ]


async def one_run(batches: int, seconds: float, interval: float) -> dict[str, Any]:
    overrides = {"poll_interval_s": interval, "poll_max_interval_s": 4 * interval, "log_level": "WARNING"}
    async with scratch_settings("b6", **overrides) as settings:
        with tempfile.TemporaryDirectory(prefix="b6-") as logs:
            result = await run_b6(settings, Path(logs), batches=batches, seconds=seconds)
    print({k: round(v, 3) if isinstance(v, float) else v for k, v in result.items()})
    return result


async def main(batches: int, seconds: float, interval: float) -> None:
    """The load (every batch due, the backlog worked through) and the interval proof (few batches,
    each due again and again: the case where a poll too soon could happen)."""
    load = await one_run(batches, seconds, interval)
    proof = await one_run(50, 10.0, 0.5)
    save("b6_poller", rows_of(load, proof))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--batches", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--interval", type=float, default=2.0, help="poll_interval_s, the minimum interval")
    args = parser.parse_args()
    asyncio.run(main(args.batches, args.seconds, args.interval))
