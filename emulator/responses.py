"""The Responses endpoint (``/v1/responses``) on the emulator: its request and answer shapes.

The stand-in model answers chat-completion bodies; a Responses body is the same request spelled
differently (``input`` for ``messages``, ``text.format`` for ``response_format``,
``max_output_tokens`` for ``max_tokens``), so it is read as its chat twin and the answer written back
in the Responses shape: ``output[]`` with one assistant ``message`` whose ``content[]`` holds the
``output_text``, and ``usage`` as ``input_tokens`` / ``output_tokens``.
"""

from __future__ import annotations

import secrets
from typing import Any

RESPONSES_ENDPOINT = "/v1/responses"


def as_chat_body(body: dict[str, Any]) -> dict[str, Any]:
    """The chat-completion body asking what the Responses ``body`` asks."""
    given = body.get("input")
    if isinstance(given, str):
        messages: list[Any] = [{"role": "user", "content": given}]
    else:
        messages = [m for m in given if isinstance(m, dict)] if isinstance(given, list) else []
    if isinstance(body.get("instructions"), str):
        messages = [{"role": "system", "content": body["instructions"]}, *messages]
    chat: dict[str, Any] = {"model": body.get("model"), "messages": messages}
    fmt = (body.get("text") or {}).get("format") if isinstance(body.get("text"), dict) else None
    if isinstance(fmt, dict) and fmt.get("type") == "json_schema":
        schema = {k: fmt[k] for k in ("name", "schema", "strict") if k in fmt}
        chat["response_format"] = {"type": "json_schema", "json_schema": schema}
    if "max_output_tokens" in body:
        chat["max_tokens"] = body["max_output_tokens"]
    return chat


def as_response(chat: dict[str, Any]) -> dict[str, Any]:
    """A ``chat.completion`` answer rewritten as the ``response`` object of the same answer."""
    usage = chat["usage"]
    text = chat["choices"][0]["message"]["content"]
    return {
        "id": f"resp_{secrets.token_hex(12)}",
        "object": "response",
        "created_at": chat["created"],
        "status": "completed",
        "model": chat["model"],
        "output": [
            {
                "type": "message",
                "id": f"msg_{secrets.token_hex(12)}",
                "status": "completed",
                "role": "assistant",
                "content": [{"type": "output_text", "text": text, "annotations": []}],
            }
        ],
        "usage": {
            "input_tokens": usage["prompt_tokens"],
            "input_tokens_details": {"cached_tokens": usage["prompt_tokens_details"]["cached_tokens"]},
            "output_tokens": usage["completion_tokens"],
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": usage["total_tokens"],
        },
    }
