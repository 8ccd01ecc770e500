"""Event contracts: what upstream may send, and the reasons bad records are dead-lettered with."""

from __future__ import annotations

import uuid

import orjson
import pytest

from shared.analysis import ProcessingType
from shared.events import (
    BatchCompleted,
    BatchCreated,
    DecodeError,
    RequestPending,
    SessionEvent,
    decode,
)

GOOD = {
    "event_id": "e-1",
    "company_id": "acme",
    "session_id": "s-1",
    "started_at": "2026-05-01T10:00:00Z",
    "messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}],
}


def raw(**changes: object) -> bytes:
    data = {**GOOD, **changes}
    return orjson.dumps({k: v for k, v in data.items() if v is not ...})


def test_minimal_event_gets_defaults_and_company_key() -> None:
    event = decode(SessionEvent, raw())
    assert event.schema_version == 1
    assert event.processing_types == [ProcessingType.FULL_ANALYSIS]
    assert event.models is None and event.reanalyze is False
    assert event.key() == b"acme"
    assert event.ordered_messages() == [(0, "user", "Hi"), (1, "assistant", "Hello")]


def test_unknown_fields_are_tolerated() -> None:
    event = decode(SessionEvent, raw(tenant_region="eu", extra={"nested": [1, 2]}))
    assert event.session_id == "s-1"


def test_round_trip_of_every_pipeline_event() -> None:
    pending = RequestPending(
        event_id="x",
        request_id="r",
        company_id="c",
        session_id="s",
        processing_type=ProcessingType.SUMMARY,
        model="gpt-4o-mini",
        attempt=2,
        approx_bytes=10,
    )
    assert decode(RequestPending, pending.to_bytes()) == pending
    done = BatchCompleted(event_id="y", batch_id=uuid.uuid4(), company_id="c")
    assert decode(BatchCompleted, done.to_bytes()) == done


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"{not json", "not valid JSON"),
        (b"[1, 2]", "expected a JSON object, got list"),
        (None, "tombstone"),
        (raw(company_id=...), "company_id: Field required"),
        (raw(messages=[]), "messages: List should have at least 1 item"),
        (raw(processing_types=["horoscope"]), "processing_types.0: Input should be"),
        (raw(started_at="yesterday"), "started_at: Input should be a valid datetime"),
        (raw(schema_version=2), "unsupported schema_version 2"),
        (raw(ended_at="2026-04-01T00:00:00Z"), "ended_at is before started_at"),
        (
            raw(
                messages=[
                    {"role": "user", "content": "a", "order": 1},
                    {"role": "user", "content": "b", "order": 1},
                ]
            ),
            "duplicate 'order'",
        ),
        (raw(messages=[{"role": "user", "content": "a\u0000b"}]), "NUL character"),
        (raw(company_id=""), "company_id: String should have at least 1 character"),
        (raw(models=["gpt 4; DROP TABLE"]), "models.0: String should match pattern"),
        (b"\xff\xfe{}", "not valid JSON"),
    ],
)
def test_bad_events_are_rejected_with_a_reason_naming_the_problem(payload: bytes | None, reason: str) -> None:
    with pytest.raises(DecodeError) as info:
        decode(SessionEvent, payload)
    assert reason in str(info.value)


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (raw(messages=[{"role": "us\u0000er", "content": "a"}]), "messages.0.role: Value error, contains a NUL"),
        (raw(event_id="e\u0000"), "event_id: Value error, contains a NUL character"),
        (raw(models=["m"], session_id="\u0000"), "session_id: Value error, contains a NUL character"),
    ],
)
def test_nul_is_found_wherever_it_is_escaped(payload: bytes, reason: str) -> None:
    assert b"\\u0000" in payload
    with pytest.raises(DecodeError) as info:
        decode(SessionEvent, payload)
    assert reason in str(info.value)


def test_text_spelled_with_escapes_is_stored_as_written() -> None:
    """A literal backslash-u0000, escaped non-ASCII and a surrogate pair are storable text."""
    content = "path C:\\u0000 caf\u00e9 \U0001f600"
    event = decode(SessionEvent, raw(messages=[{"role": "user", "content": content}], company_id=" acme "))
    assert event.messages[0].content == content
    assert event.company_id == "acme"
    assert event == SessionEvent.model_validate(orjson.loads(raw(messages=[{"role": "user", "content": content}])))


def test_batch_events_carry_uuid_batch_ids_and_reject_others() -> None:
    bid = uuid.uuid4()
    created = BatchCreated(event_id="c", batch_id=bid, company_id="c")
    assert decode(BatchCreated, created.to_bytes()).batch_id == bid
    bad = orjson.dumps({**orjson.loads(created.to_bytes()), "batch_id": "not-a-uuid"})
    with pytest.raises(DecodeError, match="batch_id"):
        decode(BatchCreated, bad)


def test_deeply_nested_unknown_field_does_not_crash_the_decoder() -> None:
    nested = b'{"x":' * 2000 + b"1" + b"}" * 2000
    with pytest.raises(DecodeError):
        decode(SessionEvent, nested)


def test_naive_timestamps_are_taken_as_utc() -> None:
    event = decode(SessionEvent, raw(started_at="2026-05-01T10:00:00"))
    assert event.started_at.utcoffset() is not None


def test_batch_events_are_version_2_and_carry_only_what_consumers_read() -> None:
    bid = uuid.uuid4()
    created = orjson.loads(BatchCreated(event_id="c", batch_id=bid, company_id="acme").to_bytes())
    done = orjson.loads(BatchCompleted(event_id="d", batch_id=bid, company_id="acme").to_bytes())
    assert created == {"schema_version": 2, "event_id": "c", "type": "batch.created",
                       "batch_id": str(bid), "company_id": "acme"}
    assert done == {"schema_version": 2, "event_id": "d", "type": "batch.completed",
                    "batch_id": str(bid), "company_id": "acme"}


def test_a_version_1_batch_event_still_decodes_so_old_topics_replay() -> None:
    bid = uuid.uuid4()
    v1_completed = orjson.dumps({"schema_version": 1, "event_id": "d", "type": "batch.completed",
                                 "batch_id": str(bid), "company_id": "acme", "model": "gpt-4o-mini",
                                 "provider_batch_id": "batch_1", "status": "COMPLETED",
                                 "output_file_id": "file-1", "error_file_id": None})
    v1_created = orjson.dumps({"schema_version": 1, "event_id": "c", "type": "batch.created",
                               "batch_id": str(bid), "company_id": "acme", "model": "gpt-4o-mini",
                               "provider_batch_id": "batch_1", "request_count": 3})
    assert decode(BatchCompleted, v1_completed) == BatchCompleted(event_id="d", batch_id=bid, company_id="acme")
    assert decode(BatchCreated, v1_created).batch_id == bid


@pytest.mark.parametrize(("model", "version", "reads"), [
    (BatchCompleted, 3, "1, 2"), (BatchCreated, "2", "1, 2"), (SessionEvent, 2, "1"), (RequestPending, 2, "1"),
])
def test_a_version_the_consumer_does_not_read_is_refused_with_the_versions_it_reads(
        model: type[BatchCompleted | BatchCreated | SessionEvent | RequestPending], version: object, reads: str) -> None:
    payload = orjson.dumps({"schema_version": version, "event_id": "x", "batch_id": str(uuid.uuid4()),
                            "company_id": "acme"})
    with pytest.raises(DecodeError, match=f"unsupported schema_version .* reads {reads}"):
        decode(model, payload)
