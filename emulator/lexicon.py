"""Word lists of the stand-in model, compiled into per-language indexes.

The vocabulary lives in data files ``emulator/lexicons/<lang>.txt``, one per supported language
(package data, read with :mod:`importlib.resources`): ordinary HR wording written by hand per
language, checked for coverage against the sample generator's phrases but never loaded from them.
The files use the language-data line format of :mod:`shared.language_data` (the generator's phrase
files use it too), every entry with the ``:`` marker (stand-in model tokens)::

    # a comment
    sched: schedul shift roster =swap working_hours
      timetable what_time_do        <- an indented line continues the entry

An entry's text is whitespace-separated tokens; entries with the same key add up. The keys:

* ``stopwords`` — frequent function words, exact, for the language guess;
* ``positive`` / ``negative`` — sentiment stems; ``negators`` — words that flip the next sentiment word;
* one key per category code (``sched``, ``leave``, ... see :data:`CATEGORY_CODES`) — keyword stems;
  ``other`` has none: it is what nothing matched.

Token syntax (sentiment and category keys):

* ``stem`` matches a word starting with it (``urlaub`` → ``urlaubstage``);
* ``=word`` matches the word exactly; tokens of one or two letters are always exact;
* ``*part`` matches a word containing it (compounds: ``*schicht`` → ``samstagsschicht``);
* ``a_b`` matches consecutive words, each part a stem (``first_day`` → "first days");
* ``^w`` at the end sets the weight (default 1 for a word, 2 for a phrase).

When several stems match one word, the longest wins (``ziekteverlof`` is sick leave, not leave).
The telltale letters (:data:`CHAR_HINTS`) stay in code: each letter is shared out among languages.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib import resources

from shared.analysis import CATEGORY_CODES as ALL_CATEGORY_CODES
from shared.analysis import LANGUAGES
from shared.language_data import parse_entries

#: Category codes the lexicons use; "other" has no keywords (it is what nothing matched).
CATEGORY_CODES: Mapping[str, str] = {k: v for k, v in ALL_CATEGORY_CODES.items() if k != "other"}
#: The keys of a lexicon file (see the module docstring).
KEYS = frozenset({"stopwords", "positive", "negative", "negators", *CATEGORY_CODES})

#: Letters that point to languages (occurrences count, capped): weight per language.
_LETTER_HINTS: tuple[tuple[str, dict[str, float]], ...] = (
    ("ħġċ", {"mt": 1.0}),
    ("ż", {"mt": 0.5, "pl": 0.5}),
    ("őű", {"hu": 1.0}),
    ("łśźń", {"pl": 1.0}),
    ("ąę", {"pl": 0.5, "lt": 0.5}),
    ("ć", {"pl": 0.5, "hr": 0.5}),
    ("đ", {"hr": 1.0}),
    ("řůě", {"cs": 1.0}),
    ("ťďň", {"cs": 0.5, "sk": 0.5}),
    ("ľĺŕô", {"sk": 1.0}),
    ("șță", {"ro": 1.0}),
    ("îâ", {"ro": 0.6, "fr": 0.2, "pt": 0.2}),
    ("āēīģķļņ", {"lv": 1.0}),
    ("ū", {"lv": 0.5, "lt": 0.5}),
    ("ėįų", {"lt": 1.0}),
    ("õ", {"et": 0.7, "pt": 0.3}),
    ("ã", {"pt": 1.0}),
    ("ñ", {"es": 1.0}),
    ("¿", {"es": 1.0}),
    ("ß", {"de": 1.0}),
    ("ü", {"de": 0.5, "hu": 0.3, "et": 0.2}),
    ("ä", {"de": 0.2, "sv": 0.25, "fi": 0.25, "et": 0.2, "sk": 0.1}),
    ("ö", {"de": 0.2, "sv": 0.25, "fi": 0.25, "et": 0.1, "hu": 0.2}),
    ("å", {"sv": 0.4, "da": 0.3, "no": 0.3}),
    ("æ", {"da": 0.6, "no": 0.4}),
    ("ø", {"da": 0.5, "no": 0.5}),
    ("ç", {"fr": 0.5, "pt": 0.5}),
    ("œ", {"fr": 1.0}),
    ("ê", {"fr": 0.6, "pt": 0.4}),
    ("è", {"fr": 0.6, "it": 0.4}),
    ("ìò", {"it": 1.0}),
    ("ù", {"it": 0.5, "fr": 0.5}),
    ("ë", {"nl": 0.5, "fr": 0.5}),
    ("ï", {"nl": 0.5, "fr": 0.5}),
)
CHAR_HINTS: Mapping[str, Mapping[str, float]] = {
    char: weights for letters, weights in _LETTER_HINTS for char in letters
}
#: Each telltale letter counts at most this often: long texts are decided by their words.
CHAR_CAP = 3
#: One Greek or Cyrillic letter outweighs any amount of Latin-script evidence.
SCRIPT_WEIGHT = 50.0


@dataclass(frozen=True, slots=True)
class Rule:
    """What a matching stem says: a category (or ``+`` / ``-`` for sentiment) and how strongly."""

    label: str
    weight: float


Phrase = tuple[tuple[tuple[bool, str], ...], Rule]  # ((exact?, token), ...), rule


@dataclass
class Index:
    """Stems of one kind (sentiment or category) for one language."""

    exact: dict[str, tuple[int, Rule]] = field(default_factory=dict)
    prefix: dict[str, tuple[int, Rule]] = field(default_factory=dict)
    infix: dict[str, tuple[int, Rule]] = field(default_factory=dict)
    phrases: list[Phrase] = field(default_factory=list)
    longest: int = 0

    def add(self, token: str, label: str) -> None:
        body, _, weight = token.partition("^")
        if "_" in body:
            parts = tuple(_part(p) for p in body.split("_") if p)
            self.phrases.append((parts, Rule(label, float(weight or 2))))
            return
        rule = Rule(label, float(weight or 1))
        kind, stem = (
            (self.infix, body[1:])
            if body.startswith("*")
            else (self.exact, body.lstrip("="))
            if body.startswith("=") or len(body) <= 2
            else (self.prefix, body)
        )
        if stem in kind and kind[stem][1].label != label:
            raise ValueError(f"stem {token!r} is listed for both {kind[stem][1].label} and {label}")
        kind.setdefault(stem, (len(stem), rule))
        self.longest = max(self.longest, len(stem))

    def match(self, word: str) -> Rule | None:
        """The rule of the longest stem matching ``word`` (exact before prefix before part)."""
        best = self.exact.get(word)
        for k in range(min(len(word), self.longest), 0, -1):
            if best is not None and best[0] >= k:
                break
            if (hit := self.prefix.get(word[:k])) is not None:
                best = hit
                break
        for part, hit in self.infix.items():
            if (best is None or hit[0] > best[0]) and part in word:
                best = hit
        return best[1] if best else None

    def phrase_starts(self, word: str) -> tuple[int, ...]:
        return tuple(i for i, (parts, _) in enumerate(self.phrases) if token_matches(parts[0], word))


def _part(token: str) -> tuple[bool, str]:
    return (True, token[1:]) if token.startswith("=") else (len(token) <= 2, token)


def token_matches(part: tuple[bool, str], word: str) -> bool:
    exact, stem = part
    return word == stem if exact else word.startswith(stem)


@dataclass
class Language:
    """One language's compiled lexicon."""

    code: str
    stop: frozenset[str]
    negators: frozenset[str]
    sentiment: Index
    categories: Index


