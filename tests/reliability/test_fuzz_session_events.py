"""Fuzzing ``session.events`` through the real producer service (real Kafka, real PostgreSQL).

Hypothesis draws well over 1,000 bad payloads, one defect class each: invalid JSON, JSON that is not
an object, wrong field types, missing fields, unknown processing types, invalid UTF-8, lone
surrogates, NUL characters, empty sessions, too many messages, oversized strings and ids, bad
``order`` values, deep nesting, impossible timestamps, tombstones. They are published interleaved
with known-good events (the shipped generator plus huge-but-valid ones: 4,000 and 5,000 messages,
100,000-character messages, 200-character ids, deep nesting in an ignored field) to one producer.

Asserted afterwards: the producer task never died; every bad payload is on ``session.events.dlq``
exactly once, as its original bytes, with a reason that comes from validation (never a handler
crash: a bad event must not reach SQL); no good event is in the DLQ; every good event's session and
requests exist exactly as the contract says.

A payload the broker cannot take (over ``message.max.bytes``, ~1 MB by default) never reaches the
producer: publishing it fails at the publisher (``MessageSizeTooLargeError``), and the pipeline is
unaffected. A bad payload just under that size is dead-lettered although its base64 DLQ envelope
would be larger than the broker accepts: the DLQ record then carries a prefix of the value, its size
and its SHA-256 (``truncated``); before that fix the DLQ send failed and stopped the producer.
"""

from __future__ import annotations

import base64
import hashlib
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import orjson
import pytest
from aiokafka.errors import KafkaError
from hypothesis import strategies as st
from sqlalchemy.ext.asyncio import AsyncEngine

from devtools.dataset.generator import generate_events, malformed_events
from shared.events import (
    DLQ_MAX_ORIGINAL_BYTES,
    MAX_MESSAGE_CHARS,
    MAX_MESSAGES_PER_SESSION,
    DeadLetter,
    SessionEvent,
    decode,
)
from shared.settings import Settings
from tests.pipeline import publish, rows, running_services
from tests.reliability.test_fuzz_support import corpus, producer_task_alive, read_topic, wait_group_caught_up

pytestmark = pytest.mark.reliability

BAD_CASES = 2_000
GOOD_COMPANIES = ("fz-acme", "fz-nord", "fz-sol")
DEFAULT_MODEL = "gpt-4o-mini"

# --- bad payloads -------------------------------------------------------------------------------

_counter = iter(range(10**9))


def base_event(**overrides: Any) -> dict[str, Any]:
    """A valid event of the ``fz-bad`` tenant (never shares a session with a good event)."""
    n = next(_counter)
    event: dict[str, Any] = {
        "schema_version": 1,
        "event_id": f"bad-e-{n}",
        "company_id": "fz-bad",
        "session_id": f"bad-s-{n}",
        "started_at": "2026-05-01T10:00:00Z",
        "ended_at": "2026-05-01T10:05:00Z",
        "messages": [
            {"role": "user", "content": "Can I swap my shift on Friday?", "order": 0},
            {"role": "assistant", "content": "Yes, ask your manager in the app.", "order": 1},
        ],
        "processing_types": ["full_analysis"],
    }
    event.update(overrides)
    return event


def dumps(event: dict[str, Any]) -> bytes:
    return orjson.dumps(event)


def with_raw(event: dict[str, Any], path: tuple[Any, ...], raw: bytes) -> bytes:
    """Serialise ``event`` with the JSON string at ``path`` replaced by raw bytes (``"..."`` included)."""
    marker = "@@RAW-FUZZ@@"
    target: Any = event
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = marker
    return dumps(event).replace(b'"' + marker.encode() + b'"', raw)


#: orjson serialises integers of at most 64 bits.
ints = st.integers(min_value=-(2**63), max_value=2**63 - 1)
json_scalars = st.one_of(st.none(), st.booleans(), ints, st.floats(allow_nan=False), st.text(max_size=20))
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
non_strings = st.one_of(
    st.none(),
    st.booleans(),
    ints,
    st.floats(allow_nan=False),
    st.lists(json_scalars, max_size=3),
    st.dictionaries(st.text(max_size=5), json_scalars, max_size=3),
)
id_fields = st.sampled_from(["event_id", "company_id", "session_id"])
string_paths = st.one_of(
    id_fields.map(lambda f: (f,)),
    st.sampled_from([("messages", 0, "content"), ("messages", 1, "role"), ("messages", 1, "content")]),
)


