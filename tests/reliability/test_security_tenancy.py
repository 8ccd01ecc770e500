"""Tenant isolation, as a property: no batch file ever carries two companies' data.

Hypothesis draws event streams in which companies, models and *session ids* collide (a small pool
of session ids shared by three companies, re-sent conversations, re-analysis), feeds them to the
real producer handler in consumer batches (sequentially, or two handler instances racing as two
producer processes would), then claims every (company, model) group with the real submitter SQL
(random count and byte limits) and writes the JSONL files with ``write_batch_file``.

Every line of every file must belong to the file's batch company and model: its request's company,
the owner of the session its conversation was read from, and every company marker in the
conversation text itself (each message says which company sent it).
"""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import strategies as st
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from services.producer.service import ProducerConfig, SessionEventsHandler
from services.submitter import repository as submit_repo
from services.submitter.accumulator import GroupKey
from services.submitter.batch_file import write_batch_file
from shared.events import SessionEvent, decode
from shared.kafka.consumer import Delivery
from tests.pipeline import rows
from tests.reliability.test_fuzz_support import corpus

pytestmark = pytest.mark.reliability

COMPANIES = ("co-a", "co-b", "co-c")
MODELS = ("gpt-4o-mini", "gpt-4o")
SESSION_POOL = 6
EXAMPLES = 60
MARK = re.compile(r"<<tenant:([a-z-]+)>>")
TABLES = "outbox, processed_events, ai_batch_items, ai_processing_requests, provider_batches, session_messages, sessions"


@dataclass(frozen=True)
class Plan:
    batches: list[list[dict[str, Any]]]
    concurrent: bool
    max_requests: int
    max_bytes: int


@st.composite
def event(draw: st.DrawFn, n: int) -> dict[str, Any]:
    company = draw(st.sampled_from(COMPANIES))
    turns = draw(st.integers(1, 6))
    return {
        "event_id": f"ev-{n}",
        "company_id": company,
        "session_id": f"s{draw(st.integers(0, SESSION_POOL - 1))}",
        "started_at": "2026-05-01T10:00:00Z",
        "messages": [
            {
                "role": "user" if i % 2 == 0 else "assistant",
                "content": f"<<tenant:{company}>> " + draw(st.text(max_size=30)).replace("\x00", ""),
            }
            for i in range(turns)
        ],
        "processing_types": draw(
            st.lists(
                st.sampled_from(["full_analysis", "summary", "categorization"]),
                min_size=1,
                max_size=2,
                unique=True,
            )
        ),
        "models": draw(st.lists(st.sampled_from(MODELS), min_size=1, max_size=2, unique=True)),
        "reanalyze": draw(st.booleans()),
    }


@st.composite
def plans(draw: st.DrawFn) -> Plan:
    count = draw(st.integers(2, 30))
    events = [draw(event(i)) for i in range(count)]
    cuts = sorted(draw(st.lists(st.integers(1, count - 1), max_size=3, unique=True))) if count > 1 else []
    batches, start = [], 0
    for cut in [*cuts, count]:
        batches.append(events[start:cut])
        start = cut
    return Plan(
        batches=batches,
        concurrent=draw(st.booleans()),
        max_requests=draw(st.integers(1, 40)),
        max_bytes=draw(st.sampled_from([4_000, 8_000, 50_000, 10**6])),
    )


def deliveries(events: list[dict[str, Any]], offset: int) -> list[Delivery[SessionEvent]]:
    out = []
    for i, e in enumerate(events):
        raw = orjson.dumps(e)
        out.append(
            Delivery(
                decode(SessionEvent, raw), "session.events", 0, offset + i, e["company_id"].encode(), raw
            )
        )
    return out


async def run_producer(engine: AsyncEngine, plan: Plan) -> int:
    """Feed the batches to handler instances; returns how many events they rejected."""
    config = ProducerConfig(
        group_id="tenancy",
        request_pending_topic="tenancy.pending",
        default_model=MODELS[0],
        max_conversation_chars=60_000,
    )
    first, second = (
        SessionEventsHandler(engine, config, lambda: None),
        SessionEventsHandler(engine, config, lambda: None),
    )
    rejected = 0
    offset = 0
    batches = [deliveries(b, (offset := offset + 1000)) for b in plan.batches]
    if plan.concurrent and len(batches) >= 2:
        # Two producer processes handling two consumer batches at the same moment.
        results = await asyncio.gather(first(batches[0]), second(batches[1]))
        rejected += sum(len(r) for r in results)
        batches = batches[2:]
    for batch in batches:
        rejected += len(await first(batch))
    return rejected


async def submit_all(engine: AsyncEngine, plan: Plan, work: Path) -> list[tuple[uuid.UUID, GroupKey, Path]]:
    files = []
    async with engine.connect() as conn:
        groups = [
            GroupKey(r.company_id, r.model)
            for r in await conn.execute(
                text(
                    "SELECT DISTINCT company_id, model FROM ai_processing_requests WHERE status = 'PENDING_BATCHING'"
                )
            )
        ]
    for key in groups:
        for _ in range(200):
            batch_id = uuid.uuid4()
            async with engine.begin() as conn:
                claimed = await submit_repo.claim(
                    conn, batch_id, key, max_requests=plan.max_requests, max_bytes=plan.max_bytes
                )
            if not claimed:
                break
            path = work / f"{batch_id}.jsonl"
            async with engine.begin() as conn:
                built = await write_batch_file(
                    conn,
                    batch_id,
                    path,
                    max_bytes=plan.max_bytes,
                    max_requests=plan.max_requests,
                    max_conversation_chars=60_000,
                )
                await submit_repo.fail_requests(conn, batch_id, built.oversized, "request_too_large")
                await submit_repo.release(conn, batch_id, built.overflow)
                # Mark what was written as submitted so the next claim moves on.
                await conn.execute(
                    text(
                        "UPDATE ai_processing_requests SET status = 'PROCESSING_COMPLETE' WHERE id = ANY(CAST(:ids AS uuid[]))"
                    ),
                    {"ids": built.included},
                )
            files.append((batch_id, key, path))
    return files


