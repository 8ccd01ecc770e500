"""Starting batchline services as separate OS processes (demo, e2e tests, chaos runs).

Each process gets its own log file and environment; ``stop`` is a graceful SIGTERM (the service
commits what it processed and drains its outbox), ``kill`` is SIGKILL (the crash every guarantee
is tested against).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from services.registry import SERVICES as _REGISTRY

SERVICES = tuple(_REGISTRY)


def service_argv(service: str) -> list[str]:
    return [sys.executable, "-m", "cli.main", "run", service]


def emulator_argv(port: int, *extra: str) -> list[str]:
    return [sys.executable, "-m", "cli.main", "emulator", "--port", str(port), *extra]


@dataclass
class ManagedProcess:
    name: str
    argv: list[str]
    env: Mapping[str, str]
    log_path: Path
    cwd: Path | None = None
    proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    starts: int = 0
    _log: IO[bytes] | None = field(default=None, repr=False)

    def start(self) -> None:
        if self.alive():
            return
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("ab")
        self.proc = subprocess.Popen(  # noqa: S603 - argv is built by this module, not from input
            self.argv,
            env={**os.environ, **self.env},
            cwd=self.cwd,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        self.starts += 1

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL: no cleanup at all, like a crashed machine."""
        if self.proc is not None and self.alive():
            self.proc.kill()
            self.proc.wait()

    def stop(self, timeout_s: float = 20.0) -> int | None:
        if self.proc is None:
            return None
        if self.alive():
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self._log is not None:
            self._log.close()
            self._log = None
        return self.proc.returncode


@dataclass
class ProcessGroup:
    processes: list[ManagedProcess] = field(default_factory=list)

    def add(self, process: ManagedProcess) -> ManagedProcess:
        self.processes.append(process)
        return process

    def start_all(self) -> None:
        for p in self.processes:
            p.start()

    def stop_all(self, timeout_s: float = 20.0) -> None:
        for p in reversed(self.processes):
            if p.alive() and p.proc is not None:
                p.proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        for p in reversed(self.processes):
            p.stop(max(0.1, deadline - time.monotonic()))

    def dead(self) -> list[ManagedProcess]:
        return [p for p in self.processes if p.proc is not None and not p.alive()]
