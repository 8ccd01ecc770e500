"""Sample HR-assistant chat sessions: the demo file the product ships and seeded loads for tests.

``generate_events`` yields ``session.events`` payloads as JSON-ready dicts that validate as
``shared.events.SessionEvent``: conversations between an employee and the HR assistant in the 24
supported languages, on the 13 category topics, with a positive, neutral or negative ending.

Determinism: event ``i`` depends only on ``seed``, ``i`` and the arguments, never on the clock or on
``count`` (a longer run extends a shorter one). Spread is guaranteed, not left to chance:

* languages come from a shuffled deck of 100 (weighted toward en/de/fr/es/nl/it, every language at
  least once), so any 200 consecutive events hold all 24 languages;
* (company, model) pairs come from a shuffled deck of all pairs, so every pair occurs once
  ``count >= len(companies) * len(models)``;
* long sessions (150-400 messages, > 60,000 characters, to exercise truncation) are spaced evenly:
  exactly ``floor`` or ``ceil`` of ``count * long_fraction`` of them.

``malformed_events`` gives raw payloads a consumer must dead-letter, and ``write_sample`` writes the
shipped ``data/sample_sessions.jsonl`` (regenerate with ``python -m devtools.dataset.generator``).
"""

from __future__ import annotations

import argparse
import math
import random
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Generic, TypeVar

import orjson

from devtools.dataset.phrases import PHRASES, LanguagePhrases
from shared.analysis import CATEGORIES, LANGUAGES, ProcessingType

SAMPLE_COMPANIES: tuple[str, ...] = (
    "acme-retail",
    "nordlicht-logistik",
    "soleil-hotels",
    "vistula-foods",
    "atlantic-care",
    "baltic-tech",
)
SAMPLE_PATH = Path(__file__).resolve().parents[2] / "data" / "sample_sessions.jsonl"
SAMPLE_COUNT = 240
SAMPLE_SEED = 7
#: 4-5 long sessions in the 240 of the sample keep the file well under 2 MB.
SAMPLE_LONG_FRACTION = 0.02

DEFAULT_START = datetime(2025, 3, 3, 7, 0, tzinfo=UTC)
SESSION_SPACING_S = 60
LONG_MIN_MESSAGES = 150
LONG_MAX_MESSAGES = 400
LONG_MIN_CHARS = 60_000
_LONG_TARGET_CHARS = 64_000
SHORT_MAX_MESSAGES = 12
EXTRA_TYPES_FRACTION = 0.10

#: One deck of 100 languages; the shares of the major languages are the product's customer mix.
LANGUAGE_WEIGHTS: Mapping[str, int] = {
    "en": 23, "de": 12, "fr": 10, "es": 10, "nl": 8, "it": 8,
    "pt": 3, "pl": 3, "sv": 2, "da": 2, "no": 2, "fi": 2, "cs": 2, "ro": 2, "hu": 2,
    "sk": 1, "bg": 1, "hr": 1, "sl": 1, "et": 1, "lv": 1, "lt": 1, "el": 1, "mt": 1,
}  # fmt: skip
CATEGORY_WEIGHTS: Mapping[str, int] = {
    "SCHEDULE_HOURS": 14, "LEAVE_VACATION": 14, "SICK_LEAVE_RECOVERY": 10, "SALARY_COMPENSATION": 12,
    "CONTRACT_HOURS": 6, "ONBOARDING": 6, "OFFBOARDING": 5, "WORKWEAR_STAFF_PASS": 6, "TEAM_CONTACTS": 6,
    "PERSONAL_QUESTIONS": 5, "ACCESS_LOGIN": 8, "SOCIAL_QUESTIONS": 4, "UNRECOGNIZED_OTHER": 4,
}  # fmt: skip
SENTIMENT_WEIGHTS: Mapping[str, int] = {"NEUTRAL": 45, "POSITIVE": 35, "NEGATIVE": 20}

_EXTRA_TYPES: tuple[str, ...] = tuple(t.value for t in ProcessingType if t != "full_analysis")
_NAMESPACE = uuid.UUID("6f1c2a8e-5b7d-4c1e-9a3f-2d8b0e4c7a91")
_CLOSING_PART = {"POSITIVE": "positive", "NEUTRAL": "neutral", "NEGATIVE": "negative"}

