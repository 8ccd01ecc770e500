"""Session-wide test configuration: real infrastructure comes from the ``tests.infra`` plugin."""

from __future__ import annotations

import pytest

pytest_plugins = ["tests.infra", "tests.support"]


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print the broker version and ``SELECT version()`` the run actually used."""
    plugin = terminalreporter.config.pluginmanager.get_plugin("tests.infra")
    lines: list[str] = plugin.summary_lines() if plugin is not None else []
    if lines:
        terminalreporter.write_sep("-", "infrastructure")
        for line in lines:
            terminalreporter.write_line(line)
