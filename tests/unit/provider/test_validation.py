"""The input-file rules, with the real API's error codes and 1-based line numbers."""

from __future__ import annotations

from typing import Any

import orjson

from emulator.validation import validate_input

EP = "/v1/chat/completions"


def _line(custom_id: str, model: str = "m", **changes: Any) -> bytes:
    obj: dict[str, Any] = {"custom_id": custom_id, "method": "POST", "url": EP, "body": {"model": model}}
    obj.update(changes)
    return orjson.dumps({k: v for k, v in obj.items() if v is not None})


def _check(lines: list[bytes], **limits: int) -> list[tuple[str, int | None]]:
    data = b"\n".join(lines) + b"\n"
    parsed = validate_input(
        data,
        endpoint=EP,
        max_requests=limits.get("max_requests", 100),
        max_bytes=limits.get("max_bytes", 10**6),
    )
    return [(e["code"], e["line"]) for e in parsed.errors]


def test_valid_file() -> None:
    parsed = validate_input(_line("a") + b"\n\n" + _line("b"), endpoint=EP, max_requests=10, max_bytes=10**6)
    assert parsed.errors == []
    assert parsed.custom_ids == ["a", "b"]
    assert parsed.model == "m"
    assert parsed.prompt_tokens > 0


def test_every_line_rule() -> None:
    lines = [
        _line("a"),
        _line("a"),
        _line("b", model="other"),
        b"[1, 2]",
        _line("c", url="/v1/embeddings"),
        _line("d", method="GET"),
        _line("e", body=None),
        _line("", model="m"),
        _line("f", body={"messages": []}),
    ]
    assert _check(lines) == [
        ("duplicate_custom_id", 2),
        ("mismatched_model", 3),
        ("invalid_json_line", 4),
        ("invalid_url", 5),
        ("invalid_value", 6),
        ("missing_required_parameter", 7),
        ("invalid_value", 8),
        ("missing_required_parameter", 9),
    ]


def test_file_limits() -> None:
    assert _check([_line(str(i)) for i in range(6)], max_requests=5) == [("too_many_tasks", None)]
    assert _check([_line("a")], max_bytes=10) == [("file_too_large", None)]
    assert (
        validate_input(b"\n \n", endpoint=EP, max_requests=1, max_bytes=100).errors[0]["code"] == "empty_file"
    )
