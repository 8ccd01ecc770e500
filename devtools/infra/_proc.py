"""Process, port and lock helpers shared by the Kafka and PostgreSQL managers.

Both servers are detached from the process that starts them, so every later question ("is it
mine, is it alive, is the port taken") is answered from the outside: pid files, ``/proc`` and sockets.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import socket
import subprocess
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

from shared.errors import CliError

HOST = "127.0.0.1"

#: Servers spawned by this Python process, kept so their exit is reaped (no zombies) when they stop.
CHILDREN: dict[int, subprocess.Popen[bytes]] = {}


def alive(pid: int) -> bool:
    """True for a live process; a zombie (exited, not yet reaped) counts as dead."""
    child = CHILDREN.get(pid)
    if child is not None:
        return child.poll() is None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by someone else
        return True
    with contextlib.suppress(OSError, IndexError):
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    return True


def cmdline_contains(pid: int, needle: str) -> bool:
    """Guard against pid reuse: the process must mention ``needle``; unknowable without /proc (True)."""
    try:
        return needle.encode() in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return not Path("/proc/self").exists()


async def wait_dead(pid: int, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not alive(pid):
            return True
        await asyncio.sleep(0.1)
    return not alive(pid)


def port_answers(host: str, port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


def port_busy(port: int, host: str = HOST) -> bool:
    """Someone listens on, or has bound, ``host:port`` (connect check, then bind check)."""
    if port_answers(host, port):
        return True
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return True
    return False


@contextlib.contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """Cross-process mutex: two `dev up`s (or a test run and a developer) must not launch two servers."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def tail_text(text: str, lines: int = 15) -> str:
    return "\n".join(text.strip().splitlines()[-lines:]) or "(no output)"


def log_tails(logs: Sequence[Path], lines: int = 20) -> str:
    """The last lines of each non-empty log, for error messages that must say why a start failed."""
    parts = []
    for log in logs:
        if log.is_file() and log.stat().st_size > 0:
            with log.open("rb") as f:
                f.seek(max(0, log.stat().st_size - 64 * 1024))
                tail = f.read().decode(errors="replace")
            parts.append(f"last lines of {log}:\n{tail_text(tail, lines)}")
    return "\n".join(parts) or "no log output"


def runs_on_other_ports(where: str, pid: int, fixes: Sequence[tuple[str, str | None]]) -> CliError:
    """`dev up` asked for other ports than those of the server that runs: say where it runs, and both
    ways out. ``fixes``: (setting, value it must have to use the running server; None: its default).

    Stopped servers are moved to the new ports instead, so this is raised only for a live process.
    """
    unset = [var for var, value in fixes if value is None]
    assign = [f"{var}={value}" for var, value in fixes if value is not None]
    ways = [f"unset {' and '.join(unset)}"] if unset else []
    ways += [f"set {' and '.join(assign)}"] if assign else []
    return CliError(f"{where} (pid {pid}); run `batchline dev down` first or {' and '.join(ways)}")
