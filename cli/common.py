"""What every command needs: settings from the environment, with the local defaults filled in.

The core never guesses a database: ``shared.bootstrap.database_url`` insists on
``BATCHLINE_DATABASE_URL``. Only here, at the entry point, an unset URL means "the embedded
PostgreSQL of ``batchline dev up``" (a developer's machine), resolved by the dev tools.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from pydantic import ValidationError
from sqlalchemy.exc import ProgrammingError
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.errors import CliError
from shared.settings import Settings


def describe_invalid(exc: ValidationError) -> str:
    """``BATCHLINE_X: why; BATCHLINE_Y: why`` — the variables an operator has to fix, on one line."""
    parts = []
    for error in exc.errors():
        field = str(error["loc"][0]) if error["loc"] else ""
        name = f"BATCHLINE_{field.upper()}" if field else "BATCHLINE_*"
        message = str(error["msg"]).removeprefix("Value error, ")
        parts.append(f"{name}: {message}")
    return "; ".join(parts)


def load_settings(*, local_database: bool = True) -> Settings:
    """``Settings()`` with a one-line error for a bad variable, and the dev database when unset."""
    try:
        settings = Settings()
    except ValidationError as exc:  # name the variable and the rule, not a traceback
        raise CliError(f"invalid configuration: {describe_invalid(exc)}") from None
    if local_database and not settings.database_url:
        settings = settings.model_copy(update={"database_url": local_database_url(settings)})
    return settings


def local_database_url(settings: Settings) -> str:
    try:
        from devtools.infra.postgres import resolve_database_url
    except ImportError:  # a production install without the dev tools
        raise CliError("BATCHLINE_DATABASE_URL is not set (required without the dev tools)") from None
    return resolve_database_url(settings)


T = TypeVar("T")
#: PostgreSQL's undefined_table: the database exists but was never migrated.
UNDEFINED_TABLE = "42P01"


def run_on_database(settings: Settings, work: Callable[[AsyncEngine], Awaitable[T]]) -> T:
    """Run one operator command's database work on a one-connection engine, disposed after; an
    unreachable or unmigrated database is a one-line error, not a traceback."""

    async def main() -> T:
        from shared.bootstrap import database_url
        from shared.db.engine import make_engine

        engine = make_engine(database_url(settings), pool_size=1)
        try:
            return await work(engine)
        finally:
            await engine.dispose()

    try:
        return asyncio.run(main())
    except OSError as exc:
        raise CliError(f"cannot reach the database: {exc}") from None
    except ProgrammingError as exc:
        if getattr(exc.orig, "sqlstate", None) == UNDEFINED_TABLE:
            raise CliError("the database has no batchline schema; run `batchline migrate` first") from None
        raise
