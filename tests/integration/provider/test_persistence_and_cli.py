"""State that survives a restart, and the ``batchline emulator`` command serving real HTTP."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import typer
from typer.testing import CliRunner

from cli.emulator import register_emulator
from emulator.config import EmulatorConfig
from emulator.server import EmulatorServer
from shared.provider.base import LOCAL_BATCH_ID_KEY
from tests.integration.provider.helpers import lines, make_input, make_provider, wait_terminal

REPO = Path(__file__).resolve().parents[3]


async def test_restart_keeps_files_and_batches(tmp_path: Path) -> None:
    config = EmulatorConfig(port=0, stage_s=0.2, state_dir=tmp_path / "state")
    path = make_input(tmp_path / "in.jsonl", 5)
    with EmulatorServer(config) as first:
        async with make_provider(first) as provider:
            uploaded = await provider.upload_file(path)
            batch = await provider.create_batch(uploaded.id, metadata={LOCAL_BATCH_ID_KEY: "persisted"})
            assert batch.status == "validating"

    with EmulatorServer(config) as second:  # new process state, new port, same directory
        async with make_provider(second) as provider:
            assert (await provider.retrieve_file(uploaded.id)).bytes == path.stat().st_size
            done = await wait_terminal(provider, batch.id)
            assert done.status == "completed"
            assert done.local_batch_id == "persisted"
            assert len(await lines(provider, done.output_file_id)) == 5

    with EmulatorServer(config) as third:  # results written by the second run are kept as well
        async with make_provider(third) as provider:
            again = await provider.retrieve_batch(batch.id)
            assert again.output_file_id == done.output_file_id
            assert len(await lines(provider, again.output_file_id)) == 5
            assert [b.id async for b in provider.list_batches()] == [batch.id]


def _cli() -> typer.Typer:
    app = typer.Typer()
    register_emulator(app)

    @app.command("noop")
    def noop() -> None:  # a second command keeps typer from collapsing the group
        """Nothing."""

    return app


def test_cli_help_lists_the_options() -> None:
    result = CliRunner().invoke(_cli(), ["emulator", "--help"])
    assert result.exit_code == 0
    for option in (
        "--port",
        "--host",
        "--state-dir",
        "--stage-seconds",
        "--line-error-rate",
        "--expire-batches",
    ):
        assert option in result.output


def test_cli_rejects_invalid_options() -> None:
    result = CliRunner().invoke(_cli(), ["emulator", "--port", "0", "--line-error-rate", "2"])
    assert result.exit_code != 0


def test_cli_serves_http(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    script = (
        "import typer, sys\n"
        "from cli.emulator import register_emulator\n"
        "app = typer.Typer()\n"
        "register_emulator(app)\n"
        "app.command('noop')(lambda: None)\n"
        "app(sys.argv[1:])\n"
    )
    args = ["emulator", "--port", str(port), "--api-key", "k-123", "--stage-seconds", "0.05"]
    proc = subprocess.Popen([sys.executable, "-c", script, *args], cwd=REPO)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/_emulator/health", timeout=1)
                break
            except httpx.TransportError:
                assert proc.poll() is None, "emulator process exited"
                assert time.monotonic() < deadline, "emulator did not start"
                time.sleep(0.1)
        assert health.json() == {"ok": True}
        denied = httpx.get(f"http://127.0.0.1:{port}/v1/batches", headers={"Authorization": "Bearer nope"})
        assert denied.status_code == 401
        assert denied.json()["error"]["code"] == "invalid_api_key"
        listed = httpx.get(f"http://127.0.0.1:{port}/v1/batches", headers={"Authorization": "Bearer k-123"})
        assert listed.json() == {"object": "list", "data": [], "has_more": False}
    finally:
        proc.terminate()
        proc.wait(timeout=10)
