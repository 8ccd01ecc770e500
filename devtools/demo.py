"""``batchline demo``: the whole pipeline on a sample, from nothing to a results table.

Starts what is missing (embedded PostgreSQL, Kafka from Maven Central, the provider emulator unless a
real provider is configured), migrates, creates topics, runs the four services as separate
processes, publishes the dataset, shows live progress and ends with results and costs per company.
It stops what it started unless ``--keep-running``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.live import Live
from rich.table import Table
from sqlalchemy import text

from devtools.stack import Stack, settings_env
from shared.db.engine import make_engine
from shared.errors import CliError
from shared.events import DecodeError, SessionEvent, decode
from shared.settings import Settings

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample_sessions.jsonl"
DEFAULT_API_KEY = "sk-local-emulator"

console = Console(width=None if Console().is_terminal else 130)  # pipes: readable tables


@dataclass(frozen=True, slots=True)
class Progress:
    sessions: int
    requests: dict[str, int]
    batches: dict[str, int]

    @property
    def unresolved(self) -> int:
        return self.requests.get("PENDING_BATCHING", 0) + self.requests.get("BATCHING_IN_PROGRESS", 0)


def uses_emulator(settings: Settings) -> bool:
    return (
        settings.openai_api_key.get_secret_value() == DEFAULT_API_KEY
        or "127.0.0.1" in settings.openai_base_url
    )


def demo_settings(base: Settings) -> Settings:
    """Demo pacing: short linger and polling so a sample finishes in about a minute, not an hour."""
    overrides: dict[str, object] = {}
    if uses_emulator(base):
        overrides = {
            "batch_linger_s": min(base.batch_linger_s, 2.0),
            "poll_interval_s": min(base.poll_interval_s, 1.0),
            "poll_max_interval_s": min(base.poll_max_interval_s, 2.0),
            "retry_backoff_s": min(base.retry_backoff_s, 1.0),
        }
    return base.model_copy(update=overrides)


DEMO_DATABASE = "batchline_demo"
DEMO_TOPIC_PREFIX = "demo-"


async def fresh_demo_space(settings: Settings, server_url: str) -> Settings:
    """Recreate the demo database and move to new topics (deleting earlier demo runs' topics)."""
    import asyncpg
    from aiokafka.admin import AIOKafkaAdminClient
    from sqlalchemy.engine import make_url

    from shared.kafka.connection import client_options

    admin_url = make_url(server_url).set(drivername="postgresql", database="postgres")
    conn = await asyncpg.connect(admin_url.render_as_string(hide_password=False))
    try:
        await conn.execute('DROP DATABASE IF EXISTS "batchline_demo" WITH (FORCE)')
        await conn.execute('CREATE DATABASE "batchline_demo"')
    finally:
        await conn.close()
    admin = AIOKafkaAdminClient(**client_options(settings), client_id="batchline-demo")
    await admin.start()
    try:
        old = [t for t in await admin.list_topics() if t.startswith(DEMO_TOPIC_PREFIX)]
        if old:
            await admin.delete_topics(old)
    finally:
        await admin.close()
    run_prefix = f"{DEMO_TOPIC_PREFIX}{int(time.time())}."
    demo_url = make_url(server_url).set(database=DEMO_DATABASE).render_as_string(hide_password=False)
    return settings.model_copy(update={"database_url": demo_url, "topic_prefix": run_prefix})


def count_valid(path: Path) -> tuple[int, int]:
    good = bad = 0
    with path.open("rb") as f:
        for line in f:
            if not line.strip():
                continue
            try:
                decode(SessionEvent, line.rstrip(b"\r\n"))
                good += 1
            except DecodeError:
                bad += 1
    return good, bad


async def read_progress(url: str) -> Progress:
    engine = make_engine(url, pool_size=1)
    try:
        async with engine.connect() as conn:
            sessions = (await conn.execute(text("SELECT count(*) FROM sessions"))).scalar_one()
            req = await conn.execute(text("SELECT status, count(*) FROM ai_processing_requests GROUP BY 1"))
            bat = await conn.execute(text("SELECT status, count(*) FROM provider_batches GROUP BY 1"))
            return Progress(int(sessions), {r[0]: r[1] for r in req}, {r[0]: r[1] for r in bat})
    finally:
        await engine.dispose()


def render(progress: Progress, expected: int, elapsed: float) -> Table:
    table = Table(title=f"batchline demo — {elapsed:.0f}s", show_header=True)
    table.add_column("what")
    table.add_column("count", justify="right")
    table.add_row("sessions stored", f"{progress.sessions}/{expected}")
    for status in ("PENDING_BATCHING", "BATCHING_IN_PROGRESS", "PROCESSING_COMPLETE", "PROCESSING_FAILED"):
        table.add_row(f"requests {status}", str(progress.requests.get(status, 0)))
    for status, n in sorted(progress.batches.items()):
        table.add_row(f"batches {status}", str(n))
    return table


@dataclass(frozen=True, slots=True)
class DemoCommands:
    """The operator commands the demo drives, passed in by the CLI (tools never import entry points)."""

    publish: Callable[[Settings, Path], Coroutine[Any, Any, int]]
    show_report: Callable[[Settings], None]


def run_demo(
    *, dataset: Path | None, keep_running: bool, timeout_s: float, commands: DemoCommands
) -> int:
    from devtools.infra import local as dev
    from devtools.infra.postgres import resolve_database_url
    from shared.db.migrate import upgrade
    from shared.kafka.topics import ensure_topics

    path = dataset or SAMPLE
    if not path.is_file():
        raise CliError(f"no such dataset: {path}")
    settings = demo_settings(Settings())
    expected, malformed = count_valid(path)
    console.print(
        f"[bold]dataset[/bold] {path.name}: {expected} sessions, {malformed} malformed lines (-> DLQ)"
    )

    console.print(
        "[bold]infrastructure[/bold]: PostgreSQL + Kafka (first run resolves Kafka from Maven Central)"
    )
    was_running = {
        row.component: row.state.startswith("running") for row in asyncio.run(dev.status(settings))
    }
    asyncio.run(dev.up(settings))
    if settings.database_url is None:
        # Embedded infrastructure: every demo run starts clean (its own database and topics), so the
        # tables show this run. With BATCHLINE_DATABASE_URL the demo works in that database as it is.
        settings = asyncio.run(fresh_demo_space(settings, resolve_database_url(settings)))
    url = resolve_database_url(settings)
    upgrade(url)
    asyncio.run(ensure_topics(settings))

    log_dir = settings.home.resolve() / "logs" / "demo"
    stack = Stack(settings, log_dir)
    started = time.monotonic()
    ok = False
    try:
        if uses_emulator(settings):
            console.print(f"[bold]provider[/bold]: local emulator on :{settings.emulator_port}")
            stack.start_emulator(settings.emulator_port, "--stage-seconds", "1.5")
        else:
            console.print(f"[bold]provider[/bold]: {settings.openai_base_url}")
        stack.start_services()
        console.print(
            f"[bold]services[/bold]: {', '.join(p.name for p in stack.group.processes)} (logs in {log_dir})"
        )
        sent = asyncio.run(commands.publish(settings, path))
        console.print(f"published {sent} events to {settings.topics.session_events}")
        ok = _watch(stack, url, expected, started, timeout_s)
        commands.show_report(settings)
    finally:
        if keep_running:
            console.print(
                "[yellow]--keep-running: services, emulator and infrastructure left running[/yellow]"
            )
            console.print(
                "environment for other commands: "
                + " ".join(
                    f"{k}={v}"
                    for k, v in settings_env(settings).items()
                    if k.endswith(("LINGER_S", "INTERVAL_S"))
                )
            )
        else:
            stack.stop()
            if not any(was_running.values()):
                asyncio.run(dev.down(settings))
    return 0 if ok else 1


def _watch(stack: Stack, url: str, expected: int, started: float, timeout_s: float) -> bool:
    settled_since: float | None = None
    with Live(console=console, refresh_per_second=4) as live:
        while True:
            elapsed = time.monotonic() - started
            progress = asyncio.run(read_progress(url))
            live.update(render(progress, expected, elapsed))
            dead = stack.group.dead()
            if dead:
                names = ", ".join(p.name for p in dead)
                console.print(f"[red]service process exited: {names} (see its log)[/red]")
                return False
            done = (
                progress.sessions >= expected
                and progress.unresolved == 0
                and sum(progress.requests.values()) > 0
            )
            if done:
                settled_since = settled_since or time.monotonic()
                if time.monotonic() - settled_since > 1.0:
                    console.print(f"[green]all requests resolved in {elapsed:.1f}s[/green]")
                    return True
            else:
                settled_since = None
            if elapsed > timeout_s:
                console.print(f"[red]not finished after {timeout_s:.0f}s[/red]")
                return False
            time.sleep(0.5)
