"""Phrase tables for the sample-session generator (``devtools.dataset.generator``): 24 languages, 13 topics.

Each language is a text file ``devtools/dataset/phrases_data/<code>.txt`` of lines ``<key><marker> <phrase>``
in the language-data format of :mod:`shared.language_data` (one phrase per entry; an indented line
continues the phrase, ``#`` lines are comments). The marker says who speaks: ``?`` the employee
(user), ``!`` the HR assistant. Keys are a topic code (see ``TOPIC_CODES``, one per category) or a
conversation part:

* user: ``greet`` (opener), ``follow`` (neutral follow-up), ``positive`` / ``negative`` / ``neutral``
  (how the employee closes: thanks, frustration, a plain acknowledgement);
* assistant: ``generic`` (topic-free reply), ``close`` (friendly goodbye), ``sorry`` (de-escalation).

Every language must give every key on both sides it belongs to; ``PHRASES`` is checked at import.
The text is short, plain sentences in the language itself, so a model (or a keyword stand-in) sees
realistic input. English topic questions use the obvious keywords (shift, vacation, payslip, badge, ...).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from types import MappingProxyType

from shared.analysis import CATEGORIES, CATEGORY_CODES, LANGUAGES
from shared.language_data import parse_entries

#: Short code used in the tables -> category name from ``shared.analysis``.
TOPIC_CODES: Mapping[str, str] = MappingProxyType(CATEGORY_CODES)
USER_PARTS: tuple[str, ...] = ("greet", "follow", "positive", "negative", "neutral")
ASSISTANT_PARTS: tuple[str, ...] = ("generic", "close", "sorry")


@dataclass(frozen=True, slots=True)
class LanguagePhrases:
    """One language's phrases; both maps are keyed by category name or conversation part."""

    language: str
    user: Mapping[str, tuple[str, ...]]
    assistant: Mapping[str, tuple[str, ...]]


def _load_raw() -> dict[str, str]:
    """One text file per language under ``devtools/dataset/phrases_data/`` (data, not code)."""
    folder = resources.files("devtools.dataset") / "phrases_data"
    return {lang: (folder / f"{lang}.txt").read_text(encoding="utf-8") for lang in LANGUAGES}


_RAW: dict[str, str] = _load_raw()


def _parse(language: str, text: str) -> LanguagePhrases:
    user: dict[str, list[str]] = {}
    assistant: dict[str, list[str]] = {}
    for entry in parse_entries(text, f"phrases_data/{language}.txt"):
        side = {"?": user, "!": assistant}.get(entry.marker)
        if side is None:
            raise ValueError(f"phrases {language}:{entry.line}: expected '<key>? text' or '<key>! text'")
        side.setdefault(TOPIC_CODES.get(entry.key, entry.key), []).append(entry.text)
    need_user = {*CATEGORIES, *USER_PARTS}
    need_assistant = {*CATEGORIES, *ASSISTANT_PARTS}
    if set(user) != need_user or set(assistant) != need_assistant:
        missing = sorted((need_user - set(user)) | (need_assistant - set(assistant)))
        extra = sorted((set(user) - need_user) | (set(assistant) - need_assistant))
        raise ValueError(f"phrases {language}: missing {missing}, unknown {extra}")
    return LanguagePhrases(
        language=language,
        user=MappingProxyType({k: tuple(v) for k, v in user.items()}),
        assistant=MappingProxyType({k: tuple(v) for k, v in assistant.items()}),
    )


if set(_RAW) != set(LANGUAGES):
    raise ValueError(f"phrase tables must cover exactly the languages: {sorted(set(_RAW) ^ set(LANGUAGES))}")

#: Language code -> its phrases; every language has every topic and conversation part.
PHRASES: Mapping[str, LanguagePhrases] = MappingProxyType(
    {lang: _parse(lang, _RAW[lang]) for lang in LANGUAGES}
)
