"""``batchline dashboard`` in headless Chromium: the page runs clean and shows ``stats --json``'s numbers.

The database is seeded with test_stats' rows (whose figures that module checks by hand), two records
are written to one DLQ topic, then the real command is started as a process and the page is opened
in Chromium through the DevTools protocol. The checks:

- no console error or warning, no uncaught exception, no failed load or CSP violation;
- every figure of every company and of the totals, read from the DOM by ``data-testid``, equals
  the ``batchline stats --json`` document printed by the command for the same database (which
  itself equals test_stats' hand-made expectations);
- the DLQ depths are the records written here;
- live update: completed requests inserted after the page loaded appear on the page (polled,
  bounded) without a reload, and equal a second ``stats --json``.

A screenshot goes to tests/artifacts/dashboard.png (docs/dashboard.png is a copy of one).
"""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import orjson
import pytest
from aiokafka import AIOKafkaProducer
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.lifecycle import BatchStatus, RequestStatus
from shared.settings import Settings, Topics
from tests.infra import Infra
from tests.integration.chromium import Chromium
from tests.integration.test_stats import PRICES_ENV, check_document, run_cli, seed

ARTIFACT = Path(__file__).resolve().parents[1] / "artifacts" / "dashboard.png"
#: Figures of a company row (and of the totals row) compared with the stats document.
ROW_KEYS = (
    "sessions", "requests_total", "pending_requests", "batches_total", "batch_cost_usd",
    "realtime_cost_usd", "savings_usd", "duplicate_cost_usd",
)  # fmt: skip
CARD_KEYS = (
    "requests_total", "pending_requests", "in_progress_requests", "batches_total", "batch_cost_usd",
    "savings_usd",
)  # fmt: skip
#: Every element with a data-testid: its text and the requested-at attribute of the age cells.
READ_DOM = """JSON.stringify(Object.fromEntries([...document.querySelectorAll('[data-testid]')].map(
  el => [el.dataset.testid, {text: el.textContent, requestedAt: el.dataset.requestedAt ?? null}])))"""
COMPLETE = f"document.querySelector('[data-testid=\"totals.requests.{RequestStatus.PROCESSING_COMPLETE}\"]').textContent"
#: The problem banner's text while it is shown, "" while hidden; its start only (the error type follows).
BANNER = """(() => { const el = document.querySelector('[data-testid="problem"]');
  return el.hidden ? "" : el.textContent.split(" (")[0]; })()"""
LETTERS = 2


def age_seconds(shown: str) -> int:
    """``2h00m05s`` / ``4m09s`` (the form of `batchline stats`) in seconds."""
    hours, _, rest = shown.rpartition("h")
    minutes, _, seconds = rest.rstrip("s").partition("m")
    return int(hours or 0) * 3600 + int(minutes) * 60 + int(seconds)


@pytest.fixture
async def dashboard(settings: Settings, database_url: str, tmp_path: Path) -> AsyncIterator[str]:
    """``batchline dashboard --port 0`` as a process; yields its URL (from the line it prints)."""
    env = {
        **os.environ,
        "BATCHLINE_DATABASE_URL": database_url,
        "BATCHLINE_KAFKA_BOOTSTRAP_SERVERS": settings.kafka_bootstrap_servers,
        "BATCHLINE_TOPIC_PREFIX": settings.topic_prefix,
        "BATCHLINE_MODEL_PRICES": PRICES_ENV,
        "BATCHLINE_BATCH_DISCOUNT": "0.5",
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "cli.main", "dashboard", "--port", "0", "--refresh", "1",
        env=env, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        assert proc.stderr is not None
        line = (await asyncio.wait_for(proc.stderr.readline(), timeout=60)).decode()
        assert line.startswith("dashboard on http://"), line + (await proc.stderr.read()).decode()
        yield line.split()[2]
    finally:
        if proc.returncode is None:
            proc.terminate()
        try:
            await asyncio.wait_for(proc.wait(), timeout=15)
        except TimeoutError:
            proc.kill()
            await proc.wait()


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Chromium]:
    chromium = Chromium(tmp_path / "chromium-profile")
    try:
        yield chromium
    finally:
        chromium.close()


async def write_letters(settings: Settings, topic: str) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers, acks="all")
    await producer.start()
    try:
        for i in range(LETTERS):
            await producer.send_and_wait(topic, b'{"reason":"test letter"}', key=f"k{i}".encode())
    finally:
        await producer.stop()


