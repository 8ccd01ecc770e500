"""The Batch API's input-file rules, reported the way the real API reports them.

A violation never rejects the ``POST /v1/batches`` call itself: the batch is created, sits in
``validating`` for one stage and then goes ``failed`` with ``errors.data[]`` entries of
``{code, message, param, line}`` (``line`` 1-based, ``None`` for whole-file problems).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

import orjson

from emulator.model import estimate_prompt_tokens
from emulator.responses import RESPONSES_ENDPOINT, as_chat_body

#: The real API stops listing after a while; so do we, to keep the batch object small.
MAX_LISTED_ERRORS = 1_000


@dataclass(slots=True)
class ParsedInput:
    custom_ids: list[str] = field(default_factory=list)
    #: The 1-based input line of each custom_id.
    line_numbers: list[int] = field(default_factory=list)
    model: str | None = None
    prompt_tokens: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)

    def add_error(
        self, code: str, message: str, *, line: int | None = None, param: str | None = None
    ) -> None:
        if len(self.errors) < MAX_LISTED_ERRORS:
            self.errors.append({"code": code, "message": message, "param": param, "line": line})


def iter_lines(data: bytes) -> list[tuple[int, bytes]]:
    """``(line number, text)`` of every non-blank line."""
    return [(i, raw) for i, raw in enumerate(data.split(b"\n"), start=1) if raw.strip()]


def parse_request(raw: bytes) -> dict[str, Any] | None:
    try:
        obj = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    return obj if isinstance(obj, dict) else None


def validate_input(
    data: bytes, *, endpoint: str, max_requests: int, max_bytes: int, codes: dict[str, str] | None = None
) -> ParsedInput:
    """``codes``: another provider's names of the line errors (Azure's ``url_mismatch``, ...)."""
    out = _validate(data, endpoint=endpoint, max_requests=max_requests, max_bytes=max_bytes)
    if codes:
        for error in out.errors:
            error["code"] = codes.get(error["code"], error["code"])
    return out


def _validate(data: bytes, *, endpoint: str, max_requests: int, max_bytes: int) -> ParsedInput:
    out = ParsedInput()
    if len(data) > max_bytes:
        out.add_error(
            "file_too_large",
            f"The batch input file is larger than the {max_bytes} byte limit; split it into smaller files.",
            param="input_file_id",
        )
        return out
    lines = iter_lines(data)
    if not lines:
        out.add_error("empty_file", "The batch input file is empty.", param="input_file_id")
        return out
    if len(lines) > max_requests:
        out.add_error(
            "too_many_tasks",
            f"The batch input file contains {len(lines)} requests; the limit is {max_requests}.",
            param="input_file_id",
        )
        return out
    seen: set[str] = set()
    for number, raw in lines:
        obj = parse_request(raw)
        if obj is None:
            out.add_error("invalid_json_line", "This line is not parseable as valid JSON.", line=number)
            continue
        missing = [key for key in ("custom_id", "method", "url", "body") if key not in obj]
        if missing:
            out.add_error(
                "missing_required_parameter",
                f"Missing required parameter: '{missing[0]}'.",
                line=number,
                param=missing[0],
            )
            continue
        custom_id, body = obj["custom_id"], obj["body"]
        if not isinstance(custom_id, str) or not custom_id:
            out.add_error(
                "invalid_value", "custom_id must be a non-empty string.", line=number, param="custom_id"
            )
            continue
        if custom_id in seen:
            out.add_error(
                "duplicate_custom_id",
                "The custom_id for this request is a duplicate of another request. "
                "The custom_id parameter must be unique for each request in a batch.",
                line=number,
                param="custom_id",
            )
            continue
        seen.add(custom_id)
        out.custom_ids.append(custom_id)
        out.line_numbers.append(number)
        if obj["method"] != "POST":
            out.add_error("invalid_value", "Only the POST method is supported.", line=number, param="method")
        if obj["url"] != endpoint:
            out.add_error(
                "invalid_url",
                f"The URL provided for this request does not match the batch endpoint {endpoint}.",
                line=number,
                param="url",
            )
        if not isinstance(body, dict) or not isinstance(body.get("model"), str):
            out.add_error(
                "missing_required_parameter",
                "Missing required parameter: 'body.model'.",
                line=number,
                param="body",
            )
            continue
        if out.model is None:
            out.model = body["model"]
        elif body["model"] != out.model:
            out.add_error(
                "mismatched_model",
                f"The provided model '{body['model']}' does not match the model '{out.model}' of the other "
                "requests in this file. Each batch input file must use a single model.",
                line=number,
                param="body.model",
            )
        asked = as_chat_body(body) if endpoint == RESPONSES_ENDPOINT else body
        out.prompt_tokens += estimate_prompt_tokens(asked)
    return out


def reject_lines(out: ParsedInput, *, lines: list[str | int], rate: float, rng: random.Random) -> int:
    """Fault ``invalid_lines`` / ``invalid_line_rate``: fail validation on chosen lines.

    ``lines`` holds custom_ids (strings) and 1-based line numbers (integers). Each rejected line is
    reported as OpenAI reports a request it cannot accept (``invalid_request`` with the line),
    so one bad line fails the whole batch, as it does there. Returns the number rejected.
    """
    ids = {x for x in lines if isinstance(x, str)}
    numbers = {x for x in lines if isinstance(x, int)}
    rejected = 0
    for custom_id, number in zip(out.custom_ids, out.line_numbers, strict=True):
        draw = rng.random()
        if custom_id in ids or number in numbers or draw < rate:
            rejected += 1
            out.add_error(
                "invalid_request",
                f"Invalid request on line {number} (custom_id {custom_id!r}): the body is not a valid "
                "request for this endpoint (emulator fault invalid_lines).",
                line=number,
                param="body",
            )
    out.errors.sort(key=lambda e: e["line"] or 0)
    return rejected
