"""The analysis domain: processing types, their prompts, and the schema each model answer must meet.

These are the seed's facts (13 categories, 24 languages, three sentiments, four processing types and
their system prompts). The seed trusted whatever JSON came back; here each processing type has a strict
pydantic model, so an out-of-enum value or an extra field is a failed answer, never a stored value.
The same models produce the ``response_format`` json_schema sent to the provider.

Strict about meaning, lenient about form: an answer is not thrown away (and paid for again) over a
detail that leaves no doubt about what the model meant.

- An enum value that differs from its canonical spelling only by letter case or surrounding
  whitespace (``" positive "``, ``"Leave_Vacation"``, ``"DE"``) is read as that value. Only ASCII
  spellings are folded, so no Unicode case rule can map an odd letter onto a value. Anything else
  off the list still fails with its reason.
- A summary over :data:`SUMMARY_MAX_CHARS` is cut at a word boundary and kept, with
  :data:`ELLIPSIS` at the end (:func:`clip_summary`); the ingester stores the fact that it was cut.
  The model is told the limit in the schema's ``description``: strict structured outputs do not
  accept ``maxLength``, and the seed's four system prompts stay as they are.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from enum import StrEnum
from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

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
#: Ends a summary that was cut to the limit (counted within it).
ELLIPSIS = "\u2026"
#: A cut backs off to the last whitespace unless that loses more than this share of the budget
#: (one endless "word", such as a URL): then it cuts inside the word.
_MAX_BACKOFF = 0.2


def clip_summary(text: str, limit: int = SUMMARY_MAX_CHARS) -> tuple[str, bool]:
    """``text`` itself when it fits, else its head cut at a word boundary plus :data:`ELLIPSIS`, at
    most ``limit`` characters in all; the flag says whether it was cut."""
    if len(text) <= limit:
        return text, False
    budget = limit - len(ELLIPSIS)
    head = text[:budget]
    if not text[budget].isspace():  # the cut falls inside a word: drop that word's beginning
        boundary = max((i for i, c in enumerate(head) if c.isspace()), default=-1)
        if boundary >= budget * (1 - _MAX_BACKOFF):
            head = head[:boundary]
    return head.rstrip() + ELLIPSIS, True


def _canonical(allowed: tuple[str, ...]) -> Callable[[Any], Any]:
    """A before-validator reading an ASCII spelling that differs only in case or surrounding
    whitespace as the canonical value; anything else passes through for the Literal to judge."""
    by_folded = {value.casefold(): value for value in allowed}

    def normalise(value: Any) -> Any:
        if isinstance(value, str) and value.isascii():
            return by_folded.get(value.strip().casefold(), value)
        return value

    return normalise


class ProcessingType(StrEnum):
    FULL_ANALYSIS = "full_analysis"
    SENTIMENT_ANALYSIS = "sentiment_analysis"
    CATEGORIZATION = "categorization"
    SUMMARY = "summary"


class _Answer(BaseModel):
    # extra="forbid": a model answer smuggling other keys (say ``company_id``) is rejected whole.
    model_config = ConfigDict(extra="forbid", frozen=True)


#: The answer fields: the enums read case and whitespace variants canonically; the summary's limit
#: is stated to the model (``description``) and enforced here (``max_length``, after clipping).
SentimentValue = Annotated[Sentiment, BeforeValidator(_canonical(SENTIMENTS))]
CategoryValue = Annotated[Category, BeforeValidator(_canonical(CATEGORIES))]
LanguageValue = Annotated[Language, BeforeValidator(_canonical(LANGUAGES))]
SummaryValue = Annotated[
    str,
    Field(
        min_length=1,
        max_length=SUMMARY_MAX_CHARS,
        description=f"A brief summary of at most {SUMMARY_MAX_CHARS} characters.",
    ),
]


class SentimentAnswer(_Answer):
    sentiment: SentimentValue


class CategoryAnswer(_Answer):
    category: CategoryValue


class SummaryAnswer(_Answer):
    summary: SummaryValue


class FullAnalysisAnswer(_Answer):
    sentiment: SentimentValue
    category: CategoryValue
    summary: SummaryValue
    language: LanguageValue


def clip_answer_summary(answer: Any) -> tuple[Any, bool]:
    """A parsed answer with an over-long ``summary`` clipped (:func:`clip_summary`), and whether it
    was; anything else is returned as it came, for the answer model to judge."""
    if isinstance(answer, dict) and isinstance(answer.get("summary"), str):
        clipped, cut = clip_summary(answer["summary"])
        if cut:
            return {**answer, "summary": clipped}, True
    return answer, False


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
    return truncate_conversation(conversation_text(messages), max_chars)


def conversation_text(messages: Iterable[tuple[str, str]]) -> str:
    """The whole conversation as ``role: content`` lines, before :func:`format_conversation` cuts it.

    The submitter has PostgreSQL build the same text (``string_agg``), so its file never holds a
    Python object per message; this is the one definition both must match.
    """
    return "\n".join(f"{role}: {content}" for role, content in messages)


def truncate_conversation(text: str, max_chars: int) -> str:
    """:func:`format_conversation`'s cut, on the text of :func:`conversation_text`."""
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


def responses_body(ptype: ProcessingType, model: str, conversation: str) -> dict[str, Any]:
    """The same request for ``/v1/responses``: ``input`` messages, structured output under
    ``text.format`` (flat: name, schema and strict beside its type), ``max_output_tokens``."""
    chat = chat_body(ptype, model, conversation)
    schema = chat["response_format"]["json_schema"]
    return {
        "model": model,
        "input": chat["messages"],
        "temperature": TEMPERATURE,
        "max_output_tokens": MAX_TOKENS,
        "text": {"format": {"type": "json_schema", **schema}},
    }
