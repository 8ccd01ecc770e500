"""Benchmark: how often the emulator's stand-in model agrees with the sample generator's labels.

Generates labelled sessions (``devtools.dataset.generator.generate_labelled``), formats each conversation the
way the submitter does (``role: content`` lines, truncated at the default
``max_conversation_chars``), runs :func:`emulator.model.analyse` on it and prints
accuracy per language and per category (language, category and sentiment columns), plus the shipped
sample (``data/sample_sessions.jsonl``, labels regenerated from its seed). Asserts nothing; the
quality floor is ``tests/unit/provider/test_model_accuracy.py``.

The generator's sessions reuse the wording the model was tuned on, so ``--independent`` measures the
hand-written set ``tests/data/independent_sessions.jsonl`` instead (human labels; whole set, tuning
part and held-out part; floor in ``tests/unit/provider/test_independent_agreement.py``).

Run: ``python -m bench.model_accuracy --count 2000 --seed 2024`` (``--no-sample`` skips the file),
``python -m bench.model_accuracy --independent``.
"""

from __future__ import annotations

import argparse
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from devtools.dataset.generator import (
    SAMPLE_COMPANIES,
    SAMPLE_COUNT,
    SAMPLE_LONG_FRACTION,
    SAMPLE_PATH,
    SAMPLE_SEED,
    SessionLabels,
    generate_labelled,
)
from emulator.model import Analysis, analyse
from shared.analysis import CATEGORIES, LANGUAGES, format_conversation
from shared.settings import Settings

MAX_CHARS: int = Settings.model_fields["max_conversation_chars"].default
FIELDS = ("language", "category", "sentiment")
INDEPENDENT_PATH = Path(__file__).resolve().parent.parent / "tests" / "data" / "independent_sessions.jsonl"


@dataclass
class Tally:
    """Hits per field, overall and grouped by the true language / true category."""

    total: int = 0
    hits: dict[str, int] = field(default_factory=lambda: dict.fromkeys(FIELDS, 0))
    groups: dict[tuple[str, str], list[int]] = field(
        default_factory=lambda: defaultdict(lambda: [0, 0, 0, 0])
    )

    def add(self, got: Analysis, labels: SessionLabels) -> None:
        ok = [
            got.language == labels.language,
            got.category == labels.category,
            got.sentiment == labels.sentiment,
        ]
        self.total += 1
        for name, hit in zip(FIELDS, ok, strict=True):
            self.hits[name] += hit
        for key in (("language", labels.language), ("category", labels.category)):
            row = self.groups[key]
            row[0] += 1
            for k, hit in enumerate(ok, start=1):
                row[k] += hit

    def rate(self, name: str) -> float:
        return self.hits[name] / self.total if self.total else 0.0


def conversation(event: dict[str, Any]) -> str:
    """The text the submitter sends for an event: ``role: content`` lines, truncated."""
    messages = sorted(event["messages"], key=lambda m: m["order"])
    return format_conversation([(m["role"], m["content"]) for m in messages], MAX_CHARS)


def tally(pairs: Iterable[tuple[dict[str, Any], SessionLabels]]) -> tuple[Tally, float]:
    """Accuracy of the model on ``pairs`` and the seconds the analysis alone took (cache cleared)."""
    texts = [(conversation(event), labels) for event, labels in pairs]
    analyse.cache_clear()
    started = time.perf_counter()
    answers = [analyse(text) for text, _ in texts]
    elapsed = time.perf_counter() - started
    out = Tally()
    for got, (_, labels) in zip(answers, texts, strict=True):
        out.add(got, labels)
    return out, elapsed


def sample_pairs() -> list[tuple[dict[str, Any], SessionLabels]]:
    """The shipped file's valid events with the labels their seed generates (matched by event id)."""
    labels = {
        event["event_id"]: lab
        for event, lab in generate_labelled(
            SAMPLE_COUNT, companies=SAMPLE_COMPANIES, seed=SAMPLE_SEED, long_fraction=SAMPLE_LONG_FRACTION
        )
    }
    pairs = []
    for raw in SAMPLE_PATH.read_bytes().splitlines():
        try:
            event = orjson.loads(raw)
        except orjson.JSONDecodeError:
            continue
        if isinstance(event, dict) and event.get("event_id") in labels and event.get("messages"):
            pairs.append((event, labels[event["event_id"]]))
    return pairs


def independent_pairs(held_out: bool | None = None) -> list[tuple[dict[str, Any], SessionLabels]]:
    """The hand-written set with its human labels; ``held_out`` picks one part (``None``: all)."""
    pairs = []
    for raw in INDEPENDENT_PATH.read_bytes().splitlines():
        event = orjson.loads(raw)
        if held_out is None or event["held_out"] is held_out:
            labels = SessionLabels(**event["labels"], long=False)
            pairs.append((event, labels))
    return pairs


def _pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:6.1f}" if whole else "     -"


def report(title: str, t: Tally) -> None:
    print(f"\n== {title}: {t.total} sessions")
    print("   overall  " + "  ".join(f"{n} {100 * t.rate(n):5.1f}%" for n in FIELDS))
    for kind, keys in (("language", LANGUAGES), ("category", CATEGORIES)):
        print(f"\n   {kind:<20} {'n':>5} {'lang%':>6} {'cat%':>6} {'sent%':>6}")
        for key in keys:
            n, *hits = t.groups.get((kind, key), [0, 0, 0, 0])
            print(f"   {key:<20} {n:>5} " + " ".join(_pct(h, n) for h in hits))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--no-sample", action="store_true", help="skip the shipped sample file")
    parser.add_argument(
        "--independent", action="store_true", help=f"measure the hand-written set {INDEPENDENT_PATH.name}"
    )
    args = parser.parse_args()
    if args.independent:
        for title, part in (("whole set", None), ("tuning part", False), ("held-out part", True)):
            found, elapsed = tally(independent_pairs(part))
            report(f"{INDEPENDENT_PATH.name}, {title} (analysis {elapsed:.2f}s)", found)
        return
    pairs = generate_labelled(args.count, companies=("bench",), seed=args.seed, long_fraction=0.03)
    generated, elapsed = tally(pairs)
    report(f"generated, seed {args.seed} (analysis {elapsed:.2f}s)", generated)
    if not args.no_sample:
        sample, elapsed = tally(sample_pairs())
        report(f"shipped sample {SAMPLE_PATH.name} (analysis {elapsed:.2f}s)", sample)


if __name__ == "__main__":
    main()
