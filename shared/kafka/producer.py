"""The one way batchline produces to Kafka: acks=all and idempotence, so a retried send never duplicates."""

from __future__ import annotations

from aiokafka import AIOKafkaProducer

from shared.kafka.connection import client_options
from shared.settings import Settings


def make_producer(settings: Settings, *, client_id: str = "batchline") -> AIOKafkaProducer:
    return AIOKafkaProducer(
        **client_options(settings),
        client_id=client_id,
        acks="all",
        enable_idempotence=True,
        linger_ms=5,
        max_batch_size=256 * 1024,
        max_request_size=8 * 1024 * 1024,
        request_timeout_ms=30_000,
    )
