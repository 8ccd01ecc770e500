"""``batchline requests retry`` and ``batchline reprocess``: the operator's re-drive commands.

Arguments are checked before anything connects, and a bad one (a date that is not ISO 8601, an
unknown processing type, an empty time range, an unusable revision name) is one ``CliError`` line
with exit status 2. The work itself is :mod:`cli.redrive`'s, chunk by chunk; a rich progress bar
follows it when a run takes more than one chunk. Both print their counts, and ``--dry-run`` prints
what a run would do and changes nothing.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy.ext.asyncio import AsyncEngine

from cli.common import load_settings, run_on_database
from cli.redrive import (
    DEFAULT_CHUNK,
    Filters,
    count_failed,
    derived_revision,
    plan_reprocess,
    reprocess,
    retry_failed,
)
from cli.report_view import make_console
from shared.analysis import ProcessingType
from shared.errors import CliError

requests_app = typer.Typer(no_args_is_help=True, help="Processing requests: re-drive failed ones.")

#: A revision an operator may name: short, printable, and never a 64-hex content hash (the
#: producer's revisions), so a reprocess can never collide with a content re-analysis.
_REVISION = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")
_CONTENT_HASH = re.compile(r"[0-9a-f]{64}")

CompanyOpt = Annotated[
    str, typer.Option("--company", help="The company whose requests or sessions to touch.")
]
SinceOpt = Annotated[
    str | None, typer.Option("--since", help="From this time on (ISO 8601; no offset = UTC).")
]
UntilOpt = Annotated[
    str | None, typer.Option("--until", help="Before this time (ISO 8601; no offset = UTC).")
]
TypeOpt = Annotated[
    str | None,
    typer.Option("--type", help=f"Only this processing type ({', '.join(p.value for p in ProcessingType)})."),
]
ModelOpt = Annotated[str | None, typer.Option("--model", help="Only this model.")]
DryRunOpt = Annotated[bool, typer.Option("--dry-run", help="Count what would change; change nothing.")]
ChunkOpt = Annotated[int, typer.Option("--chunk", min=1, max=50_000, help="Rows per transaction.")]


def parse_time(value: str | None, option: str) -> datetime | None:
    """An ISO 8601 date or time as an aware UTC datetime; a value without an offset is UTC."""
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise CliError(f"{option}: not an ISO 8601 date or time: {value!r}") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def parse_type(value: str | None) -> ProcessingType | None:
    if value is None:
        return None
    try:
        return ProcessingType(value)
    except ValueError:
        choices = ", ".join(p.value for p in ProcessingType)
        raise CliError(f"--type: unknown processing type {value!r}; choose one of {choices}") from None


def build_filters(
    *,
    company: str,
    since: str | None,
    until: str | None,
    processing_type: str | None,
    model: str | None,
    reason: str | None = None,
) -> Filters:
    """Checked filters, or a ``CliError`` naming the option that is wrong."""
    if not company.strip():
        raise CliError("--company: must not be empty")
    start, end = parse_time(since, "--since"), parse_time(until, "--until")
    if start is not None and end is not None and start >= end:
        raise CliError(f"--since ({start.isoformat()}) must be before --until ({end.isoformat()})")
    if reason is not None and not reason.strip():
        raise CliError("--reason: must not be empty")
    return Filters(company, start, end, parse_type(processing_type), model, reason)


def check_revision(name: str) -> str:
    if not _REVISION.fullmatch(name):
        raise CliError(
            f"--revision: {name!r} is not a revision name (1-64 characters: letters, digits, . _ : -, "
            "starting with a letter or digit)"
        )
    if _CONTENT_HASH.fullmatch(name):
        raise CliError(
            f"--revision: {name!r} looks like a content hash, which names the producer's revisions"
        )
    return name



def _progress(console: Console, label: str, total: int, chunk: int) -> Progress:
    """A bar for runs of more than one chunk; a short run prints only its counts."""
    return Progress(
        TextColumn(label),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=total <= chunk,
    )


@requests_app.command("retry")
def retry(
    *,
    company: CompanyOpt,
    since: SinceOpt = None,
    until: UntilOpt = None,
    processing_type: TypeOpt = None,
    model: ModelOpt = None,
    reason: Annotated[
        str | None, typer.Option("--reason", help="Only requests whose last error contains this (any case).")
    ] = None,
    dry_run: DryRunOpt = False,
    chunk: ChunkOpt = DEFAULT_CHUNK,
) -> None:
    """Put failed requests back to pending with a fresh attempt budget, and announce them."""
    filters = build_filters(
        company=company, since=since, until=until, processing_type=processing_type, model=model, reason=reason
    )
    settings = load_settings()
    console = make_console()
    topic = settings.topics.request_pending

    async def work(engine: AsyncEngine) -> tuple[int, int]:
        total = await count_failed(engine, filters)
        if dry_run or not total:
            return total, 0
        with _progress(console, "retrying", total, chunk) as bar:
            task = bar.add_task("retry", total=total)
            moved = await retry_failed(
                engine, filters, topic=topic, chunk=chunk, progress=lambda n: bar.advance(task, n)
            )
        return total, moved

    matched, moved = run_on_database(settings, work)
    scope = f"company {filters.company!r}"
    if dry_run:
        console.print(f"dry run: {matched} failed requests of {scope} match; nothing changed")
    else:
        console.print(
            f"retried {moved} of {matched} failed requests of {scope}: pending again with a fresh attempt "
            f"budget, announced on {topic}"
        )


def reprocess_command(
    *,
    company: CompanyOpt,
    since: SinceOpt = None,
    until: UntilOpt = None,
    processing_type: TypeOpt = None,
    model: ModelOpt = None,
    revision: Annotated[
        str | None,
        typer.Option("--revision", help="Name of the new revision (default: derived from the filters)."),
    ] = None,
    dry_run: DryRunOpt = False,
    chunk: ChunkOpt = DEFAULT_CHUNK,
) -> None:
    """Analyse matching sessions again under a new revision; earlier analyses are kept as history."""
    filters = build_filters(
        company=company, since=since, until=until, processing_type=processing_type, model=model
    )
    name = check_revision(revision) if revision is not None else derived_revision(filters)
    settings = load_settings()
    console = make_console()
    topic = settings.topics.request_pending

    async def work(engine: AsyncEngine) -> tuple[int, int, int, int]:
        plan = await plan_reprocess(engine, filters, name)
        if dry_run or not plan.missing:
            return plan.sessions, plan.analyses, 0, plan.present
        with _progress(console, "reprocessing", plan.analyses, chunk) as bar:
            task = bar.add_task("reprocess", total=plan.analyses)
            done = await reprocess(
                engine, filters, name, topic=topic, chunk=chunk, progress=lambda n: bar.advance(task, n)
            )
        return plan.sessions, plan.analyses, done.created, done.existing

    sessions, analyses, created, existing = run_on_database(settings, work)
    head = f"revision {name}: {sessions} sessions of company {filters.company!r}, {analyses} analyses match"
    if dry_run:
        console.print(
            f"dry run: {head}; would create {analyses - existing} requests "
            f"({existing} exist already); nothing changed"
        )
    else:
        console.print(
            f"{head}; created {created} requests ({existing} existed already), announced on {topic}"
        )


def register_redrive(app: typer.Typer) -> None:
    app.add_typer(requests_app, name="requests")
    app.command("reprocess")(reprocess_command)
