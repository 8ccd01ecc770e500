"""B2 intake: the producer service's real path, ``session.events`` to the database and ``request.pending``.

50,000 session events of 10 messages each are published to a topic of this run's own; then one
producer instance (``services.producer.main.run``, the process's real wiring: consumer loop, handler,
outbox relay) consumes them into a scratch database and relays every ``request.pending`` through the
outbox. The clock starts at the first handler transaction (``processed_events.processed_at``, the
server's clock) and stops when every request exists, the outbox is empty and ``request.pending``
holds one record per request.

Two physical limits are measured in the same run, on the same events: aiokafka consume + parse
(``shared.events.decode``, the loop's own decoder) of the topic, and a bare COPY of exactly the rows
the real path writes (processed ids, sessions, messages, requests, outbox rows) into the same tables.
The producer does the two one after the other, so their serial sum is the stage's limit.

Run: ``python -m bench.b2_intake [--sessions 50000] [--profile out.html]`` (the profile needs
pyinstrument importable; it covers the real path only).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import random
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition
from sqlalchemy import text

from bench.results import BenchRow, save
from bench.scratch import asyncpg_dsn, publish, scratch_database, scratch_topics
from services.producer.repository import CreatedRequest
from services.producer.sessions import content_hash, plan_requests
from shared.db.engine import make_engine
from shared.events import SessionEvent, decode, pending_event
from shared.kafka.connection import client_options
from shared.lifecycle import REQUEST_INITIAL
from shared.settings import Settings

TARGET = 5_000.0  # sessions/s, one instance
COMPANIES = 8
MESSAGES = 10
WORDS = [
    "leave",
    "vacation",
    "payroll",
    "invoice",
    "password",
    "laptop",
    "access",
    "holiday",
    "contract",
    "benefits",
]


def make_events(n: int, seed: int = 2, words: int = 12) -> list[dict[str, Any]]:
    """``n`` distinct sessions of ``MESSAGES`` messages (~1.3 KB per event, as upstream sends)."""
    rnd = random.Random(seed)
    start = datetime(2026, 5, 1, 9, tzinfo=UTC)
    events = []
    for i in range(n):
        company = f"company-{i % COMPANIES}"
        messages = [
            {
                "role": "user" if m % 2 == 0 else "assistant",
                "content": " ".join(rnd.choice(WORDS) for _ in range(words)) + f" #{i}.{m}",
            }
            for m in range(MESSAGES)
        ]
        at = start + timedelta(seconds=i)
        events.append(
            {
                "event_id": f"ev-{i}",
                "company_id": company,
                "session_id": f"s-{i}",
                "started_at": at.isoformat(),
                "ended_at": (at + timedelta(minutes=5)).isoformat(),
                "messages": messages,
            }
        )
    return events


async def consume_and_parse(settings: Settings, topic: str, expected: int) -> float:
    """Seconds for one plain aiokafka consumer to read ``expected`` records and decode each."""
    consumer = AIOKafkaConsumer(
        **client_options(settings),
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        fetch_max_bytes=16 * 1024 * 1024,
        max_partition_fetch_bytes=4 * 1024 * 1024,
    )
    await consumer.start()
    try:
        consumer.assign([TopicPartition(topic, p) for p in range(settings.topic_partitions)])
        seen = 0
        started = time.perf_counter()
        while seen < expected:
            for records in (
                await consumer.getmany(timeout_ms=500, max_records=settings.consumer_max_records)
            ).values():
                for r in records:
                    decode(SessionEvent, r.value)
                seen += len(records)
        return time.perf_counter() - started
    finally:
        await consumer.stop()


def rows_of(
    settings: Settings, raw: list[dict[str, Any]]
) -> dict[str, tuple[list[str], list[tuple[Any, ...]]]]:
    """Exactly the rows the real path writes for these events, per table (columns, records)."""
    events = [decode(SessionEvent, orjson.dumps(e)) for e in raw]
    group = settings.group_id("producer")
    planned = plan_requests(
        events, default_model=settings.default_model, max_conversation_chars=settings.max_conversation_chars
    )
    pending = [
        pending_event(
            CreatedRequest(
                p.id, p.session_id, p.company_id, p.processing_type.value, p.model, p.approx_bytes
            ),
            "created",
        )
        for p in planned
    ]
    return {
        "processed_events": (["consumer_group", "event_id"], [(group, e.event_id) for e in events]),
        "sessions": (
            ["id", "company_id", "started_at", "ended_at", "content_hash", "message_count"],
            [
                (e.session_id, e.company_id, e.started_at, e.ended_at, content_hash(e), len(e.messages))
                for e in events
            ],
        ),
        "session_messages": (
            ["company_id", "session_id", "role", "content", "order"],
            [
                (e.company_id, e.session_id, role, content, order)
                for e in events
                for order, role, content in e.ordered_messages()
            ],
        ),
        "ai_processing_requests": (
            [
                "id",
                "session_id",
                "company_id",
                "processing_type",
                "model",
                "revision",
                "status",
                "attempt",
                "approx_bytes",
            ],
            [
                (
                    p.id,
                    p.session_id,
                    p.company_id,
                    p.processing_type.value,
                    p.model,
                    p.revision,
                    REQUEST_INITIAL.value,
                    1,
                    p.approx_bytes,
                )
                for p in planned
            ],
        ),
        "outbox": (
            ["topic", "key", "payload"],
            [(settings.topics.request_pending, e.key(), e.to_bytes()) for e in pending],
        ),
    }


async def bare_copy(url: str, tables: dict[str, tuple[list[str], list[tuple[Any, ...]]]]) -> float:
    """Seconds to COPY the rows into the (empty) real tables in one transaction; the rows are removed after."""
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        started = time.perf_counter()
        async with conn.transaction():
            for table, (columns, records) in tables.items():
                await conn.copy_records_to_table(table, records=records, columns=columns)
        elapsed = time.perf_counter() - started
        await conn.execute("TRUNCATE " + ", ".join(tables) + " CASCADE")
        return elapsed
    finally:
        await conn.close()


_PROGRESS = text(
    "SELECT (SELECT count(*) FROM ai_processing_requests) AS requests, (SELECT count(*) FROM outbox) AS outbox, "
    "extract(epoch FROM clock_timestamp() - (SELECT min(processed_at) FROM processed_events)) AS elapsed"
)


async def real_path(
    settings: Settings, expected_requests: int, timeout_s: float, profile: Path | None
) -> float:
    """Seconds from the first handler transaction until every request is stored and announced."""
    from services.producer.main import run

    engine = make_engine(settings.database_url or "", pool_size=1)
    stop = asyncio.Event()
    profiler = importlib.import_module("pyinstrument").Profiler(async_mode="disabled") if profile else None
    if profiler is not None:
        profiler.start()
    task = asyncio.create_task(run(settings, stop))
    deadline = time.monotonic() + timeout_s
    elapsed = 0.0
    try:
        while True:
            await asyncio.sleep(0.05)
            async with engine.connect() as conn:
                p = (await conn.execute(_PROGRESS)).one()
            if p.requests == expected_requests and p.outbox == 0:
                elapsed = float(p.elapsed)
                break
            if task.done() or time.monotonic() > deadline:
                raise RuntimeError(
                    f"producer did not finish: {p.requests} requests, {p.outbox} in the outbox"
                )
    finally:
        stop.set()
        await task
        if profiler is not None and profile is not None:
            profiler.stop()
            await asyncio.to_thread(profile.write_text, profiler.output_html())
            print(profiler.output_text(unicode=False, color=False, show_all=False))
        await engine.dispose()
    return elapsed


async def announced(settings: Settings) -> int:
    consumer = AIOKafkaConsumer(**client_options(settings), group_id=None)
    await consumer.start()
    try:
        topic = settings.topics.request_pending
        tps = [TopicPartition(topic, p) for p in range(settings.topic_partitions)]
        return sum((await consumer.end_offsets(tps)).values())
    finally:
        await consumer.stop()


async def main(n: int, profile: Path | None) -> list[BenchRow]:
    base = Settings()
    raw = make_events(n)
    async with (
        scratch_database(base) as url,
        scratch_topics(base.model_copy(update={"database_url": url})) as settings,
    ):
        published = await publish(settings, settings.topics.session_events, raw)
        parse_s = await consume_and_parse(settings, settings.topics.session_events, published)
        tables = rows_of(settings, raw)
        requests = len(tables["ai_processing_requests"][1])
        copy_s = await bare_copy(url, tables)
        real_s = await real_path(settings, requests, timeout_s=max(120.0, n / 200), profile=profile)
        relayed = await announced(settings)
    if relayed != requests:
        raise RuntimeError(f"request.pending holds {relayed} records for {requests} requests")
    rate, parse_rate, copy_rate = n / real_s, n / parse_s, n / copy_s
    serial_s = parse_s + copy_s
    print(f"sessions: {n} ({MESSAGES} messages each), requests: {requests}")
    print(f"real path (producer service): {real_s:6.2f}s {rate:9.0f} sessions/s")
    print(f"consume + parse (aiokafka):   {parse_s:6.2f}s {parse_rate:9.0f} sessions/s")
    print(f"bare COPY of the same rows:   {copy_s:6.2f}s {copy_rate:9.0f} sessions/s")
    return [
        BenchRow(
            bench="B2 intake",
            figure=f"{rate:,.0f} sessions/s",
            baseline="",
            limit=f"{serial_s / real_s:.0%} of consume+parse then COPY ({n / serial_s:,.0f}/s)",
            target=f">= {TARGET:,.0f} sessions/s",
            met=rate >= TARGET,
            notes=f"{n:,} sessions x {MESSAGES} messages, one instance, {requests:,} request.pending relayed",
        ),
        BenchRow(
            "B2 consume+parse limit",
            f"{parse_rate:,.0f} sessions/s",
            "",
            f"real path at {rate / parse_rate:.0%}",
            "",
            None,
        ),
        BenchRow(
            "B2 COPY limit",
            f"{copy_rate:,.0f} sessions/s",
            "",
            f"real path at {rate / copy_rate:.0%}",
            "",
            None,
        ),
    ]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sessions", type=int, default=50_000)
    parser.add_argument("--profile", type=Path, default=None)
    args = parser.parse_args()
    save("b2_intake", asyncio.run(main(args.sessions, args.profile)))