async def test_no_batch_file_ever_contains_two_companies(engine: AsyncEngine, tmp_path: Path) -> None:
    t0 = time.monotonic()
    drawn = corpus(plans(), EXAMPLES)
    stats: Counter[str] = Counter()
    for n, plan in enumerate(drawn):
        async with engine.begin() as conn:
            await conn.execute(text(f"TRUNCATE {TABLES}"))
        stats["rejected"] += await run_producer(engine, plan)
        work = tmp_path / str(n)
        work.mkdir()
        files = await submit_all(engine, plan, work)
        sessions = {r.id: r.company_id for r in await rows(engine, "SELECT id, company_id FROM sessions")}
        requests = {
            str(r.id): r
            for r in await rows(
                engine, "SELECT id, company_id, model, session_id FROM ai_processing_requests"
            )
        }
        for batch_id, key, path in files:
            companies = set()
            for raw in path.read_bytes().splitlines():
                line = orjson.loads(raw)
                request = requests[line["custom_id"]]
                conversation = line["body"]["messages"][1]["content"]
                marks = set(MARK.findall(conversation))
                companies |= {request.company_id, sessions[request.session_id]} | marks
                assert line["body"]["model"] == key.model == request.model
                stats["lines"] += 1
            assert companies <= {key.company_id}, (
                f"example {n}: batch {batch_id} of {key} holds data of {companies}"
            )
            stats["files"] += 1
        # Every request's session belongs to the request's company.
        for r in requests.values():
            assert sessions[r.session_id] == r.company_id, (
                f"example {n}: request of {r.company_id} on a session of {sessions[r.session_id]}"
            )
        stats["examples"] += 1
        stats["events"] += sum(len(b) for b in plan.batches)
    print(f"\ntenancy property: {dict(stats)} in {time.monotonic() - t0:.1f}s")


# --- regressions of the bug this property found ------------------------------------------------------


def simple(n: int, company: str, session: str, turns: int) -> dict[str, Any]:
    return {
        "event_id": f"r-{n}",
        "company_id": company,
        "session_id": session,
        "started_at": "2026-05-01T10:00:00Z",
        "messages": [{"role": "user", "content": f"<<tenant:{company}>> {i}"} for i in range(turns)],
    }


async def owner_and_data(engine: AsyncEngine, session: str) -> tuple[str, set[str], set[str]]:
    (owner,) = await rows(engine, "SELECT company_id FROM sessions WHERE id = :s", s=session)
    texts = {
        m
        for r in await rows(engine, "SELECT content FROM session_messages WHERE session_id = :s", s=session)
        for m in MARK.findall(r.content)
    }
    companies = {
        r.company_id
        for r in await rows(
            engine, "SELECT company_id FROM ai_processing_requests WHERE session_id = :s", s=session
        )
    }
    return owner.company_id, texts, companies


async def test_two_companies_naming_one_new_session_in_one_batch(engine: AsyncEngine) -> None:
    """Regression: within one consumer batch both events passed the ownership check (the session did
    not exist yet); the longer conversation (co-b's) was stored while the request was co-a's, so
    co-a's batch file carried co-b's conversation. Now the first event owns it and the other one is
    dead-lettered ("session_id belongs to another company")."""
    config = ProducerConfig(
        group_id="tenancy",
        request_pending_topic="t.pending",
        default_model=MODELS[0],
        max_conversation_chars=60_000,
    )
    handler = SessionEventsHandler(engine, config, lambda: None)
    rejected = await handler(deliveries([simple(1, "co-a", "shared", 1), simple(2, "co-b", "shared", 3)], 0))
    assert [r.reason for r in rejected] == ["session_id belongs to another company"]
    assert orjson.loads(rejected[0].value or b"")["company_id"] == "co-b"
    assert await owner_and_data(engine, "shared") == ("co-a", {"co-a"}, {"co-a"})


async def test_two_producers_racing_for_one_new_session(engine: AsyncEngine) -> None:
    """Regression: two producer instances creating the same new session id for two companies both
    found nothing to lock; the second upsert overwrote the first one's conversation (keeping its
    company) and created its own requests on it. Now the loser is dead-lettered."""
    config = ProducerConfig(
        group_id="tenancy",
        request_pending_topic="t.pending",
        default_model=MODELS[0],
        max_conversation_chars=60_000,
    )
    one, two = (
        SessionEventsHandler(engine, config, lambda: None),
        SessionEventsHandler(engine, config, lambda: None),
    )
    for i in range(15):
        session = f"race-{i}"
        a, b = await asyncio.gather(
            one(deliveries([simple(10 * i, "co-a", session, 2)], 0)),
            two(deliveries([simple(10 * i + 1, "co-b", session, 2)], 0)),
        )
        assert len(a) + len(b) == 1, (a, b)
        owner, texts, companies = await owner_and_data(engine, session)
        assert texts == companies == {owner}
        assert (owner == "co-a") == bool(b)