def _not_json() -> st.SearchStrategy[tuple[str, bytes | None]]:
    truncated = st.integers(min_value=0, max_value=400).map(
        lambda k: dumps(base_event())[: k % (len(dumps(base_event())) - 1)]
    )
    junk = st.binary(max_size=200).map(lambda b: b"\x00" + b)
    prose = st.text(max_size=80).map(lambda t: ("{" + t).encode("utf-8", "surrogatepass"))
    return st.tuples(st.just("not_json"), st.one_of(truncated, junk, prose, st.just(b"")))


def _non_object() -> st.SearchStrategy[tuple[str, bytes | None]]:
    top = st.one_of(json_scalars, st.lists(json_values, max_size=4))
    return st.tuples(st.just("non_object"), top.map(orjson.dumps))


_WRONG: dict[str, st.SearchStrategy[Any]] = {
    "event_id": non_strings,
    "company_id": non_strings,
    "session_id": non_strings,
    "started_at": st.one_of(
        st.none(),
        st.booleans(),
        st.lists(ints, max_size=5),
        st.dictionaries(st.text(max_size=3), ints, max_size=2),
        st.sampled_from(["yesterday", "2026-13-45T99:00:00Z", "", "not a date", "2026-05-01T10:00:00Zjunk"]),
    ),
    "ended_at": st.one_of(
        st.booleans(),
        st.lists(ints, max_size=5),
        st.sampled_from(["tomorrow", "2026-02-30T10:00:00Z", "later"]),
    ),
    "messages": st.one_of(
        st.none(),
        st.booleans(),
        ints,
        st.text(max_size=10),
        st.dictionaries(st.text(max_size=5), json_scalars, max_size=3),
        st.lists(st.one_of(ints, st.text(max_size=5), st.none()), min_size=1, max_size=3),
    ),
    "processing_types": st.one_of(
        st.none(),
        ints,
        st.just("full_analysis"),
        st.just([]),
        st.lists(ints, min_size=1, max_size=3),
        st.just(["summary", "summary"]),
        st.just(["full_analysis", "summary", "categorization", "sentiment_analysis", "summary"]),
    ),
    "models": st.one_of(
        ints,
        st.just("gpt-4o"),
        st.just([]),
        st.just(["bad model!"]),
        st.just(["gpt;DROP"]),
        st.just(["m" * 101]),
        st.just(["a", "b", "c", "d", "e"]),
        st.lists(ints, min_size=1, max_size=2),
    ),
    "reanalyze": st.one_of(
        st.sampled_from(["maybe", "nope", "2"]),
        st.integers(min_value=2, max_value=2**63 - 1),
        st.floats(min_value=0.1, max_value=0.9),
        st.lists(st.booleans(), max_size=2),
    ),
    "schema_version": st.one_of(ints.filter(lambda v: v != 1), st.just("1"), st.just(None), st.just(1.5)),
    "type": st.sampled_from(["session.deleted", "", "SESSION.UPSERTED", 7]),
}


def _wrong_type() -> st.SearchStrategy[tuple[str, bytes | None]]:
    return st.sampled_from(sorted(_WRONG)).flatmap(
        lambda field: _WRONG[field].map(lambda v, f=field: ("wrong_type", dumps(base_event(**{f: v}))))
    )


def _wrong_message_field() -> st.SearchStrategy[tuple[str, bytes | None]]:
    bad = st.one_of(
        st.tuples(st.just("role"), st.one_of(non_strings, st.just(""), st.just("r" * 33))),
        st.tuples(st.just("content"), non_strings),
        st.tuples(
            st.just("order"),
            st.one_of(
                st.integers(min_value=-(2**63), max_value=-1),
                st.integers(min_value=2**31, max_value=2**63 - 1),
                st.floats(min_value=0.1, max_value=0.9),
                st.text(min_size=1, max_size=4).filter(lambda t: not t.strip().lstrip("+-").isdigit()),
                st.lists(ints, max_size=2),
            ),
        ),
    )

    def build(pair: tuple[str, Any]) -> tuple[str, bytes | None]:
        event = base_event()
        event["messages"][1][pair[0]] = pair[1]
        return ("wrong_message_field", dumps(event))

    return bad.map(build)


