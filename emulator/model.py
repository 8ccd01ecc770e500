"""A deterministic stand-in for the chat model: reads the conversation, answers with schema-valid JSON.

It recognises the processing type from ``response_format.json_schema.name``
(``<processing_type>_result``, see :func:`shared.analysis.response_format`) or, failing that,
from the system prompt, and fills every property the requested schema asks for. The judgements come
from per-language word lists (:mod:`emulator.lexicon`):

* language — stop words of the 24 supported languages (a word shared by k languages counts 1/k),
  the languages whose keyword stems a word matches, and telltale letters (ø, ő, ș, ħ, ...); Greek
  and Cyrillic script decide on their own;
* category — keyword stems of that language, counted per turn: the employee's opening question
  weighs most, the assistant's replies only support. A category must be a topic of the opening or
  of two different later questions of the employee, else it is ``UNRECOGNIZED_OTHER``;
* sentiment — sentiment stems in the employee's turns only (the assistant is polite by design),
  with one-word negation ("not good"), the closing turn weighing most and an exclamation mark
  strengthening its turn (thanks stems weigh less than praise: a plain "Ok, thanks." is neutral);
* summary — the first sentence of the conversation, capped well below the 1,000-char limit.

The conversation is the submitter's ``role: content`` lines; text without role prefixes counts as
one employee turn, and of a long conversation only the first and last turns are read. Same input,
same output: the pipeline's tests can assert on values, and a fault-free run through the emulator
must never produce an answer :mod:`shared.analysis` rejects.
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass
from typing import Any, Literal

import orjson

from emulator.lexicon import (
    LEXICON,
    best_language,
    category_info,
    language_scores,
    negators,
    polarity,
    token_matches,
)
from shared.analysis import CATEGORIES, SESSION_FIELDS, SYSTEM_PROMPTS, ProcessingType

Malformation = Literal["not_json", "off_schema"]

SUMMARY_CHARS = 200
_WORD = re.compile(r"[^\W\d_]+(?:'t\b)?")
_ROLE_PREFIX = re.compile(r"^\s*[\w .-]{1,24}:\s+")
_USER_ROLES = frozenset({"user", "employee", "human", "customer"})
_ROLES = "|".join(sorted(_USER_ROLES | {"assistant", "system", "developer", "tool", "agent", "bot"}))
_ROLE_LINE = re.compile(rf"^\s*({_ROLES})\s*:\s?", re.IGNORECASE)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s")
_NORMALISE = str.maketrans({"’": "'", "ş": "ș", "ţ": "ț"})
_GREETING_TIME = frozenset({"morning", "afternoon", "evening", "night"})
#: Turns read at each end of a long conversation.
_EDGE_TURNS = 10
#: Category weights: the employee's opening, later employee turns, the assistant's turns.
_OPENING, _USER, _ASSISTANT = 3.0, 1.0, 0.5
#: A category is a topic of an employee turn with at least one hit per this many words.
_WORDS_PER_HIT = 40
#: Sentiment weights of the employee's turns (opening, middle, closing) and the neutral band; a
#: lone utterance is judged on any sentiment word.
_SENT_FIRST, _SENT_MIDDLE, _SENT_LAST, _SENT_MIN, _SENT_MIN_ALONE = 0.5, 1.0, 1.5, 1.0, 0.5
#: An exclamation mark strengthens the turn's feeling: a plain "Ok, thanks." closes a factual
#: exchange (the thanks stems weigh less than praise), "Thanks a lot!" is glad, "Again!" is angry.
_EXCLAIM = 1.5


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


@dataclass(frozen=True, slots=True)
class Turn:
    user: bool
    words: tuple[str, ...]
    text: str = ""


def _tokens(text: str) -> list[str]:
    lowered = text.lower()
    if "’" in lowered or "ş" in lowered or "ţ" in lowered:
        lowered = lowered.translate(_NORMALISE)
    return _WORD.findall(lowered)


def turns(conversation: str) -> list[Turn]:
    """``role: content`` lines as turns; lines without a known role continue the previous turn.

    A long conversation is read like a skimming reader would: its first and last
    :data:`_EDGE_TURNS` turns (opening question, how it ended), which keeps the cost bounded.
    """
    parts: list[tuple[bool, list[str]]] = []
    for line in conversation.splitlines():
        if line.startswith("[... ") and line.endswith(" omitted ...]"):
            continue  # the submitter's truncation marker
        m = _ROLE_LINE.match(line)
        if m:
            parts.append((m.group(1).lower() in _USER_ROLES, [line[m.end() :]]))
        elif parts:
            parts[-1][1].append(line)
        else:
            parts.append((True, [line]))
    if len(parts) > 2 * _EDGE_TURNS:
        parts = parts[:_EDGE_TURNS] + parts[-_EDGE_TURNS:]
    texts = [(user, "\n".join(lines)) for user, lines in parts]
    return [Turn(user, tuple(_tokens(text)), text) for user, text in texts]


def _language_of(all_turns: list[Turn]) -> str:
    words = [w for t in all_turns for w in t.words]
    return best_language(language_scores(words, "\n".join(t.text for t in all_turns)))


def guess_language(words: list[str]) -> str:
    """The language of a word list (punctuation around the words is ignored)."""
    text = " ".join(words)
    return best_language(language_scores(_tokens(text), text))


def _turn_polarity(words: tuple[str, ...] | list[str], lang: str) -> float:
    flips = negators(lang)
    score = 0.0
    for i, word in enumerate(words):
        value = polarity(word, lang)
        if not value:
            continue
        if value > 0 and i + 1 < len(words) and words[i + 1] in _GREETING_TIME:
            continue  # "good morning" is a greeting, not praise
        if i > 0 and words[i - 1] in flips:
            value = -value
        score += value
    return score


def _felt(turn: Turn, lang: str) -> float:
    return _turn_polarity(turn.words, lang) * (_EXCLAIM if "!" in turn.text else 1.0)


def _sentiment(all_turns: list[Turn], lang: str) -> str:
    said = [t for t in all_turns if t.user] or all_turns
    if not said:
        return "NEUTRAL"
    if len(said) == 1:
        score = _felt(said[0], lang)
        band = _SENT_MIN_ALONE if len(all_turns) == 1 else _SENT_MIN
    else:
        weights = [_SENT_FIRST] + [_SENT_MIDDLE] * (len(said) - 2) + [_SENT_LAST]
        score = sum(w * _felt(turn, lang) for w, turn in zip(weights, said, strict=True))
        band = _SENT_MIN
    return "POSITIVE" if score >= band else "NEGATIVE" if score <= -band else "NEUTRAL"


def guess_sentiment(words: list[str], language: str | None = None) -> str:
    """Sentiment of one employee utterance given as words."""
    tokens = _tokens(" ".join(words))
    return _sentiment([Turn(True, tuple(tokens))], language or guess_language(words))


def _category_hits(words: tuple[str, ...], lang: str) -> dict[str, float]:
    hits: dict[str, float] = {}
    phrases = LEXICON[lang].categories.phrases
    for i, word in enumerate(words):
        rule, starts = category_info(word, lang)
        if rule is not None:
            hits[rule.label] = hits.get(rule.label, 0.0) + rule.weight
        for pid in starts:
            parts, prule = phrases[pid]
            if i + len(parts) <= len(words) and all(
                token_matches(part, words[i + j]) for j, part in enumerate(parts[1:], start=1)
            ):
                hits[prule.label] = hits.get(prule.label, 0.0) + prule.weight
    return hits


def _category(all_turns: list[Turn], lang: str) -> str:
    """Most weighted hits among the categories the employee's own words support."""
    total: dict[str, float] = {}
    backed: set[str] = set()  # categories hit in the opening, or in two different later questions
    later: dict[str, set[tuple[str, ...]]] = {}
    opening_done = False
    for turn in all_turns:
        hits = _category_hits(turn.words, lang)
        # a topic of a turn: hit at least once per _WORDS_PER_HIT words (a passing mention is not)
        topics = [label for label, value in hits.items() if value * _WORDS_PER_HIT >= len(turn.words)]
        if turn.user and not opening_done:
            weight = _OPENING
            backed.update(topics)
            opening_done = bool(hits) or len(turn.words) >= 3  # "Hi!" alone does not open
        elif turn.user:
            weight = _USER
            for label in topics:
                later.setdefault(label, set()).add(turn.words)
        else:
            weight = _ASSISTANT
        for label, value in hits.items():
            total[label] = total.get(label, 0.0) + weight * value
    backed.update(label for label, questions in later.items() if len(questions) >= 2)
    if not backed:
        return "UNRECOGNIZED_OTHER"
    best = max(total[label] for label in backed)
    return next(c for c in CATEGORIES if c in backed and total[c] == best)


