"""Prompts, schemas and conversation formatting keep the seed's facts."""

from __future__ import annotations

import pytest

from shared.analysis import (
    ANSWER_MODELS,
    CATEGORIES,
    LANGUAGES,
    SESSION_FIELDS,
    ProcessingType,
    chat_body,
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
