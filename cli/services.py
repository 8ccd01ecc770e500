"""CLI commands that run the pipeline: one service (`run`), or everything on a sample (`demo`)."""

from __future__ import annotations

import asyncio
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from cli.common import load_settings
from services.registry import SERVICES
from shared.settings import Settings

#: typer wants an enum for a choice argument; its members come from the registry.
Service = StrEnum("Service", {name: name for name in SERVICES})  # type: ignore[misc]


def run(service: Annotated[Service, typer.Argument(help="Which service to run in this process.")]) -> None:
    """Run one service until SIGTERM/SIGINT. Start as many processes of each as you need."""
    from shared.bootstrap import configure_logging

    settings = load_settings()
    configure_logging(settings, str(service))
    asyncio.run(_run(str(service), settings))


async def _run(service: str, settings: Settings) -> None:
    from shared.runtime import StoppedBeforeStart, install_signal_handlers

    stop = asyncio.Event()
    install_signal_handlers(stop)
    try:
        await SERVICES[service].load()(settings, stop)
    except StoppedBeforeStart:
        return  # SIGTERM while waiting for the broker: nothing was consumed, nothing to commit


def demo(
    dataset: Annotated[
        Path | None, typer.Option(help="Session events (JSONL). Default: the shipped sample.")
    ] = None,
    keep_running: Annotated[bool, typer.Option(help="Leave infrastructure and services running.")] = False,
    timeout: Annotated[float, typer.Option(min=10, help="Give up after this many seconds.")] = 600.0,
) -> None:
    """The whole pipeline on a sample dataset: infrastructure, emulator, four services, results."""
    from cli.ops import publish_file, show_report
    from devtools.demo import DemoCommands, run_demo

    commands = DemoCommands(publish=publish_file, show_report=show_report)
    raise typer.Exit(
        run_demo(dataset=dataset, keep_running=keep_running, timeout_s=timeout, commands=commands)
    )


def register_services(app: typer.Typer) -> None:
    app.command("run")(run)
    app.command("demo")(demo)
