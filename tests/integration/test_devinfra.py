"""The real infrastructure answers, and the local (no-Docker) lifecycle is idempotent and restartable."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from devtools.infra import kafka, postgres
from devtools.infra import local as devcli
from devtools.infra._proc import port_answers
from shared.errors import CliError
from shared.settings import Settings
from tests.infra import (
    JAR_CACHE,
    REPO_ROOT,
    TEST_HOME,
    Infra,
    free_port,
    local_kafka_node,
    local_postgres_node,
    private_stack,
)

Stack = tuple[postgres.PostgresNode, kafka.KafkaNode]


async def _roundtrip(bootstrap: str, topic: str, payload: bytes, *, create: bool = True) -> bytes:
    """Create ``topic`` (optionally), produce ``payload`` to it, read the topic's first record back."""
    if create:
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
        await admin.start()
        try:
            await admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])
        finally:
            await admin.close()
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
        await producer.start()
        try:
            await producer.send_and_wait(topic, payload)
        finally:
            await producer.stop()
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest")
    await consumer.start()
    try:
        record = await asyncio.wait_for(consumer.getone(), 30)
    finally:
        await consumer.stop()
    assert record.value is not None
    return bytes(record.value)


async def _scalar(url: str, sql: str, *, autocommit: bool = False) -> object:
    engine = create_async_engine(
        url, poolclass=NullPool, isolation_level="AUTOCOMMIT" if autocommit else None
    )
    try:
        async with engine.begin() as conn:
            result = await conn.execute(text(sql))
            return result.scalar() if result.returns_rows else None
    finally:
        await engine.dispose()


@pytest.fixture(scope="module")
async def local_stack(infra: Infra) -> AsyncIterator[Stack]:
    """The session's local servers; when the session uses external ones, a private local pair."""
    if infra.source == "local":
        yield local_postgres_node(), local_kafka_node()
        return
    async with private_stack() as stack:
        yield stack


async def test_kafka_answers(infra: Infra) -> None:
    topic = f"devinfra-{uuid.uuid4().hex[:12]}"
    assert await _roundtrip(infra.kafka_bootstrap, topic, b"hello") == b"hello"
    assert infra.kafka_version


async def test_postgres_answers_and_allows_create_database(infra: Infra) -> None:
    version = await _scalar(infra.database_admin_url, "SELECT version()")
    assert isinstance(version, str)
    assert "PostgreSQL" in version
    name = f"devinfra_{uuid.uuid4().hex[:12]}"
    await _scalar(infra.database_admin_url, f"CREATE DATABASE {name}", autocommit=True)
    db_url = make_url(infra.database_admin_url).set(database=name).render_as_string(hide_password=False)
    assert await _scalar(db_url, "SELECT current_database()") == name
    await _scalar(infra.database_admin_url, f"DROP DATABASE {name}", autocommit=True)


async def test_up_twice_is_harmless(local_stack: Stack) -> None:
    pg, kf = local_stack
    pids = (postgres.running_pid(pg), kafka.running_pid(kf))
    assert None not in pids
    for _ in range(2):
        pg_status, kafka_status = await asyncio.gather(postgres.start_postgres(pg), kafka.start_kafka(kf))
        # An idempotent start restarts nothing: the same processes answer.
        assert (pg_status.pid, kafka_status.pid) == pids
    assert (postgres.running_pid(pg), kafka.running_pid(kf)) == pids
    assert kafka.kafka_version(kf) == "4.1.1"
    assert "PostgreSQL" in await postgres.server_version(pg.url)

    settings = Settings(
        home=kf.home, kafka_port=kf.port, kafka_controller_port=kf.controller_port,
        kafka_bootstrap_servers=kf.bootstrap, database_url=None,
    )  # fmt: skip
    assert postgres.resolve_database_url(settings) == pg.url  # port read from the running server
    rows = {row.component: row for row in await devcli.status(settings)}
    assert rows["kafka"].state == rows["postgres"].state == "running"
    assert rows["kafka"].version == "4.1.1"


