"""Producer decisions: which requests an event creates, and why replays create nothing new."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import orjson
import pytest

from services.producer.sessions import (
    LINE_OVERHEAD_BYTES,
    REQUEST_NAMESPACE,
    approx_line_bytes,
    content_hash,
    latest_per_session,
    plan_requests,
    request_id,
)
from shared.analysis import ProcessingType
from shared.events import SessionEvent

T0 = datetime(2026, 5, 1, tzinfo=UTC)


def event(n_messages: int = 2, **kw: object) -> SessionEvent:
    base: dict[str, object] = {
        "event_id": "e",
        "company_id": "acme",
        "session_id": "s1",
        "started_at": T0,
        "messages": [
            {"role": "user" if i % 2 == 0 else "assistant", "content": f"m{i}"} for i in range(n_messages)
        ],
    }
    return SessionEvent.model_validate({**base, **kw})


def test_one_request_per_type_and_model() -> None:
    e = event(processing_types=["full_analysis", "summary"], models=["a", "b"])
    plan = plan_requests([e], default_model="d", max_conversation_chars=1000)
    assert {(p.processing_type, p.model) for p in plan} == {
        (ProcessingType.FULL_ANALYSIS, "a"),
        (ProcessingType.FULL_ANALYSIS, "b"),
        (ProcessingType.SUMMARY, "a"),
        (ProcessingType.SUMMARY, "b"),
    }
    assert len({p.id for p in plan}) == 4


def test_default_model_and_stable_ids_across_replays() -> None:
    first = plan_requests([event()], default_model="gpt-4o-mini", max_conversation_chars=1000)
    again = plan_requests(
        [event(event_id="other-delivery")], default_model="gpt-4o-mini", max_conversation_chars=1000
    )
    assert [p.id for p in first] == [p.id for p in again]
    assert first[0].model == "gpt-4o-mini"
    assert first[0].id == request_id(
        "acme", "s1", ProcessingType.FULL_ANALYSIS, "gpt-4o-mini", content_hash(event())
    )


def test_changed_conversation_gets_a_new_revision_only_when_reanalysis_is_asked() -> None:
    old, new = event(2), event(4, reanalyze=True)
    assert content_hash(old) != content_hash(new)
    plan = plan_requests([old, new], default_model="m", max_conversation_chars=1000)
    assert len(plan) == 1 and plan[0].reanalyze and plan[0].revision == content_hash(new)
    no_ask = plan_requests([old, event(4)], default_model="m", max_conversation_chars=1000)
    assert len(no_ask) == 1 and no_ask[0].revision == content_hash(old)


def test_longest_conversation_wins_so_a_late_duplicate_cannot_shrink_it() -> None:
    chosen = latest_per_session([event(4, event_id="a"), event(2, event_id="b")])
    assert len(chosen[("acme", "s1")].messages) == 4


def test_size_estimate_is_capped_by_truncation_and_counts_utf8() -> None:
    ascii_event = event(messages=[{"role": "user", "content": "a" * 10_000}])
    greek = event(messages=[{"role": "user", "content": "α" * 10_000}])
    assert approx_line_bytes(greek, 100_000) > approx_line_bytes(ascii_event, 100_000) * 1.5
    assert approx_line_bytes(ascii_event, 1_000) < 1_000 * 1.2 + LINE_OVERHEAD_BYTES


def test_each_fresh_event_is_applied_once_per_batch() -> None:
    from services.producer.sessions import delivery_rounds

    items = ["a", "b", "a", "c"]
    assert delivery_rounds(items, {"a", "c"}, lambda x: x, lambda x: x) == [["a", "c"]]


def test_a_fixed_payload_under_the_same_event_id_gets_its_own_round() -> None:
    """The refused original and its fix (same event id) in one batch: the fix must not be dropped
    as a duplicate of the original; identical copies still collapse to one delivery."""
    from services.producer.sessions import delivery_rounds

    items = [("e1", "bad"), ("e2", "x"), ("e1", "bad"), ("e1", "fixed"), ("e3", "y"), ("e2", "x")]
    rounds = delivery_rounds(items, {"e1", "e2"}, lambda d: d[0], lambda d: d[1])
    assert rounds == [[("e1", "bad"), ("e2", "x")], [("e1", "fixed")]]


def test_the_same_session_id_in_two_companies_is_two_sessions_with_their_own_requests() -> None:
    from services.producer.sessions import conversations_to_store

    acme, globex = event(2, company_id="acme"), event(4, company_id="globex")
    chosen = latest_per_session([acme, globex])
    # Neither conversation replaces the other (the longer one would win within one company).
    assert {k: len(e.messages) for k, e in chosen.items()} == {("acme", "s1"): 2, ("globex", "s1"): 4}
    plan = plan_requests([acme, globex], default_model="m", max_conversation_chars=1000)
    assert sorted((p.company_id, p.session_id) for p in plan) == [("acme", "s1"), ("globex", "s1")]
    assert len({p.id for p in plan}) == 2
    # acme's stored copy of s1 says nothing about globex's s1: globex's is new and is stored.
    stored = {("acme", "s1"): (2, content_hash(acme))}
    assert [e.company_id for e in conversations_to_store([acme, globex], stored)] == ["globex"]


def test_request_ids_cannot_collide_across_a_company_and_session_split() -> None:
    """The company and the session id are both free text: "a|b" + "c" must not be "a" + "b|c"."""
    ptype, rev = ProcessingType.SUMMARY, "r"
    assert request_id("a|b", "c", ptype, "m", rev) != request_id("a", "b|c", ptype, "m", rev)
    assert request_id("acme", "1", ptype, "m", rev) != request_id("globex", "1", ptype, "m", rev)
    # Not the pre-tenancy derivation (uuid5 of "session|type|model|revision" in its own namespace).
    legacy = uuid.uuid5(uuid.UUID("6f1c7f38-2f2e-4bb4-9d7b-8a3c3f4f9b11"), "1|summary|m|r")
    assert request_id("acme", "1", ptype, "m", rev) != legacy


def test_only_new_or_changed_conversations_are_stored() -> None:
    from services.producer.sessions import conversations_to_store

    same = event(2)
    grown = event(4, session_id="s2")
    shrunk = event(1, session_id="s3")
    stored = {("acme", "s1"): (2, content_hash(same)), ("acme", "s2"): (2, "old"), ("acme", "s3"): (3, "old")}
    assert [e.session_id for e in conversations_to_store([same, grown, shrunk, event(2, session_id="s4")], stored)] == [
        "s2", "s4"]


@pytest.mark.parametrize(
    ("company", "session", "model"),
    [("acme", "1", "gpt-4o-mini"), ("société", "會話-7", "m"), ('a"b', "\\", "x/y:z")],
)
def test_request_ids_stay_the_uuid5_of_the_json_array(company: str, session: str, model: str) -> None:
    """Ids already stored must keep matching: the derivation is uuid5 of the JSON text, in its namespace."""
    rev = "ab" * 32
    for ptype in ProcessingType:
        name = orjson.dumps([company, session, ptype.value, model, rev]).decode()
        assert request_id(company, session, ptype, model, rev) == uuid.uuid5(REQUEST_NAMESPACE, name)