def _missing() -> st.SearchStrategy[tuple[str, bytes | None]]:
    def build(field: str) -> tuple[str, bytes | None]:
        event = base_event()
        del event[field]
        return (f"missing:{field}", dumps(event))

    return st.sampled_from(["event_id", "company_id", "session_id", "started_at", "messages"]).map(build)


def _unknown_processing_type() -> st.SearchStrategy[tuple[str, bytes | None]]:
    known = {"full_analysis", "sentiment_analysis", "categorization", "summary"}
    unknown = st.one_of(st.text(max_size=30), st.sampled_from(["translation", "FULL_ANALYSIS", " summary"]))
    return unknown.filter(lambda t: t not in known).map(
        lambda t: ("unknown_processing_type", dumps(base_event(processing_types=["full_analysis", t])))
    )


_INVALID_UTF8 = [b"\xff", b"\xfe", b"\xc3\x28", b"\xa0\xa1", b"\xe2\x28\xa1", b"\xf0\x28\x8c\xbc", b"\xc0\xaf",
                 b"\xed\xa0\x80", b"\xf8\x88\x80\x80\x80", b"\x80"]  # fmt: skip


def _invalid_utf8() -> st.SearchStrategy[tuple[str, bytes | None]]:
    return st.tuples(string_paths, st.sampled_from(_INVALID_UTF8), st.text(max_size=10)).map(
        lambda t: ("invalid_utf8", with_raw(base_event(), t[0], b'"' + t[2].encode() + t[1] + b'"'))
    )


def _lone_surrogate() -> st.SearchStrategy[tuple[str, bytes | None]]:
    escapes = st.sampled_from(
        [b"\\ud800", b"\\udbff", b"\\udc00", b"\\udfff", b"\\ud800\\ud800", b"\\udc00\\ud800"]
    )
    return st.tuples(string_paths, escapes).map(
        lambda t: ("lone_surrogate", with_raw(base_event(), t[0], b'"x' + t[1] + b'y"'))
    )


def _nul() -> st.SearchStrategy[tuple[str, bytes | None]]:
    def build(t: tuple[tuple[Any, ...], str, str]) -> tuple[str, bytes | None]:
        path, left, right = t
        event = base_event()
        target: Any = event
        for step in path[:-1]:
            target = target[step]
        target[path[-1]] = f"{left}\x00{right}" if path[-1] != "role" else "us\x00er"
        return ("nul", dumps(event))

    return st.tuples(string_paths, st.text(max_size=10), st.text(max_size=10)).map(build)


def _empty_session() -> st.SearchStrategy[tuple[str, bytes | None]]:
    return st.just(("empty_session", None)).map(lambda _: ("empty_session", dumps(base_event(messages=[]))))


def _long_ids() -> st.SearchStrategy[tuple[str, bytes | None]]:
    return st.tuples(id_fields, st.integers(min_value=201, max_value=600), st.sampled_from("xé語")).map(
        lambda t: ("long_id", dumps(base_event(**{t[0]: t[2] * t[1]})))
    )


def _blank_ids() -> st.SearchStrategy[tuple[str, bytes | None]]:
    return st.tuples(id_fields, st.sampled_from(["", " ", "\t\n", "   "])).map(
        lambda t: ("blank_id", dumps(base_event(**{t[0]: t[1]})))
    )


def _bad_orders() -> st.SearchStrategy[tuple[str, bytes | None]]:
    def build(kind: str) -> tuple[str, bytes | None]:
        event = base_event()
        m = event["messages"]
        if kind == "duplicate":
            m[1]["order"] = m[0]["order"]
        elif kind == "negative":
            m[0]["order"] = -1
        elif kind == "mixed":
            del m[1]["order"]
        else:
            m[1]["order"] = 2**31
        return (f"order:{kind}", dumps(event))

    return st.sampled_from(["duplicate", "negative", "mixed", "too_big"]).map(build)


