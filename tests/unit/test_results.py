"""Parsing provider output/error lines: only schema-valid answers ever become session fields."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from services.ingester.results import LineOutcome, UnreadableLine, parse_line
from shared.analysis import ProcessingType

RID = "7c9e6679-7425-40de-944b-e07fc1f90ae7"
TYPES = {RID: ProcessingType.FULL_ANALYSIS, "sent": ProcessingType.SENTIMENT_ANALYSIS}
UNREADABLE_REASONS = {"line is not JSON", "line is not a JSON object", "line has no custom_id of this batch"}
#: The session fields each request of TYPES may write, by hand (a full analysis writes all four).
FIELDS_OF = {RID: {"sentiment", "category", "summary", "language"}, "sent": {"sentiment"}}
GOOD_ANSWER = {
    "sentiment": "POSITIVE",
    "category": "LEAVE_VACATION",
    "summary": "Asked about leave.",
    "language": "de",
}


def line(
    content: Any = None, *, custom_id: str = RID, status: int = 200, error: Any = None, **body: Any
) -> bytes:
    if content is None:
        content = GOOD_ANSWER
    text = content if isinstance(content, str) else orjson.dumps(content).decode()
    response_body = {
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 120, "completion_tokens": 30, "total_tokens": 150},
        **body,
    }
    return orjson.dumps(
        {
            "id": "batch_req_1",
            "custom_id": custom_id,
            "response": {"status_code": status, "request_id": "r", "body": response_body}
            if error is None
            else None,
            "error": error,
        }
    )


def test_valid_answer_yields_the_fields_of_its_type_and_tokens() -> None:
    out = parse_line(line(), TYPES)
    assert out.ok and out.fields == GOOD_ANSWER
    assert (out.usage.prompt_tokens, out.usage.completion_tokens, out.usage.total_tokens) == (120, 30, 150)


def test_sentiment_request_writes_only_sentiment() -> None:
    out = parse_line(line({"sentiment": "NEGATIVE"}, custom_id="sent"), TYPES)
    assert out.fields == {"sentiment": "NEGATIVE"}


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("I think it is positive", "content is not JSON"),
        ({**GOOD_ANSWER, "sentiment": "ECSTATIC"}, "invalid_answer: sentiment"),
        ({**GOOD_ANSWER, "category": "HACKED"}, "invalid_answer: category"),
        ({**GOOD_ANSWER, "language": "xx"}, "invalid_answer: language"),
        ({**GOOD_ANSWER, "company_id": "other-tenant"}, "invalid_answer: company_id: Extra inputs"),
        ({"sentiment": "POSITIVE"}, "invalid_answer: category: Field required"),
        ({**GOOD_ANSWER, "summary": "x" * 5000}, "invalid_answer: summary"),
    ],
)
def test_invalid_answers_fail_with_reason_and_write_nothing(content: Any, reason: str) -> None:
    out = parse_line(line(content), TYPES)
    assert not out.ok and out.fields is None
    assert reason in (out.reason or "")
    assert out.usage.total_tokens == 150  # tokens were spent even though the answer is unusable


def test_error_file_lines_fail_with_provider_reason() -> None:
    expired = parse_line(line(error={"code": "batch_expired", "message": "expired"}), TYPES)
    assert expired.reason == "batch_expired: expired"
    http = orjson.dumps(
        {
            "custom_id": RID,
            "error": None,
            "response": {
                "status_code": 400,
                "body": {"error": {"code": "invalid_request", "message": "bad model"}},
            },
        }
    )
    assert parse_line(http, TYPES).reason == "http_400: invalid_request: bad model"


@pytest.mark.parametrize(
    "raw", [b"garbage", b"[]", b'{"custom_id": 5}', orjson.dumps({"custom_id": "not-ours"})]
)
def test_lines_that_name_no_request_of_this_batch_are_unreadable(raw: bytes) -> None:
    with pytest.raises(UnreadableLine):
        parse_line(raw, TYPES)


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=1000, deadline=None)
@given(
    custom_id=st.sampled_from([RID, "sent", "other"]) | st.text(max_size=10),
    response=json_values,
    error=json_values,
    content=json_values | st.text(max_size=50),
)
def test_fuzzed_lines_never_crash_and_never_produce_invalid_fields(
    custom_id: str, response: Any, error: Any, content: Any
) -> None:
    variants = [
        orjson.dumps({"custom_id": custom_id, "response": response, "error": error}),
        line(content if isinstance(content, str) else {"sentiment": content}, custom_id=custom_id),
    ]
    for raw in variants:
        try:
            out = parse_line(raw, TYPES)
        except UnreadableLine:
            continue
        assert isinstance(out, LineOutcome)
        if out.ok:
            assert out.fields is not None
            assert set(out.fields) <= {"sentiment", "category", "summary", "language"}
        else:
            assert out.reason


def _outcome_or_unreadable(raw: bytes) -> LineOutcome | str:
    """The outcome of a line, or the reason it is unreadable."""
    try:
        return parse_line(raw, TYPES)
    except UnreadableLine as exc:
        return str(exc)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
@example(b"")
@example(b"\xff\xfe not utf-8")
@example(b'{"custom_id": "not-ours", "response": {"status_code": 200}}')
@example(b'{"custom_id": "sent", "response": {"status_code": 200, "body": {"choices": []}}}')
@example(b'{"custom_id": "sent", "response": {"status_code": 200, "body": {"choices": [{"message": '
         b'{"content": "{\\"sentiment\\": \\"NEUTRAL\\"}"}}]}}}')
def test_arbitrary_bytes_are_unreadable_or_an_outcome(raw: bytes) -> None:
    out = _outcome_or_unreadable(raw)
    if isinstance(out, str):
        assert out in UNREADABLE_REASONS
        return
    # Only a line naming one of this batch's requests gets an outcome, and it is exactly one of:
    # validated fields of that request's type, or a failure with a reason.
    assert isinstance(out, LineOutcome)
    assert out.custom_id in TYPES
    if out.ok:
        assert out.reason is None
        assert out.fields is not None
        assert set(out.fields) == FIELDS_OF[out.custom_id]
    else:
        assert out.fields is None
        assert out.reason


def test_arbitrary_bytes_examples_reach_both_branches() -> None:
    """The explicit examples above cover an unreadable line, a failed outcome and a good one."""
    with pytest.raises(UnreadableLine):
        parse_line(b"\xff\xfe not utf-8", TYPES)
    failed = parse_line(b'{"custom_id": "sent", "response": {"status_code": 200, "body": {"choices": []}}}', TYPES)
    assert (failed.ok, failed.reason) == (False, "no choices in response")
    good = parse_line(
        b'{"custom_id": "sent", "response": {"status_code": 200, "body": {"choices": [{"message": '
        b'{"content": "{\\"sentiment\\": \\"NEUTRAL\\"}"}}]}}}',
        TYPES,
    )
    assert good.fields == {"sentiment": "NEUTRAL"}
