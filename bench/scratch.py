"""A benchmark's own database and topics on the running servers, dropped at the end.

The benchmarks run on a machine shared with other work, against the PostgreSQL and Kafka given by
``BATCHLINE_DATABASE_URL`` / ``BATCHLINE_KAFKA_BOOTSTRAP_SERVERS`` (or ``batchline dev up``'s). Each run
creates a fresh database (migrated to head) and a fresh topic prefix, so it neither sees nor disturbs
anyone else's rows or messages, and deletes both when it ends, however it ends.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError
from sqlalchemy.engine import make_url

from devtools.infra.postgres import resolve_database_url
from shared.db.migrate import upgrade
from shared.kafka.connection import client_options
from shared.kafka.topics import ensure_topics
from shared.settings import Settings


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