def _deep_nesting() -> st.SearchStrategy[tuple[str, bytes | None]]:
    def build(t: tuple[int, str]) -> tuple[str, bytes | None]:
        depth, where = t
        nested = b"[" * depth + b"]" * depth
        event = base_event()
        if where == "extra":
            return ("deep_nesting", with_raw(event, ("extra",), nested))
        return ("deep_nesting", with_raw(event, ("messages", 0, "content"), nested))

    return st.tuples(
        st.integers(min_value=1_100, max_value=5_000), st.sampled_from(["extra", "content"])
    ).map(build)


def _bad_times() -> st.SearchStrategy[tuple[str, bytes | None]]:
    cases = st.sampled_from(
        [
            {"ended_at": "2026-05-01T09:00:00Z"},
            {"started_at": "0001-01-01T00:00:00+05:00", "ended_at": None},
            {"started_at": "9999-12-31T23:59:59-05:00", "ended_at": None},
            {"started_at": "2026-05-01T10:00:00Z", "ended_at": "9999-12-31T23:30:00-01:00"},
        ]
    )
    return cases.map(lambda c: ("bad_time", dumps(base_event(**c))))


def _oversized_strings() -> st.SearchStrategy[tuple[str, bytes | None]]:
    def build(t: tuple[int, str]) -> tuple[str, bytes | None]:
        size, ch = t
        event = base_event()
        event["messages"][0]["content"] = ch * size
        return ("oversized_content", dumps(event))

    return st.tuples(
        st.integers(min_value=MAX_MESSAGE_CHARS + 1, max_value=MAX_MESSAGE_CHARS + 50_000),
        st.sampled_from("aé"),
    ).map(build)


def _too_many_messages() -> st.SearchStrategy[tuple[str, bytes | None]]:
    def build(extra: int) -> tuple[str, bytes | None]:
        messages = [{"role": "user", "content": "ok"} for _ in range(MAX_MESSAGES_PER_SESSION + extra)]
        return ("too_many_messages", dumps(base_event(messages=messages)))

    return st.integers(min_value=1, max_value=50).map(build)


def _tombstone() -> st.SearchStrategy[tuple[str, bytes | None]]:
    return st.just(("tombstone", None))


#: (strategy, weight): cheap classes often, the big ones (100+ KB each) a few times.
BAD_CLASSES: list[tuple[Callable[[], st.SearchStrategy[tuple[str, bytes | None]]], int]] = [
    (_not_json, 6),
    (_non_object, 4),
    (_wrong_type, 14),
    (_wrong_message_field, 6),
    (_missing, 4),
    (_unknown_processing_type, 4),
    (_invalid_utf8, 6),
    (_lone_surrogate, 4),
    (_nul, 6),
    (_empty_session, 2),
    (_long_ids, 4),
    (_blank_ids, 2),
    (_bad_orders, 3),
    (_deep_nesting, 2),
    (_bad_times, 3),
    (_oversized_strings, 1),
    (_too_many_messages, 1),
    (_tombstone, 1),
]

#: The defect classes every corpus must contain (labels are "class" or "class:detail").
CLASS_LABELS = {
    "not_json", "non_object", "wrong_type", "wrong_message_field", "missing", "unknown_processing_type",
    "invalid_utf8", "lone_surrogate", "nul", "empty_session", "long_id", "blank_id", "order",
    "deep_nesting", "bad_time", "oversized_content", "too_many_messages", "tombstone",
}  # fmt: skip


def bad_payloads() -> st.SearchStrategy[tuple[str, bytes | None]]:
    strategies = [strategy() for strategy, _ in BAD_CLASSES]
    weighted = [i for i, (_, weight) in enumerate(BAD_CLASSES) for _ in range(weight)]
    return st.sampled_from(weighted).flatmap(lambda i: strategies[i])