def read_table(code: str, text: str) -> dict[str, list[str]]:
    """A lexicon file's ``key: tokens`` entries -> key -> tokens (entries of one key add up)."""
    source = f"lexicons/{code}.txt"
    table: dict[str, list[str]] = {}
    for entry in parse_entries(text, source):
        if entry.marker != ":" or entry.key not in KEYS:
            raise ValueError(f"{source}:{entry.line}: expected '<key>: tokens', key one of {sorted(KEYS)}")
        table.setdefault(entry.key, []).extend(entry.text.split())
    return table


def compile_language(code: str, text: str) -> Language:
    table = read_table(code, text)
    sentiment, categories = Index(), Index()
    for token in table.get("positive", []):
        sentiment.add(token, "+")
    for token in table.get("negative", []):
        sentiment.add(token, "-")
    if sentiment.phrases:
        raise ValueError(f"{code}: sentiment stems are single words")
    for short, category in CATEGORY_CODES.items():
        for token in table.get(short, []):
            categories.add(token, category)
    return Language(
        code=code,
        stop=frozenset(table.get("stopwords", [])),
        negators=frozenset(table.get("negators", [])),
        sentiment=sentiment,
        categories=categories,
    )


def lexicon_texts() -> dict[str, str]:
    """Language code -> its lexicon file's text; the files must be exactly the supported languages."""
    folder = resources.files("emulator") / "lexicons"
    found = {f.name.removesuffix(".txt") for f in folder.iterdir() if f.name.endswith(".txt")}
    if found != set(LANGUAGES):
        raise ValueError(f"lexicon languages {sorted(found)} != {sorted(LANGUAGES)}")
    return {code: (folder / f"{code}.txt").read_text(encoding="utf-8") for code in LANGUAGES}


LEXICON: dict[str, Language] = {code: compile_language(code, text) for code, text in lexicon_texts().items()}