def guess_category(text: str, words: list[str] | None = None) -> str:
    """Category of a conversation (``role: content`` lines, or plain text as one employee turn)."""
    all_turns = turns(text)
    return _category(all_turns, _language_of(all_turns))


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
    all_turns = turns(conversation)
    language = _language_of(all_turns)
    return Analysis(
        sentiment=_sentiment(all_turns, language),
        category=_category(all_turns, language),
        summary=first_sentence(conversation),
        language=language,
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


#: The answer of ``answer_mode="fast"``: schema-valid, the same for every line, no conversation read.
FAST_ANALYSIS = Analysis(
    sentiment="NEUTRAL",
    category="UNRECOGNIZED_OTHER",
    summary="Conversation answered in fast mode.",
    language="en",
)


def answer(body: dict[str, Any], *, fast: bool = False) -> dict[str, Any]:
    """The JSON object the model returns for one request body (``fast``: :data:`FAST_ANALYSIS`)."""
    if fast:
        values = FAST_ANALYSIS.as_dict()
    else:
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


def system_prefix(body: dict[str, Any]) -> tuple[str, int] | None:
    """The request's leading system message and its tokens: the prefix the stand-in's prompt cache keeps."""
    messages = _messages(body)
    if not messages or messages[0].get("role") != "system":
        return None
    text = _text(messages[0])
    return text, max(1, math.ceil(len(text) / 4)) + 3


def chat_completion(
    body: dict[str, Any],
    *,
    completion_id: str,
    created: int,
    malformed: Malformation | None = None,
    cached_tokens: int = 0,
    fast: bool = False,
) -> dict[str, Any]:
    """A full ``chat.completion`` object answering ``body``; ``cached_tokens`` of its prompt tokens
    are reported as served from the prompt cache (capped to the prompt's); ``fast``: see :func:`answer`."""
    obj = answer(body, fast=fast)
    content = malform(obj, malformed) if malformed else orjson.dumps(obj).decode()
    prompt_tokens = estimate_prompt_tokens(body)
    cached_tokens = min(max(0, cached_tokens), prompt_tokens)
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
            "prompt_tokens_details": {"cached_tokens": cached_tokens, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0},
        },
        "service_tier": "default",
        "system_fingerprint": "fp_emulator",
    }
