"""Reliability runs print their figures at the end of the session too (not only with ``-s``)."""

from __future__ import annotations

import pytest

from tests.reliability import harness


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not harness.REPORTS:
        return
    terminalreporter.write_sep("-", "reliability figures")
    for name, figures in harness.REPORTS:
        summary = ", ".join(
            f"{k}={figures[k]}"
            for k in (
                "kills",
                "service_restarts",
                "kafka_restarts",
                "postgres_restarts",
                "crashes",
                "sessions",
                "lost",
                "requests",
                "local_batches",
                "provider_batches",
                "request_retries",
                "batch_submit_retries",
                "secret_scan_items",
                "outage_s",
                "duration_s",
            )
            if k in figures
        )
        terminalreporter.write_line(f"{name}: {summary}")
