"""Operator commands that are not a service: migrate, topics, publish, report, stats (and the groups of
``batches``, ``files``, ``lag`` and ``replay``, registered from their modules)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import orjson
import typer

from cli.common import load_settings
from cli.report_view import make_console
from shared.errors import CliError
from shared.settings import Settings

topics_app = typer.Typer(no_args_is_help=True, help="Kafka topics of the pipeline.")
console = make_console()


def _settings() -> Settings:
    return load_settings()


def migrate() -> None:
    """Create or upgrade the database schema (alembic, idempotent)."""
    from shared.bootstrap import database_url
    from shared.db.migrate import upgrade

    url = database_url(_settings())
    try:
        upgrade(url)
    except OSError as exc:
        raise CliError(f"cannot reach the database: {exc}") from None
    console.print("[green]database schema is up to date[/green]")


@topics_app.command("create")
def topics_create(
    partitions: Annotated[
        int | None, typer.Option(min=1, help="Partitions per topic (default from settings).")
    ] = None,
) -> None:
    """Create every pipeline topic and its .dlq twin (existing topics are left as they are)."""
    from shared.kafka.topics import ensure_topics

    settings = _settings()
    try:
        created = asyncio.run(ensure_topics(settings, partitions=partitions))
    except Exception as exc:
        raise CliError(f"cannot create topics on {settings.kafka_bootstrap_servers}: {exc!r}") from None
    for name, new in created.items():
        console.print(f"{'created' if new else 'exists '}  {name}")


@topics_app.command("list")
def topics_list() -> None:
    """Show the topic names this configuration uses."""
    from shared.kafka.topics import topic_names

    for name in topic_names(_settings()):
        console.print(name)


def publish(
    file: Annotated[Path, typer.Argument(help="JSONL file, one session event per line.")],
) -> None:
    """Publish session events to session.events (lines are sent as they are; bad ones end in the DLQ)."""
    if not file.is_file():
        raise CliError(f"no such file: {file}")
    settings = _settings()
    sent = asyncio.run(publish_file(settings, file))
    console.print(f"published {sent} events to {settings.topics.session_events}")


async def publish_file(settings: Settings, file: Path) -> int:
    from shared.kafka.producer import make_producer

    producer = make_producer(settings, client_id="batchline-publish")
    try:
        await producer.start()
    except Exception as exc:
        raise CliError(f"cannot reach Kafka at {settings.kafka_bootstrap_servers}: {exc!r}") from None
    try:
        futures = []
        with file.open("rb") as f:
            for raw in f:
                line = raw.rstrip(b"\r\n")
                if not line.strip():
                    continue
                futures.append(
                    await producer.send(settings.topics.session_events, line, key=_company_key(line))
                )
        await asyncio.gather(*futures)
        return len(futures)
    finally:
        await producer.stop()


def _company_key(line: bytes) -> bytes | None:
    """Key = company id when the line is readable; unreadable lines still go out (and get dead-lettered)."""
    try:
        data = orjson.loads(line)
    except orjson.JSONDecodeError:
        return None
    company = data.get("company_id") if isinstance(data, dict) else None
    return company.encode() if isinstance(company, str) and company else None


def report() -> None:
    """Results and costs per company."""
    show_report(_settings())


def show_report(settings: Settings) -> None:
    from cli.report_view import load_all, render_reports

    reports, circuits = asyncio.run(load_all(settings))
    render_reports(console, reports, settings, circuits)


def register_ops(app: typer.Typer) -> None:
    from cli.batches import batches_app
    from cli.budgets import budgets_app
    from cli.consumers import register_consumers
    from cli.files import files_app
    from cli.stats import stats

    app.add_typer(files_app, name="files")
    app.add_typer(batches_app, name="batches")
    app.add_typer(budgets_app, name="budgets")
    register_consumers(app)
    app.command("migrate")(migrate)
    app.add_typer(topics_app, name="topics")
    app.command("publish")(publish)
    app.command("report")(report)
    app.command("stats")(stats)
