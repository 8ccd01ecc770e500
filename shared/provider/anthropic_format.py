"""Translating between batchline's OpenAI-shaped batch lines and Anthropic's Message Batches. Pure.

The submitter writes chat-completions lines and the ingester parses chat-completions output lines;
the Anthropic adapter translates at the edge so neither changes shape:

* :func:`to_request`: one input line -> ``{custom_id, params}``. The system message becomes
  ``system``; the strict answer schema (``response_format.json_schema``) becomes one tool whose
  ``input_schema`` is that schema, with ``tool_choice`` forcing it: Anthropic's way to make the model
  answer in the schema. The tool is named as the schema (``<processing_type>_result``).
* :func:`to_output_line`: one result line -> the output-line shape of OpenAI's batch files. A
  ``tool_use`` answer's ``input`` becomes the message content as JSON text, so the ingester validates
  it exactly as an OpenAI answer; ``errored``, ``canceled`` and ``expired`` become error lines with
  the codes OpenAI uses (``batch_cancelled``, ``batch_expired``), so they resolve the same way.
* :func:`to_batch`: a ``message_batch`` object -> :class:`ProviderBatch` with OpenAI's status words
  (``ended`` is ``cancelled``, ``expired`` or ``completed`` by its counts), so
  ``shared.lifecycle.PROVIDER_STATUS_MAP`` applies unchanged.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson

from shared.provider.base import ProviderBatch, RequestCounts

#: The pseudo "output file" of an ended batch: its results, read from ``results_url``.
RESULTS_PREFIX = "msgbatch-results:"
_STOP_REASONS = {"max_tokens": "length", "tool_use": "stop", "end_turn": "stop", "stop_sequence": "stop"}
#: Error result types whose HTTP status the output line carries (the rest: 500).
_ERROR_STATUS = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "permission_error": 403,
    "not_found_error": 404,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "overloaded_error": 529,
}
_UNFINISHED = {
    "canceled": ("batch_cancelled", "This request was not executed because the batch was cancelled."),
    "expired": ("batch_expired", "This request could not be executed before the batch expired."),
}


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return ""


def to_request(line: bytes, *, default_max_tokens: int) -> bytes:
    """One chat-completions batch line as the JSON of an Anthropic ``{custom_id, params}``."""
    obj = orjson.loads(line)
    body: dict[str, Any] = obj["body"]
    system = [
        _text(m.get("content")) for m in body.get("messages", []) if m.get("role") in ("system", "developer")
    ]
    messages = [
        {"role": m["role"], "content": _text(m.get("content"))}
        for m in body.get("messages", [])
        if m.get("role") in ("user", "assistant")
    ]
    params: dict[str, Any] = {
        "model": body["model"],
        "max_tokens": int(body.get("max_tokens") or body.get("max_completion_tokens") or default_max_tokens),
        "messages": messages,
    }
    if system:
        params["system"] = "\n\n".join(system)
    if isinstance(body.get("temperature"), int | float):
        params["temperature"] = min(max(float(body["temperature"]), 0.0), 1.0)
    fmt = body.get("response_format")
    if isinstance(fmt, dict) and isinstance(fmt.get("json_schema"), dict):
        name = str(fmt["json_schema"].get("name") or "answer")
        params["tools"] = [
            {
                "name": name,
                "description": "Record the answer in exactly this schema.",
                "input_schema": fmt["json_schema"].get("schema") or {"type": "object"},
            }
        ]
        params["tool_choice"] = {"type": "tool", "name": name}
    return orjson.dumps({"custom_id": obj["custom_id"], "params": params})


def _answer(message: dict[str, Any]) -> str:
    """The answer text: a tool call's input as JSON (the schema'd answer), else the text blocks."""
    blocks = [b for b in message.get("content") or [] if isinstance(b, dict)]
    for block in blocks:
        if block.get("type") == "tool_use":
            return orjson.dumps(block.get("input")).decode()
    return "".join(str(b.get("text", "")) for b in blocks if b.get("type") == "text")


def _usage(usage: Any) -> dict[str, Any]:
    u = usage if isinstance(usage, dict) else {}

    def count(name: str) -> int:
        value = u.get(name)
        return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0

    cached = count("cache_read_input_tokens")
    prompt = count("input_tokens") + cached + count("cache_creation_input_tokens")
    completion = count("output_tokens")
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": cached},
    }


def to_output_line(raw: bytes) -> bytes:
    """One Anthropic result line as an OpenAI batch output (or error) line; unknown shapes are kept
    as they are, so the ingester's parser reports them (unreadable, or failed with a reason)."""
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return raw
    result = data.get("result") if isinstance(data, dict) else None
    if not isinstance(result, dict):
        return raw
    custom_id = data.get("custom_id")
    kind = result.get("type")
    if kind == "succeeded" and isinstance(result.get("message"), dict):
        message = result["message"]
        stop = message.get("stop_reason")
        body = {
            "id": message.get("id"),
            "object": "chat.completion",
            "model": message.get("model"),
            "choices": [
                {
                    "index": 0,
                    "message": {
                        "role": "assistant",
                        "content": _answer(message),
                        "refusal": "the model refused" if stop == "refusal" else None,
                    },
                    "finish_reason": _STOP_REASONS.get(str(stop), "stop"),
                }
            ],
            "usage": _usage(message.get("usage")),
        }
        response = {"status_code": 200, "request_id": message.get("id"), "body": body}
        return orjson.dumps({"custom_id": custom_id, "response": response, "error": None})
    if kind in _UNFINISHED:
        code, text = _UNFINISHED[str(kind)]
        return orjson.dumps(
            {"custom_id": custom_id, "response": None, "error": {"code": code, "message": text}}
        )
    outer: dict[str, Any] = result["error"] if isinstance(result.get("error"), dict) else {}
    err: dict[str, Any] = outer["error"] if isinstance(outer.get("error"), dict) else outer
    err_type = str(err.get("type") or "api_error")
    error = {"message": str(err.get("message") or kind), "type": err_type, "code": err_type}
    response = {"status_code": _ERROR_STATUS.get(err_type, 500), "body": {"error": error}}
    return orjson.dumps({"custom_id": custom_id, "response": response, "error": None})


