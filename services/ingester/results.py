"""Reading one line of a provider output or error file into an outcome. Pure, fuzzed by the tests.

A model answer is data, never instructions: it is parsed as JSON and validated against the strict
schema of the request's processing type. Anything else (not JSON, a value outside the enums, an
extra key such as ``company_id``) is a failed line with a reason, so a prompt-injected conversation
cannot write outside the columns its processing type owns.

Details that leave no doubt do not cost the answer (``shared.analysis``): an enum value in another
case or with surrounding whitespace is stored canonical, and a summary over the limit is cut at a
word boundary and kept, the outcome flagged ``summary_truncated`` so the stored summary says so.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from pydantic import ValidationError

from shared.analysis import (
    ANSWER_MODELS,
    CATEGORIES,
    LANGUAGES,
    SENTIMENTS,
    SESSION_FIELDS,
    SUMMARY_MAX_CHARS,
    ProcessingType,
    clip_answer_summary,
)

MAX_REASON_CHARS = 500

#: The canonical values of each enum field; ``summary`` is the one free-text field.
_CANONICAL: dict[str, frozenset[str]] = {
    "sentiment": frozenset(SENTIMENTS),
    "category": frozenset(CATEGORIES),
    "language": frozenset(LANGUAGES),
}
for _ptype, _model in ANSWER_MODELS.items():
    # The shortcut of ``_canonical_fields`` restates these models: it must cover exactly their fields.
    if set(_model.model_fields) != set(SESSION_FIELDS[_ptype]) or not set(SESSION_FIELDS[_ptype]) <= {
        *_CANONICAL,
        "summary",
    }:
        raise ImportError(f"the answer shortcut does not describe the {_ptype} answer model")


class UnreadableLine(ValueError):
    """The line cannot be attributed to any request (not JSON, no custom_id)."""


@dataclass(frozen=True, slots=True)
class Usage:
    """A line's ``usage`` (or a sum of lines'): ``cached_tokens`` are the part of ``prompt_tokens``
    the provider served from its prompt cache (``prompt_tokens_details.cached_tokens``)."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    cached_tokens: int = 0

    def plus(self, other: Usage) -> Usage:
        return Usage(
            self.prompt_tokens + other.prompt_tokens,
            self.completion_tokens + other.completion_tokens,
            self.total_tokens + other.total_tokens,
            self.cached_tokens + other.cached_tokens,
        )


@dataclass(frozen=True, slots=True)
class LineOutcome:
    custom_id: str
    #: Validated session fields of the processing type when the answer is good; None when it failed.
    fields: Mapping[str, str] | None
    reason: str | None
    usage: Usage
    #: The summary in ``fields`` was cut to ``SUMMARY_MAX_CHARS`` (the model wrote more).
    summary_truncated: bool = False

    @property
    def ok(self) -> bool:
        return self.fields is not None


def parse_line(raw: bytes, processing_type_of: Mapping[str, ProcessingType]) -> LineOutcome:
    """Interpret one line. Raises UnreadableLine if it names no request; otherwise always an outcome.

    ``processing_type_of`` maps the batch's request ids to their type; an id outside it is unreadable
    for this batch (a line can never touch a request of another batch).
    """
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise UnreadableLine("line is not JSON") from None
    if not isinstance(data, dict):
        raise UnreadableLine("line is not a JSON object")
    custom_id = data.get("custom_id")
    if not isinstance(custom_id, str) or custom_id not in processing_type_of:
        raise UnreadableLine("line has no custom_id of this batch")
    ptype = processing_type_of[custom_id]

    error = data.get("error")
    response = data.get("response")
    body = response.get("body") if isinstance(response, dict) else None
    usage = _usage(body)
    if error:
        return _failed(custom_id, _describe_error(error), usage)
    if not isinstance(response, dict):
        return _failed(custom_id, "no response in line", usage)
    status = response.get("status_code")
    if status != 200:
        detail = _describe_error(body.get("error")) if isinstance(body, dict) and body.get("error") else ""
        return _failed(custom_id, f"http_{status}: {detail}".rstrip(": "), usage)
    content, problem = _content(body)
    if content is None:
        return _failed(custom_id, problem, usage)
    return _validate(custom_id, ptype, content, usage)


def _validate(custom_id: str, ptype: ProcessingType, content: str, usage: Usage) -> LineOutcome:
    try:
        answer_json = orjson.loads(content)
    except orjson.JSONDecodeError:
        return _failed(custom_id, "invalid_answer: content is not JSON", usage)
    # Nearly every answer is canonical already, and a canonical summary is within its limit, so the
    # clip (a copy of the answer when it cuts) is only needed when the shortcut declines.
    fields = _canonical_fields(ptype, answer_json)
    if fields is not None:
        # A NUL in a value can only come from a ``\u0000`` escape (JSON holds no raw control
        # character): without one in the content, no value needs the check.
        if "\\u0000" not in content:
            return LineOutcome(custom_id, fields, None, usage)
        return _checked(custom_id, fields, usage, False)
    answer_json, truncated = clip_answer_summary(answer_json)
    fields = _canonical_fields(ptype, answer_json)
    if fields is not None:
        return _checked(custom_id, fields, usage, truncated)
    try:
        answer = ANSWER_MODELS[ptype].model_validate(answer_json)
    except ValidationError as exc:
        first = exc.errors(include_url=False, include_input=False)[0]
        where = ".".join(str(p) for p in first["loc"]) or "<root>"
        return _failed(custom_id, f"invalid_answer: {where}: {first['msg']}", usage)
    dumped = answer.model_dump()
    return _checked(custom_id, {name: str(dumped[name]) for name in SESSION_FIELDS[ptype]}, usage, truncated)


