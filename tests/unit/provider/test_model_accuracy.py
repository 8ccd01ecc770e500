"""Quality floor of the stand-in model: accuracy against the sample generator's own labels.

1,000 labelled sessions from :func:`devtools.dataset.generator.generate_labelled` (a fixed seed that is not the
shipped sample's), formatted like the submitter formats them, analysed by the emulator's model. The
data is deterministic, so this fails only when the model (or the generator's wording) changes: a
regression in one language shows up in the per-language table of the failure message. Print the
full tables with ``python -m bench.model_accuracy``.
"""

from __future__ import annotations

from collections import defaultdict

import pytest

from devtools.dataset.generator import SAMPLE_SEED, generate_labelled
from emulator.model import analyse
from shared.analysis import LANGUAGES, format_conversation

SEED = 4242
COUNT = 1_000
MAX_CHARS = 60_000  # the submitter's default max_conversation_chars
FLOORS = {"language": 0.95, "category": 0.85, "sentiment": 0.80}


@pytest.fixture(scope="module")
def hits() -> dict[str, dict[str, list[bool]]]:
    """language -> field -> one hit/miss per session."""
    assert SEED != SAMPLE_SEED
    out: dict[str, dict[str, list[bool]]] = defaultdict(lambda: defaultdict(list))
    for event, labels in generate_labelled(COUNT, companies=("acc",), seed=SEED, long_fraction=0.03):
        messages = sorted(event["messages"], key=lambda m: m["order"])
        got = analyse(format_conversation([(m["role"], m["content"]) for m in messages], MAX_CHARS))
        for field in FLOORS:
            out[labels.language][field].append(getattr(got, field) == getattr(labels, field))
    return out


def _rate(values: list[bool]) -> float:
    return sum(values) / len(values)


def _table(hits: dict[str, dict[str, list[bool]]]) -> str:
    rows = [
        f"{lang}: n={len(hits[lang]['language'])} "
        + " ".join(f"{field}={_rate(hits[lang][field]):.0%}" for field in FLOORS)
        for lang in LANGUAGES
    ]
    return "\n".join(rows)


def test_every_language_is_in_the_sample(hits: dict[str, dict[str, list[bool]]]) -> None:
    assert sorted(hits) == sorted(LANGUAGES)


@pytest.mark.parametrize("field", list(FLOORS))
def test_overall_accuracy_floor(hits: dict[str, dict[str, list[bool]]], field: str) -> None:
    overall = _rate([hit for lang in hits.values() for hit in lang[field]])
    assert overall >= FLOORS[field], f"{field} accuracy {overall:.1%}\n{_table(hits)}"


@pytest.mark.parametrize("field", list(FLOORS))
def test_per_language_accuracy_floor(hits: dict[str, dict[str, list[bool]]], field: str) -> None:
    low = {lang: _rate(by_field[field]) for lang, by_field in hits.items()}
    low = {lang: rate for lang, rate in low.items() if rate < FLOORS[field]}
    assert not low, f"{field} below {FLOORS[field]:.0%} in {sorted(low)}\n{_table(hits)}"
