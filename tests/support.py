"""Fixtures shared by integration and e2e tests: an isolated database, topics and emulator per test.

Isolation: every test gets its own database, cloned from a template migrated once per session
(``CREATE DATABASE ... TEMPLATE`` takes milliseconds), and its own topic/group prefix, so tests
never see each other's rows, records or consumer offsets.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from emulator.config import EmulatorConfig
from emulator.server import EmulatorServer
from shared.db.engine import make_engine
from shared.db.migrate import upgrade
from shared.kafka.topics import ensure_topics
from shared.settings import Settings
from tests.infra import Infra

TEMPLATE_DB = f"batchline_template_{uuid.uuid4().hex[:8]}"


def with_database(url: str, name: str) -> str:
    return make_url(url).set(database=name).render_as_string(hide_password=False)


def _plain(url: str) -> str:
    """asyncpg.connect wants a libpq-style URL."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def run_in_transaction(url: str, *sql: str) -> list[asyncpg.Record]:
    """The statements in one transaction (a failing one undoes the others); the last one's rows.

    What the migration tests write and read with: plain SQL on a fresh connection, no ORM."""
    conn = await asyncpg.connect(_plain(url))
    try:
        rows: list[asyncpg.Record] = []
        async with conn.transaction():
            for statement in sql:
                rows = list(await conn.fetch(statement))
        return rows
    finally:
        await conn.close()


async def _admin(infra: Infra, sql: str) -> None:
    conn = await asyncpg.connect(_plain(infra.database_admin_url))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
async def template_db(infra: Infra) -> AsyncIterator[str]:
    await _admin(infra, f'CREATE DATABASE "{TEMPLATE_DB}"')
    await asyncio.to_thread(upgrade, with_database(infra.database_admin_url, TEMPLATE_DB))
    yield TEMPLATE_DB
    await _admin(infra, f'DROP DATABASE IF EXISTS "{TEMPLATE_DB}" WITH (FORCE)')


@pytest.fixture
async def database_url(infra: Infra, template_db: str) -> AsyncIterator[str]:
    name = f"t_{uuid.uuid4().hex[:12]}"
    await _admin(infra, f'CREATE DATABASE "{name}" TEMPLATE "{template_db}"')
    yield with_database(infra.database_admin_url, name)
    await _admin(infra, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
async def empty_database(infra: Infra) -> AsyncIterator[str]:
    """A database with no schema at all, for tests that run the migrations themselves."""
    name = f"m_{uuid.uuid4().hex[:12]}"
    await _admin(infra, f'CREATE DATABASE "{name}"')
    yield with_database(infra.database_admin_url, name)
    await _admin(infra, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    eng = make_engine(database_url, pool_size=5)
    yield eng
    await eng.dispose()


@pytest.fixture
def emulator_config() -> EmulatorConfig:
    """Override in a test module (or parametrize) to turn faults on."""
    return EmulatorConfig(port=0, stage_s=0.1, seed=11)


@pytest.fixture
def emulator(emulator_config: EmulatorConfig) -> Iterator[EmulatorServer]:
    with EmulatorServer(emulator_config) as server:
        yield server


async def delete_topics(bootstrap: str, prefix: str) -> None:
    """Delete a test's topics. Every test makes its own (3 partitions x 10 topics): kept, a few suite runs
    against one long-lived broker hold tens of thousands of partitions, one file handle or more each,
    until the broker runs out of them and stops answering. A broker the test itself stopped (chaos and
    outage tests) is not an error of the test: the warning says so."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id="batchline-test-cleanup")
    try:
        await admin.start()
        names = [t for t in await admin.list_topics() if t.startswith(prefix)]
        if names:
            await admin.delete_topics(names)
    except KafkaError as exc:
        logging.getLogger(__name__).warning("could not delete the test topics %s*: %r", prefix, exc)
    finally:
        await admin.close()


@pytest.fixture
async def make_settings(
    infra: Infra, database_url: str, emulator: EmulatorServer, tmp_path: Path
) -> AsyncIterator[Callable[..., Settings]]:
    prefix = f"t{uuid.uuid4().hex[:10]}."

    def build(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "database_url": database_url,
            "kafka_bootstrap_servers": infra.kafka_bootstrap,
            "topic_prefix": prefix,
            "topic_partitions": 3,
            "openai_base_url": emulator.base_url,
            "openai_api_key": "sk-test-" + "k" * 24,
            "batch_linger_s": 0.5,
            "poll_interval_s": 0.2,
            "poll_max_interval_s": 0.5,
            "retry_backoff_s": 0.2,
            "provider_retry_max_s": 20.0,
            "home": tmp_path / "home",
            "log_level": "INFO",
        }
        values.update(overrides)
        return Settings(**values)

    yield build
    await delete_topics(infra.kafka_bootstrap, prefix)


@pytest.fixture
async def settings(make_settings: Callable[..., Settings]) -> Settings:
    s = make_settings()
    await ensure_topics(s)
    return s
