"""One row per benchmark figure, and the aggregation of every benchmark's rows into ``bench/results.md``.

Each benchmark module (``bench.b1_ingest`` ...) is runnable on its own (``python -m bench.b1_ingest``),
prints its table, and saves its rows to ``bench/out/<name>.json`` with :func:`save`; ``python -m
bench.report`` (the last step of ``make bench``) reads them all and writes ``bench/results.md`` with the
machine and the date. Figures are what one run measured: a ratio is always of two figures of the same
run, never of a figure against a number remembered from elsewhere.
"""

from __future__ import annotations

import json
import os
import platform
from dataclasses import asdict, dataclass
from pathlib import Path

OUT = Path(__file__).resolve().parent / "out"


@dataclass(frozen=True, slots=True)
class BenchRow:
    """One line of the results table, e.g. ``B1 ingest | 41,200 lines/s | 38.1x seed | 61% of COPY``."""

    bench: str  # "B1 ingest"
    figure: str  # the absolute figure with its unit: "41,200 lines/s"
    baseline: str  # the ratio to the baseline measured in the same run: "38.1x seed path", or ""
    limit: str  # the share of the stage's physical limit measured in the same run: "61% of COPY", or ""
    target: str  # the target: ">= 40,000 lines/s"
    met: bool | None  # None: no target for this row
    notes: str = ""


def save(name: str, rows: list[BenchRow]) -> Path:
    """Write ``rows`` to ``bench/out/<name>.json`` and print them as a table."""
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"{name}.json"
    path.write_text(json.dumps([asdict(r) for r in rows], indent=1))
    print(table(rows))
    return path


def load() -> list[BenchRow]:
    rows: list[BenchRow] = []
    for path in sorted(OUT.glob("*.json")):
        rows.extend(BenchRow(**r) for r in json.loads(path.read_text()))
    return rows


def table(rows: list[BenchRow]) -> str:
    lines = ["| bench | figure | vs baseline | vs physical limit | target | met | notes |", "|---|---|---|---|---|---|---|"]
    for r in rows:
        met = "" if r.met is None else ("yes" if r.met else "**no**")
        lines.append(f"| {r.bench} | {r.figure} | {r.baseline} | {r.limit} | {r.target} | {met} | {r.notes} |")
    return "\n".join(lines)


def machine() -> str:
    cpus = os.cpu_count()
    mem = ""
    try:
        kb = int(next(line for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal")).split()[1])
        mem = f", {kb / 1024 / 1024:.0f} GB RAM"
    except (OSError, StopIteration, ValueError):
        pass
    return f"{platform.system()} {platform.machine()}, {cpus} CPUs{mem}, Python {platform.python_version()}"