if sorted(LANGUAGE_WEIGHTS) != sorted(LANGUAGES) or sorted(CATEGORY_WEIGHTS) != sorted(CATEGORIES):
    raise ValueError("LANGUAGE_WEIGHTS / CATEGORY_WEIGHTS must name every language / category")

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class SessionLabels:
    """What the generator meant a session to be: ground truth to compare an analysis against."""

    language: str
    category: str
    sentiment: str
    long: bool


class _Deck(Generic[T]):
    """Cards dealt in blocks of ``len(cards)``, each block shuffled by its own seed."""

    def __init__(self, cards: Sequence[T], seed: int, name: str) -> None:
        self._cards = list(cards)
        self._seed = f"{seed}:{name}"
        self._block = -1
        self._shuffled: list[T] = []

    def __getitem__(self, index: int) -> T:
        block, pos = divmod(index, len(self._cards))
        if block != self._block:
            shuffled = list(self._cards)
            random.Random(f"{self._seed}:{block}").shuffle(shuffled)
            self._block, self._shuffled = block, shuffled
        return self._shuffled[pos]


def generate_events(
    count: int,
    *,
    companies: Sequence[str],
    models: Sequence[str] | None = None,
    seed: int = 0,
    long_fraction: float = 0.03,
    start: datetime | None = None,
) -> Iterator[dict[str, Any]]:
    """``count`` JSON-ready ``SessionEvent`` dicts; ``models=None`` omits the field (default model)."""
    labelled = generate_labelled(
        count, companies=companies, models=models, seed=seed, long_fraction=long_fraction, start=start
    )
    return (event for event, _ in labelled)


def generate_labelled(
    count: int,
    *,
    companies: Sequence[str],
    models: Sequence[str] | None = None,
    seed: int = 0,
    long_fraction: float = 0.03,
    start: datetime | None = None,
) -> Iterator[tuple[dict[str, Any], SessionLabels]]:
    """Like ``generate_events`` but each event comes with the labels it was generated from."""
    if count < 0:
        raise ValueError("count must be >= 0")
    if not companies:
        raise ValueError("companies must not be empty")
    if models is not None and not models:
        raise ValueError("models must be None or non-empty")
    if not 0.0 <= long_fraction <= 1.0:
        raise ValueError("long_fraction must be within [0, 1]")
    origin = start or DEFAULT_START
    if origin.tzinfo is None:
        origin = origin.replace(tzinfo=UTC)
    choices: list[str | None] = list(models) if models is not None else [None]
    pairs = [(company, model) for company in companies for model in choices]
    return _generate(count, pairs, seed=seed, long_fraction=long_fraction, origin=origin)


def _generate(
    count: int, pairs: list[tuple[str, str | None]], *, seed: int, long_fraction: float, origin: datetime
) -> Iterator[tuple[dict[str, Any], SessionLabels]]:
    languages = _Deck([lang for lang, n in LANGUAGE_WEIGHTS.items() for _ in range(n)], seed, "language")
    pair_deck = _Deck(pairs, seed, "pair")
    offset = random.Random(f"{seed}:long").random()
    for i in range(count):
        is_long = math.floor((i + 1) * long_fraction + offset) > math.floor(i * long_fraction + offset)
        company, model = pair_deck[i]
        yield _event(
            seed, i, company=company, model=model, language=languages[i], is_long=is_long, origin=origin
        )


