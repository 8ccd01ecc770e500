"""``batchline dashboard`` without a browser: its command line, its errors, and its read-only snapshot.

The page itself is tested in headless Chromium (test_dashboard_browser.py).
"""

from __future__ import annotations

import asyncio
import socket
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

import cli.dashboard_data as dashboard_data
from cli.dashboard_data import database_summary
from shared.lifecycle import RequestStatus
from shared.settings import Settings
from tests.integration.test_cli import batchline

#: PostgreSQL's read_only_sql_transaction.
READ_ONLY_VIOLATION = "25006"


def test_help_lists_the_dashboard() -> None:
    listed = batchline("--help")
    assert listed.returncode == 0, listed.stderr
    assert "dashboard" in listed.stdout
    own = batchline("dashboard", "--help")
    assert own.returncode == 0, own.stderr
    assert "--host" in own.stdout and "--port" in own.stdout and "read-only" in own.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--port", "70000"), "65535"),
        (("--port", "eighty"), "valid integer"),
        (("--hours", "0"), "greater than or equal to 1"),
        (("--refresh", "0.5"), "greater than or equal to 1"),
        (("--post",), "No such option"),
    ],
)
def test_bad_arguments_are_one_line(args: tuple[str, ...], message: str) -> None:
    result = batchline("dashboard", *args)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_an_unreachable_database_is_one_line() -> None:
    with socket.socket() as closed:  # a port nothing listens on: bound, never listening
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
        result = batchline(
            "dashboard", "--port", "0",
            env={"BATCHLINE_DATABASE_URL": f"postgresql+asyncpg://postgres@127.0.0.1:{port}/none"},
        )  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("error: cannot reach the database"), result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


async def test_a_busy_port_is_one_line(database_url: str) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = await asyncio.to_thread(
            batchline, "dashboard", "--port", str(port), env={"BATCHLINE_DATABASE_URL": database_url}
        )
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith(f"error: cannot listen on 127.0.0.1:{port}"), result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


async def test_the_snapshot_refuses_writes(engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch) -> None:
    """Whatever the queries of a summary try, PostgreSQL refuses a write inside it."""

    async def writing_stats(conn: AsyncConnection, settings: Settings, company: str | None = None) -> Any:
        await conn.execute(
            text("INSERT INTO sessions (id, company_id, started_at, content_hash, message_count) "
                 "VALUES ('s', 'c', now(), 'h', 1)")
        )  # fmt: skip

    monkeypatch.setattr(dashboard_data, "collect_stats", writing_stats)
    with pytest.raises(DBAPIError) as refused:
        await database_summary(engine, Settings(), 1)
    assert getattr(refused.value.orig, "sqlstate", None) == READ_ONLY_VIOLATION
    async with engine.connect() as conn:
        assert await conn.scalar(text("SELECT count(*) FROM sessions")) == 0


async def test_throughput_counts_resolved_requests_per_minute(engine: AsyncEngine) -> None:
    """Complete and failed requests land in their minute; older than the window or unresolved, nowhere."""
    now = datetime.now(UTC)
    minute = now.replace(second=0, microsecond=0)
    rows = [  # (status, completed_at)
        (RequestStatus.PROCESSING_COMPLETE, minute - timedelta(minutes=5) + timedelta(seconds=1)),
        (RequestStatus.PROCESSING_COMPLETE, minute - timedelta(minutes=5) + timedelta(seconds=59)),
        (RequestStatus.PROCESSING_FAILED, minute - timedelta(minutes=5) + timedelta(seconds=30)),
        (RequestStatus.PROCESSING_COMPLETE, minute - timedelta(minutes=30)),
        (RequestStatus.PROCESSING_COMPLETE, minute - timedelta(hours=2)),  # outside a 1 h window
        (RequestStatus.BATCHING_IN_PROGRESS, minute - timedelta(minutes=5)),  # not resolved
    ]
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO sessions (id, company_id, started_at, content_hash, message_count) "
                "VALUES ('s', 'acme', now(), 'h', 1)"
            )
        )
        await conn.execute(
            text(
                "INSERT INTO ai_processing_requests (id, session_id, company_id, processing_type, model, "
                "revision, status, attempt, approx_bytes, requested_at, completed_at) "
                "VALUES (:id, 's', 'acme', 'full_analysis', 'gpt-4o-mini', :rev, :st, 1, 1, now(), :at)"
            ),
            [
                {"id": uuid.uuid4(), "rev": f"r{i}", "st": st.value, "at": at}
                for i, (st, at) in enumerate(rows)
            ],
        )
    doc = await database_summary(engine, Settings(), 1)
    points = doc["throughput"]
    assert len(points) == 60
    # The last point is the minute of the snapshot (the database's clock; the test's may have ticked).
    generated = datetime.fromisoformat(doc["stats"]["generated_at"])
    assert datetime.fromisoformat(points[-1]["minute"]) == generated.replace(second=0, microsecond=0)
    busy = {
        datetime.fromisoformat(p["minute"]): (p["completed"], p["failed"])
        for p in points
        if p["completed"] or p["failed"]
    }
    assert busy == {minute - timedelta(minutes=5): (2, 1), minute - timedelta(minutes=30): (1, 0)}
