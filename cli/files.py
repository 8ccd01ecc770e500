"""``batchline files``: provider files of ours that nothing needs any more, listed and deleted.

The provider keeps batch files 30 days unless told otherwise and counts them against the
organisation's storage (Azure: 500 files per resource); a full store refuses the next upload.
Files are ours when we uploaded them (``batchline-<batch id>.jsonl``) or when one of our batches
names them as its output or error file; any other file in the organisation is never touched.
A file is an orphan when every batch that names it is PROCESSED (its results are in the database),
or when it is an upload of ours that no batch names at all and is older than ``--min-age`` (a
submission that died between upload and create; younger ones may still be in flight).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy import text

from cli.common import load_settings
from cli.report_view import make_console
from shared.errors import CliError
from shared.lifecycle import BatchStatus
from shared.provider.base import ProviderFile
from shared.settings import Settings

UPLOAD_PREFIX = "batchline-"
files_app = typer.Typer(no_args_is_help=True, help="Provider files of the pipeline.")

_REFERENCES = text(
    """
    SELECT f.id, bool_and(b.status = :done) AS all_processed
    FROM unnest(CAST(:ids AS text[])) AS f(id)
    JOIN provider_batches b ON f.id IN (b.input_file_id, b.output_file_id, b.error_file_id)
    GROUP BY f.id
    """
)


@dataclass(frozen=True, slots=True)
class Orphan:
    file: ProviderFile
    reason: str


def find_orphans(
    files: Iterable[ProviderFile], references: Mapping[str, bool], *, now: float, min_age_s: float
) -> list[Orphan]:
    """``references`` maps a file id named by our batches to whether all those batches are PROCESSED."""
    orphans = []
    for f in files:
        if f.id in references:
            if references[f.id]:
                orphans.append(Orphan(f, "its batch is processed"))
        elif f.filename.startswith(UPLOAD_PREFIX) and now - f.created_at >= min_age_s:
            orphans.append(Orphan(f, "uploaded by batchline, no batch names it"))
    return orphans


async def _orphans(settings: Settings, min_age_s: float, delete: bool) -> tuple[list[Orphan], int]:
    from shared.bootstrap import database_url
    from shared.db.engine import make_engine
    from shared.provider.openai import OpenAIBatchProvider, build_provider

    engine = make_engine(database_url(settings), pool_size=1)
    # Azure keeps its own file store: list it too when a model runs there (its ids come marked azure:).
    providers = [build_provider(settings)]
    if "azure" in settings.model_providers.values():
        providers.append(OpenAIBatchProvider.from_settings(settings, flavour="azure"))
    try:
        owner: dict[str, OpenAIBatchProvider] = {}
        files = []
        for each in providers:
            async for f in each.list_files(purpose=None):
                files.append(f)
                owner[f.id] = each
        async with engine.connect() as conn:
            params = {"ids": [f.id for f in files], "done": BatchStatus.PROCESSED.value}
            rows = await conn.execute(_REFERENCES, params)
            references = {r.id: bool(r.all_processed) for r in rows}
        orphans = find_orphans(files, references, now=time.time(), min_age_s=min_age_s)
        deleted = 0
        if delete:
            for orphan in orphans:
                deleted += await owner[orphan.file.id].delete_file(orphan.file.id)
        return orphans, deleted
    finally:
        for each in providers:
            await each.aclose()
        await engine.dispose()


@files_app.command("orphans")
def orphans(
    delete: Annotated[bool, typer.Option("--delete", help="Delete them (default: only list).")] = False,
    min_age_s: Annotated[
        float, typer.Option("--min-age", min=0, help="Unnamed uploads younger than this are left alone (s).")
    ] = 3_600.0,
) -> None:
    """List (or delete) provider files of ours that no unfinished batch needs."""
    settings = load_settings()
    try:
        found, deleted = asyncio.run(_orphans(settings, min_age_s, delete))
    except OSError as exc:
        raise CliError(f"cannot reach the database or the provider: {exc}") from None
    console = make_console()
    table = Table("file", "filename", "bytes", "why")
    for o in found:
        table.add_row(o.file.id, o.file.filename, str(o.file.bytes), o.reason)
    console.print(table)
    action = f"deleted {deleted}" if delete else "nothing deleted (use --delete)"
    console.print(f"{len(found)} orphan files, {sum(o.file.bytes for o in found)} bytes; {action}")
