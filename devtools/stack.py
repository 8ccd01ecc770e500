"""The pipeline as separate OS processes: the emulator and N instances of each service.

Used by ``batchline demo``, the e2e tests and the chaos runs, so all three exercise the same thing
operators run: one process per service instance, configured only through ``BATCHLINE_*`` variables.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr

from devtools.processes import SERVICES, ManagedProcess, ProcessGroup, emulator_argv, service_argv
from shared.settings import Settings


def settings_env(settings: Settings) -> dict[str, str]:
    """``BATCHLINE_*`` variables that reproduce ``settings`` in a child process."""
    env: dict[str, str] = {}
    for name in Settings.model_fields:
        value: Any = getattr(settings, name)
        if value is None:
            continue
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        elif isinstance(value, dict):
            value = json.dumps(
                {k: v.model_dump(mode="json") if hasattr(v, "model_dump") else v for k, v in value.items()}
            )
        elif isinstance(value, bool):
            value = "true" if value else "false"
        env[f"BATCHLINE_{name.upper()}"] = str(value)
    return env


def wait_for_port(host: str, port: int, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with socket.socket() as s:
            s.settimeout(0.5)
            if s.connect_ex((host, port)) == 0:
                return
        time.sleep(0.1)
    raise TimeoutError(f"nothing answers on {host}:{port} after {timeout_s}s")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Stack:
    settings: Settings
    log_dir: Path
    instances: int = 1
    extra_env: Mapping[str, str] = field(default_factory=dict)
    group: ProcessGroup = field(default_factory=ProcessGroup)
    emulator: ManagedProcess | None = None

    def env(self) -> dict[str, str]:
        return {**settings_env(self.settings), "PYTHONUNBUFFERED": "1", **self.extra_env}

    def start_emulator(self, port: int, *args: str, env: Mapping[str, str] | None = None) -> ManagedProcess:
        proc = ManagedProcess(
            "emulator",
            emulator_argv(port, *args),
            {**self.env(), **(env or {})},
            self.log_dir / "emulator.log",
        )
        proc.start()
        wait_for_port("127.0.0.1", port, 30)
        self.emulator = proc
        return proc

    def start_services(self, services: tuple[str, ...] = SERVICES) -> None:
        for service in services:
            for i in range(self.instances):
                name = f"{service}-{i}"
                proc = ManagedProcess(name, service_argv(service), self.env(), self.log_dir / f"{name}.log")
                self.group.add(proc).start()

    def service(self, name: str) -> ManagedProcess:
        for p in self.group.processes:
            if p.name == name:
                return p
        raise KeyError(name)

    def stop(self) -> None:
        self.group.stop_all()
        if self.emulator is not None:
            self.emulator.stop()

    def emulator_stats(self, *, include_requests: bool = False) -> dict[str, Any]:
        url = self.settings.openai_base_url.removesuffix("/v1").rstrip("/")
        params = {"requests": "true" if include_requests else "false"}
        response = httpx.get(f"{url}/_emulator/stats", params=params, timeout=30)
        response.raise_for_status()
        data: dict[str, Any] = response.json()
        return data

    def set_faults(self, **faults: Any) -> None:
        url = self.settings.openai_base_url.removesuffix("/v1").rstrip("/")
        httpx.post(f"{url}/_emulator/faults", json=faults, timeout=10).raise_for_status()
