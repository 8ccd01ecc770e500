"""pytest plugin: a real PostgreSQL and a real Kafka for the whole test session, never mocks, never skips.

Each component is resolved on its own, first match wins:

1. ``BATCHLINE_TEST_DATABASE_URL`` / ``BATCHLINE_TEST_KAFKA_BOOTSTRAP``: servers someone else runs (CI
   services, a shared cluster). Used as they are, never stopped.
2. testcontainers, when a Docker engine answers a ping within a couple of seconds.
3. The local no-Docker infrastructure of ``batchline dev`` (``devtools.infra``), but in its own home
   (``.batchline/test``) and on its own ports, so a test run never touches a developer's ``dev up``.
   Concurrent pytest runs in one checkout share it: each holds a lease (a file named by its pid), and
   the last one out stops it, and only if a test session started it (``BATCHLINE_TEST_KEEP_INFRA=1``
   keeps it running, which makes repeated local runs start in a second).

Tests that restart or kill servers must not do it to the shared stack (another session may be using
it): ``private_stack()`` gives them their own pair on fresh ports.

If nothing works the fixture fails with the reason: a test that silently skips proves nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import socket
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from devtools.infra import kafka, postgres
from devtools.infra._proc import file_lock

REPO_ROOT = Path(__file__).resolve().parents[1]
TEST_HOME = REPO_ROOT / ".batchline" / "test"
#: Shared with `batchline dev` so the jars are resolved once per checkout, not once per home.
JAR_CACHE = REPO_ROOT / ".batchline" / "kafka" / "lib"
TEST_KAFKA_PORT = 29092
TEST_KAFKA_CONTROLLER_PORT = 29093
TEST_PG_PORT = 25432
ENV_DATABASE_URL = "BATCHLINE_TEST_DATABASE_URL"
ENV_KAFKA_BOOTSTRAP = "BATCHLINE_TEST_KAFKA_BOOTSTRAP"
ENV_KEEP = "BATCHLINE_TEST_KEEP_INFRA"
LEASES = TEST_HOME / "sessions"
POSTGRES_IMAGE = "postgres:18"
KAFKA_IMAGE = "confluentinc/cp-kafka:7.9.0"  # Kafka 3.9; the newest line testcontainers' KRaft mode supports


@dataclass(frozen=True)
class Infra:
    """What tests connect to. ``database_admin_url`` may CREATE DATABASE (tests isolate themselves)."""

    database_admin_url: str
    kafka_bootstrap: str
    postgres_version: str
    kafka_version: str
    source: str


def local_kafka_node() -> kafka.KafkaNode:
    return kafka.KafkaNode(
        home=TEST_HOME, port=TEST_KAFKA_PORT, controller_port=TEST_KAFKA_CONTROLLER_PORT, lib_dir=JAR_CACHE
    )


def local_postgres_node() -> postgres.PostgresNode:
    # fsync off: a throwaway cluster; process crashes in reliability tests are still safe (page cache)
    return postgres.PostgresNode(home=TEST_HOME, port=TEST_PG_PORT, fsync=False)


@dataclass
class _Session:
    infra: Infra | None = None
    error: str | None = None
    seconds: float = 0.0
    containers: list[Any] = field(default_factory=list)


_SESSION = _Session()


def docker_available(timeout_s: int = 2) -> bool:
    """A Docker engine answers; any failure (no client, no socket, no daemon) means no."""
    try:
        import docker  # type: ignore[import-untyped]

        client = docker.from_env(timeout=timeout_s)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except Exception:
        return False


async def _postgres(use_docker: bool) -> tuple[str, str]:
    """(admin URL, source) of a server where the test user may create databases."""
    if url := os.environ.get(ENV_DATABASE_URL):
        return url, "env"
    if use_docker:
        from testcontainers.community.postgres import PostgresContainer

        container = PostgresContainer(POSTGRES_IMAGE, driver="asyncpg")
        await asyncio.to_thread(container.start)
        _SESSION.containers.append(container)
        return str(container.get_connection_url()), "testcontainers"
    node = local_postgres_node()
    owned = postgres.running_pid(node) is None
    await postgres.start_postgres(node)
    if owned:
        _owned_marker("postgres").touch()
    return node.admin_url, "local"


async def _kafka(use_docker: bool) -> tuple[str, str, str]:
    """(bootstrap, version, source) of a broker that has answered a metadata request."""
    if bootstrap := os.environ.get(ENV_KAFKA_BOOTSTRAP):
        await kafka.wait_until_ready(bootstrap, timeout_s=30)
        return bootstrap, "unknown (external broker; Kafka does not report its version)", "env"
    if use_docker:
        from testcontainers.community.kafka import KafkaContainer

        container = KafkaContainer(KAFKA_IMAGE).with_kraft()
        await asyncio.to_thread(container.start)
        _SESSION.containers.append(container)
        bootstrap = str(container.get_bootstrap_server())
        await kafka.wait_until_ready(bootstrap, timeout_s=60)
        return bootstrap, f"image {KAFKA_IMAGE}", "testcontainers"
    node = local_kafka_node()
    owned = kafka.running_pid(node) is None
    status = await kafka.start_kafka(node)
    if owned:
        _owned_marker("kafka").touch()
    return status.bootstrap, status.version or "unknown", "local"


def _owned_marker(component: str) -> Path:
    """Exists while ``component`` of the shared stack was started by a test session (so tests stop it)."""
    return TEST_HOME / f"started-by-tests.{component}"


def _take_lease() -> None:
    with file_lock(TEST_HOME / ".sessions.lock"):
        LEASES.mkdir(parents=True, exist_ok=True)
        (LEASES / str(os.getpid())).touch()


async def _teardown() -> None:
    """Release this session's lease; the last live session stops what test sessions started."""
    with file_lock(TEST_HOME / ".sessions.lock"):
        (LEASES / str(os.getpid())).unlink(missing_ok=True)
        others = [p for p in LEASES.glob("*") if p.name.isdigit() and _pid_alive(int(p.name))]
        if not others and not os.environ.get(ENV_KEEP):
            stops = []
            if _owned_marker("postgres").exists():
                stops.append(postgres.stop_postgres(local_postgres_node()))
            if _owned_marker("kafka").exists():
                stops.append(kafka.stop_kafka(local_kafka_node()))
            await asyncio.gather(*stops, return_exceptions=True)
            for component in ("postgres", "kafka"):
                _owned_marker(component).unlink(missing_ok=True)
    for container in _SESSION.containers:
        with contextlib.suppress(Exception):
            await asyncio.to_thread(container.stop)
    _SESSION.containers.clear()


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.asynccontextmanager
async def private_stack() -> AsyncIterator[tuple[postgres.PostgresNode, kafka.KafkaNode]]:
    """A PostgreSQL + Kafka of this test alone (fresh home, free ports), for restarts and kills.

    Always the local no-Docker servers, whatever the session uses: only they can be restarted in
    place. Costs a few seconds (both start concurrently); everything is stopped and deleted after.
    """
    home = TEST_HOME / f"private-{os.getpid()}-{uuid.uuid4().hex[:6]}"
    pg = postgres.PostgresNode(home=home, port=free_port(), fsync=False)
    kf = kafka.KafkaNode(home=home, port=free_port(), controller_port=free_port(), lib_dir=JAR_CACHE)
    try:
        await asyncio.gather(postgres.start_postgres(pg), kafka.start_kafka(kf))
        yield pg, kf
    finally:
        await asyncio.gather(postgres.stop_postgres(pg), kafka.stop_kafka(kf), return_exceptions=True)
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="session")
async def infra() -> AsyncIterator[Infra]:
    """Real infrastructure, started once per session (see the module docstring for the order)."""
    started = time.monotonic()
    _take_lease()
    try:
        need_docker = not (os.environ.get(ENV_DATABASE_URL) and os.environ.get(ENV_KAFKA_BOOTSTRAP))
        use_docker = need_docker and await asyncio.to_thread(docker_available)
        (pg_url, pg_source), (bootstrap, kafka_version, kafka_source) = await asyncio.gather(
            _postgres(use_docker), _kafka(use_docker)
        )
        pg_version = await postgres.server_version(pg_url)
    except Exception as exc:
        _SESSION.error = f"{type(exc).__name__}: {exc}"
        await _teardown()
        pytest.fail(f"test infrastructure could not be started: {_SESSION.error}", pytrace=False)
    source = pg_source if pg_source == kafka_source else f"postgres={pg_source}, kafka={kafka_source}"
    _SESSION.infra = Infra(pg_url, bootstrap, pg_version, kafka_version, source)
    _SESSION.seconds = time.monotonic() - started
    try:
        yield _SESSION.infra
    finally:
        await _teardown()


def summary_lines() -> list[str]:
    """What the session ran against, for the terminal summary (empty if no test used ``infra``)."""
    if _SESSION.error is not None:
        return [f"infra: FAILED to start: {_SESSION.error}"]
    found = _SESSION.infra
    if found is None:
        return []
    return [
        f"infra source: {found.source} (ready in {_SESSION.seconds:.1f}s)",
        f"kafka: {found.kafka_version} at {found.kafka_bootstrap}",
        f"postgres: {found.postgres_version}",
    ]