def _stop_index() -> dict[str, tuple[tuple[str, float], ...]]:
    """word -> ((language, weight), ...); a word shared by k languages weighs 1/k in each."""
    langs_of: dict[str, list[str]] = {}
    for lang in LEXICON.values():
        for word in lang.stop:
            langs_of.setdefault(word, []).append(lang.code)
    return {word: tuple((code, 1.0 / len(codes)) for code in codes) for word, codes in langs_of.items()}


STOP_INDEX = _stop_index()
#: A word matching sentiment or category stems of k languages is evidence worth this / k for each.
CONTENT_EVIDENCE = 0.5
_CONTENT_MIN_CHARS = 4


def _content_index() -> tuple[dict[str, set[str]], dict[str, set[str]], dict[str, set[str]], int]:
    """All languages' sentiment and category stems: (exact, prefix, part) -> languages, longest."""
    exact: dict[str, set[str]] = {}
    prefix: dict[str, set[str]] = {}
    part: dict[str, set[str]] = {}
    longest = 0
    for lang in LEXICON.values():
        for index in (lang.sentiment, lang.categories):
            for target, stems in ((exact, index.exact), (prefix, index.prefix), (part, index.infix)):
                for stem in stems:
                    target.setdefault(stem, set()).add(lang.code)
            longest = max(longest, index.longest)
    return exact, prefix, part, longest


_EXACT_LANGS, _PREFIX_LANGS, _PART_LANGS, _LONGEST_STEM = _content_index()


@functools.lru_cache(maxsize=1 << 16)
def content_languages(word: str) -> tuple[tuple[str, float], ...]:
    """Languages whose sentiment or category stems match ``word``, each with its share of evidence."""
    if len(word) < _CONTENT_MIN_CHARS:
        return ()
    codes = set(_EXACT_LANGS.get(word, ()))
    for k in range(min(len(word), _LONGEST_STEM), 2, -1):
        codes.update(_PREFIX_LANGS.get(word[:k], ()))
    for part, langs in _PART_LANGS.items():
        if part in word:
            codes.update(langs)
    return tuple((code, CONTENT_EVIDENCE / len(codes)) for code in LANGUAGES if code in codes)


@functools.lru_cache(maxsize=1 << 16)
def category_info(word: str, lang: str) -> tuple[Rule | None, tuple[int, ...]]:
    """The category rule of ``word`` in ``lang`` and the phrases (indexes) it may start."""
    index = LEXICON[lang].categories
    return index.match(word), index.phrase_starts(word)


#: English sentiment words count in every language, except short ones ("bad" is Danish for "asked").
_ENGLISH_EVERYWHERE_MIN_CHARS = 5


@functools.lru_cache(maxsize=1 << 16)
def polarity(word: str, lang: str) -> float:
    """+w / -w for a sentiment stem of ``lang`` (or a longer English one), else 0."""
    english = lang != "en" and len(word) >= _ENGLISH_EVERYWHERE_MIN_CHARS
    for code in (lang, "en") if english else (lang,):
        rule = LEXICON[code].sentiment.match(word)
        if rule is not None:
            return rule.weight if rule.label == "+" else -rule.weight
    return 0.0


@functools.lru_cache(maxsize=64)
def negators(lang: str) -> frozenset[str]:
    """Words that flip the next sentiment word: the language's own and English ones."""
    return LEXICON[lang].negators | LEXICON["en"].negators


def language_scores(words: Iterable[str], text: str) -> dict[str, float]:
    """Evidence per language: stop words, lexicon stems, telltale letters and the script."""
    scores: dict[str, float] = {}
    for word, n in Counter(words).items():
        for lang, weight in STOP_INDEX.get(word, ()):
            scores[lang] = scores.get(lang, 0.0) + n * weight
        for lang, weight in content_languages(word):
            scores[lang] = scores.get(lang, 0.0) + n * weight
    lowered = text.lower()
    for char in set(lowered):
        if "\u0370" <= char <= "\u03ff" or "\u1f00" <= char <= "\u1fff":
            scores["el"] = scores.get("el", 0.0) + SCRIPT_WEIGHT
        elif "\u0400" <= char <= "\u04ff":
            scores["bg"] = scores.get("bg", 0.0) + SCRIPT_WEIGHT
        elif (hints := CHAR_HINTS.get(char)) is not None:
            count = min(lowered.count(char), CHAR_CAP)
            for lang, weight in hints.items():
                scores[lang] = scores.get(lang, 0.0) + weight * count
    return scores


def best_language(scores: Mapping[str, float]) -> str:
    """Highest score, ties in :data:`LANGUAGES` order; no evidence at all is English."""
    if not scores:
        return "en"
    best = max(scores.values())
    return next(lang for lang in LANGUAGES if scores.get(lang) == best)
