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
        (
            ("requests", "retry", "--company", "acme", "--since", "yesterday"),
            None,
            "--since: not an ISO 8601 date or time: 'yesterday'",
        ),
        (
            ("requests", "retry", "--company", "acme", "--since", "2026-05-02", "--until", "2026-05-01T00:00Z"),
            None,
            "must be before --until",
        ),
        (
            ("requests", "retry", "--company", "acme", "--type", "poetry", "--dry-run"),
            None,
            "--type: unknown processing type 'poetry'; choose one of full_analysis,",
        ),
        (("requests", "retry", "--since", "2026-05-01"), None, "Missing option '--company'"),
        (("reprocess", "--company", "acme", "--until", "13/05/2026"), None, "--until: not an ISO 8601"),
        (("reprocess", "--company", "acme", "--type", "Summary"), None, "unknown processing type 'Summary'"),
        (("reprocess", "--company", "acme", "--revision", "two words"), None, "is not a revision name"),
        (("reprocess", "--company", "acme", "--revision", "a" * 64), None, "looks like a content hash"),
        (("reprocess", "--company", "acme", "--chunk", "0"), None, "greater than or equal to 1"),
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
    for command in (
        "dev", "migrate", "topics", "run", "demo", "publish", "replay", "report", "emulator", "requests", "reprocess"
    ):  # fmt: skip
        assert command in result.stdout