def _epoch(value: Any) -> int | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return int(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp())
    except ValueError:
        return None


def status_of(data: dict[str, Any]) -> str:
    """OpenAI's word for an Anthropic batch's state."""
    processing = data.get("processing_status")
    counts = data.get("request_counts") or {}
    if processing == "canceling":
        return "cancelling"
    if processing != "ended":
        return "in_progress"
    if counts.get("canceled") or data.get("cancel_initiated_at"):
        return "cancelled"
    if counts.get("expired"):
        return "expired"
    return "completed"


def to_batch(data: dict[str, Any], *, metadata: dict[str, str], input_file_id: str = "") -> ProviderBatch:
    counts = data.get("request_counts") or {}

    def n(name: str) -> int:
        value = counts.get(name)
        return value if isinstance(value, int) and value >= 0 else 0

    ended = data.get("processing_status") == "ended"
    total = sum(n(k) for k in ("processing", "succeeded", "errored", "canceled", "expired"))
    return ProviderBatch(
        id=str(data["id"]),
        status=status_of(data),
        input_file_id=input_file_id,
        output_file_id=f"{RESULTS_PREFIX}{data['id']}" if ended and data.get("results_url") else None,
        error_file_id=None,
        created_at=_epoch(data.get("created_at")) or 0,
        expires_at=_epoch(data.get("expires_at")),
        request_counts=RequestCounts(
            total=total, completed=n("succeeded"), failed=n("errored") + n("canceled") + n("expired")
        ),
        metadata=metadata,
        raw=data,
    )
