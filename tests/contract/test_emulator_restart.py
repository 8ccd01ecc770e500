"""Wall 6: the emulator dies mid-batch and comes back on the same port with the same ``state_dir``.

Files, batches, the accepted keys, the walls and the enqueued-token accounting survive, and the
running batch goes on to completion; a client keeps its base URL throughout. Once in-process
(``EmulatorServer.kill`` / ``restarted``), once as a real ``batchline emulator`` process killed
with SIGKILL.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from emulator.config import EmulatorConfig
from emulator.server import EmulatorServer
from tests.contract.sdk_support import admin, client, error_of, openai, requests, submit, tokens, wait

REPO = Path(__file__).resolve().parents[2]
OLD, NEW = "sk-restart-OLD-0123456789abcdef", "sk-restart-NEW-0123456789abcdef"


def _check_survivors(srv: Any, running_id: str, walls: dict[str, Any], limit: int, per_file: int) -> None:
    with pytest.raises(openai.AuthenticationError) as err:
        client(srv, OLD).files.list()
    assert error_of(err.value)["code"] == "invalid_api_key"
    sdk = client(srv, NEW)
    assert admin(srv, "walls") == walls
    assert admin(srv, "stats?requests=false")["enqueued_tokens"]["gpt-4o-mini"] == {
        "current": per_file,
        "peak": per_file,
        "limit": limit,
    }
    # the running batch still holds its tokens: a second one is refused
    refused = wait(sdk, submit(sdk, requests(4, prefix="late")).id)
    assert refused.errors.data[0].code == "token_limit_exceeded"
    done = wait(sdk, running_id)
    assert done.status == "completed"
    assert done.request_counts.completed == 4
    assert len(sdk.files.content(done.output_file_id).text.splitlines()) == 4


def test_in_process_kill_and_restart_on_the_same_port(tmp_path: Path) -> None:
    lines = requests(4)
    limit, per_file = int(tokens(lines) * 1.5), tokens(lines)
    config = EmulatorConfig(port=0, stage_s=1.0, state_dir=tmp_path / "state", api_key=OLD)
    first = EmulatorServer(config).start()
    try:
        admin(first, "keys", {"keys": [NEW]})
        walls = admin(first, "walls", {"enqueued_token_limits": {"gpt-4o-mini": limit}, "max_files": 50})
        sdk = client(first, NEW)
        running = submit(sdk, lines)
        assert wait(sdk, running.id, {"in_progress"}).status == "in_progress"
    finally:
        first.kill()
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{first.url}/_emulator/health", timeout=0.5)

    second = first.restarted().start()
    try:
        assert second.base_url == first.base_url
        _check_survivors(second, running.id, walls, limit, per_file)
    finally:
        second.stop()

    with first.restarted() as third:  # and a clean stop, a third time
        assert client(third, NEW).batches.retrieve(running.id).status == "completed"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start_cli(port: int, state: Path) -> subprocess.Popen[bytes]:
    script = (
        "import sys, typer\n"
        "from cli.emulator import register_emulator\n"
        "app = typer.Typer()\n"
        "register_emulator(app)\n"
        "app.command('noop')(lambda: None)\n"
        "app(sys.argv[1:])\n"
    )
    args = ["emulator", "--port", str(port), "--state-dir", str(state), "--stage-seconds", "2.5"]
    proc = subprocess.Popen(
        [sys.executable, "-c", script, *args, "--api-key", OLD],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(f"http://127.0.0.1:{port}/_emulator/health", timeout=1).raise_for_status()
            return proc
        except httpx.TransportError:
            assert proc.poll() is None, "emulator process exited"
            assert time.monotonic() < deadline, "emulator did not start"
            time.sleep(0.1)


class _At:
    """What the helpers need of a server: its URLs."""

    def __init__(self, port: int) -> None:
        self.url = f"http://127.0.0.1:{port}"
        self.base_url = f"{self.url}/v1"


def test_cli_sigkill_mid_batch_and_restart(tmp_path: Path) -> None:
    port, state = _free_port(), tmp_path / "state"
    lines = requests(4)
    limit, per_file = int(tokens(lines) * 1.5), tokens(lines)
    srv = _At(port)
    proc = _start_cli(port, state)
    try:
        admin(srv, "keys", {"keys": [NEW]})
        walls = admin(srv, "walls", {"enqueued_token_limits": {"gpt-4o-mini": limit}})
        sdk = client(srv, NEW)
        running = submit(sdk, lines)
        wait(sdk, running.id, {"in_progress"})
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    proc = _start_cli(port, state)  # same port, same state directory
    try:
        _check_survivors(srv, running.id, walls, limit, per_file)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
