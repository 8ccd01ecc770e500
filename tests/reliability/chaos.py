"""A seeded chaos driver: SIGKILLs service instances at random moments and restarts the broker, the
database and the provider emulator while the pipeline runs, and opens a key-revocation window (the
provider refuses the services' key for a few seconds, then the new key lands in the key file they
read). It also supervises: an instance (or the emulator) that died on its own, not killed by the
driver, is recorded as a crash, with the tail of its log, and started again.

Every random choice (which instance, when, how long it stays down, when the broker, the database and
the emulator restart, graceful or not, when the key is revoked and for how long) comes from
generators seeded with ``seed``, so a failing seed names a reproducible schedule (up to the timing
of the processes themselves). The provider's schedule has its own generator, so adding it left the
kill and infrastructure schedules of every seed as they were.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from devtools.infra import kafka, postgres
from devtools.processes import ManagedProcess
from devtools.stack import Stack, wait_for_port

#: Emulator faults that hit the next N batches (fault config field -> command-line option).
ONE_SHOT_FAULTS = {
    "expire_batches": "--expire-batches",
    "token_limit_batches": "--token-limit-batches",
    "validation_fail_batches": "--validation-fail-batches",
}


@dataclass(frozen=True)
class ChaosPlan:
    """How much chaos, and how it is spread. Times are seconds of wall clock."""

    kills: int
    #: Pause between two kills.
    interval_s: tuple[float, float] = (1.0, 4.0)
    #: How long a killed instance stays down before it is started again.
    down_s: tuple[float, float] = (0.2, 4.0)
    #: Share of kills that take down every instance of one service at once (nobody left to take over).
    wipe_fraction: float = 0.1
    kafka_restarts: int = 1
    postgres_restarts: int = 1
    #: How long the broker / the database stay down during their restart (on top of stop + start).
    infra_down_s: tuple[float, float] = (1.0, 5.0)
    #: Emulator restarts (it must run with a state dir): SIGKILL and graceful alternate, in a seeded
    #: order, so two restarts are one of each.
    emulator_restarts: int = 2
    emulator_down_s: tuple[float, float] = (0.5, 4.0)
    #: Windows in which the provider refuses the services' key (401) until the new key is written
    #: to their key file; placed in the part of the run where sessions still arrive.
    key_revocations: int = 1
    key_window_s: tuple[float, float] = (3.0, 8.0)

    @property
    def window_s(self) -> float:
        """Expected length of the kill schedule; infrastructure restarts are placed inside it."""
        return self.kills * sum(self.interval_s) / 2


@dataclass(frozen=True)
class ChaosEvent:
    at_s: float
    # kill | restart | crash | kafka_stop | kafka_start | postgres_stop | postgres_start
    # | emulator_stop | emulator_start | key_revoked | key_refused | key_restored
    kind: str
    target: str
    detail: str = ""


@dataclass
class ChaosDriver:
    stack: Stack
    plan: ChaosPlan
    seed: int
    kafka_node: kafka.KafkaNode | None = None
    postgres_node: postgres.PostgresNode | None = None
    #: The key file the services read; without it no key-revocation window is opened.
    key_file: Path | None = None
    events: list[ChaosEvent] = field(default_factory=list)
    crash_logs: dict[str, str] = field(default_factory=dict)
    #: The emulator's counters of its earlier lives (they restart from zero with it).
    emulator_counters: Counter[str] = field(default_factory=Counter)
    _rng: random.Random = field(init=False)
    _started: float = field(init=False, default=0.0)
    _down: set[str] = field(init=False, default_factory=set)
    #: The broker / the database while they are being restarted.
    _infra_down: set[str] = field(init=False, default_factory=set)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        # Drawn up front, so the infrastructure schedule does not depend on how the kills went.
        window = self.plan.window_s
        self._kafka_at = sorted(
            self._rng.uniform(0.15, 0.45) * window for _ in range(self.plan.kafka_restarts)
        )
        self._postgres_at = sorted(
            self._rng.uniform(0.55, 0.85) * window for _ in range(self.plan.postgres_restarts)
        )
        self._kafka_graceful = [self._rng.random() < 0.5 for _ in self._kafka_at]
        self._infra_rng = random.Random(f"{self.seed}:infra")
        provider = random.Random(f"{self.seed}:provider")
        self._emulator_at = sorted(
            provider.uniform(0.1, 0.9) * window for _ in range(self.plan.emulator_restarts)
        )
        self._emulator_graceful = [i % 2 == 1 for i in range(self.plan.emulator_restarts)]
        provider.shuffle(self._emulator_graceful)
        self._emulator_down_s = [provider.uniform(*self.plan.emulator_down_s) for _ in self._emulator_at]
        self._key_at = sorted(provider.uniform(0.2, 0.6) * window for _ in range(self.plan.key_revocations))
        self._key_hold_s = [provider.uniform(*self.plan.key_window_s) for _ in self._key_at]
        #: The key each window rotates to (the services hold the settings' key before the first).
        self.rotated_keys = [
            f"sk-test-chaos{self.seed}-rotated{i}-{provider.getrandbits(64):016x}"
            for i in range(len(self._key_at))
        ]
        self._emulator_stopped = False

    # --- figures ----------------------------------------------------------------------------

    def count(self, kind: str) -> int:
        return sum(1 for e in self.events if e.kind == kind)

    def figures(self) -> dict[str, Any]:
        kinds = Counter(e.kind for e in self.events)
        return {
            "seed": self.seed,
            "kills": kinds["kill"],
            "service_restarts": kinds["restart"],
            "kills_by_service": dict(
                Counter(e.target.rsplit("-", 1)[0] for e in self.events if e.kind == "kill")
            ),
            "kafka_restarts": kinds["kafka_start"],
            "postgres_restarts": kinds["postgres_start"],
            "emulator_restarts": kinds["emulator_start"],
            "emulator_kills": sum(
                1 for e in self.events if e.kind == "emulator_stop" and e.detail == "SIGKILL"
            ),
            "key_revocations": kinds["key_restored"],
            "key_revoked_s": round(
                sum(e.at_s for e in self.events if e.kind == "key_restored")
                - sum(e.at_s for e in self.events if e.kind == "key_revoked"),
                1,
            ),
            "crashes": kinds["crash"],
        }

    def timeline(self) -> list[str]:
        return [f"{e.at_s:7.1f}s {e.kind:15} {e.target} {e.detail}".rstrip() for e in self.events]

    # --- running ----------------------------------------------------------------------------

    def _record(self, kind: str, target: str, detail: str = "") -> None:
        self.events.append(ChaosEvent(round(time.monotonic() - self._started, 2), kind, target, detail))

    async def run(self) -> None:
        """Carry out the whole plan; returns when every instance is running again."""
        self._started = time.monotonic()
        supervisor = asyncio.create_task(self._supervise(), name="chaos-supervisor")
        try:
            infra = [
                *(
                    self._restart_kafka(at, g)
                    for at, g in zip(self._kafka_at, self._kafka_graceful, strict=True)
                ),
                *(self._restart_postgres(at) for at in self._postgres_at),
                self._restart_emulator(),
                self._revoke_keys(),
            ]
            await asyncio.gather(self._kill_loop(), *infra)
            await self._ensure_all_started()
        finally:
            supervisor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await supervisor

    async def _kill_loop(self) -> None:
        restarts: list[asyncio.Task[None]] = []
        kills = 0
        while kills < self.plan.kills:
            await asyncio.sleep(self._rng.uniform(*self.plan.interval_s))
            candidates = [p for p in self._services() if p.name not in self._down and p.alive()]
            if not candidates:
                continue
            if self._rng.random() < self.plan.wipe_fraction:
                service = self._rng.choice(sorted({p.name.rsplit("-", 1)[0] for p in candidates}))
                victims = [p for p in candidates if p.name.rsplit("-", 1)[0] == service]
            else:
                # The least-killed service first (ties drawn at random), so every service gets its share.
                killed = Counter(e.target.rsplit("-", 1)[0] for e in self.events if e.kind == "kill")
                services = sorted({p.name.rsplit("-", 1)[0] for p in candidates})
                fewest = min(killed[s] for s in services)
                service = self._rng.choice([s for s in services if killed[s] == fewest])
                victims = [self._rng.choice([p for p in candidates if p.name.rsplit("-", 1)[0] == service])]
            down = self._rng.uniform(*self.plan.down_s)
            for victim in victims:
                self._down.add(victim.name)
                victim.kill()
                kills += 1
                self._record("kill", victim.name, f"down {down:.1f}s")
                restarts.append(asyncio.create_task(self._restart_later(victim, down)))
        await asyncio.gather(*restarts)

    async def _restart_later(self, proc: ManagedProcess, delay_s: float) -> None:
        await asyncio.sleep(delay_s)
        proc.start()
        self._down.discard(proc.name)
        self._record("restart", proc.name)

    async def _restart_kafka(self, at_s: float, graceful: bool) -> None:
        if self.kafka_node is None:
            return
        await self._sleep_until(at_s)
        self._infra_down.add("kafka")
        await kafka.stop_kafka(self.kafka_node, graceful=graceful)
        self._record("kafka_stop", "kafka", "graceful" if graceful else "SIGKILL")
        await asyncio.sleep(self._infra_rng.uniform(*self.plan.infra_down_s))
        await kafka.start_kafka(self.kafka_node)
        self._infra_down.discard("kafka")
        self._record("kafka_start", "kafka")

    async def _restart_postgres(self, at_s: float) -> None:
        if self.postgres_node is None:
            return
        await self._sleep_until(at_s)
        self._infra_down.add("postgres")
        await postgres.stop_postgres(self.postgres_node, mode="immediate")
        self._record("postgres_stop", "postgres", "immediate (crash, recovery on start)")
        await asyncio.sleep(self._infra_rng.uniform(*self.plan.infra_down_s))
        await postgres.start_postgres(self.postgres_node)
        self._infra_down.discard("postgres")
        self._record("postgres_start", "postgres")

    async def _restart_emulator(self) -> None:
        """One after the other (a restart never overlaps the previous one), each at its seeded time."""
        emulator = self.stack.emulator
        if emulator is None or not self._emulator_at:
            return
        # Without a state dir a restart forgets every batch: the pipeline would be right to fail them.
        assert "--state-dir" in emulator.argv, "emulator restarts need an emulator with --state-dir"
        schedule = zip(self._emulator_at, self._emulator_graceful, self._emulator_down_s, strict=True)
        for at_s, graceful, down_s in schedule:
            await self._sleep_until(at_s)
            faults = await self._save_emulator_counters()
            self._carry_faults(emulator, faults)
            self._emulator_stopped = True
            if graceful:
                await asyncio.to_thread(emulator.stop)
            else:
                emulator.kill()
            self._record("emulator_stop", "emulator", "graceful" if graceful else "SIGKILL")
            await asyncio.sleep(down_s)
            await self._start_emulator(emulator)
            self._record("emulator_start", "emulator", f"after {down_s:.1f}s down")

    async def _start_emulator(self, emulator: ManagedProcess) -> None:
        emulator.start()
        url = httpx.URL(self.stack.settings.openai_base_url)
        await asyncio.to_thread(wait_for_port, url.host, url.port or 80, 30)
        self._emulator_stopped = False

    async def _save_emulator_counters(self) -> dict[str, Any]:
        """Its counters live in memory: keep them before they go, for the run's figures. Returns its
        current faults (the one-shot ones count down as they fire)."""
        try:
            stats = await asyncio.to_thread(self.stack.emulator_stats)
        except httpx.HTTPError:
            return {}
        self.emulator_counters.update(stats["counters"])
        faults: dict[str, Any] = stats["faults"]
        return faults

    @staticmethod
    def _carry_faults(emulator: ManagedProcess, faults: dict[str, Any]) -> None:
        """The next life starts with the one-shot batch faults that are left, not with all of them
        again: a restart is a restart, not more expired or token-limited batches than the run set."""
        for name, option in ONE_SHOT_FAULTS.items():
            if name in faults and option in emulator.argv:
                emulator.argv[emulator.argv.index(option) + 1] = str(faults[name])

    async def _revoke_keys(self) -> None:
        """The provider accepts only a new key (the services' one answers 401) for a seeded while; then
        the operator writes the new key to the key file, which the services re-read without restart.

        A window that falls while the broker or the database is down would see no provider call at
        all (nothing moves), so it opens once both are up; and its seeded length counts from the
        first call the provider refused, so in every run the services meet the refusal for that long.
        """
        if self.key_file is None:
            return
        for at_s, hold_s, new_key in zip(self._key_at, self._key_hold_s, self.rotated_keys, strict=True):
            await self._sleep_until(at_s)
            while self._infra_down:
                await asyncio.sleep(0.2)
            refused_before = await self._refusals()
            await self._admin("keys", {"keys": [new_key]})
            self._record("key_revoked", "provider", "the services' key is refused from now on")
            deadline = time.monotonic() + 60.0
            refused = False
            while not refused and time.monotonic() < deadline:
                refused = await self._refusals() > refused_before
                if not refused:
                    await asyncio.sleep(0.2)
            first = "first 401" if refused else "no 401 within 60s"
            self._record("key_refused", "provider", f"{first}; new key in the file {hold_s:.1f}s later")
            await asyncio.sleep(hold_s)
            staged = self.key_file.with_suffix(".new")
            staged.write_text(new_key + "\n", encoding="utf-8")
            os.replace(staged, self.key_file)  # a mounted secret changes at once, never half-written
            self._record("key_restored", "key_file")

    async def _refusals(self) -> int:
        """401s the emulator answered over all its lives (0 for a life that cannot be asked now)."""
        try:
            stats = await asyncio.to_thread(self.stack.emulator_stats)
        except httpx.HTTPError:
            return self.emulator_counters["http_401"]
        return int(self.emulator_counters["http_401"] + stats["counters"].get("http_401", 0))

    async def _admin(self, path: str, body: dict[str, Any], timeout_s: float = 60.0) -> None:
        """An admin call that waits out an emulator restart."""
        url = self.stack.settings.openai_base_url.removesuffix("/v1").rstrip("/")
        deadline = time.monotonic() + timeout_s
        async with httpx.AsyncClient(timeout=5) as client:
            while True:
                try:
                    (await client.post(f"{url}/_emulator/{path}", json=body)).raise_for_status()
                    return
                except httpx.HTTPError:
                    if time.monotonic() > deadline:
                        raise
                    await asyncio.sleep(0.2)

    async def _sleep_until(self, at_s: float) -> None:
        await asyncio.sleep(max(0.0, self._started + at_s - time.monotonic()))

    async def _supervise(self) -> None:
        """An instance that exited without being killed by us crashed: note why, start it again."""
        while True:
            await asyncio.sleep(0.5)
            emulator = self.stack.emulator
            stopped = emulator is None or emulator.proc is None or self._emulator_stopped
            if emulator is not None and not stopped and not emulator.alive():
                self._note_crash(emulator)
                await self._start_emulator(emulator)
                self._record("restart", emulator.name, "after crash")
            for p in self._services():
                if p.proc is None or p.alive() or p.name in self._down:
                    continue
                self._note_crash(p)
                p.start()
                self._record("restart", p.name, "after crash")

    def _note_crash(self, p: ManagedProcess) -> None:
        tail = p.log_path.read_text(errors="replace")[-4000:] if p.log_path.exists() else ""
        self.crash_logs[f"{p.name}#{p.starts}"] = tail
        self._record("crash", p.name, f"exit code {p.proc.returncode if p.proc else None}")

    async def _ensure_all_started(self) -> None:
        emulator = self.stack.emulator
        if emulator is not None and not emulator.alive():
            await self._start_emulator(emulator)
            self._record("restart", emulator.name, "final")
        for p in self._services():
            if not p.alive():
                p.start()
                self._record("restart", p.name, "final")

    def _services(self) -> list[ManagedProcess]:
        return list(self.stack.group.processes)
