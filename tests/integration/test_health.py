"""The probes and metrics of the four services: ``/healthz``, ``/readyz``, ``/metrics``.

Every service runs in this event loop with its own ``BATCHLINE_METRICS_PORT`` (as each process has
its own in production). Readiness is read until it changes, with a deadline: never a sleep that
would let a negative check pass by itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from devtools.infra import postgres
from devtools.stack import free_port
from shared.db.migrate import upgrade
from shared.kafka.topics import ensure_topics
from shared.settings import Settings
from tests.infra import private_stack
from tests.pipeline import publish, rows, wait_until_terminal

SERVICES = ("producer", "submitter", "poller", "ingester")


@contextlib.asynccontextmanager
async def services_on_ports(settings: Settings) -> AsyncIterator[dict[str, int]]:
    """The four services, each serving its probes on a port of its own."""
    from services.ingester.main import run as ingester
    from services.poller.main import run as poller
    from services.producer.main import run as producer
    from services.submitter.main import run as submitter

    mains = {"producer": producer, "submitter": submitter, "poller": poller, "ingester": ingester}
    ports = {name: free_port() for name in SERVICES}
    stop = asyncio.Event()
    tasks = [
        asyncio.create_task(mains[name](settings.model_copy(update={"metrics_port": ports[name]}), stop))
        for name in SERVICES
    ]
    try:
        async with httpx.AsyncClient(timeout=10) as client:
            for name, port in ports.items():
                await wait_for(client, port, "/healthz", 200, timeout_s=60, what=f"{name} alive")
        yield ports
    finally:
        stop.set()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        errors = [r for r in results if isinstance(r, BaseException)]
        if errors:
            raise errors[0]


async def wait_for(
    client: httpx.AsyncClient, port: int, path: str, status: int, *, timeout_s: float, what: str
) -> httpx.Response:
    """GET ``path`` until it answers ``status``; fail with the last answer at the deadline."""
    deadline = time.monotonic() + timeout_s
    last: Any = None
    while time.monotonic() < deadline:
        try:
            response = await client.get(f"http://127.0.0.1:{port}{path}")
        except httpx.TransportError as exc:
            last = repr(exc)
        else:
            if response.status_code == status:
                return response
            last = (response.status_code, response.text)
        await asyncio.sleep(0.1)
    raise AssertionError(f"{what}: {path} did not answer {status} within {timeout_s}s (last: {last})")


def event(i: int) -> dict[str, Any]:
    return {
        "event_id": f"health-{i}", "company_id": "acme", "session_id": f"s{i}",
        "started_at": "2026-05-01T10:00:00Z",
        "messages": [{"role": "user", "content": "I love the new leave policy, thank you"}],
    }  # fmt: skip


def sample(page: str, name: str, **labels: str) -> float:
    """The value of the one sample ``name{labels...}`` of a Prometheus page (labels in any order)."""
    found = []
    for line in page.splitlines():
        if line.startswith("#") or not line.startswith(name + "{"):
            continue
        label_text, value = line[len(name) + 1 :].rsplit("} ", 1)
        pairs = dict(p.split("=", 1) for p in label_text.split(","))
        if all(pairs.get(k) == f'"{v}"' for k, v in labels.items()):
            found.append(float(value))
    assert len(found) == 1, f"{name}{labels}: {len(found)} samples in\n{page[:3000]}"
    return found[0]


async def test_every_service_answers_its_probes_and_metrics_of_a_finished_run(
    make_settings: Callable[..., Settings], engine: AsyncEngine
) -> None:
    settings = make_settings()
    await ensure_topics(settings)
    async with services_on_ports(settings) as ports, httpx.AsyncClient(timeout=10) as client:
        for name, port in ports.items():
            ready = await wait_for(client, port, "/readyz", 200, timeout_s=30, what=name)
            checks = ready.json()["checks"]
            assert ready.json()["ready"] is True
            assert checks["database"] == "ok" and checks["kafka"] == "ok", (name, checks)
            assert ("circuits" in checks) == (name != "producer"), (name, checks)
            assert (await client.get(f"http://127.0.0.1:{port}/nowhere")).status_code == 404
        await publish(settings, [event(i) for i in range(6)])
        await wait_until_terminal(engine, expected_requests=6, timeout_s=90)
        # The requests resolve in the ingest's transaction; the batch turns PROCESSED a step later.
        deadline = time.monotonic() + 60
        while True:
            batches = {r.status: r.n for r in await rows(
                engine, "SELECT status, count(*) AS n FROM provider_batches GROUP BY status")}  # fmt: skip
            if set(batches) == {"PROCESSED"} or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.2)
        assert set(batches) == {"PROCESSED"}, batches
        pages = {name: (await client.get(f"http://127.0.0.1:{p}/metrics")).text for name, p in ports.items()}
    for name, page in pages.items():
        # the deployment's state, read from the database at the scrape (every status, zeros included)
        assert sample(page, "batchline_requests", service=name, status="PROCESSING_COMPLETE") == 6
        assert sample(page, "batchline_requests", service=name, status="PENDING_BATCHING") == 0
        assert sample(page, "batchline_batches", service=name, status="PROCESSED") == batches["PROCESSED"]
        assert sample(page, "batchline_batches", service=name, status="VALIDATING") == 0
        assert "batchline_enqueued_tokens" in page  # nothing holds the queue after the run: no sample
        assert sample(page, "batchline_consumer_handler_seconds_count", service=name) >= 1
        assert sample(page, "batchline_consumer_handler_seconds_bucket", service=name, le="+Inf") >= 1
        assert "batchline_consumer_lag{" in page, name
    assert sample(pages["producer"], "batchline_consumer_lag", service="producer", partition="0") >= 0
    assert sample(pages["submitter"], "batchline_provider_calls_total", service="submitter",
                  operation="create_batch") == batches["PROCESSED"]  # fmt: skip
    assert sample(pages["poller"], "batchline_provider_calls_total", service="poller",
                  operation="retrieve_batch") >= batches["PROCESSED"]  # fmt: skip
    assert sample(pages["ingester"], "batchline_provider_calls_total", service="ingester",
                  operation="iter_file_lines") >= batches["PROCESSED"]  # fmt: skip
    assert "batchline_provider_calls_total" not in pages["producer"]


async def test_an_open_circuit_makes_the_provider_services_unready_until_it_closes(
    make_settings: Callable[..., Settings], engine: AsyncEngine
) -> None:
    settings = make_settings()
    await ensure_topics(settings)
    async with services_on_ports(settings) as ports, httpx.AsyncClient(timeout=10) as client:
        for name, port in ports.items():
            await wait_for(client, port, "/readyz", 200, timeout_s=30, what=name)
        now = datetime.now(UTC)
        async with engine.begin() as conn:
            await conn.exec_driver_sql(
                "INSERT INTO provider_circuits (provider, model, reason, opened_at, faults, probe_at)"
                " VALUES ('openai', 'gpt-4o-mini', '401 invalid key', $1, 1, $2)",
                (now, now + timedelta(hours=1)),
            )
        for name in ("submitter", "poller", "ingester"):
            unready = await wait_for(client, ports[name], "/readyz", 503, timeout_s=10, what=name)
            assert unready.json()["checks"]["circuits"] == "open (openai: gpt-4o-mini)"
        # the producer calls no provider: its readiness does not depend on the circuit
        assert (await client.get(f"http://127.0.0.1:{ports['producer']}/readyz")).status_code == 200
        async with engine.begin() as conn:
            await conn.exec_driver_sql("DELETE FROM provider_circuits")
        for name in ("submitter", "poller", "ingester"):
            await wait_for(client, ports[name], "/readyz", 200, timeout_s=10, what=name)


async def test_readiness_turns_false_when_postgres_stops_and_true_when_it_returns(tmp_path: Path) -> None:
    async with private_stack() as (pg, kf):
        await asyncio.to_thread(upgrade, pg.url)
        settings = Settings(
            database_url=pg.url,
            kafka_bootstrap_servers=kf.bootstrap,
            topic_prefix="health.",
            topic_partitions=1,
            openai_base_url=f"http://127.0.0.1:{free_port()}/v1",  # no provider needed: nothing to submit
            openai_api_key="sk-test-" + "h" * 24,
            batch_linger_s=0.5,
            poll_interval_s=0.5,
            home=tmp_path / "home",
        )
        await ensure_topics(settings)
        async with services_on_ports(settings) as ports, httpx.AsyncClient(timeout=10) as client:
            for name, port in ports.items():
                await wait_for(client, port, "/readyz", 200, timeout_s=30, what=name)
            await postgres.stop_postgres(pg)
            for name, port in ports.items():
                down = await wait_for(client, port, "/readyz", 503, timeout_s=20, what=f"{name} without postgres")
                assert down.json()["checks"]["database"].startswith("unreachable"), down.text
                assert down.json()["checks"]["kafka"] == "ok"
                # alive all the same: a database outage must not get the process restarted
                assert (await client.get(f"http://127.0.0.1:{port}/healthz")).status_code == 200
                assert (await client.get(f"http://127.0.0.1:{port}/metrics")).status_code == 200
            await postgres.start_postgres(pg)
            for name, port in ports.items():
                await wait_for(client, port, "/readyz", 200, timeout_s=60, what=f"{name} after postgres returned")
