"""Replaying a topic for reprocessing: move a consumer group back to the earliest offsets, and
measure how far a group is behind (used to know when a replay has been consumed).

Offsets can only be moved while the group has no live member, so stop the service's processes
first; ``reset_to_earliest`` refuses (Kafka answers with an error) otherwise.
"""

from __future__ import annotations

from collections.abc import Sequence

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from shared.kafka.connection import client_options
from shared.settings import Settings


async def _partitions(settings: Settings, topics: Sequence[str]) -> list[TopicPartition]:
    admin = AIOKafkaAdminClient(**client_options(settings), client_id="batchline-replay")
    await admin.start()
    try:
        described = await admin.describe_topics(list(topics))
    finally:
        await admin.close()
    found = []
    for topic in described:
        if topic.get("error_code", 0):
            name, code = topic.get("topic"), topic["error_code"]
            raise ValueError(f"topic {name!r} cannot be described (Kafka error {code})")
        for partition in sorted(p["partition"] for p in topic["partitions"]):
            found.append(TopicPartition(topic["topic"], partition))
    return found


async def reset_to_earliest(settings: Settings, group_id: str, topics: Sequence[str]) -> int:
    """Commit the beginning offset of every partition for the group; returns partitions reset."""
    consumer = AIOKafkaConsumer(**client_options(settings), group_id=group_id, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = await _partitions(settings, topics)
        consumer.assign(partitions)
        beginning = await consumer.beginning_offsets(partitions)
        await consumer.commit(dict(beginning.items()))
        return len(partitions)
    finally:
        await consumer.stop()


async def group_lag(settings: Settings, group_id: str, topics: Sequence[str]) -> int:
    """Records on ``topics`` not yet committed by the group (unconsumed partitions count in full)."""
    consumer = AIOKafkaConsumer(**client_options(settings), group_id=group_id, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = await _partitions(settings, topics)
        ends = await consumer.end_offsets(partitions)
        begins = await consumer.beginning_offsets(partitions)
        lag = 0
        for tp in partitions:
            committed = await consumer.committed(tp)
            lag += ends[tp] - (committed if committed is not None else begins[tp])
        return lag
    finally:
        await consumer.stop()