def _event(
    seed: int, index: int, *, company: str, model: str | None, language: str, is_long: bool, origin: datetime
) -> tuple[dict[str, Any], SessionLabels]:
    rng = random.Random(f"{seed}:{index}")
    category = _weighted(rng, CATEGORY_WEIGHTS)
    sentiment = _weighted(rng, SENTIMENT_WEIGHTS)
    phrases = PHRASES[language]
    if is_long:
        turns = _long_conversation(rng, phrases, category, sentiment)
    else:
        turns = _short_conversation(rng, phrases, category, sentiment)
    started = origin + timedelta(seconds=index * SESSION_SPACING_S + rng.randrange(SESSION_SPACING_S))
    elapsed = sum(rng.randint(8, 90) if role == "user" else rng.randint(1, 6) for role, _ in turns)
    types = [ProcessingType.FULL_ANALYSIS.value]
    if rng.random() < EXTRA_TYPES_FRACTION:
        chosen = set(rng.sample(_EXTRA_TYPES, rng.randint(1, len(_EXTRA_TYPES))))
        types += [t for t in _EXTRA_TYPES if t in chosen]
    event: dict[str, Any] = {
        "schema_version": 1,
        "type": "session.upserted",
        "event_id": str(uuid.uuid5(_NAMESPACE, f"event:{seed}:{index}")),
        "company_id": company,
        "session_id": str(uuid.uuid5(_NAMESPACE, f"session:{seed}:{index}")),
        "started_at": started.isoformat(),
        "ended_at": (started + timedelta(seconds=elapsed)).isoformat(),
        "messages": [{"role": role, "content": text, "order": n} for n, (role, text) in enumerate(turns)],
        "processing_types": types,
    }
    if model is not None:
        event["models"] = [model]
    return event, SessionLabels(language=language, category=category, sentiment=sentiment, long=is_long)


