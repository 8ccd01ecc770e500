"""Operator mistakes get one line and exit status 2, never a traceback."""

from __future__ import annotations

import subprocess
import sys

import pytest


def batchline(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    import os

    return subprocess.run([sys.executable, "-m", "cli.main", *args], capture_output=True, text=True, timeout=60,
                          env={**os.environ, **(env or {})}, check=False)


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (("run", "nonsense"), None, "'nonsense' is not one of"),
        (("--no-such-option",), None, "No such option"),
        (("topics", "create", "--partitions", "0"), None, "greater than or equal to 1"),
        (("publish", "/no/such/file.jsonl"), None, "no such file"),
        (("replay", "nobody"), None, "unknown service 'nobody'"),
        (
            ("migrate",),
            {"BATCHLINE_BATCH_MAX_REQUESTS": "90000"},
            "invalid configuration: BATCHLINE_BATCH_MAX_REQUESTS: Input should be less than or equal to 50000",
        ),
        (
            ("run", "submitter"),
            {"BATCHLINE_COMPLETION_WINDOW": "48h"},
            "BATCHLINE_COMPLETION_WINDOW: the OpenAI Batch API accepts only '24h'",
        ),
        (("emulator", "--line-error-rate", "7"), None, "invalid emulator option"),
    ],
)
def test_bad_input_is_one_clear_line(args: tuple[str, ...], env: dict[str, str] | None, message: str) -> None:
    result = batchline(*args, env=env)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_help_lists_every_command() -> None:
    result = batchline("--help")
    assert result.returncode == 0
    for command in ("dev", "migrate", "topics", "run", "demo", "publish", "replay", "report", "emulator"):
        assert command in result.stdout
