"""``batchline batches list | show | cancel``: the provider batches, as the database knows them.

``list`` and ``show`` only read (one statement each, ``show`` two). ``cancel`` asks the *provider* to
cancel a batch and writes nothing: the poller is the one writer of provider-reported statuses and of
the poll schedule, so it records ``CANCELLING`` and then ``CANCELLED`` at its next polls, and the
ingester resolves the batch like any cancelled one — the lines the provider finished are kept as
results, every request it did not run goes back to pending (attempt + 1) and is batched again. The
command therefore needs nothing the pipeline does not already do, and a cancel that races the
batch's own completion is harmless: the provider refuses it, or the batch simply completes.

Arguments are checked before anything connects; a bad one is one ``CliError`` line, exit status 2.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

import orjson
import typer
from rich.table import Table
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from cli.common import load_settings, run_on_database
from cli.redrive_cli import parse_time
from cli.report_view import make_console
from shared.errors import CliError
from shared.lifecycle import IN_FLIGHT, BatchStatus, RequestStatus

#: PostgreSQL's ``undefined_table``: the schema was never migrated into this database.
#: Version of the ``--json`` documents of ``batches list`` and ``batches show``; keys only ever added.
SCHEMA_VERSION = 1

batches_app = typer.Typer(no_args_is_help=True, help="Provider batches: list, show, cancel.")

_LIST = text(
    "SELECT id, company_id, model, provider, provider_batch_id, status, request_count, completed_count, "
    "failed_count, created_at, submitted_at, completed_at, processed_at FROM provider_batches "
    "WHERE (CAST(:company AS text) IS NULL OR company_id = :company) "
    "AND (CAST(:statuses AS text[]) IS NULL OR status = ANY(:statuses)) "
    "AND (CAST(:since AS timestamptz) IS NULL OR created_at >= :since) "
    "ORDER BY created_at DESC, id LIMIT :limit"
)
_SHOW = text(
    "SELECT id, company_id, model, provider, provider_batch_id, status, request_count, completed_count, "
    "failed_count, created_at, submitted_at, completed_at, processed_at, input_file_id, output_file_id, "
    "error_file_id, last_error, error_codes, ingest_error, ingest_failures, ingest_quarantined_at, "
    "next_poll_at, poll_count, estimated_tokens FROM provider_batches WHERE id = :id"
)
#: The batch's requests by their current status, and how many of them got their answer from it.
_REQUESTS = text(
    "SELECT r.status, count(*) AS n, count(*) FILTER (WHERE r.batch_id = i.batch_id) AS here "
    "FROM ai_batch_items i JOIN ai_processing_requests r ON r.id = i.request_id "
    "WHERE i.batch_id = :id GROUP BY r.status"
)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document instead of a table.")]
IdArg = Annotated[str, typer.Argument(help="The batch id (a UUID, as `batches list` shows it).")]


def parse_statuses(values: list[str]) -> list[str] | None:
    """Batch statuses by name, any case (``in_progress``, ``PROCESSED``); None when none was given."""
    if not values:
        return None
    known = {s.value for s in BatchStatus}
    chosen = []
    for value in values:
        name = value.strip().upper()
        if name not in known:
            raise CliError(
                f"--status: unknown batch status {value!r}; choose one of {', '.join(sorted(known))}"
            )
        chosen.append(name)
    return sorted(set(chosen))


def parse_batch_id(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value.strip())
    except ValueError:
        raise CliError(f"not a batch id (a UUID): {value!r}") from None



def _json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def _row_dict(row: Any) -> dict[str, Any]:
    return {key: _json_value(value) for key, value in row._mapping.items()}


def _when(value: datetime | None) -> str:
    return "-" if value is None else value.isoformat(timespec="seconds")


def _echo_json(document: dict[str, Any]) -> None:
    typer.echo(orjson.dumps(document, option=orjson.OPT_SORT_KEYS).decode())


@batches_app.command("list")
def list_batches(
    company: Annotated[str | None, typer.Option("--company", help="Only this company's batches.")] = None,
    status: Annotated[
        list[str] | None, typer.Option("--status", help="Only batches in this status (repeatable, any case).")
    ] = None,
    since: Annotated[
        str | None, typer.Option("--since", help="Created at or after this time (ISO 8601; no offset = UTC).")
    ] = None,
    limit: Annotated[
        int, typer.Option("--limit", min=1, max=10_000, help="At most this many, newest first.")
    ] = 100,
    as_json: JsonOpt = False,
) -> None:
    """Batches, newest first, with their status and request counts."""
    if company is not None and not company.strip():
        raise CliError("--company: must not be empty")
    params = {
        "company": company,
        "statuses": parse_statuses(status or []),
        "since": parse_time(since, "--since"),
        "limit": limit,
    }
    settings = load_settings()

    async def work(engine: AsyncEngine) -> list[Any]:
        async with engine.connect() as conn:
            return list((await conn.execute(_LIST, params)).all())

    found = run_on_database(settings, work)
    if as_json:
        _echo_json({"schema_version": SCHEMA_VERSION, "batches": [_row_dict(r) for r in found]})
        return
    console = make_console()
    table = Table(
        "batch", "company", "model", "status", "requests", "done", "failed", "created", "provider batch"
    )
    for r in found:
        table.add_row(
            str(r.id), r.company_id, r.model, r.status, str(r.request_count),
            "-" if r.completed_count is None else str(r.completed_count),
            "-" if r.failed_count is None else str(r.failed_count),
            _when(r.created_at), r.provider_batch_id or "-",
        )  # fmt: skip
    console.print(table)
    console.print(f"{len(found)} batches")


@batches_app.command("show")
def show(batch_id: IdArg, as_json: JsonOpt = False) -> None:
    """One batch: its provider ids, files, timestamps, errors, and its requests by current status."""
    wanted = parse_batch_id(batch_id)
    settings = load_settings()

    async def work(engine: AsyncEngine) -> tuple[Any, list[Any]]:
        async with engine.connect() as conn:
            row = (await conn.execute(_SHOW, {"id": wanted})).first()
            requests = list((await conn.execute(_REQUESTS, {"id": wanted})).all()) if row else []
        return row, requests

    row, requests = run_on_database(settings, work)
    if row is None:
        raise CliError(f"no batch {wanted}")
    counts = {s.value: 0 for s in RequestStatus} | {r.status: int(r.n) for r in requests}
    answered = sum(int(r.here) for r in requests if r.status == RequestStatus.PROCESSING_COMPLETE.value)
    if as_json:
        _echo_json(
            {
                "schema_version": SCHEMA_VERSION,
                "batch": _row_dict(row),
                "requests": counts,
                "requests_total": sum(counts.values()),
                "completed_in_this_batch": answered,
            }
        )
        return
    console = make_console()
    table = Table("field", "value", title=f"batch {wanted}")
    for key, value in row._mapping.items():
        table.add_row(key, "-" if value is None else str(_json_value(value)))
    console.print(table)
    console.print(
        f"{sum(counts.values())} requests were in this batch; now "
        + ", ".join(f"{n} {status}" for status, n in counts.items())
        + f"; {answered} completed by this batch"
    )


@batches_app.command("cancel")
def cancel(batch_id: IdArg) -> None:
    """Cancel a running batch at the provider; the pipeline keeps its finished lines and retries the rest."""
    wanted = parse_batch_id(batch_id)
    settings = load_settings()

    async def work(engine: AsyncEngine) -> tuple[str, str]:
        from shared.provider.base import ProviderError
        from shared.provider.router import RoutingProvider

        async with engine.connect() as conn:
            row = (await conn.execute(_SHOW, {"id": wanted})).first()
        if row is None:
            raise CliError(f"no batch {wanted}")
        status = BatchStatus(row.status)
        if status not in IN_FLIGHT or not row.provider_batch_id:
            why = (
                "it is not at the provider yet (it will be submitted, or retried, by the submitter)"
                if status is BatchStatus.PENDING_SUBMISSION
                else "it is finished"
            )
            raise CliError(f"batch {wanted} is {status.value}: nothing to cancel, {why}")
        provider = RoutingProvider.from_settings(settings)  # the batch's provider, by its id
        try:
            remote = await provider.cancel_batch(row.provider_batch_id)
        except ProviderError as exc:
            raise CliError(f"the provider refused to cancel {row.provider_batch_id}: {exc}") from None
        finally:
            await provider.aclose()
        return str(row.provider_batch_id), remote.status

    provider_id, remote_status = run_on_database(settings, work)
    make_console().print(
        f"batch {wanted} ({provider_id}): cancel requested, the provider says {remote_status}; the poller "
        "records it at its next poll and the ingester keeps its finished results and retries the rest"
    )


__all__ = ["batches_app", "parse_batch_id", "parse_statuses"]
