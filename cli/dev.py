"""``batchline dev up|down|status``: typer wrappers over :mod:`devtools.infra.local`."""

from __future__ import annotations

import asyncio
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from devtools.infra.local import ComponentRow, down, status, up
from shared.settings import Settings

dev_app = typer.Typer(no_args_is_help=True, add_completion=False)


def _print(rows: list[ComponentRow]) -> None:
    table = Table(title="batchline dev")
    for column in ("component", "state", "version", "pid"):
        table.add_column(column, no_wrap=True)
    for column in ("address", "log file"):
        table.add_column(column, overflow="fold")
    for r in rows:
        style = "green" if r.state.startswith("running") or r.state.endswith(" reachable") else "yellow"
        if "unreachable" in r.state:
            style = "red"
        table.add_row(r.component, f"[{style}]{r.state}[/]", r.version, r.pid, r.address, _rel(r.log_file))
    console = Console()
    if not console.is_terminal:  # CI logs and pipes: no terminal width to respect, keep rows on one line
        console = Console(width=160)
    console.print(table)


def _rel(path: str) -> str:
    """Log paths relative to the working directory when under it: shorter, still copy-pasteable."""
    try:
        return str(Path(path).relative_to(Path.cwd()))
    except ValueError:
        return path


@dev_app.command("up")
def up_command() -> None:
    """Start PostgreSQL and Kafka (no-op for what already runs)."""
    _print(asyncio.run(up(Settings())))


@dev_app.command("down")
def down_command() -> None:
    """Stop PostgreSQL and Kafka; data is kept for the next `up`."""
    _print(asyncio.run(down(Settings())))


@dev_app.command("status")
def status_command() -> None:
    """Show what runs, where, which version, and where it logs."""
    _print(asyncio.run(status(Settings())))
