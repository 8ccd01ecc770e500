"""The Anthropic translation at the adapter's edge, on hand-written lines (no I/O).

Expected values are written out from Anthropic's and OpenAI's documented shapes, not computed by
the code under test; the ingester's own parser then reads the converted lines.
"""

from __future__ import annotations

import orjson
import pytest

from services.ingester.results import parse_line
from shared.analysis import ProcessingType
from shared.lifecycle import BatchStatus, from_provider_status
from shared.provider.anthropic_format import status_of, to_batch, to_output_line, to_request

SCHEMA = {
    "type": "object",
    "properties": {"sentiment": {"type": "string", "enum": ["POSITIVE", "NEUTRAL", "NEGATIVE"]}},
    "required": ["sentiment"],
    "additionalProperties": False,
}
LINE = {
    "custom_id": "0b6f2d0e-1c1a-4f57-9a3e-3f6d2b1f9c11",
    "method": "POST",
    "url": "/v1/chat/completions",
    "body": {
        "model": "claude-3-5-haiku-latest",
        "messages": [
            {"role": "system", "content": "Classify the sentiment."},
            {"role": "user", "content": "user: thanks, all good"},
        ],
        "temperature": 0,
        "max_tokens": 300,
        "response_format": {
            "type": "json_schema",
            "json_schema": {"name": "sentiment_analysis_result", "strict": True, "schema": SCHEMA},
        },
    },
}
CID = LINE["custom_id"]
TYPES = {CID: ProcessingType.SENTIMENT_ANALYSIS}


def test_a_chat_line_becomes_a_forced_tool_request() -> None:
    request = orjson.loads(to_request(orjson.dumps(LINE), default_max_tokens=1024))
    assert request == {
        "custom_id": CID,
        "params": {
            "model": "claude-3-5-haiku-latest",
            "max_tokens": 300,
            "system": "Classify the sentiment.",
            "messages": [{"role": "user", "content": "user: thanks, all good"}],
            "temperature": 0.0,
            "tools": [
                {
                    "name": "sentiment_analysis_result",
                    "description": "Record the answer in exactly this schema.",
                    "input_schema": SCHEMA,
                }
            ],
            "tool_choice": {"type": "tool", "name": "sentiment_analysis_result"},
        },
    }


def test_a_line_without_max_tokens_gets_the_default() -> None:
    line = {**LINE, "body": {"model": "m", "messages": [{"role": "user", "content": "hi"}]}}
    params = orjson.loads(to_request(orjson.dumps(line), default_max_tokens=77))["params"]
    assert params == {"model": "m", "max_tokens": 77, "messages": [{"role": "user", "content": "hi"}]}


def _succeeded(content: list[dict[str, object]], stop: str = "tool_use") -> bytes:
    message = {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "claude-3-5-haiku-latest",
        "content": content,
        "stop_reason": stop,
        "usage": {"input_tokens": 40, "output_tokens": 9, "cache_read_input_tokens": 10},
    }
    return orjson.dumps({"custom_id": CID, "result": {"type": "succeeded", "message": message}})


def test_a_tool_answer_parses_into_the_fields_with_its_usage() -> None:
    raw = to_output_line(
        _succeeded([{"type": "tool_use", "id": "t", "name": "x", "input": {"sentiment": "POSITIVE"}}])
    )
    outcome = parse_line(raw, TYPES)
    assert outcome.fields == {"sentiment": "POSITIVE"} and outcome.reason is None
    # Anthropic's input_tokens exclude cache reads; OpenAI's prompt_tokens include them.
    assert (outcome.usage.prompt_tokens, outcome.usage.cached_tokens, outcome.usage.completion_tokens) == (
        50,
        10,
        9,
    )


def test_a_text_answer_off_schema_fails_like_an_openai_one() -> None:
    raw = to_output_line(_succeeded([{"type": "text", "text": '{"sentiment": "ECSTATIC"}'}], stop="end_turn"))
    outcome = parse_line(raw, TYPES)
    assert outcome.fields is None and (outcome.reason or "").startswith("invalid_answer: sentiment")


def test_an_answer_cut_at_max_tokens_is_truncated() -> None:
    raw = to_output_line(_succeeded([{"type": "text", "text": '{"sentiment": "POS'}], stop="max_tokens"))
    assert parse_line(raw, TYPES).reason == "invalid_answer: truncated at max_tokens"


@pytest.mark.parametrize(
    ("result", "reason"),
    [
        ({"type": "canceled"}, "batch_cancelled: "),
        ({"type": "expired"}, "batch_expired: "),
        (
            {
                "type": "errored",
                "error": {"type": "error", "error": {"type": "overloaded_error", "message": "busy"}},
            },
            "http_529: overloaded_error: busy",
        ),
        (
            {"type": "errored", "error": {"type": "invalid_request_error", "message": "bad schema"}},
            "http_400: invalid_request_error: bad schema",
        ),
    ],
)
def test_unsucceeded_results_are_error_lines(result: dict[str, object], reason: str) -> None:
    outcome = parse_line(to_output_line(orjson.dumps({"custom_id": CID, "result": result})), TYPES)
    assert outcome.fields is None and (outcome.reason or "").startswith(reason)


def _batch(state: str, **counts: int) -> dict[str, object]:
    base = {"processing": 0, "succeeded": 0, "errored": 0, "canceled": 0, "expired": 0}
    return {
        "id": "msgbatch_1",
        "type": "message_batch",
        "processing_status": state,
        "request_counts": base | counts,
        "created_at": "2026-12-03T10:00:00Z",
        "expires_at": "2026-12-04T10:00:00Z",
        "ended_at": None,
        "cancel_initiated_at": None,
        "results_url": "http://x/v1/messages/batches/msgbatch_1/results" if state == "ended" else None,
    }


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (_batch("in_progress", processing=3), BatchStatus.IN_PROGRESS),
        (_batch("canceling", processing=3), BatchStatus.CANCELLING),
        (_batch("ended", succeeded=2, errored=1), BatchStatus.COMPLETED),
        (_batch("ended", succeeded=2, expired=1), BatchStatus.EXPIRED),
        (_batch("ended", succeeded=1, canceled=2), BatchStatus.CANCELLED),
    ],
)
def test_statuses_map_through_the_lifecycle(data: dict[str, object], expected: BatchStatus) -> None:
    assert from_provider_status(status_of(data)) is expected


def test_an_ended_batch_points_at_its_results() -> None:
    batch = to_batch(_batch("ended", succeeded=2, errored=1, expired=1), metadata={"batchline_batch_id": "b"})
    assert batch.output_file_id == "msgbatch-results:msgbatch_1" and batch.error_file_id is None
    assert (batch.request_counts.total, batch.request_counts.completed, batch.request_counts.failed) == (
        4,
        2,
        2,
    )
    assert batch.created_at == 1_796_292_000 and batch.local_batch_id == "b" and batch.is_terminal
    running = to_batch(_batch("in_progress", processing=4), metadata={})
    assert running.output_file_id is None and not running.is_terminal
