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
            "invalid configuration: BATCHLINE_*: BATCHLINE_BATCH_MAX_REQUESTS exceeds the 50000 requests per file",
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
        (("replay",), None, "name a service (producer, submitter, poller, ingester) or at least one --topic"),
        (("replay", "producer", "--to-datetime", "yesterday"), None, "--to-datetime: not an ISO 8601"),
        (("replay", "producer", "--by-duration", "1h"), None, "--by-duration: not an ISO 8601 duration"),
        (("replay", "producer", "--by-duration", "P1M"), None, "--by-duration: not an ISO 8601 duration"),
        (("replay", "producer", "--by-duration", "PT0S"), None, "--by-duration: must be longer than zero"),
        (
            ("replay", "producer", "--to-datetime", "2026-05-01", "--by-duration", "PT1H"),
            None,
            "--to-datetime and --by-duration exclude each other",
        ),
        (("replay", "--topic", "nowhere"), None, "--topic: no service consumes 'nowhere'"),
        (("replay", "--topic", "session.events.dlq"), None, "--topic: no service consumes 'session.events.dlq'"),
        (("replay", "producer", "--topic", "batch.created"), None, "--topic: producer does not consume batch.created"),
        (("lag", "--service", "nobody"), None, "unknown service 'nobody'"),
        (("batches", "show", "42"), None, "not a batch id (a UUID): '42'"),
        (("batches", "cancel", "batch_abc"), None, "not a batch id (a UUID): 'batch_abc'"),
        (("batches", "show"), None, "Missing argument"),
        (("batches", "list", "--status", "running"), None, "--status: unknown batch status 'running'; choose one"),
        (("batches", "list", "--since", "last week"), None, "--since: not an ISO 8601 date or time: 'last week'"),
        (("batches", "list", "--limit", "0"), None, "greater than or equal to 1"),
        (("batches", "list", "--company", " "), None, "--company: must not be empty"),
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
        "dev", "migrate", "topics", "run", "demo", "publish", "replay", "report", "emulator", "requests", "reprocess",
        "batches", "lag",
    ):  # fmt: skip
        assert command in result.stdout


@pytest.mark.parametrize("command", [("batches", "list"), ("batches", "show"), ("batches", "cancel"), ("lag",), ("replay",)])
def test_every_new_command_has_help(command: tuple[str, ...]) -> None:
    result = batchline(*command, "--help")
    assert result.returncode == 0, result.stderr
    assert "Usage:" in result.stdout and "--help" in result.stdout
