"""CLI commands that run the pipeline: one service (`run`), or everything on a sample (`demo`)."""

from __future__ import annotations

import asyncio
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from shared.errors import CliError
from shared.settings import Settings


class Service(StrEnum):
    producer = "producer"
    submitter = "submitter"
    poller = "poller"
    ingester = "ingester"


def run(service: Annotated[Service, typer.Argument(help="Which service to run in this process.")]) -> None:
    """Run one service until SIGTERM/SIGINT. Start as many processes of each as you need."""
    from shared.bootstrap import configure_logging

    try:
        settings = Settings()
    except Exception as exc:
        raise CliError(f"invalid configuration: {str(exc).splitlines()[0]}") from None
    configure_logging(settings, service.value)
    asyncio.run(_run(service, settings))


async def _run(service: Service, settings: Settings) -> None:
    from shared.runtime import StoppedBeforeStart, install_signal_handlers

    stop = asyncio.Event()
    install_signal_handlers(stop)
    try:
        await _run_service(service, settings, stop)
    except StoppedBeforeStart:
        return  # SIGTERM while waiting for the broker: nothing was consumed, nothing to commit


async def _run_service(service: Service, settings: Settings, stop: asyncio.Event) -> None:
    if service is Service.producer:
        from services.producer.main import run as run_producer

        await run_producer(settings, stop)
    elif service is Service.submitter:
        from services.submitter.main import run as run_submitter

        await run_submitter(settings, stop)
    elif service is Service.poller:
        from services.poller.main import run as run_poller

        await run_poller(settings, stop)
    else:
        from services.ingester.main import run as run_ingester

        await run_ingester(settings, stop)


def demo(
    dataset: Annotated[
        Path | None, typer.Option(help="Session events (JSONL). Default: the shipped sample.")
    ] = None,
    keep_running: Annotated[bool, typer.Option(help="Leave infrastructure and services running.")] = False,
    timeout: Annotated[float, typer.Option(min=10, help="Give up after this many seconds.")] = 600.0,
) -> None:
    """The whole pipeline on a sample dataset: infrastructure, emulator, four services, results."""
    from services.demo import run_demo

    raise typer.Exit(run_demo(dataset=dataset, keep_running=keep_running, timeout_s=timeout))


def register_services(app: typer.Typer) -> None:
    app.command("run")(run)
    app.command("demo")(demo)
