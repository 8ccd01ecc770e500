"""Helpers of the fuzz, limits and security tests (this module holds no tests itself).

* ``corpus``: draw a list of examples from a hypothesis strategy. The tests fuzz a *running* service,
  so hypothesis generates the whole corpus first (deterministically: ``derandomize``) and the test
  then pushes it through one long-lived service and checks every example's outcome.
* ``read_topic``: every record of a topic, read from the beginning without a consumer group.
* ``wait_group_caught_up``: a consumer group has committed everything on its topic (so every record
  was handled or dead-lettered).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any, TypeVar

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.structs import ConsumerRecord
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from shared.kafka.connection import client_options
from shared.kafka.replay import group_lag
from shared.settings import Settings

T = TypeVar("T")


def corpus(strategy: st.SearchStrategy[T], count: int) -> list[T]:
    """``count`` examples of ``strategy`` (fewer only if hypothesis runs out of distinct ones)."""
    drawn: list[T] = []

    @hsettings(
        max_examples=count,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def collect(example: T) -> None:
        drawn.append(example)

    collect()
    return drawn


async def wait_group_caught_up(settings: Settings, service: str, topic: str, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    lag = -1
    while time.monotonic() < deadline:
        lag = await group_lag(settings, settings.group_id(service), [topic])
        if lag == 0:
            return
        await asyncio.sleep(0.5)
    raise AssertionError(f"{service} still {lag} records behind on {topic} after {timeout_s}s")


async def read_topic(
    settings: Settings, topic: str, timeout_s: float = 60.0
) -> list[ConsumerRecord[Any, Any]]:
    """Every record currently on ``topic`` (all partitions, beginning to the end offsets)."""
    consumer = AIOKafkaConsumer(
        **client_options(settings),
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_partition_fetch_bytes=16 * 1024 * 1024,
        fetch_max_bytes=64 * 1024 * 1024,
    )
    await consumer.start()
    try:
        partitions = await _partitions(consumer, topic)
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        records: list[ConsumerRecord[Any, Any]] = []
        deadline = time.monotonic() + timeout_s
        while [tp for tp in partitions if await consumer.position(tp) < ends[tp]]:
            if time.monotonic() > deadline:
                raise AssertionError(f"could not read {topic} to its end in {timeout_s}s")
            for batch in (await consumer.getmany(timeout_ms=500, max_records=5_000)).values():
                records.extend(batch)
        return records
    finally:
        await consumer.stop()


async def _partitions(consumer: AIOKafkaConsumer, topic: str) -> Sequence[TopicPartition]:
    for _ in range(50):
        found = consumer.partitions_for_topic(topic)
        if found:
            return [TopicPartition(topic, p) for p in sorted(found)]
        await consumer._client.force_metadata_update()  # topic metadata is fetched lazily
        await asyncio.sleep(0.1)
    raise AssertionError(f"topic {topic} has no partitions")


def producer_task_alive(name: str = "producer") -> bool:
    """The in-process service task (tests.pipeline.running_services names tasks by service) runs."""
    tasks = [t for t in asyncio.all_tasks() if t.get_name() == name]
    return bool(tasks) and all(not t.done() for t in tasks)
