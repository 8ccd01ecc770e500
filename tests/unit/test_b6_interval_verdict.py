"""B6's minimum-interval row: "yes" only when the runs really show no poll came too soon.

The row once read "no" with no reason because no batch of the proof run was polled twice in the log
it read; a verdict without repeat polls, or from a log missing polls, must say why it proves nothing.
"""

from __future__ import annotations

from typing import Any

from bench.b6_poller import interval_verdict, rows_of


def run(*, calls: int, db_polls: int, repeats: int, too_soon: int = 0, gap: float | None = 0.8) -> dict[str, Any]:
    return {
        "batches": 50,
        "seconds": 10.0,
        "calls": calls,
        "calls_per_s": calls / 10.0,
        "bare_per_s": 500.0,
        "busy_rounds": 40,
        "db_ms_mean": 1.0,
        "db_ms_p95": 2.0,
        "round_ms_mean": 3.0,
        "per_round": 6.0,
        "seed_s": 0.1,
        "min_interval_s": 0.5,
        "repeat_polls": repeats,
        "min_gap_s": gap,
        "too_soon": too_soon,
        "db_polls": db_polls,
    }


LOAD = run(calls=2_000, db_polls=2_000, repeats=0, gap=None)


def test_repeat_polls_none_sooner_and_a_complete_log_prove_the_interval() -> None:
    proof = run(calls=300, db_polls=300, repeats=250)
    assert interval_verdict(LOAD, proof) == (True, "every gap at least the minimum interval")
    row = rows_of(LOAD, proof)[1]
    assert row.met is True and row.figure.endswith("0.80 s")


def test_no_repeat_poll_is_no_proof_and_says_so() -> None:
    proof = run(calls=50, db_polls=50, repeats=0, gap=None)
    met, why = interval_verdict(LOAD, proof)
    assert not met and why == "not shown: no batch of the proof run was polled twice"
    row = rows_of(LOAD, proof)[1]
    assert row.met is False and row.figure.endswith("n/a") and row.notes.startswith(why)


def test_a_log_missing_polls_the_database_counted_is_no_proof() -> None:
    # The emulator keeps the latest 64 retrievals per batch: a later probe can push polls out.
    proof = run(calls=120, db_polls=300, repeats=70)
    met, why = interval_verdict(LOAD, proof)
    assert not met and "holds 120 of the 300 polls" in why


def test_a_poll_sooner_than_the_interval_fails_under_load_too() -> None:
    proof = run(calls=300, db_polls=300, repeats=250)
    load = {**LOAD, "repeat_polls": 10, "too_soon": 1}
    assert interval_verdict(load, proof) == (False, "polls sooner than the minimum interval: 1")
