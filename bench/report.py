"""Write ``bench/results.md`` from the rows every benchmark of this run saved (``bench.results``)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from bench.results import load, machine, table

RESULTS = Path(__file__).resolve().parent / "results.md"


def main() -> None:
    rows = load()
    text = (
        "# Benchmark results\n\n"
        f"Latest `make bench` run: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {machine()}.\n"
        "Every ratio compares two figures of this same run.\n\n" + table(rows) + "\n"
    )
    RESULTS.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
