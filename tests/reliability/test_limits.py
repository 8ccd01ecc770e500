"""Limits: a conversation larger than the per-request budget, groups larger than a batch file, and a
request that can never fit one.

Documented rules (README, ``shared.analysis.format_conversation``, ``services.submitter.batch_file``):

* a conversation longer than ``BATCHLINE_MAX_CONVERSATION_CHARS`` is truncated: the first two thirds
  of the budget from the start, the last third from the end, joined by an
  ``[... N characters omitted ...]`` marker; the result is never longer than the budget;
* a batch file is never larger than ``BATCHLINE_BATCH_MAX_BYTES`` (at most, and by default, the
  provider's 200 MB): requests that do not fit go back to pending for the next file;
* a request whose single line is larger than the whole limit fails at once with
  ``request_too_large`` instead of blocking its group.

The 200 MB limit is exercised scaled down (a 100-200 KB limit), which is the same code path; that
the setting cannot exceed the provider's limit is checked on ``Settings``.
"""

from __future__ import annotations

import re
import time
import uuid
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from hypothesis import strategies as st
from pydantic import ValidationError
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from emulator.server import EmulatorServer
from services.submitter import repository as submit_repo
from services.submitter.accumulator import GroupKey
from services.submitter.batch_file import write_batch_file
from shared.analysis import format_conversation
from shared.kafka.topics import ensure_topics
from shared.settings import PROVIDER_MAX_FILE_BYTES, Settings
from tests.pipeline import publish, rows, running_services, scalar, wait_until_terminal
from tests.reliability.test_fuzz_support import corpus

pytestmark = pytest.mark.reliability

MARKER = re.compile(r"\n\[\.\.\. (\d+) characters omitted \.\.\.\]\n")


def session(n: int, company: str, messages: list[tuple[str, str]]) -> dict[str, Any]:
    return {
        "event_id": f"lim-{company}-{n}",
        "company_id": company,
        "session_id": f"{company}-s{n}",
        "started_at": "2026-05-01T10:00:00Z",
        "messages": [
            {"role": role, "content": content, "order": i} for i, (role, content) in enumerate(messages)
        ],
    }


def long_messages(total_chars: int, per_message: int, tag: str) -> list[tuple[str, str]]:
    out = []
    i = 0
    while sum(len(c) for _, c in out) < total_chars:
        body = f"[{tag} message {i}] " + "Das Gehalt kommt am 25. – merci, ça marche. " * (
            per_message // 44 + 1
        )
        out.append(("user" if i % 2 == 0 else "assistant", body[:per_message]))
        i += 1
    return out


async def input_lines(
    settings: Settings, emulator: EmulatorServer, engine: AsyncEngine
) -> dict[str, dict[str, Any]]:
    """Every line of every input file the submitter uploaded, by custom_id (read back from the provider)."""
    lines: dict[str, dict[str, Any]] = {}
    headers = {"Authorization": f"Bearer {settings.openai_api_key.get_secret_value()}"}
    async with httpx.AsyncClient(base_url=emulator.base_url, headers=headers, timeout=30) as client:
        for r in await rows(
            engine, "SELECT input_file_id, file_bytes FROM provider_batches WHERE input_file_id IS NOT NULL"
        ):
            content = (await client.get(f"/files/{r.input_file_id}/content")).raise_for_status().content
            assert len(content) == r.file_bytes <= settings.batch_max_bytes
            for raw in content.splitlines():
                line = orjson.loads(raw)
                lines[line["custom_id"]] = line
    return lines


