"""Tenant isolation, as a property: no batch file ever carries two companies' data.

A session is ``(company_id, session_id)``: session ids are each company's own, so the same id sent
by two companies is two sessions, both stored and analysed, neither able to read or overwrite the
other.

Hypothesis draws event streams in which companies, models and *session ids* collide (a small pool
of session ids shared by three companies, re-sent conversations, re-analysis), feeds them to the
real producer handler in consumer batches (sequentially, or two handler instances racing as two
producer processes would), then claims every (company, model) group with the real submitter SQL
(random count and byte limits) and writes the JSONL files with ``write_batch_file``.

Nothing is refused, every (company, session id) sent is stored as its own session, and every line
of every file belongs to the file's batch company and model: its request's company, the company of
the session its conversation was read from, and every company marker in the conversation text
itself (each message says which company sent it).
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
from shared.db.models import Base
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
#: Every table of the schema (a new one referencing another would make a fixed list fail to truncate).
TABLES = ", ".join(t.name for t in Base.metadata.sorted_tables)


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
        rejected = await run_producer(engine, plan)
        assert rejected == 0, f"example {n}: {rejected} events refused"
        work = tmp_path / str(n)
        work.mkdir()
        files = await submit_all(engine, plan, work)
        stored = {(r.company_id, r.id) for r in await rows(engine, "SELECT id, company_id FROM sessions")}
        sent = {(e["company_id"], e["session_id"]) for b in plan.batches for e in b}
        assert stored == sent, f"example {n}: sessions stored {sorted(stored)}, sent {sorted(sent)}"
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
                companies |= {request.company_id} | marks
                assert line["body"]["model"] == key.model == request.model
                stats["lines"] += 1
            assert companies <= {key.company_id}, (
                f"example {n}: batch {batch_id} of {key} holds data of {companies}"
            )
            stats["files"] += 1
        # Every request's session is its own company's (the composite foreign key says so too).
        for r in requests.values():
            assert (r.company_id, r.session_id) in stored, f"example {n}: request {r.id} has no session"
        # Every stored conversation holds only its own company's messages.
        for m in await rows(engine, "SELECT company_id, content FROM session_messages"):
            assert set(MARK.findall(m.content)) <= {m.company_id}, f"example {n}: {m.company_id} holds {m.content!r}"
        stats["examples"] += 1
        stats["events"] += sum(len(b) for b in plan.batches)
    print(f"\ntenancy property: {dict(stats)} in {time.monotonic() - t0:.1f}s")


# --- the same session id in two companies -----------------------------------------------------------


def simple(n: int, company: str, session: str, turns: int) -> dict[str, Any]:
    return {
        "event_id": f"r-{n}",
        "company_id": company,
        "session_id": session,
        "started_at": "2026-05-01T10:00:00Z",
        "messages": [{"role": "user", "content": f"<<tenant:{company}>> {i}"} for i in range(turns)],
    }


async def data_of(engine: AsyncEngine, company: str, session: str) -> tuple[int, set[str], set[str]]:
    """(stored message count, company markers in its messages, companies of its requests)."""
    (stored,) = await rows(
        engine, "SELECT message_count FROM sessions WHERE company_id = :c AND id = :s", c=company, s=session
    )
    texts = {
        m
        for r in await rows(
            engine,
            "SELECT content FROM session_messages WHERE company_id = :c AND session_id = :s",
            c=company,
            s=session,
        )
        for m in MARK.findall(r.content)
    }
    companies = {
        r.company_id
        for r in await rows(
            engine,
            "SELECT company_id FROM ai_processing_requests WHERE company_id = :c AND session_id = :s",
            c=company,
            s=session,
        )
    }
    return stored.message_count, texts, companies


def config() -> ProducerConfig:
    return ProducerConfig(
        group_id="tenancy",
        request_pending_topic="t.pending",
        default_model=MODELS[0],
        max_conversation_chars=60_000,
    )


async def test_two_companies_naming_one_new_session_in_one_batch(engine: AsyncEngine) -> None:
    """Formerly the second company's event was dead-lettered (and, before that, its longer
    conversation was stored under the first company's request). Now each company gets its own
    session: its own conversation and its own requests, in the same consumer batch."""
    handler = SessionEventsHandler(engine, config(), lambda: None)
    rejected = await handler(deliveries([simple(1, "co-a", "shared", 1), simple(2, "co-b", "shared", 3)], 0))
    assert rejected == []
    assert await data_of(engine, "co-a", "shared") == (1, {"co-a"}, {"co-a"})
    assert await data_of(engine, "co-b", "shared") == (3, {"co-b"}, {"co-b"})


async def test_a_company_cannot_overwrite_another_companys_session(engine: AsyncEngine) -> None:
    """co-b re-sending co-a's session id, with more messages and a re-analysis, touches nothing of co-a's."""
    handler = SessionEventsHandler(engine, config(), lambda: None)
    await handler(deliveries([simple(1, "co-a", "s-1", 2)], 0))
    before = await rows(engine, "SELECT row_to_json(s)::text AS r FROM sessions s WHERE company_id = 'co-a'")
    again = {**simple(2, "co-b", "s-1", 5), "reanalyze": True}
    assert await handler(deliveries([again, {**again, "event_id": "r-3", "ended_at": "2026-05-01T11:00:00Z"}], 10)) == []
    after = await rows(engine, "SELECT row_to_json(s)::text AS r FROM sessions s WHERE company_id = 'co-a'")
    assert [r.r for r in after] == [r.r for r in before]
    assert await data_of(engine, "co-a", "s-1") == (2, {"co-a"}, {"co-a"})
    assert await data_of(engine, "co-b", "s-1") == (5, {"co-b"}, {"co-b"})


async def test_two_producers_racing_for_one_new_session_id(engine: AsyncEngine) -> None:
    """Formerly both instances found nothing to lock and the loser was dead-lettered (and, before
    that, overwrote the winner's conversation). Now both companies' sessions are created."""
    one, two = (
        SessionEventsHandler(engine, config(), lambda: None),
        SessionEventsHandler(engine, config(), lambda: None),
    )
    for i in range(15):
        session = f"race-{i}"
        a, b = await asyncio.gather(
            one(deliveries([simple(10 * i, "co-a", session, 2)], 0)),
            two(deliveries([simple(10 * i + 1, "co-b", session, 3)], 0)),
        )
        assert a == b == []
        assert await data_of(engine, "co-a", session) == (2, {"co-a"}, {"co-a"})
        assert await data_of(engine, "co-b", session) == (3, {"co-b"}, {"co-b"})