async def test_busy_port_is_a_clear_error(tmp_path: Path) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        busy = int(squatter.getsockname()[1])
        node = kafka.KafkaNode(home=tmp_path, port=busy, controller_port=free_port(), lib_dir=JAR_CACHE)
        # Refused before anything is started (the message names the port); wait_for is a hang detector.
        with pytest.raises(CliError, match=rf"port {busy} \(Kafka\) is already in use"):
            await asyncio.wait_for(kafka.start_kafka(node), timeout=120)
        with pytest.raises(CliError, match=rf"port {busy} \(PostgreSQL\) is already in use"):
            await asyncio.wait_for(
                postgres.start_postgres(postgres.PostgresNode(home=tmp_path, port=busy)), timeout=120
            )
    assert kafka.running_pid(node) is None


def test_resolve_database_url_prefers_the_configured_url(tmp_path: Path) -> None:
    url = "postgresql+asyncpg://app:secret@db.example:5432/batchline"
    assert postgres.resolve_database_url(Settings(home=tmp_path, database_url=url)) == url
    embedded = postgres.resolve_database_url(Settings(home=tmp_path, database_url=None))
    assert embedded == f"postgresql+asyncpg://postgres@127.0.0.1:{postgres.DEFAULT_PG_PORT}/batchline"


async def test_restart_keeps_data() -> None:
    """What the reliability tests rely on: a restart (even a crash-like one) loses nothing committed."""
    async with private_stack() as (pg, kf):
        await _check_restart_keeps_data(pg, kf)


async def _check_restart_keeps_data(pg: postgres.PostgresNode, kf: kafka.KafkaNode) -> None:
    table = f"devinfra_{uuid.uuid4().hex[:12]}"
    await _scalar(pg.url, f"CREATE TABLE {table} (v int)")
    await _scalar(pg.url, f"INSERT INTO {table} VALUES (42)")
    topic = f"devinfra-{uuid.uuid4().hex[:12]}"
    assert await _roundtrip(kf.bootstrap, topic, b"before restart") == b"before restart"

    old = (postgres.running_pid(pg), kafka.running_pid(kf))
    await asyncio.gather(
        postgres.restart_postgres(pg, mode="immediate"), kafka.restart_kafka(kf, graceful=False)
    )
    assert (postgres.running_pid(pg), kafka.running_pid(kf)) != old

    assert await _scalar(pg.url, f"SELECT v FROM {table}") == 42
    assert await _roundtrip(kf.bootstrap, topic, b"", create=False) == b"before restart"
    await _scalar(pg.url, f"DROP TABLE {table}")


# --- `dev up` with changed ports ------------------------------------------------------------------


@dataclass(frozen=True)
class Ports:
    postgres: int
    kafka: int
    controller: int


def _fresh_ports(taken: set[int]) -> Ports:
    found: list[int] = []
    while len(found) < 3:
        port = free_port()
        if port not in taken and port not in found:
            found.append(port)
    taken.update(found)
    return Ports(*found)