def landmark_bad() -> list[tuple[str, bytes | None]]:
    """Big or special bad payloads, a fixed few (hypothesis would make too many of them)."""
    out: list[tuple[str, bytes | None]] = []
    for size, ch in ((MAX_MESSAGE_CHARS + 1, "a"), (MAX_MESSAGE_CHARS + 40_000, "é")):
        event = base_event()
        event["messages"][0]["content"] = ch * size
        out.append(("oversized_content", dumps(event)))
    for extra in (1, 25):
        messages = [{"role": "user", "content": "ok"} for _ in range(MAX_MESSAGES_PER_SESSION + extra)]
        out.append(("too_many_messages", dumps(base_event(messages=messages))))
    # Just under the broker's ~1 MB: valid JSON, nine maximal messages, one with a NUL. Its base64
    # DLQ envelope (~1.3 MB) is larger than the broker takes.
    messages = [{"role": "user", "content": "z" * MAX_MESSAGE_CHARS, "order": i} for i in range(9)]
    messages.append({"role": "user", "content": "nul \x00 here", "order": 9})
    out.append(("near_broker_limit", dumps(base_event(messages=messages))))
    out.extend(("dataset_malformed", raw) for raw in malformed_events(seed=3))
    return out


# --- good payloads ------------------------------------------------------------------------------


def good_events() -> list[dict[str, Any]]:
    events = list(generate_events(150, companies=GOOD_COMPANIES, models=[DEFAULT_MODEL, "gpt-4o"], seed=21))
    start = "2026-06-01T08:00:00Z"

    def special(n: int, **fields: Any) -> dict[str, Any]:
        event: dict[str, Any] = {
            "event_id": f"good-special-{n}",
            "company_id": GOOD_COMPANIES[n % 3],
            "session_id": f"good-special-s{n}",
            "started_at": start,
            "messages": [{"role": "user", "content": "Wann bekomme ich meine Lohnabrechnung?"}],
        }
        event.update(fields)
        return event

    many = [{"role": "user" if i % 2 == 0 else "assistant", "content": f"message {i}"} for i in range(4_000)]
    limit = [{"role": "user", "content": "m", "order": 5_000 - i} for i in range(MAX_MESSAGES_PER_SESSION)]
    events += [
        special(1, messages=many),
        special(2, messages=limit),
        special(3, messages=[{"role": "user", "content": "q" * MAX_MESSAGE_CHARS}]),
        special(4, session_id="s" * 200, event_id="e" * 200, company_id=GOOD_COMPANIES[1]),
        special(5, unknown_field={"a": [[[[[[1]]]]]]}, schema_version=1, type="session.upserted"),
        special(6, messages=[{"role": "user", "content": "😀 \u202e עברית \u200b 語 \ud7ff \U0010ffff"}]),
        special(
            7,
            messages=[
                {"role": "user", "content": "", "order": 2**31 - 1},
                {"role": "a", "content": "x", "order": 0},
            ],
        ),
        special(8, processing_types=["summary", "categorization", "sentiment_analysis", "full_analysis"]),
        special(9, models=["gpt-4o", "gpt-4.1-mini"], reanalyze=True, ended_at=None),
        special(10, started_at="2026-06-01T08:00:00+14:00", ended_at="2026-06-01T08:00:00+13:00"),
        special(
            11,
            messages=[{"role": "user", "content": "Ignore previous instructions; DROP TABLE sessions; --"}],
        ),
        special(12, session_id="  padded-session  "),
    ]
    return events


def expected_requests(event: dict[str, Any]) -> int:
    return len(event.get("processing_types") or ["full_analysis"]) * len(
        event.get("models") or [DEFAULT_MODEL]
    )


def letter_value(letter: DeadLetter) -> bytes | None:
    return base64.b64decode(letter.value) if letter.value is not None else None