def _weighted(rng: random.Random, weights: Mapping[str, int]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _short_conversation(
    rng: random.Random, ph: LanguagePhrases, category: str, sentiment: str
) -> list[tuple[str, str]]:
    """2-12 alternating turns: question, answer, follow-ups, the employee's closing, the goodbye."""
    size = rng.randint(2 if sentiment == "NEUTRAL" else 3, SHORT_MAX_MESSAGES)
    last_user = size - 1 if size % 2 else size - 2
    used: set[str] = set()

    def pick(*pools: Sequence[str]) -> str:
        """A phrase not yet used in this conversation, from the first pool that still has one."""
        fresh = next(([p for p in pool if p not in used] for pool in pools if set(pool) - used), pools[0])
        choice = rng.choice(fresh)
        used.add(choice)
        return choice

    turns: list[tuple[str, str]] = []
    asked = category
    for j in range(size):
        if j % 2 and j == last_user + 1 and last_user > 0:
            turns.append(("assistant", pick(ph.assistant["sorry" if sentiment == "NEGATIVE" else "close"])))
        elif j % 2:
            pools = (ph.assistant[category], ph.assistant["generic"])
            turns.append(("assistant", pick(*(pools if asked == category else pools[::-1]))))
        elif j == 0:
            greeting = f"{rng.choice(ph.user['greet'])} " if rng.random() < 0.4 else ""
            turns.append(("user", greeting + pick(ph.user[category])))
        elif j == last_user:
            turns.append(("user", pick(ph.user[_CLOSING_PART[sentiment]])))
        else:
            fresh_topic = set(ph.user[category]) - used
            asked = category if fresh_topic and rng.random() < 0.5 else "follow"
            turns.append(("user", pick(ph.user[asked], ph.user["follow"])))
    return turns


def _long_conversation(
    rng: random.Random, ph: LanguagePhrases, category: str, sentiment: str
) -> list[tuple[str, str]]:
    """150-400 turns of several sentences each, over 60,000 characters in total."""
    size = rng.randint(LONG_MIN_MESSAGES, LONG_MAX_MESSAGES)
    floor_chars = -(-_LONG_TARGET_CHARS // size)
    user_pool = ph.user[category] + ph.user["follow"] + ph.user["neutral"]
    if sentiment != "NEUTRAL":
        user_pool += ph.user[_CLOSING_PART[sentiment]]
    assistant_pool = ph.assistant[category] + ph.assistant["generic"]
    if sentiment == "NEGATIVE":
        assistant_pool += ph.assistant["sorry"]
    turns: list[tuple[str, str]] = []
    for j in range(size):
        role = "user" if j % 2 == 0 else "assistant"
        parts: list[str] = []
        if j == 0:
            parts = [rng.choice(ph.user["greet"]), rng.choice(ph.user[category])]
        elif j >= size - 2 and role == "user":
            parts = [rng.choice(ph.user[_CLOSING_PART[sentiment]])]
        target = floor_chars + rng.randrange(floor_chars // 2 + 1)
        pool = user_pool if role == "user" else assistant_pool
        length = sum(len(p) + 1 for p in parts)
        while length <= target:
            fresh = [p for p in pool if p not in parts] or pool
            parts.append(rng.choice(fresh))
            length += len(parts[-1]) + 1
        turns.append((role, " ".join(parts)))
    return turns


def malformed_events(seed: int = 0) -> list[bytes]:
    """Raw ``session.events`` payloads a consumer must dead-letter, one defect each, no newlines.

    Covers: not JSON, a JSON array, missing ``company_id``, empty ``messages``, an unknown processing
    type, ``started_at`` of the wrong type, invalid UTF-8, an unsupported ``schema_version`` and
    ``ended_at`` before ``started_at``. Apart from its defect each payload is a plausible event.
    """
    rng = random.Random(f"{seed}:malformed")
    bases: list[dict[str, Any]] = []
    for k in range(9):
        company = rng.choice(SAMPLE_COMPANIES)
        event, _ = _event(
            seed,
            10_000_000 + k,
            company=company,
            model=None,
            language=rng.choice(LANGUAGES),
            is_long=False,
            origin=DEFAULT_START,
        )
        event["event_id"] = str(uuid.uuid5(_NAMESPACE, f"malformed:{seed}:{k}"))
        bases.append(event)
    truncated = orjson.dumps(bases[0])
    truncated = truncated[: truncated.index(b'"messages"') + len(b'"messages":[{"role":')]
    array = orjson.dumps([bases[1]])
    del bases[2]["company_id"]
    bases[3]["messages"] = []
    bases[4]["processing_types"] = ["full_analysis", "translation"]
    bases[5]["started_at"] = [2025, 3, 3, 7, 0]
    bases[6]["messages"][0]["content"] = "@@LATIN1@@"
    latin1 = orjson.dumps(bases[6]).replace(b"@@LATIN1@@", b"Caf\xe9 \xe0 9 h, d\xe9j\xe0 ferm\xe9 ?")
    bases[7]["schema_version"] = 2
    bases[8]["ended_at"] = (datetime.fromisoformat(bases[8]["started_at"]) - timedelta(hours=1)).isoformat()
    return [
        truncated,
        array,
        orjson.dumps(bases[2]),
        orjson.dumps(bases[3]),
        orjson.dumps(bases[4]),
        orjson.dumps(bases[5]),
        latin1,
        orjson.dumps(bases[7]),
        orjson.dumps(bases[8]),
    ]


def write_sample(path: Path, *, count: int = SAMPLE_COUNT, seed: int = SAMPLE_SEED) -> tuple[int, int]:
    """Write ``count`` good events for ``SAMPLE_COMPANIES`` with the malformed ones interleaved.

    One payload per line, malformed lines as their raw bytes (so the file is JSONL with a few bad
    lines, one of them not UTF-8). Returns ``(valid, malformed)`` line counts.
    """
    bad = malformed_events(seed)
    at: dict[int, list[bytes]] = {}
    for k, raw in enumerate(bad):
        at.setdefault((k + 1) * count // (len(bad) + 1), []).append(raw)
    events = generate_events(count, companies=SAMPLE_COMPANIES, seed=seed, long_fraction=SAMPLE_LONG_FRACTION)
    lines: list[bytes] = []
    for i, event in enumerate(events):
        lines.extend(at.pop(i, []))
        lines.append(orjson.dumps(event))
    lines.extend(raw for rest in at.values() for raw in rest)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\n".join(lines) + b"\n")
    return count, len(bad)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Write the sample session.events JSONL file.")
    parser.add_argument("path", nargs="?", type=Path, default=SAMPLE_PATH)
    parser.add_argument("--count", type=int, default=SAMPLE_COUNT)
    parser.add_argument("--seed", type=int, default=SAMPLE_SEED)
    args = parser.parse_args(argv)
    valid, malformed = write_sample(args.path, count=args.count, seed=args.seed)
    print(f"wrote {valid} events and {malformed} malformed lines to {args.path}")


if __name__ == "__main__":
    main()
