"""A deterministic stand-in for the chat model: reads the conversation, answers with schema-valid JSON.

It recognises the processing type from ``response_format.json_schema.name``
(``<processing_type>_result``, see :func:`shared.analysis.response_format`) or, failing that,
from the system prompt, and fills every property the requested schema asks for:

* sentiment — a small multilingual lexicon, with one-word negation ("not good");
* language — stop-word overlap over the 24 supported languages (shared words count less);
* category — keyword rules for the 13 categories, most hits wins, else ``UNRECOGNIZED_OTHER``;
* summary — the first sentence of the conversation, capped well below the 1,000-char limit.

Same input, same output: the pipeline's tests can assert on values, and a fault-free run through
the emulator must never produce an answer :mod:`shared.analysis` rejects.
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass
from typing import Any, Literal

import orjson

from shared.analysis import CATEGORIES, LANGUAGES, SESSION_FIELDS, SYSTEM_PROMPTS, ProcessingType
from shared.provider.emulator.lexicon import CATEGORY_KEYWORDS, NEGATIVE_WORDS, POSITIVE_WORDS, STOP_WORDS

Malformation = Literal["not_json", "off_schema"]

SUMMARY_CHARS = 200
_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?")
_ROLE_PREFIX = re.compile(r"^\s*[\w .-]{1,24}:\s+")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s")
_NEGATORS = frozenset({"not", "no", "never", "nicht", "kein", "pas", "niet", "nie", "ne", "non"})


def _language_index() -> dict[str, tuple[tuple[str, float], ...]]:
    """word -> ((language, weight), ...); a word shared by k languages weighs 1/k in each."""
    langs_of: dict[str, list[str]] = {}
    for lang, words in STOP_WORDS.items():
        for word in words:
            langs_of.setdefault(word, []).append(lang)
    return {word: tuple((lang, 1.0 / len(langs)) for lang in langs) for word, langs in langs_of.items()}


_LANG_INDEX = _language_index()
_CATEGORY_WORDS: dict[str, list[str]] = {}
_CATEGORY_PHRASES: list[tuple[str, str]] = []
for _category, _keywords in CATEGORY_KEYWORDS.items():
    for _kw in _keywords:
        if " " in _kw:
            _CATEGORY_PHRASES.append((_kw, _category))
        else:
            _CATEGORY_WORDS.setdefault(_kw, []).append(_category)


@dataclass(frozen=True, slots=True)
class Analysis:
    sentiment: str
    category: str
    summary: str
    language: str

    def as_dict(self) -> dict[str, str]:
        return {
            "sentiment": self.sentiment,
            "category": self.category,
            "summary": self.summary,
            "language": self.language,
        }


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def guess_language(words: list[str]) -> str:
    scores: dict[str, float] = {}
    for word in words:
        for lang, weight in _LANG_INDEX.get(word, ()):
            scores[lang] = scores.get(lang, 0.0) + weight
    if not scores:
        return "en"
    best = max(scores.values())
    return next(lang for lang in LANGUAGES if scores.get(lang) == best)


def guess_sentiment(words: list[str]) -> str:
    score = 0
    for i, word in enumerate(words):
        polarity = (word in POSITIVE_WORDS) - (word in NEGATIVE_WORDS)
        if polarity and i > 0 and words[i - 1] in _NEGATORS:
            polarity = -polarity
        score += polarity
    return "POSITIVE" if score > 0 else "NEGATIVE" if score < 0 else "NEUTRAL"


def guess_category(text: str, words: list[str]) -> str:
    """Most keyword hits wins (a phrase counts double); ties go to the category listed first."""
    hits: dict[str, int] = {}
    for word in words:
        for category in _CATEGORY_WORDS.get(word, ()):
            hits[category] = hits.get(category, 0) + 1
    lowered = text.lower()
    for phrase, category in _CATEGORY_PHRASES:
        if phrase in lowered:
            hits[category] = hits.get(category, 0) + 2 * lowered.count(phrase)
    if not hits:
        return "UNRECOGNIZED_OTHER"
    best = max(hits.values())
    return next(c for c in CATEGORIES if hits.get(c) == best)


def first_sentence(text: str) -> str:
    for raw in text.splitlines():
        line = _ROLE_PREFIX.sub("", raw, count=1).strip()
        if line:
            sentence = _SENTENCE_END.split(line, maxsplit=1)[0].strip()
            if len(sentence) > SUMMARY_CHARS:
                sentence = sentence[: SUMMARY_CHARS - 1].rstrip() + "…"
            return sentence
    return "Empty conversation."


@functools.lru_cache(maxsize=4096)
def analyse(conversation: str) -> Analysis:
    """All four judgements of one conversation (cached: batches often repeat a conversation)."""
    words = _words(conversation)
    return Analysis(
        sentiment=guess_sentiment(words),
        category=guess_category(conversation, words),
        summary=first_sentence(conversation),
        language=guess_language(words),
    )


def processing_type(body: dict[str, Any]) -> ProcessingType | None:
    """From the json_schema name, else from a system prompt we know, else None."""
    fmt = body.get("response_format")
    if isinstance(fmt, dict) and isinstance(fmt.get("json_schema"), dict):
        name = str(fmt["json_schema"].get("name", ""))
        for ptype in ProcessingType:
            if name == f"{ptype.value}_result":
                return ptype
    for message in _messages(body):
        if message.get("role") in ("system", "developer"):
            for ptype, prompt in SYSTEM_PROMPTS.items():
                if str(message.get("content", "")).strip() == prompt:
                    return ptype
    return None


def _messages(body: dict[str, Any]) -> list[dict[str, Any]]:
    messages = body.get("messages")
    return [m for m in messages if isinstance(m, dict)] if isinstance(messages, list) else []


def _text(message: dict[str, Any]) -> str:
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # content parts
        return "\n".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return ""


def _schema(body: dict[str, Any]) -> dict[str, Any] | None:
    fmt = body.get("response_format")
    if (
        isinstance(fmt, dict)
        and fmt.get("type") == "json_schema"
        and isinstance(fmt.get("json_schema"), dict)
    ):
        schema = fmt["json_schema"].get("schema")
        return schema if isinstance(schema, dict) else None
    return None


def _fill(schema: dict[str, Any], values: dict[str, str]) -> dict[str, Any]:
    """An object with exactly the schema's properties, our analysis where the names match."""
    out: dict[str, Any] = {}
    for name, raw in (schema.get("properties") or {}).items():
        prop: dict[str, Any] = raw if isinstance(raw, dict) else {}
        enum = prop.get("enum")
        value: Any = values.get(name)
        if enum:
            value = value if value in enum else enum[0]
        elif value is None:
            kind = prop.get("type")
            value = 0 if kind in ("integer", "number") else False if kind == "boolean" else "n/a"
        out[name] = value
    return out