async def test_long_conversation_is_truncated_by_the_documented_rule(
    make_settings: Callable[..., Settings], engine: AsyncEngine, emulator: EmulatorServer
) -> None:
    settings = make_settings(keep_provider_files=True)  # the test reads the input file back
    await ensure_topics(settings)
    budget = settings.max_conversation_chars
    huge = long_messages(500_000, 5_000, "huge")  # 500,000 characters over 100 messages
    short = [("user", "Wann kommt mein Gehalt?"), ("assistant", "Am 25.")]
    async with running_services(settings):
        await publish(settings, [session(1, "lim-co", huge), session(2, "lim-co", short)])
        counts = await wait_until_terminal(engine, 2, timeout_s=90)
    assert counts == {"PROCESSING_COMPLETE": 2}

    lines = await input_lines(settings, emulator, engine)
    by_session = {
        r.session_id: lines[str(r.id)]
        for r in await rows(engine, "SELECT id, session_id FROM ai_processing_requests")
    }
    sent = by_session["lim-co-s1"]["body"]["messages"][1]["content"]
    full = "\n".join(f"{role}: {content}" for role, content in huge)
    assert len(full) > 500_000
    assert len(sent) <= budget
    (omitted,) = [int(m) for m in MARKER.findall(sent)]
    assert omitted == len(full) - budget
    head, tail = MARKER.split(sent)[0], MARKER.split(sent)[2]
    assert full.startswith(head) and full.endswith(tail)
    marker_len = len(sent) - len(head) - len(tail)
    assert len(head) == (budget - marker_len) * 2 // 3  # two thirds of the budget from the start
    assert len(head) + len(tail) + marker_len == budget
    assert sent == format_conversation(huge, budget)
    assert (
        by_session["lim-co-s2"]["body"]["messages"][1]["content"]
        == "user: Wann kommt mein Gehalt?\nassistant: Am 25."
    )


async def test_group_over_the_byte_limit_is_split_and_an_unfittable_request_fails_alone(
    make_settings: Callable[..., Settings], engine: AsyncEngine, emulator: EmulatorServer
) -> None:
    limit = 200 * 1024
    settings = make_settings(batch_max_bytes=limit, batch_max_requests=1_000, keep_provider_files=True)
    await ensure_topics(settings)
    # Twelve ~60,000-character conversations (truncation budget) of one company and model: ~80 KB
    # per line in UTF-8, so never more than two lines per 200 KB file.
    big = [session(i, "split-co", long_messages(70_000, 6_000, f"s{i}")) for i in range(12)]
    # One conversation of control characters: JSON escapes each as \u00XX (6 bytes), so its line is
    # ~360 KB although its estimate says ~70 KB. It can never fit and must fail, not block.
    unfittable = session(99, "split-co", [("user", "\x01\x02\x03" * 20_000)])
    async with running_services(settings):
        await publish(settings, [*big, unfittable])
        counts = await wait_until_terminal(engine, 13, timeout_s=120)
    assert counts == {"PROCESSING_COMPLETE": 12, "PROCESSING_FAILED": 1}
    (failed,) = await rows(
        engine,
        "SELECT session_id, error_message FROM ai_processing_requests WHERE status = 'PROCESSING_FAILED'",
    )
    assert failed.session_id == "split-co-s99"
    assert failed.error_message.startswith("request_too_large")

    files = await rows(
        engine, "SELECT request_count, file_bytes FROM provider_batches WHERE input_file_id IS NOT NULL"
    )
    assert len(files) >= 6
    assert all(f.file_bytes <= limit and f.request_count <= 2 for f in files)
    lines = await input_lines(settings, emulator, engine)
    assert len(lines) == 12  # every big request was sent once (the control-character one never)
    for line in lines.values():
        assert len(line["body"]["messages"][1]["content"]) <= settings.max_conversation_chars


def test_the_byte_limit_cannot_exceed_the_providers_200_mb() -> None:
    assert Settings(batch_max_bytes=PROVIDER_MAX_FILE_BYTES).batch_max_bytes == 200 * 1024 * 1024
    with pytest.raises(ValidationError):
        Settings(batch_max_bytes=PROVIDER_MAX_FILE_BYTES + 1)


# --- property: whatever the sizes, the submitter's file loop never writes a file over the limit ---------

CHARSETS = {"ascii": "a", "latin": "é", "cjk": "語", "emoji": "😀", "control": "\x01", "quote": '"'}


@st.composite
def file_loads(draw: st.DrawFn) -> tuple[list[tuple[str, int]], int, int, int]:
    sizes = draw(
        st.lists(
            st.tuples(st.sampled_from(sorted(CHARSETS)), st.integers(1, 30_000)),
            min_size=1,
            max_size=25,
        )
    )
    return (
        sizes,
        draw(st.integers(5_000, 120_000)),
        draw(st.integers(1, 10)),
        draw(st.sampled_from([1_000, 8_000, 60_000])),
    )


