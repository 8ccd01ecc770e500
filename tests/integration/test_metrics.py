"""Prometheus metrics: counters an operator scrapes, and nothing secret in them."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from devtools.stack import free_port
from shared.kafka.topics import ensure_topics
from shared.settings import Settings
from tests.pipeline import publish, running_services, scalar

API_KEY = "sk-metrics-canary-0123456789abcdef"


async def test_producer_exposes_consumption_and_dead_letters(
    make_settings: Callable[..., Settings], engine: AsyncEngine
) -> None:
    port = free_port()
    settings = make_settings(metrics_port=port, openai_api_key=API_KEY)
    await ensure_topics(settings)
    good = [{"event_id": f"e{i}", "company_id": "acme", "session_id": f"s{i}", "started_at": "2026-05-01T10:00:00Z",
             "messages": [{"role": "user", "content": "hello"}]} for i in range(5)]
    async with running_services(settings, services=("producer",)):
        await publish(settings, [*good, b"not json"])
        for _ in range(100):
            if await scalar(engine, "SELECT count(*) FROM ai_processing_requests") == 5:
                break
            await asyncio.sleep(0.2)
        await asyncio.sleep(1.0)  # the outbox relay publishes right after the commit
        async with httpx.AsyncClient() as client:
            text = (await client.get(f"http://127.0.0.1:{port}/metrics")).text
    assert 'batchline_consumer_records_total{service="producer"} 6.0' in text
    assert 'batchline_consumer_dead_lettered_total{service="producer"} 1.0' in text
    assert 'batchline_outbox_published_total{service="producer"} 5.0' in text
    assert API_KEY not in text