def answer(body: dict[str, Any]) -> dict[str, Any]:
    """The JSON object the model returns for one request body."""
    conversation = "\n".join(_text(m) for m in _messages(body) if m.get("role") == "user")
    values = analyse(conversation).as_dict()
    if (schema := _schema(body)) is not None:
        return _fill(schema, values)
    ptype = processing_type(body) or ProcessingType.FULL_ANALYSIS
    return {field: values[field] for field in SESSION_FIELDS[ptype]}


def malform(obj: dict[str, Any], how: Malformation) -> str:
    """Content that fails our answer validation the way real models fail it."""
    if how == "not_json":
        return "Sure! Here is the analysis you asked for:\n" + orjson.dumps(obj).decode()[:-1]
    bad = dict(obj)
    if "sentiment" in bad:
        bad["sentiment"] = "VERY_POSITIVE"
    elif "category" in bad:
        bad["category"] = "BILLING_QUESTIONS"
    else:
        bad["confidence"] = 0.9
    return orjson.dumps(bad).decode()


def estimate_prompt_tokens(body: dict[str, Any]) -> int:
    chars = sum(len(_text(m)) for m in _messages(body))
    return max(1, math.ceil(chars / 4)) + 3 * len(_messages(body))


def chat_completion(
    body: dict[str, Any], *, completion_id: str, created: int, malformed: Malformation | None = None
) -> dict[str, Any]:
    """A full ``chat.completion`` object answering ``body``."""
    obj = answer(body)
    content = malform(obj, malformed) if malformed else orjson.dumps(obj).decode()
    prompt_tokens = estimate_prompt_tokens(body)
    completion_tokens = max(1, math.ceil(len(content) / 4))
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": created,
        "model": str(body.get("model", "")),
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content, "refusal": None, "annotations": []},
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0},
        },
        "service_tier": "default",
        "system_fingerprint": "fp_emulator",
    }
