"""Output lines of ``/v1/responses`` batches parse into the same outcomes as chat completions."""

from __future__ import annotations

from typing import Any

import orjson

from services.ingester.results import Usage, parse_line
from shared.analysis import ProcessingType

RID = "7c9e6679-7425-40de-944b-e07fc1f90ae7"
TYPES = {RID: ProcessingType.FULL_ANALYSIS}
ANSWER = {"sentiment": "NEGATIVE", "category": "LEAVE_VACATION", "summary": "Pay was late.", "language": "fr"}


def responses_line(content: list[dict[str, Any]], **body: Any) -> bytes:
    response = {
        "id": "resp_1",
        "object": "response",
        "status": "completed",
        "output": [
            {"type": "reasoning", "id": "rs_1", "summary": []},
            {"type": "message", "id": "msg_1", "role": "assistant", "status": "completed", "content": content},
        ],
        "usage": {"input_tokens": 210, "input_tokens_details": {"cached_tokens": 64}, "output_tokens": 40,
                  "output_tokens_details": {"reasoning_tokens": 0}, "total_tokens": 250},
        **body,
    }
    return orjson.dumps({"id": "batch_req_1", "custom_id": RID, "error": None,
                         "response": {"status_code": 200, "request_id": "req_1", "body": response}})


def text(value: str) -> dict[str, Any]:
    return {"type": "output_text", "text": value, "annotations": []}


def test_a_responses_answer_yields_the_same_fields_and_its_usage() -> None:
    out = parse_line(responses_line([text(orjson.dumps(ANSWER).decode())]), TYPES)
    assert out.fields == ANSWER and out.reason is None
    assert out.usage == Usage(prompt_tokens=210, completion_tokens=40, total_tokens=250, cached_tokens=64)


def test_output_text_split_in_parts_is_joined() -> None:
    whole = orjson.dumps(ANSWER).decode()
    out = parse_line(responses_line([text(whole[:20]), text(whole[20:])]), TYPES)
    assert out.fields == ANSWER


def test_a_refusal_a_missing_text_and_a_cut_answer_fail_with_their_reason() -> None:
    refused = parse_line(responses_line([{"type": "refusal", "refusal": "I cannot help"}]), TYPES)
    assert refused.fields is None and refused.reason == "refusal: I cannot help"
    empty = parse_line(responses_line([]), TYPES)
    assert empty.reason == "no output_text in response"
    cut = parse_line(responses_line([text('{"sentiment": "NEG')], status="incomplete",
                                    incomplete_details={"reason": "max_output_tokens"}), TYPES)
    assert cut.reason == "invalid_answer: truncated at max_output_tokens"
    assert cut.usage.prompt_tokens == 210  # the tokens are billed all the same


def test_an_off_schema_responses_answer_is_refused_like_a_chat_one() -> None:
    out = parse_line(responses_line([text(orjson.dumps({**ANSWER, "company_id": "x"}).decode())]), TYPES)
    assert out.fields is None and out.reason is not None and out.reason.startswith("invalid_answer")
