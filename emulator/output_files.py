"""Output and error files of a finished batch, in the real API's line formats.

* output file: ``{id, custom_id, response: {status_code: 200, request_id, body: chat.completion},
  error: null}`` for every request answered 200 (malformed content included: the HTTP call
  succeeded, it is the *answer* that is bad);
* error file: requests answered with an HTTP error (``response.body.error``), and requests never
  run because the batch expired or was cancelled (``response: null``, ``error: {code, message}``).

Lines follow the processing order, which differs from the input order, as with the real API.

Prompt cache (a simple, documented stand-in for the real one): an answered line whose leading system
message is the same text as that of a line answered before it in the same batch reports that system
message's tokens (``ceil(chars / 4) + 3``) as ``prompt_tokens_details.cached_tokens``; the first line
of each system prompt, and lines without one, report 0. (The real cache also needs a 1,024-token
prefix and counts in steps of 128; the stand-in skips that so short test prompts exercise the cached
price.) The batch's ``usage`` is the sum of its answered lines, cached tokens included, so a client
summing the lines finds the batch's figures exactly.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

import orjson

from emulator.model import Malformation, chat_completion, system_prefix
from emulator.responses import RESPONSES_ENDPOINT, as_chat_body, as_response
from emulator.state import BatchRecord
from emulator.validation import iter_lines, parse_request

_SERVER_ERROR = {
    "message": "The server had an error while processing your request. Sorry about that!",
    "type": "server_error",
    "param": None,
    "code": None,
}
_UNFINISHED = {
    "expired": ("batch_expired", "This request could not be executed before the completion window expired."),
    "cancelled": ("batch_cancelled", "This request was not executed because the batch was cancelled."),
}


@dataclass(slots=True)
class BatchResults:
    output_lines: list[bytes] = field(default_factory=list)
    error_lines: list[bytes] = field(default_factory=list)
    results: dict[str, str] = field(default_factory=dict)
    input_tokens: int = 0
    cached_tokens: int = 0
    output_tokens: int = 0

    def usage(self) -> dict[str, Any]:
        return {
            "input_tokens": self.input_tokens,
            "input_tokens_details": {"cached_tokens": self.cached_tokens},
            "output_tokens": self.output_tokens,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": self.input_tokens + self.output_tokens,
        }


def _line(custom_id: str, response: dict[str, Any] | None, error: dict[str, str] | None) -> bytes:
    return orjson.dumps(
        {
            "id": f"batch_req_{secrets.token_hex(16)}",
            "custom_id": custom_id,
            "response": response,
            "error": error,
        }
    )


def build_results(
    rec: BatchRecord, input_data: bytes, *, done: int, status: str, created: int, fast: bool = False
) -> BatchResults:
    """Run the first ``done`` requests of ``rec.order`` through the stand-in model (``fast``: the
    fixed answer of ``answer_mode="fast"``)."""
    out = BatchResults()
    bodies: dict[int, dict[str, Any]] = {}
    wanted = set(rec.order[:done])
    cached_prefixes: set[str] = set()
    responses = rec.endpoint == RESPONSES_ENDPOINT
    for position, (_, raw) in enumerate(iter_lines(input_data)):
        if position in wanted and (obj := parse_request(raw)) is not None:
            given = obj.get("body") or {}
            bodies[position] = as_chat_body(given) if responses and isinstance(given, dict) else given
    for index in rec.order[:done]:
        custom_id = rec.custom_ids[index]
        outcome = rec.outcomes[index]
        request_id = f"req_{secrets.token_hex(16)}"
        if outcome == "error" or index not in bodies:
            response = {"status_code": 500, "request_id": request_id, "body": {"error": _SERVER_ERROR}}
            out.error_lines.append(_line(custom_id, response, None))
            out.results[custom_id] = "failed"
            continue
        malformed: Malformation | None = outcome if outcome in ("not_json", "off_schema") else None  # type: ignore[assignment]
        prefix = system_prefix(bodies[index])
        cached = 0
        if prefix is not None:
            cached = prefix[1] if prefix[0] in cached_prefixes else 0
            cached_prefixes.add(prefix[0])
        body = chat_completion(
            bodies[index],
            completion_id=f"chatcmpl-{secrets.token_hex(12)}",
            created=created,
            malformed=malformed,
            cached_tokens=cached,
            fast=fast,
        )
        out.input_tokens += body["usage"]["prompt_tokens"]
        out.cached_tokens += body["usage"]["prompt_tokens_details"]["cached_tokens"]
        out.output_tokens += body["usage"]["completion_tokens"]
        answered = as_response(body) if responses else body
        out.output_lines.append(
            _line(custom_id, {"status_code": 200, "request_id": request_id, "body": answered}, None)
        )
        out.results[custom_id] = "malformed" if malformed else "succeeded"
    if status in _UNFINISHED:
        code, message = _UNFINISHED[status]
        for index in rec.order[done:]:
            custom_id = rec.custom_ids[index]
            out.error_lines.append(_line(custom_id, None, {"code": code, "message": message}))
            out.results[custom_id] = status
    return out
