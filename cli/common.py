"""What every command needs: settings from the environment, with the local defaults filled in.

The core never guesses a database: ``shared.bootstrap.database_url`` insists on
``BATCHLINE_DATABASE_URL``. Only here, at the entry point, an unset URL means "the embedded
PostgreSQL of ``batchline dev up``" (a developer's machine), resolved by the dev tools.
"""

from __future__ import annotations

from shared.errors import CliError
from shared.settings import Settings


def load_settings(*, local_database: bool = True) -> Settings:
    """``Settings()`` with a one-line error for a bad variable, and the dev database when unset."""
    try:
        settings = Settings()
    except Exception as exc:  # pydantic ValidationError: name the variable, not a traceback
        first = str(exc).splitlines()[0]
        raise CliError(f"invalid configuration: {first} (check BATCHLINE_* variables)") from None
    if local_database and not settings.database_url:
        settings = settings.model_copy(update={"database_url": local_database_url(settings)})
    return settings


def local_database_url(settings: Settings) -> str:
    try:
        from devtools.infra.postgres import resolve_database_url
    except ImportError:  # a production install without the dev tools
        raise CliError("BATCHLINE_DATABASE_URL is not set (required without the dev tools)") from None
    return resolve_database_url(settings)
