"""Apply alembic migrations from code, so `batchline migrate` needs no alembic.ini or working directory."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config


def migrations_dir() -> Path:
    """``migrations/`` of a source checkout, or the copy packed into the wheel."""
    here = Path(__file__).resolve()
    for candidate in (here.parents[2] / "migrations", here.parent / "migrations"):
        if (candidate / "env.py").is_file():
            return candidate
    raise FileNotFoundError("alembic migrations directory not found next to the batchline package")


def alembic_config(database_url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_dir()))
    cfg.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return cfg


def upgrade(database_url: str, revision: str = "head") -> None:
    """Bring the schema to ``revision``. Idempotent: an up-to-date database is left as it is.

    Runs its own event loop (alembic's env.py uses ``asyncio.run``), so call it from sync code or a
    worker thread, not from inside a running loop.
    """
    command.upgrade(alembic_config(database_url), revision)
