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
        ({**GOOD_ANSWER, "summary": ""}, "invalid_answer: summary"),
        ({**GOOD_ANSWER, "sentiment": "POSITIVELY"}, "invalid_answer: sentiment"),
        ({**GOOD_ANSWER, "category": "LEAVE VACATION"}, "invalid_answer: category"),  # a space is not a case
        ({**GOOD_ANSWER, "language": "de-DE"}, "invalid_answer: language"),
        ({**GOOD_ANSWER, "sentiment": "\u0130POSITIVE"}, "invalid_answer: sentiment"),  # non-ASCII: no folding
        ({**GOOD_ANSWER, "sentiment": 1}, "invalid_answer: sentiment"),
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


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ({"sentiment": " positive "}, {"sentiment": "POSITIVE"}),
        ({"sentiment": "Negative\n"}, {"sentiment": "NEGATIVE"}),
        ({"category": "leave_vacation"}, {"category": "LEAVE_VACATION"}),
        ({"category": "\tSchedule_Hours"}, {"category": "SCHEDULE_HOURS"}),
        ({"category": "workwear_staff_pass "}, {"category": "WORKWEAR_STAFF_PASS"}),
        ({"language": "DE"}, {"language": "de"}),
        ({"language": " Mt"}, {"language": "mt"}),
    ],
)
def test_enum_values_differing_only_in_case_or_whitespace_are_stored_canonical(
    given: dict[str, str], stored: dict[str, str]
) -> None:
    out = parse_line(line({**GOOD_ANSWER, **given}), TYPES)
    assert out.ok and out.fields == {**GOOD_ANSWER, **stored}
    assert not out.summary_truncated


def test_an_over_long_summary_is_cut_at_a_word_and_kept_flagged() -> None:
    summary = "The employee asks about leave. " * 40  # 31 characters x 40 = 1,240
    out = parse_line(line({**GOOD_ANSWER, "summary": summary}), TYPES)
    assert out.ok and out.summary_truncated and out.fields is not None
    # 999 characters of budget end inside the 33rd sentence, in "about" (31 x 32 = 992, + "The emp"):
    # the cut backs off to the space before "employee", the ellipsis makes 996 characters in all.
    assert out.fields["summary"] == summary[:996].rstrip() + "\u2026"
    assert len(out.fields["summary"]) == 996
    assert out.fields["summary"].endswith("leave. The\u2026")
    fits = parse_line(line({**GOOD_ANSWER, "summary": "y" * 1000}), TYPES)
    assert fits.ok and fits.fields is not None and fits.fields["summary"] == "y" * 1000
    assert not fits.summary_truncated


def test_an_over_long_summary_is_no_excuse_for_other_errors() -> None:
    out = parse_line(line({**GOOD_ANSWER, "summary": "x " * 800, "category": "HACKED"}), TYPES)
    assert not out.ok and (out.reason or "").startswith("invalid_answer: category")


ANSWER_VALUES = st.one_of(
    st.sampled_from(["POSITIVE", "positive", " NEUTRAL", "LEAVE_VACATION", "de", "DE", "xx", "", "a" * 1001]),
    st.text(max_size=30),
    st.integers(),
    st.none(),
)


@settings(max_examples=300, deadline=None)
@given(
    ptype=st.sampled_from(list(ProcessingType)),
    answer=st.dictionaries(
        st.sampled_from(["sentiment", "category", "summary", "language", "company_id"]), ANSWER_VALUES, max_size=5
    ),
)
@example(ptype=ProcessingType.FULL_ANALYSIS, answer=GOOD_ANSWER)
@example(ptype=ProcessingType.SENTIMENT_ANALYSIS, answer={"sentiment": "NEGATIVE"})
def test_the_shortcut_for_canonical_answers_decides_exactly_as_the_answer_model(
    ptype: ProcessingType, answer: dict[str, Any]
) -> None:
    """Answers already in canonical form skip the model; whatever it takes, the outcome is the model's."""
    from services.ingester.results import _canonical_fields
    from shared.analysis import ANSWER_MODELS, SESSION_FIELDS

    shortcut = _canonical_fields(ptype, answer)
    if shortcut is None:
        return  # the model judges it, as before
    dumped = ANSWER_MODELS[ptype].model_validate(answer).model_dump()  # raises if the shortcut was wrong
    assert shortcut == {name: str(dumped[name]) for name in SESSION_FIELDS[ptype]}


def test_a_canonical_answer_takes_the_shortcut_and_a_lower_case_one_does_not() -> None:
    from services.ingester.results import _canonical_fields

    assert _canonical_fields(ProcessingType.FULL_ANALYSIS, GOOD_ANSWER) == GOOD_ANSWER
    assert _canonical_fields(ProcessingType.FULL_ANALYSIS, {**GOOD_ANSWER, "sentiment": "positive"}) is None
    assert _canonical_fields(ProcessingType.FULL_ANALYSIS, {**GOOD_ANSWER, "company_id": "x"}) is None
    assert _canonical_fields(ProcessingType.SUMMARY, {"summary": ""}) is None
