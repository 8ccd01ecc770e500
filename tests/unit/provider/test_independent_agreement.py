"""Agreement of the stand-in model with human labels on conversations it was not written from.

``tests/data/independent_sessions.jsonl`` holds 144 sessions written by hand (6 per language, all 24
languages, all 13 categories, mixed tones), independently of the sample generator's phrases, and
labelled by a person (see ``tests/data/README.md``). The generator-based floor
(``test_model_accuracy.py``) measures the model on the wording it was checked against; this one
measures what a newcomer reading the demo sees on fresh wording. The expected values are the file's
human labels; the model's answers are only compared with them. Per-language and per-category tables:
``python -m bench.model_accuracy --independent``.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import orjson
import pytest

from emulator.model import analyse
from shared.analysis import CATEGORIES, LANGUAGES, SENTIMENTS, format_conversation

DATA = Path(__file__).resolve().parents[2] / "data" / "independent_sessions.jsonl"
MAX_CHARS = 60_000  # the submitter's default max_conversation_chars
FLOORS = {"language": 0.95, "category": 0.80, "sentiment": 0.80}
FIELDS = tuple(FLOORS)


@pytest.fixture(scope="module")
def sessions() -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in DATA.read_bytes().splitlines() if line.strip()]


@pytest.fixture(scope="module")
def hits(sessions: list[dict[str, Any]]) -> list[tuple[dict[str, Any], dict[str, bool]]]:
    """Per session: its record and, per field, whether the model's answer equals the human label."""
    out = []
    for event in sessions:
        messages = sorted(event["messages"], key=lambda m: m["order"])
        got = analyse(format_conversation([(m["role"], m["content"]) for m in messages], MAX_CHARS))
        out.append((event, {f: getattr(got, f) == event["labels"][f] for f in FIELDS}))
    return out


def test_the_set_covers_every_language_category_and_tone(sessions: list[dict[str, Any]]) -> None:
    labels = [s["labels"] for s in sessions]
    assert Counter(lab["language"] for lab in labels) == dict.fromkeys(LANGUAGES, 6)
    assert set(lab["category"] for lab in labels) == set(CATEGORIES)
    assert set(lab["sentiment"] for lab in labels) == set(SENTIMENTS)
    held = Counter(s["labels"]["language"] for s in sessions if s["held_out"])
    assert held == dict.fromkeys(LANGUAGES, 2)
    assert all(2 <= len(s["messages"]) <= 8 for s in sessions)
    assert all({m["role"] for m in s["messages"]} == {"user", "assistant"} for s in sessions)


def _rate(rows: list[tuple[dict[str, Any], dict[str, bool]]], field: str) -> float:
    return sum(ok[field] for _, ok in rows) / len(rows)


@pytest.mark.parametrize("field", FIELDS)
def test_agreement_with_human_labels(hits: list[tuple[dict[str, Any], dict[str, bool]]], field: str) -> None:
    overall = _rate(hits, field)
    held = _rate([row for row in hits if row[0]["held_out"]], field)
    misses = [f"{e['labels']['language']}:{e['labels'][field]}" for e, ok in hits if not ok[field]]
    assert overall >= FLOORS[field], f"{field} {overall:.1%} (held-out {held:.1%}); missed {misses}"
