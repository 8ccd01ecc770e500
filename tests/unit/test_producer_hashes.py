"""The content hash is the request ids' root: it must stay the digest it always was, computed once."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from services.producer.sessions import HashMemo, content_hash, conversations_to_store, plan_requests
from shared.events import SessionEvent


def event(session: str, contents: list[str]) -> SessionEvent:
    return SessionEvent.model_validate(
        {
            "event_id": session,
            "company_id": "acme",
            "session_id": session,
            "started_at": datetime(2026, 5, 1, tzinfo=UTC),
            "messages": [{"role": "user", "content": c} for c in contents],
        }
    )


def test_the_digest_is_the_one_of_order_role_and_content_per_message() -> None:
    e = event("s1", ["hello", "zażółć 😀"])
    expected = hashlib.sha256(b"0\x1fuser\x1fhello\x1e" + "1\x1fuser\x1fzażółć 😀\x1e".encode()).hexdigest()
    assert content_hash(e) == expected


def test_the_memo_hashes_each_event_once_and_keeps_events_apart() -> None:
    calls: list[str] = []
    memo = HashMemo()

    def counting(e: SessionEvent) -> str:
        calls.append(e.session_id)
        return memo(e)

    a, b = event("a", ["x"]), event("b", ["y"])
    assert (memo(a), memo(b), memo(a)) == (content_hash(a), content_hash(b), content_hash(a))
    planned = plan_requests([a, b], default_model="m", max_conversation_chars=1000, hash_of=counting)
    stored = conversations_to_store([a, b], {("acme", "a"): (1, content_hash(a))}, counting)
    assert [p.revision for p in planned] == [content_hash(a), content_hash(b)]
    assert stored == [b]
    assert len(memo._known) == 2