def _canonical_fields(ptype: ProcessingType, answer: Any) -> dict[str, str] | None:
    """The fields of an answer that is already exactly what its model would return (its keys, each
    enum in its canonical spelling, a summary within its length), else None for the model to judge.

    Nearly every answer is such, and the model's validation and dump cost more than the rest of the
    line's parsing together: for these the result is the same without it. Any doubt goes to the model.
    """
    names = SESSION_FIELDS[ptype]
    if type(answer) is not dict or len(answer) != len(names):
        return None
    for name in names:
        value = answer.get(name)
        if type(value) is not str:
            return None
        allowed = _CANONICAL.get(name)
        if allowed is None:
            if not 1 <= len(value) <= SUMMARY_MAX_CHARS:
                return None
        elif value not in allowed:
            return None
    return {name: answer[name] for name in names}


def _checked(custom_id: str, fields: dict[str, str], usage: Usage, truncated: bool) -> LineOutcome:
    for name, value in fields.items():
        if "\x00" in value:
            # PostgreSQL text cannot hold NUL: storing it failed the whole batch's transaction.
            return _failed(custom_id, f"invalid_answer: {name}: contains a NUL character", usage)
    return LineOutcome(custom_id, fields, None, usage, summary_truncated=truncated and "summary" in fields)


def _content(body: Any) -> tuple[str | None, str]:
    if not isinstance(body, dict):
        return None, "no response body"
    if body.get("object") == "response":
        return _response_content(body)
    choices = body.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        return None, "no choices in response"
    message = choices[0].get("message")
    if not isinstance(message, dict):
        return None, "no message in response"
    if message.get("refusal"):
        return None, f"refusal: {str(message['refusal'])[:200]}"
    content = message.get("content")
    if not isinstance(content, str):
        return None, "no content in response"
    if choices[0].get("finish_reason") == "length" and not content.rstrip().endswith("}"):
        return None, "invalid_answer: truncated at max_tokens"
    return content, ""


def _response_content(body: dict[str, Any]) -> tuple[str | None, str]:
    """The answer of a ``/v1/responses`` body: the ``output_text`` of its assistant message (a
    reasoning item or a refusal may stand beside it), the Responses spelling of the same checks."""
    texts: list[str] = []
    for item in body.get("output") or []:
        if not isinstance(item, dict) or item.get("type") != "message":
            continue
        for part in item.get("content") or []:
            if not isinstance(part, dict):
                continue
            if part.get("type") == "refusal":
                return None, f"refusal: {str(part.get('refusal'))[:200]}"
            if part.get("type") == "output_text" and isinstance(part.get("text"), str):
                texts.append(part["text"])
    if not texts:
        return None, "no output_text in response"
    content = "".join(texts)
    details = body.get("incomplete_details")
    cut = isinstance(details, dict) and details.get("reason") == "max_output_tokens"
    if (cut or body.get("status") == "incomplete") and not content.rstrip().endswith("}"):
        return None, "invalid_answer: truncated at max_output_tokens"
    return content, ""


def _count(value: Any) -> int:
    """A token count as stored: a non-negative int that fits the column, anything else 0."""
    return value if type(value) is int and 0 <= value < 2**31 else 0


def _usage(body: Any) -> Usage:
    usage = body.get("usage") if isinstance(body, dict) else None
    if not isinstance(usage, dict):
        return Usage()
    count = _count
    if "input_tokens" in usage:  # the Responses spelling: input/output tokens, input_tokens_details
        details = usage.get("input_tokens_details")
        prompt = count(usage.get("input_tokens"))
        cached = min(prompt, count(details.get("cached_tokens"))) if isinstance(details, dict) else 0
        return Usage(prompt, count(usage.get("output_tokens")), count(usage.get("total_tokens")), cached)
    details = usage.get("prompt_tokens_details")
    prompt = count(usage.get("prompt_tokens"))
    # Cached tokens are a part of the prompt's: more than the prompt is a bad figure, capped to it.
    cached = min(prompt, count(details.get("cached_tokens"))) if isinstance(details, dict) else 0
    return Usage(prompt, count(usage.get("completion_tokens")), count(usage.get("total_tokens")), cached)


def _describe_error(error: Any) -> str:
    if isinstance(error, dict):
        code = error.get("code")
        message = error.get("message")
        text = f"{code}: {message}" if code else str(message)
    else:
        text = str(error)
    return text[:MAX_REASON_CHARS]


def _failed(custom_id: str, reason: str, usage: Usage) -> LineOutcome:
    # The reason quotes provider text (error messages, refusals) and is stored: no NUL in text columns.
    reason = reason.replace("\x00", "\ufffd")
    return LineOutcome(custom_id, None, reason[:MAX_REASON_CHARS] or "failed", usage)
