"""Prompts, schemas and conversation formatting keep the seed's facts."""

from __future__ import annotations

import pytest

from shared.analysis import (
    ANSWER_MODELS,
    CATEGORIES,
    LANGUAGES,
    SESSION_FIELDS,
    SYSTEM_PROMPTS,
    ProcessingType,
    chat_body,
    clip_summary,
    format_conversation,
    response_format,
)


def test_seed_facts() -> None:
    assert len(CATEGORIES) == 13 and "UNRECOGNIZED_OTHER" in CATEGORIES
    assert len(LANGUAGES) == 24 and {"en", "mt", "el"} <= set(LANGUAGES)


@pytest.mark.parametrize("ptype", list(ProcessingType))
def test_strict_schema_lists_exactly_the_fields_the_type_writes(ptype: ProcessingType) -> None:
    fmt = response_format(ptype)
    schema = fmt["json_schema"]["schema"]
    assert fmt["json_schema"]["strict"] is True and fmt["json_schema"]["name"] == f"{ptype.value}_result"
    assert schema["additionalProperties"] is False
    assert tuple(schema["required"]) == SESSION_FIELDS[ptype] or set(schema["required"]) == set(
        SESSION_FIELDS[ptype]
    )
    assert set(ANSWER_MODELS[ptype].model_fields) == set(SESSION_FIELDS[ptype])


def test_chat_body_uses_seed_parameters() -> None:
    body = chat_body(ProcessingType.SUMMARY, "gpt-4o-mini", "user: hi")
    assert body["temperature"] == 0.1 and body["max_tokens"] == 1000
    assert [m["role"] for m in body["messages"]] == ["system", "user"]
    assert body["messages"][1]["content"] == "user: hi"


def test_conversation_format_and_truncation_rule() -> None:
    msgs = [("user", "question " * 50), ("assistant", "middle " * 500), ("user", "thanks, resolved")]
    full = format_conversation(msgs, 100_000)
    assert full.startswith("user: question") and full.endswith("user: thanks, resolved")
    cut = format_conversation(msgs, 1_000)
    assert len(cut) <= 1_000
    assert cut.startswith("user: question") and cut.endswith("thanks, resolved")
    assert "characters omitted" in cut


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        ("short enough", 20, ("short enough", False)),
        ("exactly ten", 11, ("exactly ten", False)),
        # budget 21 ("... four fi"): the cut is inside "five", which goes; the ellipsis follows "four".
        ("one two three four five six", 22, ("one two three four\u2026", True)),
        # budget 10 ends right before a space: no word is cut, nothing is dropped.
        ("alpha beta gamma", 11, ("alpha beta\u2026", True)),
        # one endless word: backing off would lose more than a fifth of the budget, so cut inside it.
        ("ab https://example.org/a/very/long/path", 20, ("ab https://example.\u2026", True)),
        # trailing whitespace before the cut is not kept.
        ("one two   three four", 9, ("one two\u2026", True)),
    ],
)
def test_clip_summary(text: str, limit: int, expected: tuple[str, bool]) -> None:
    assert clip_summary(text, limit) == expected
    assert len(clip_summary(text, limit)[0]) <= limit


def test_the_summary_limit_is_told_to_the_model_in_the_schema_and_the_seed_prompts_are_unchanged() -> None:
    for ptype in (ProcessingType.SUMMARY, ProcessingType.FULL_ANALYSIS):
        summary = response_format(ptype)["json_schema"]["schema"]["properties"]["summary"]
        assert summary == {"type": "string", "description": "A brief summary of at most 1000 characters."}
    assert SYSTEM_PROMPTS[ProcessingType.SUMMARY] == (
        'Summarize this conversation and respond with JSON containing: {"summary": "Brief summary"}'
    )
    assert "maxLength" not in str(response_format(ProcessingType.FULL_ANALYSIS))