async def stats_json(database_url: str) -> dict[str, Any]:
    result = await asyncio.to_thread(run_cli, database_url, "--json")
    assert result.returncode == 0, result.stderr
    doc: dict[str, Any] = orjson.loads(result.stdout)
    return doc


def check_page_matches(dom: dict[str, dict[str, Any]], doc: dict[str, Any]) -> None:
    rows = {f"company.{name}": figures for name, figures in doc["companies"].items()}
    rows["totals.row"] = doc["totals"]
    for prefix, figures in rows.items():
        for key in ROW_KEYS:
            assert dom[f"{prefix}.{key}"]["text"] == str(figures[key]), (prefix, key)
        for status in (RequestStatus.PROCESSING_COMPLETE, RequestStatus.PROCESSING_FAILED):
            assert dom[f"{prefix}.requests.{status}"]["text"] == str(figures["requests"][status]), prefix
        assert dom[f"{prefix}.unpriced_models"]["text"] == (", ".join(figures["unpriced_models"]) or "-")
        age = dom[f"{prefix}.oldest_pending_age"]
        assert age["requestedAt"] == (figures["oldest_pending_requested_at"] or ""), prefix
    for key in CARD_KEYS:
        assert dom[f"totals.{key}"]["text"] == str(doc["totals"][key]), key
    for status in (RequestStatus.PROCESSING_COMPLETE, RequestStatus.PROCESSING_FAILED):
        assert dom[f"totals.requests.{status}"]["text"] == str(doc["totals"]["requests"][status])
    assert dom["company-count"]["text"] == str(len(doc["companies"]))


async def add_completed(engine: AsyncEngine, n: int) -> None:
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO ai_processing_requests (id, session_id, company_id, processing_type, model, "
                "revision, status, attempt, approx_bytes, prompt_tokens, completion_tokens, requested_at, "
                "completed_at) VALUES (:id, 'b2', 'beta', 'full_analysis', 'gpt-4o-mini', :rev, :st, 1, "
                "100, 10, 5, now(), now())"
            ),
            [
                {"id": uuid.uuid4(), "rev": f"live{i}", "st": RequestStatus.PROCESSING_COMPLETE.value}
                for i in range(n)
            ],
        )


async def test_the_page_shows_the_stats_and_updates_live(
    engine: AsyncEngine, settings: Settings, database_url: str, dashboard: str, browser: Chromium
) -> None:
    await seed(engine)
    dlq_topic = Topics.dlq(settings.topics.session_events)
    await write_letters(settings, dlq_topic)
    before = await stats_json(database_url)
    check_document(before, ["acme", "beta"])  # the command itself is right (test_stats' expectations)

    await asyncio.to_thread(browser.open, dashboard)
    loaded = await asyncio.to_thread(
        browser.poll, COMPLETE, str(before["totals"]["requests"][RequestStatus.PROCESSING_COMPLETE]), 30
    )
    assert loaded == str(before["totals"]["requests"][RequestStatus.PROCESSING_COMPLETE])
    dom = orjson.loads(await asyncio.to_thread(browser.evaluate, READ_DOM))
    check_page_matches(dom, before)

    # The pending age is shown as `stats` prints it; it grows, so it is bounded by the clock around.
    generated = datetime.fromisoformat(before["generated_at"])
    shown = age_seconds(dom["totals.oldest_pending_age"]["text"])
    assert before["totals"]["oldest_pending_age_s"] - 1 <= shown
    assert (
        shown
        <= before["totals"]["oldest_pending_age_s"]
        + (datetime.now(generated.tzinfo) - generated).total_seconds()
        + 1
    )

    assert dom[f"dlq.{dlq_topic}"]["text"] == str(LETTERS)
    others = [k for k in dom if k.startswith("dlq.") and k != f"dlq.{dlq_topic}"]
    assert len(others) == len(settings.topics.all()) - 1
    assert all(dom[k]["text"] == "0" for k in others)
    assert dom["dlq-total"]["text"] == str(LETTERS)
    assert dom["throughput-completed"]["text"] == "0"  # the seeded rows carry no completed_at
    assert dom["window-hours"]["text"] == "3"
    bars = await asyncio.to_thread(
        browser.evaluate, "document.querySelectorAll('#requests-chart rect').length"
    )
    assert bars == len(RequestStatus)
    bars = await asyncio.to_thread(
        browser.evaluate, "document.querySelectorAll('#batches-chart rect').length"
    )
    assert bars == len(BatchStatus)

    # Live: three more completed requests, no reload; the page's numbers follow within the bound.
    await add_completed(engine, 3)
    expected = str(before["totals"]["requests"][RequestStatus.PROCESSING_COMPLETE] + 3)
    assert await asyncio.to_thread(browser.poll, COMPLETE, expected, 30) == expected
    dom = orjson.loads(await asyncio.to_thread(browser.evaluate, READ_DOM))
    after = await stats_json(database_url)
    check_page_matches(dom, after)
    assert dom["throughput-completed"]["text"] == "3"
    points = await asyncio.to_thread(
        browser.evaluate, "document.querySelectorAll('#throughput polyline').length"
    )
    assert points == 2
    await asyncio.to_thread(browser.screenshot, ARTIFACT)

    assert browser.problems == []


