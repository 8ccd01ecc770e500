"""Topic administration: every pipeline topic and its ``.dlq`` twin, created idempotently."""

from __future__ import annotations

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
        return {t: t in created for t in wanted}
    finally:
        await admin.close()
