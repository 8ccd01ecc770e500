"""Run the emulator as a real HTTP server in a background thread (tests, notebooks, dev tools).

``with EmulatorServer(config) as server:`` binds a free port (or ``config.port``) *before*
starting, so ``server.base_url`` is valid the moment the block starts and no two test runs race
for a port. The server's own event loop runs in the thread; callers talk to it over HTTP only,
except for ``server.emulator``, which tests may read (and tweak) directly.

Restart tests: ``server.kill()`` stops serving at once (no graceful drain; every write of the
emulator is already on disk, so this is what a SIGKILL leaves behind), and ``server.restarted()``
is a new, unstarted server on the same port with the same configuration, so a client keeps its
base URL across the restart. With ``config.state_dir`` set the new server carries on the old
one's files, batches, keys and walls.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from types import TracebackType

import uvicorn

from emulator.app import create_app
from emulator.config import EmulatorConfig
from emulator.core import Emulator
from emulator.webhooks import serve_with_webhooks


class EmulatorServer:
    def __init__(
        self, config: EmulatorConfig, *, port: int | None = None, log_level: str = "warning"
    ) -> None:
        self.config = config
        self.emulator = Emulator(config)
        self.app = create_app(config, emulator=self.emulator)
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((config.host, config.port if port is None else port))
        self.host, self.port = self._sock.getsockname()[:2]
        self._server = uvicorn.Server(
            uvicorn.Config(
                self.app, log_level=log_level, lifespan="off", access_log=False, timeout_keep_alive=30
            )
        )
        self._thread = threading.Thread(target=self._run, name=f"emulator-{self.port}", daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        """The OpenAI-style API root to give a client (``.../v1``)."""
        return f"{self.url}/v1"

    def _run(self) -> None:
        asyncio.run(serve_with_webhooks(self._server, self.emulator, sockets=[self._sock]))

    def start(self, timeout_s: float = 10.0) -> EmulatorServer:
        self._thread.start()
        deadline = time.monotonic() + timeout_s
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"emulator did not start on {self.url}")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(timeout=10)
        self._sock.close()

    def kill(self) -> None:
        """Stop now: open connections are dropped, not drained."""
        self._server.force_exit = True
        self.stop()

    def restarted(self) -> EmulatorServer:
        """A new server (new :class:`Emulator`, state reloaded from ``state_dir``) on this port."""
        return EmulatorServer(self.config, port=self.port)

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