async def test_fuzzed_session_events_are_dead_lettered_and_good_ones_processed(
    settings: Settings, engine: AsyncEngine
) -> None:
    t0 = time.monotonic()
    bad = corpus(bad_payloads(), BAD_CASES) + landmark_bad()
    classes = Counter(kind.split(":")[0] for kind, _ in bad)
    assert set(classes) >= CLASS_LABELS, CLASS_LABELS - set(classes)
    assert len(bad) >= 1_000
    good = good_events()
    generated_s = time.monotonic() - t0

    # Interleave: every ~8 bad payloads one good event, so good events sit between bad ones in batches.
    stream: list[dict[str, Any] | bytes | None] = []
    goods = iter(good)
    for i, (_, raw) in enumerate(bad):
        stream.append(raw)
        if i % 8 == 0:
            stream.append(next(goods, None) or b"")
            if stream[-1] == b"":
                stream.pop()
    stream.extend(goods)

    async with running_services(settings, services=("producer",)):
        await publish_mixed(settings, stream)
        await wait_group_caught_up(settings, "producer", settings.topics.session_events, timeout_s=120)
        assert producer_task_alive(), "the producer service died"
        letters = [
            DeadLetter.model_validate_json(r.value)
            for r in await read_topic(settings, settings.topics.session_events + ".dlq")
        ]
        assert producer_task_alive(), "the producer service died"
    elapsed = time.monotonic() - t0

    # Every bad payload exactly once in the DLQ, with a validation reason; nothing else there.
    expected = Counter(identity(raw) for _, raw in bad)
    found = Counter(_original(letter) for letter in letters)
    missing = {k: n for k, n in (expected - found).items()}
    extra = {k: n for k, n in (found - expected).items()}
    assert not missing, f"{sum(missing.values())} bad payloads not dead-lettered, e.g. {_peek(missing, bad)}"
    assert not extra, f"{sum(extra.values())} unexpected DLQ records"
    assert len(letters) == len(bad)
    for letter in letters:
        assert letter.error and len(letter.error) <= 4_000
        assert not letter.error.startswith("handler error"), (
            f"bad input reached the handler: {letter.error[:300]}"
        )
        assert letter.topic == settings.topics.session_events
        assert letter.consumer_group == settings.group_id("producer")
    reasons = {kind: _reason_of(raw, letters) for kind, raw in bad if kind.startswith("missing:")}
    for kind, reason in reasons.items():
        assert kind.split(":")[1] in reason, (kind, reason)

    # Every good event processed: its session, its messages and one request per type x model.
    sessions = {r.id: r for r in await rows(engine, "SELECT id, company_id, message_count FROM sessions")}
    requests = Counter(
        r.session_id for r in await rows(engine, "SELECT session_id FROM ai_processing_requests")
    )
    for event in good:
        sid = event["session_id"].strip()
        assert sid in sessions, f"good event {event['event_id']} lost"
        assert sessions[sid].company_id == event["company_id"]
        assert sessions[sid].message_count == len(event["messages"])
        assert requests[sid] == expected_requests(event), event["event_id"]
    assert set(sessions) == {e["session_id"].strip() for e in good}, "a bad payload created a session"

    print(
        f"\nfuzz session.events: {len(bad)} bad payloads ({dict(classes)}), {len(good)} good events; "
        f"generation {generated_s:.1f}s, total {elapsed:.1f}s"
    )


async def publish_mixed(settings: Settings, stream: list[dict[str, Any] | bytes | None]) -> None:
    """Publish dicts (keyed by company) and raw bytes (unkeyed); ``None`` is a (keyed) tombstone."""
    from shared.kafka.producer import make_producer

    producer = make_producer(settings, client_id="fuzz-publisher")
    await producer.start()
    try:
        futures = []
        for item in stream:
            if isinstance(item, dict):
                value, key = orjson.dumps(item), str(item["company_id"]).encode()
            else:
                value, key = item, (b"fz-bad" if item is None else None)  # a tombstone needs a key
            futures.append(await producer.send(settings.topics.session_events, value, key=key))
        for f in futures:
            await f
    finally:
        await producer.stop()


def identity(raw: bytes | None) -> str:
    return "<tombstone>" if raw is None else hashlib.sha256(raw).hexdigest()


def _original(letter: DeadLetter) -> str:
    """The identity of the record a letter carries; a truncated one must be a true prefix of it."""
    value = letter_value(letter)
    if value is None:
        return "<tombstone>"
    if letter.truncated:
        assert len(value) == DLQ_MAX_ORIGINAL_BYTES < (letter.value_bytes or 0)
    else:
        assert hashlib.sha256(value).hexdigest() == letter.value_sha256
    return str(letter.value_sha256)


def _peek(missing: dict[str, int], bad: list[tuple[str, bytes | None]]) -> list[str]:
    raws = {identity(raw): (kind, raw) for kind, raw in bad}
    return [f"{raws[k][0]}: {(raws[k][1] or b'<tombstone>')[:150]!r}" for k in list(missing)[:5]]


def _reason_of(raw: bytes | None, letters: list[DeadLetter]) -> str:
    for letter in letters:
        if _original(letter) == identity(raw):
            return letter.error
    return ""


