"""A benchmark's own database and topics on the running stack, created for the run and dropped after.

Benchmarks run against the PostgreSQL and Kafka given by ``BATCHLINE_DATABASE_URL`` and
``BATCHLINE_KAFKA_BOOTSTRAP_SERVERS`` (or the dev stack's defaults), which others may share: each run
gets a fresh database and a topic prefix of its own, so two runs never see each other's rows.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import orjson
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError
from sqlalchemy.engine import make_url

from devtools.infra.postgres import resolve_database_url
from shared.db.migrate import upgrade
from shared.kafka.connection import client_options
from shared.kafka.producer import make_producer
from shared.kafka.topics import ensure_topics
from shared.settings import Settings


@asynccontextmanager
async def scratch_database(settings: Settings) -> AsyncIterator[str]:
    """A freshly migrated database (its SQLAlchemy URL), dropped on exit."""
    admin = make_url(resolve_database_url(settings))
    name = f"bench_{uuid.uuid4().hex[:8]}"
    plain = admin.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    conn = await asyncpg.connect(plain)
    await conn.execute(f'CREATE DATABASE "{name}"')
    url = admin.set(database=name).render_as_string(hide_password=False)
    try:
        await asyncio.to_thread(upgrade, url)
        yield url
    finally:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.close()


def asyncpg_dsn(url: str) -> str:
    """The plain ``postgresql://`` form of a SQLAlchemy URL, for asyncpg's COPY."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@asynccontextmanager
async def scratch_topics(settings: Settings) -> AsyncIterator[Settings]:
    """``settings`` with a topic prefix of this run's own; the topics are created, and deleted on exit."""
    prefixed = settings.model_copy(update={"topic_prefix": f"bench{uuid.uuid4().hex[:8]}."})
    await ensure_topics(prefixed)
    try:
        yield prefixed
    finally:
        admin = AIOKafkaAdminClient(**client_options(prefixed), client_id="batchline-bench-cleanup")
        await admin.start()
        try:
            names = [t for t in await admin.list_topics() if t.startswith(prefixed.topic_prefix)]
            if names:
                await admin.delete_topics(names)
        finally:
            await admin.close()


async def publish(settings: Settings, topic: str, events: Iterable[dict[str, Any]]) -> int:
    """Publish ``events`` (keyed by company, as upstream does) and wait for every acknowledgement."""
    producer = make_producer(settings, client_id="batchline-bench-publisher")
    await producer.start()
    try:
        futures = [
            await producer.send(topic, orjson.dumps(e), key=str(e["company_id"]).encode()) for e in events
        ]
        await asyncio.gather(*futures)
        return len(futures)
    finally:
        await producer.stop()


@asynccontextmanager
async def scratch_settings(name: str, **overrides: Any) -> AsyncIterator[Settings]:
    """Settings whose database and topic prefix belong to this run alone (created, then dropped)."""
    base = Settings()
    admin_url = make_url(resolve_database_url(base))
    database = f"bench_{name}_{uuid.uuid4().hex[:8]}"
    plain = admin_url.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    conn = await asyncpg.connect(plain)
    await conn.execute(f'CREATE DATABASE "{database}"')
    url = admin_url.set(database=database).render_as_string(hide_password=False)
    prefix = f"{database}."
    settings = Settings(database_url=url, topic_prefix=prefix, **overrides)
    try:
        await asyncio.to_thread(upgrade, url)
        await ensure_topics(settings)
        yield settings
    finally:
        await delete_topics(settings, prefix)
        await conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        await conn.close()


async def delete_topics(settings: Settings, prefix: str) -> None:
    """Every topic of this run (a long-lived shared broker must not collect them)."""
    admin = AIOKafkaAdminClient(**client_options(settings), client_id="batchline-bench-cleanup")
    try:
        await admin.start()
        names = [t for t in await admin.list_topics() if t.startswith(prefix)]
        if names:
            await admin.delete_topics(names)
    except KafkaError as exc:
        print(f"could not delete the topics {prefix}*: {exc!r}")
    finally:
        await admin.close()