def _dev(home: Path, ports: Ports, command: str) -> subprocess.CompletedProcess[str]:
    """``batchline dev <command>`` as an operator runs it: a private home, ports from the environment."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BATCHLINE_")}
    env.update(
        PYTHONPATH=str(REPO_ROOT),
        BATCHLINE_HOME=str(home),
        BATCHLINE_POSTGRES_PORT=str(ports.postgres),
        BATCHLINE_KAFKA_PORT=str(ports.kafka),
        BATCHLINE_KAFKA_CONTROLLER_PORT=str(ports.controller),
        BATCHLINE_KAFKA_BOOTSTRAP_SERVERS=f"127.0.0.1:{ports.kafka}",
    )
    return subprocess.run(
        [sys.executable, "-m", "cli.main", "dev", command],
        capture_output=True, text=True, timeout=300, env=env, cwd=REPO_ROOT, check=False,
    )  # fmt: skip


@pytest.fixture
def private_home() -> Iterator[Path]:
    """A home of this test alone, under the checkout like ``private_stack``'s: as root the server runs
    as an unprivileged account that must traverse every parent, and pytest's tmp root is 0700 (and
    reset to it by any pytest session starting meanwhile)."""
    home = TEST_HOME / f"ports-{os.getpid()}-{uuid.uuid4().hex[:6]}"
    yield home
    shutil.rmtree(home, ignore_errors=True)


def _last_line(result: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in result.stderr, result.stderr
    return result.stderr.strip().splitlines()[-1] if result.stderr.strip() else ""


async def test_dev_up_moves_stopped_servers_to_changed_ports(private_home: Path) -> None:
    """Regression: `dev up` with BATCHLINE_POSTGRES_PORT changed after a first `up` + `down` said the
    server "already runs on port ..." though nothing ran. A stopped server moves to the new ports;
    one that runs is named, with its real port and pid and both ways out, exit 2."""
    home = private_home
    (home / "kafka").mkdir(parents=True)
    (home / "kafka" / "lib").symlink_to(kafka.resolve_jars(JAR_CACHE))  # no Maven run for this home
    taken: set[int] = set()
    a, b = _fresh_ports(taken), _fresh_ports(taken)
    pg, kf = postgres.PostgresNode(home=home), kafka.KafkaNode(home=home)
    try:
        for ports, command in ((a, "up"), (a, "down"), (b, "up")):
            result = await asyncio.to_thread(_dev, home, ports, command)
            assert result.returncode == 0, f"dev {command} on {ports}: {result.stdout}\n{result.stderr}"
        assert await _scalar(postgres.embedded_url(b.postgres), "SHOW port") == str(b.postgres)
        topic = f"devinfra-{uuid.uuid4().hex[:12]}"
        assert await _roundtrip(f"127.0.0.1:{b.kafka}", topic, b"moved") == b"moved"
        assert not any(port_answers("127.0.0.1", p) for p in (a.postgres, a.kafka, a.controller))
        pids = (postgres.running_pid(pg), kafka.running_pid(kf))
        assert None not in pids

        # The servers run on B: `up` on A's ports says where they run, starts nothing, stops nothing.
        refused = await asyncio.to_thread(_dev, home, Ports(a.postgres, b.kafka, b.controller), "up")
        assert refused.returncode == 2, refused.stdout + refused.stderr
        assert _last_line(refused) == (
            f"error: postgres runs on port {b.postgres} (pid {pids[0]}); run `batchline dev down` first "
            f"or set BATCHLINE_POSTGRES_PORT={b.postgres}"
        )
        refused = await asyncio.to_thread(_dev, home, Ports(b.postgres, a.kafka, a.controller), "up")
        assert refused.returncode == 2, refused.stdout + refused.stderr
        assert _last_line(refused) == (
            f"error: kafka runs on port {b.kafka}, controller port {b.controller} (pid {pids[1]}); "
            f"run `batchline dev down` first or set BATCHLINE_KAFKA_PORT={b.kafka} and "
            f"BATCHLINE_KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:{b.kafka} and "
            f"BATCHLINE_KAFKA_CONTROLLER_PORT={b.controller}"
        )
        assert (postgres.running_pid(pg), kafka.running_pid(kf)) == pids
        assert not any(port_answers("127.0.0.1", p) for p in (a.postgres, a.kafka, a.controller))
    finally:
        await asyncio.to_thread(_dev, home, b, "down")
        await asyncio.gather(postgres.stop_postgres(pg), kafka.stop_kafka(kf), return_exceptions=True)


async def test_stale_postmaster_pid_of_a_live_stranger_is_not_a_running_server(private_home: Path) -> None:
    """What made `dev up` claim a server ran: after a crash or reboot, ``postmaster.pid`` names a pid
    that now belongs to another process, on a shared machine often another PostgreSQL's (it "mentions
    postgres"). It is no server of ours: `up` moves to the new port, `down` signals nobody."""
    taken: set[int] = set()
    a, b = _fresh_ports(taken).postgres, _fresh_ports(taken).postgres
    old = postgres.PostgresNode(home=private_home, port=a, fsync=False)
    await postgres.start_postgres(old)
    lines = (old.pgdata / "postmaster.pid").read_text().splitlines()
    await postgres.stop_postgres(old)
    stranger = await asyncio.create_subprocess_exec(
        sys.executable, "-c", "import time; time.sleep(300)", "postgres: checkpointer"
    )
    try:
        (old.pgdata / "postmaster.pid").write_text("\n".join([str(stranger.pid), *lines[1:]]) + "\n")
        new = postgres.PostgresNode(home=private_home, port=b, fsync=False)
        assert postgres.running_pid(new) is None
        assert not postgres.postgres_status(new).running
        assert await postgres.stop_postgres(new) is False  # `dev down`: nothing to stop, nobody signalled
        status = await postgres.start_postgres(new)
        assert status.running and status.url == new.url
        assert await _scalar(new.admin_url, "SHOW port") == str(b)
        assert stranger.returncode is None, "the stranger was signalled"
    finally:
        stranger.kill()
        await stranger.wait()
        await postgres.stop_postgres(postgres.PostgresNode(home=private_home, port=b))