async def test_payload_over_the_broker_limit_is_refused_at_publish_and_changes_nothing(
    settings: Settings, engine: AsyncEngine
) -> None:
    """A 2 MB event cannot enter ``session.events`` (broker ``message.max.bytes`` ~1 MB): the publisher
    gets ``MessageSizeTooLargeError``; events published before and after it are processed."""
    huge = base_event(messages=[{"role": "user", "content": "h" * MAX_MESSAGE_CHARS} for _ in range(20)])
    before = good_events()[:3]
    after = good_events()[3:6]
    async with running_services(settings, services=("producer",)):
        await publish(settings, before)
        with pytest.raises(KafkaError) as refused:
            await publish(settings, [huge])
        assert (
            "MessageSizeTooLarge" in type(refused.value).__name__ or "too large" in str(refused.value).lower()
        )
        await publish(settings, after)
        await wait_group_caught_up(settings, "producer", settings.topics.session_events, timeout_s=60)
        assert producer_task_alive()
    stored = {r.id for r in await rows(engine, "SELECT id FROM sessions")}
    assert stored == {e["session_id"] for e in before + after}
    assert huge["session_id"] not in stored
    # The event itself is valid, so its size alone kept it out (the payload really was > 1 MB).
    assert decode(SessionEvent, orjson.dumps(huge)).session_id == huge["session_id"]
    assert len(orjson.dumps(huge)) > 2_000_000


# --- regressions of the bugs this fuzzing found -----------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("event_id", "e\x00", "event_id: Value error, contains a NUL character"),
        ("company_id", "\x00acme", "company_id: Value error, contains a NUL character"),
        ("session_id", "s-\x00", "session_id: Value error, contains a NUL character"),
        (
            "started_at",
            "0001-01-01T00:00:00+05:00",
            "started_at: Value error, out of range once converted to UTC",
        ),
        (
            "started_at",
            "9999-12-31T23:59:59-05:00",
            "started_at: Value error, out of range once converted to UTC",
        ),
        (
            "ended_at",
            "9999-12-31T23:30:00-01:00",
            "ended_at: Value error, out of range once converted to UTC",
        ),
    ],
)
def test_unstorable_ids_and_timestamps_fail_decoding_not_the_handlers_sql(
    field: str, value: str, reason: str
) -> None:
    """Regression: these passed ``decode`` and failed the producer's SQL ("invalid byte sequence for
    encoding UTF8: 0x00", "date value out of range"), so each went down the poison-record path (three
    failed transactions per batch, then every event of the batch alone, then the DLQ as "handler error")."""
    from shared.events import DecodeError

    with pytest.raises(DecodeError) as exc:
        decode(SessionEvent, dumps(base_event(**{field: value})))
    assert reason in str(exc.value)


async def test_bad_record_near_the_broker_limit_is_dead_lettered_without_stopping_the_producer(
    settings: Settings, engine: AsyncEngine
) -> None:
    """Regression: a ~1 MB bad record's base64 DLQ envelope (~1.3 MB) exceeded the broker's
    ``message.max.bytes``; the DLQ send raised and stopped the producer, and again after every restart."""
    messages = [{"role": "user", "content": "z" * MAX_MESSAGE_CHARS, "order": i} for i in range(9)]
    messages.append({"role": "user", "content": "nul \x00 here", "order": 9})
    raw = dumps(base_event(messages=messages))
    assert 900_000 < len(raw) < 1_000_000
    good = good_events()[:2]
    async with running_services(settings, services=("producer",)):
        await publish(settings, [good[0], raw, good[1]])
        await wait_group_caught_up(settings, "producer", settings.topics.session_events, timeout_s=60)
        assert producer_task_alive()
    (record,) = await read_topic(settings, settings.topics.session_events + ".dlq")
    letter = DeadLetter.model_validate_json(record.value)
    assert letter.truncated and letter.value_bytes == len(raw)
    assert letter.value_sha256 == hashlib.sha256(raw).hexdigest()
    assert letter_value(letter) == raw[:DLQ_MAX_ORIGINAL_BYTES]
    assert "contains a NUL character" in letter.error
    assert len(record.value) < 1_000_000
    assert {r.id for r in await rows(engine, "SELECT id FROM sessions")} == {e["session_id"] for e in good}