async def test_files_never_exceed_the_byte_limit_and_every_request_is_sent_or_failed(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    t0 = time.monotonic()
    drawn = corpus(file_loads(), 40)
    stats: Counter[str] = Counter()
    for n, (sizes, max_bytes, max_requests, max_chars) in enumerate(drawn):
        company = f"prop-{n}"
        ids = []
        async with engine.begin() as conn:
            for i, (charset, size) in enumerate(sizes):
                sid = f"{company}-s{i}"
                await conn.execute(
                    text(
                        "INSERT INTO sessions (id, company_id, started_at, content_hash, message_count) VALUES (:id, :c, now(), 'h', 1)"
                    ),
                    {"id": sid, "c": company},
                )
                await conn.execute(
                    text(
                        "INSERT INTO session_messages (company_id, session_id, role, content, \"order\") "
                        "VALUES (:c, :s, 'user', :t, 0)"
                    ),
                    {"c": company, "s": sid, "t": CHARSETS[charset] * size},
                )
                rid = uuid.uuid4()
                ids.append(rid)
                # approx_bytes deliberately wrong in both directions: the real size must decide.
                await conn.execute(
                    text(
                        "INSERT INTO ai_processing_requests (id, session_id, company_id, processing_type, model, revision, "
                        "status, attempt, approx_bytes) VALUES (:id, :s, :c, 'summary', 'gpt-4o-mini', 'r', 'PENDING_BATCHING', 1, :a)"
                    ),
                    {"id": rid, "s": sid, "c": company, "a": [10, size, size * 8][i % 3]},
                )
        sent: Counter[uuid.UUID] = Counter()
        for round_ in range(200):
            batch_id = uuid.uuid4()
            async with engine.begin() as conn:
                claimed = await submit_repo.claim(
                    conn,
                    batch_id,
                    GroupKey(company, "gpt-4o-mini"),
                    max_requests=max_requests,
                    max_bytes=max_bytes,
                )
            if not claimed:
                break
            path = tmp_path / f"{batch_id}.jsonl"
            async with engine.begin() as conn:
                built = await write_batch_file(
                    conn,
                    batch_id,
                    path,
                    max_bytes=max_bytes,
                    max_requests=max_requests,
                    max_conversation_chars=max_chars,
                )
                await submit_repo.fail_requests(conn, batch_id, built.oversized, "request_too_large")
                await submit_repo.release(conn, batch_id, built.overflow + built.oversized)
                await conn.execute(
                    text(
                        "UPDATE ai_processing_requests SET status = 'PROCESSING_COMPLETE' WHERE id = ANY(CAST(:ids AS uuid[]))"
                    ),
                    {"ids": built.included},
                )
            size = path.stat().st_size
            assert size == built.bytes <= max_bytes, (n, round_, size, max_bytes)
            assert built.lines <= max_requests
            assert len(built.included) + len(built.overflow) + len(built.oversized) == claimed
            # Progress: a claim that writes nothing must at least fail its unfittable requests.
            assert built.included or built.oversized, (n, round_)
            for raw in path.read_bytes().splitlines():
                line = orjson.loads(raw)
                assert len(line["body"]["messages"][1]["content"]) <= max(max_chars, 0)
                sent[uuid.UUID(line["custom_id"])] += 1
            stats["files"] += 1
        else:
            raise AssertionError(f"example {n}: the group never drained")
        failed = {
            r.id
            for r in await rows(
                engine,
                "SELECT id FROM ai_processing_requests WHERE company_id = :c AND status = 'PROCESSING_FAILED'",
                c=company,
            )
        }
        assert set(sent) | failed == set(ids) and not set(sent) & failed
        assert max(sent.values(), default=1) == 1
        assert (
            await scalar(
                engine,
                "SELECT count(*) FROM ai_processing_requests WHERE company_id = :c AND status <> ALL(ARRAY['PROCESSING_COMPLETE', 'PROCESSING_FAILED'])",
                c=company,
            )
            == 0
        )
        stats["requests"] += len(ids)
        stats["oversized"] += len(failed)
    print(f"\nbyte-limit property: {dict(stats)} over {len(drawn)} examples in {time.monotonic() - t0:.1f}s")
