"""Benchmark: how fast the sample-session generator produces events (the demo and the e2e and
reliability tests generate thousands). Prints events/s and messages/s; asserts nothing.

Run: ``python -m bench.dataset_generate --count 10000`` (``make bench`` runs it with the defaults).
"""

from __future__ import annotations

import argparse
import time

from devtools.dataset.generator import generate_events

COMPANIES = ("acme-retail", "nordlicht-logistik", "soleil-hotels")
MODELS = ("gpt-4o-mini", "gpt-4.1-mini")


def main(count: int, seed: int) -> None:
    started = time.perf_counter()
    events = messages = 0
    for event in generate_events(count, companies=COMPANIES, models=MODELS, seed=seed):
        events += 1
        messages += len(event["messages"])  # type: ignore[arg-type]
    elapsed = time.perf_counter() - started
    print(f"events: {events}, messages: {messages}, seed: {seed}")
    print(f"generated in {elapsed:7.2f}s  {events / elapsed:9.0f} events/s  {messages / elapsed:9.0f} messages/s")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=99)
    args = parser.parse_args()
    main(args.count, args.seed)
