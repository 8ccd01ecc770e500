"""The analysis domain: processing types, their prompts, and the schema each model answer must meet.

These are the seed's facts (13 categories, 24 languages, three sentiments, four processing types and
their system prompts). The seed trusted whatever JSON came back; here each processing type has a strict
pydantic model, so an out-of-enum value or an extra field is a failed answer, never a stored value.
The same models produce the ``response_format`` json_schema sent to the provider.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field

Sentiment = Literal["POSITIVE", "NEUTRAL", "NEGATIVE"]
Category = Literal[
    "SCHEDULE_HOURS",
    "LEAVE_VACATION",
    "SICK_LEAVE_RECOVERY",
    "SALARY_COMPENSATION",
    "CONTRACT_HOURS",
    "ONBOARDING",
    "OFFBOARDING",
    "WORKWEAR_STAFF_PASS",
    "TEAM_CONTACTS",
    "PERSONAL_QUESTIONS",
    "ACCESS_LOGIN",
    "SOCIAL_QUESTIONS",
    "UNRECOGNIZED_OTHER",
]
Language = Literal[
    "en", "de", "fr", "es", "it", "pt", "nl", "sv", "da", "no", "fi", "pl",
    "cs", "sk", "hu", "ro", "bg", "hr", "sl", "et", "lv", "lt", "el", "mt",
]  # fmt: skip

#: Short codes for the categories, used by hand-written tables (sample phrases, emulator lexicons).
CATEGORY_CODES: dict[str, str] = {
    "sched": "SCHEDULE_HOURS",
    "leave": "LEAVE_VACATION",
    "sick": "SICK_LEAVE_RECOVERY",
    "salary": "SALARY_COMPENSATION",
    "contract": "CONTRACT_HOURS",
    "onboard": "ONBOARDING",
    "offboard": "OFFBOARDING",
    "wear": "WORKWEAR_STAFF_PASS",
    "team": "TEAM_CONTACTS",
    "personal": "PERSONAL_QUESTIONS",
    "access": "ACCESS_LOGIN",
    "social": "SOCIAL_QUESTIONS",
    "other": "UNRECOGNIZED_OTHER",
}

SENTIMENTS: tuple[str, ...] = get_args(Sentiment)
CATEGORIES: tuple[str, ...] = get_args(Category)
LANGUAGES: tuple[str, ...] = get_args(Language)

SUMMARY_MAX_CHARS = 1_000


class ProcessingType(StrEnum):
    FULL_ANALYSIS = "full_analysis"
    SENTIMENT_ANALYSIS = "sentiment_analysis"
    CATEGORIZATION = "categorization"
    SUMMARY = "summary"


class _Answer(BaseModel):
    # extra="forbid": a model answer smuggling other keys (say ``company_id``) is rejected whole.
    model_config = ConfigDict(extra="forbid", frozen=True)


class SentimentAnswer(_Answer):
    sentiment: Sentiment


class CategoryAnswer(_Answer):
    category: Category


class SummaryAnswer(_Answer):
    summary: str = Field(min_length=1, max_length=SUMMARY_MAX_CHARS)


class FullAnalysisAnswer(_Answer):
    sentiment: Sentiment
    category: Category
    summary: str = Field(min_length=1, max_length=SUMMARY_MAX_CHARS)
    language: Language


ANSWER_MODELS: dict[ProcessingType, type[_Answer]] = {
    ProcessingType.FULL_ANALYSIS: FullAnalysisAnswer,
    ProcessingType.SENTIMENT_ANALYSIS: SentimentAnswer,
    ProcessingType.CATEGORIZATION: CategoryAnswer,
    ProcessingType.SUMMARY: SummaryAnswer,
}

#: Session columns each processing type is allowed to write; nothing else is ever touched.
SESSION_FIELDS: dict[ProcessingType, tuple[str, ...]] = {
    ProcessingType.FULL_ANALYSIS: ("sentiment", "category", "summary", "language"),
    ProcessingType.SENTIMENT_ANALYSIS: ("sentiment",),
    ProcessingType.CATEGORIZATION: ("category",),
    ProcessingType.SUMMARY: ("summary",),
}

SYSTEM_PROMPTS: dict[ProcessingType, str] = {
    ProcessingType.SENTIMENT_ANALYSIS: (
        "Analyze the sentiment of this conversation and respond with JSON containing: "
        '{"sentiment": "POSITIVE|NEUTRAL|NEGATIVE"}'
    ),
    ProcessingType.CATEGORIZATION: (
        'Categorize this conversation and respond with JSON containing: {"category": "CATEGORY_NAME"}'
    ),
    ProcessingType.SUMMARY: (
        'Summarize this conversation and respond with JSON containing: {"summary": "Brief summary"}'
    ),
    ProcessingType.FULL_ANALYSIS: (
        "Analyze this conversation for sentiment, category, and provide a summary. Respond with JSON: "
        '{ "sentiment": "POSITIVE|NEUTRAL|NEGATIVE", "category": "' + "|".join(CATEGORIES) + '", '
        '"summary": "Brief summary of the conversation", "language": "' + "|".join(LANGUAGES) + '" }'
    ),
}

TEMPERATURE = 0.1
MAX_TOKENS = 1000


def response_format(ptype: ProcessingType) -> dict[str, Any]:
    """OpenAI ``response_format`` with a strict json_schema for this processing type."""
    schema = ANSWER_MODELS[ptype].model_json_schema()
    # Strict structured outputs require every property listed as required and no extra keys;
    # pydantic already emits additionalProperties=false for extra="forbid". maxLength is not
    # supported by strict mode, so length limits stay on our side of the wire.
    schema = _strip_unsupported(schema)
    schema["required"] = list(schema.get("properties", {}))
    return {
        "type": "json_schema",
        "json_schema": {"name": f"{ptype.value}_result", "strict": True, "schema": schema},
    }


def _strip_unsupported(schema: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key in {"title", "maxLength", "minLength"}:
            continue
        if isinstance(value, dict):
            out[key] = _strip_unsupported(value)
        else:
            out[key] = value
    return out


def format_conversation(messages: list[tuple[str, str]], max_chars: int) -> str:
    """The seed's ``role: content`` lines, truncated to ``max_chars`` by a documented rule.

    Rule: when the conversation is longer than ``max_chars``, keep the first two thirds of the budget
    from the start and the last third from the end, joined by a marker line. The opening states the
    question and the end how it was resolved, which is what sentiment, category and summary need.
    """
    text = "\n".join(f"{role}: {content}" for role, content in messages)
    if len(text) <= max_chars:
        return text
    marker = f"\n[... {len(text) - max_chars} characters omitted ...]\n"
    budget = max(max_chars - len(marker), 0)
    head = budget * 2 // 3
    tail = budget - head
    return text[:head] + marker + (text[-tail:] if tail else "")


def chat_body(ptype: ProcessingType, model: str, conversation: str) -> dict[str, Any]:
    """The ``body`` of one ``/v1/chat/completions`` request in a batch file."""
    return {
        "model": model,
        "messages": [
            {"role": "system", "content": SYSTEM_PROMPTS[ptype]},
            {"role": "user", "content": conversation},
        ],
        "temperature": TEMPERATURE,
        "max_tokens": MAX_TOKENS,
        "response_format": response_format(ptype),
    }
