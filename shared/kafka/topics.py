"""Topic administration: every pipeline topic and its ``.dlq`` twin, created idempotently."""

from __future__ import annotations

import asyncio
import time

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from shared.kafka.connection import client_options
from shared.settings import Settings, Topics


def topic_names(settings: Settings) -> list[str]:
    names = settings.topics.all()
    return names + [Topics.dlq(t) for t in names]


async def ensure_topics(settings: Settings, *, partitions: int | None = None) -> dict[str, bool]:
    """Create missing topics; returns name -> True if created now, False if it already existed.

    Existing topics are left alone (partition counts are never changed behind an operator's back).
    Returns once the broker serves every topic (each partition has a leader), created now or not.
    """
    wanted = topic_names(settings)
    count = partitions or settings.topic_partitions
    admin = AIOKafkaAdminClient(**client_options(settings), client_id="batchline-admin")
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [t for t in wanted if t not in existing]
        created: set[str] = set()
        if missing:
            new = [
                NewTopic(t, num_partitions=count, replication_factor=settings.topic_replication_factor)
                for t in missing
            ]
            try:
                response = await admin.create_topics(new)
            except TopicAlreadyExistsError:  # another process raced us: fine
                response = None
            created = set(missing)
            if response is not None:
                for name, code, *_ in getattr(response, "topic_errors", []):
                    if code not in (0, TopicAlreadyExistsError.errno):
                        raise RuntimeError(f"creating topic {name} failed with Kafka error code {code}")
                    if code != 0:
                        created.discard(name)
        await _wait_until_served(admin, wanted)
        return {t: t in created for t in wanted}
    finally:
        await admin.close()


#: How long a topic just created may take to be served (every partition with a leader).
READY_TIMEOUT_S = 30.0


async def _wait_until_served(admin: AIOKafkaAdminClient, names: list[str]) -> None:
    """Return once the broker describes every topic with a leader for each partition.

    A created topic is not served at once: until its partitions have leaders, a describe answers
    ``UNKNOWN_TOPIC_OR_PARTITION`` or ``LEADER_NOT_AVAILABLE``, and a service starting on it (or an
    operator's check right after ``batchline topics``) would see a topic that is not there yet.
    """
    deadline = time.monotonic() + READY_TIMEOUT_S
    pending = list(names)
    while True:
        found = await admin.describe_topics(pending)
        served = {
            t["topic"]
            for t in found
            if t["error_code"] == 0 and t["partitions"] and all(p["leader"] >= 0 for p in t["partitions"])
        }
        pending = [t for t in pending if t not in served]
        if not pending:
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"topics not served by the broker after {READY_TIMEOUT_S:.0f} s: {pending}")
        await asyncio.sleep(0.2)