def test_the_browser_reports_what_a_broken_page_does(browser: Chromium) -> None:
    """The clean run above means something: the same capture sees console errors, uncaught
    exceptions and failed loads."""
    page = (
        "data:text/html,<script>console.error('boom'); console.warn('careful');"
        "setTimeout(() => { throw new Error('kaput'); });</script><img src='http://127.0.0.1:9/x.png'>"
    )
    browser.open(page)
    browser.wait_for(lambda: len(browser.problems) >= 4, 30)
    found = "\n".join(browser.problems)
    assert "console.error: boom" in found
    assert "console.warning: careful" in found
    assert "kaput" in found
    assert "x.png" in found


async def test_the_server_is_read_only(dashboard: str, engine: AsyncEngine) -> None:
    async with httpx.AsyncClient(base_url=dashboard, timeout=30) as client:
        for method in ("POST", "PUT", "DELETE", "PATCH"):
            answer = await client.request(method, "/api/summary", content=b"{}")
            assert answer.status_code == 405, method
        summary = await client.get("/api/summary")
        assert summary.status_code == 200
        assert summary.headers["cache-control"] == "no-store"
        assert "default-src 'self'" in summary.headers["content-security-policy"]
        assert (await client.get("/nothing-here")).status_code == 404
    body = summary.json()
    assert set(body) >= {"stats", "throughput", "dlq", "dlq_error", "window_hours", "refresh_s"}
    assert len(body["throughput"]) == 3 * 60


async def set_connections(infra: Infra, database: str, *, allowed: bool) -> None:
    """Let the test's database accept connections or not; refusing also ends the open ones."""
    conn = await asyncpg.connect(
        make_url(infra.database_admin_url).set(drivername="postgresql").render_as_string(hide_password=False)
    )
    try:
        await conn.execute(f'ALTER DATABASE "{database}" WITH ALLOW_CONNECTIONS {str(allowed).lower()}')
        if not allowed:
            await conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
                database,
            )
    finally:
        await conn.close()


async def test_a_database_outage_shows_a_banner_and_heals(
    engine: AsyncEngine, database_url: str, infra: Infra, dashboard: str, browser: Chromium
) -> None:
    await seed(engine)
    await engine.dispose()
    doc = await stats_json(database_url)
    complete = str(doc["totals"]["requests"][RequestStatus.PROCESSING_COMPLETE])
    await asyncio.to_thread(browser.open, dashboard)
    assert await asyncio.to_thread(browser.poll, COMPLETE, complete, 30) == complete

    database = make_url(database_url).database
    assert database is not None
    await set_connections(infra, database, allowed=False)
    try:
        shown = await asyncio.to_thread(browser.poll, BANNER, "database unavailable", 30)
        assert shown == "database unavailable"
        dom = orjson.loads(await asyncio.to_thread(browser.evaluate, READ_DOM))
        check_page_matches(dom, doc)  # the last figures stay on the page
    finally:
        await set_connections(infra, database, allowed=True)
    assert await asyncio.to_thread(browser.poll, BANNER, "", 30) == ""
    dom = orjson.loads(await asyncio.to_thread(browser.evaluate, READ_DOM))
    check_page_matches(dom, await stats_json(database_url))
    # What the outage logged: only the summary's 503s.
    assert browser.problems
    assert all("503" in p and "/api/summary" in p for p in browser.problems), browser.problems
