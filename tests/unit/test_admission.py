"""Sharing the enqueued-token budget and estimating tokens: the rules operators rely on."""

from __future__ import annotations

import pytest

from shared.admission import fair_shares, learned_limit_after_rejection, learned_limit_after_success
from shared.tokens import TokenRate, calibrated_rate


def test_a_small_company_is_served_in_full_beside_a_large_backlog() -> None:
    assert fair_shares(100, {"big": 1_000, "small": 10, "mid": 50}) == {"big": 45, "small": 10, "mid": 45}


def test_equal_backlogs_split_evenly_and_the_remainder_goes_by_company_id() -> None:
    assert fair_shares(100, {"c": 1_000, "a": 1_000, "b": 1_000}) == {"a": 34, "b": 33, "c": 33}


def test_nobody_gets_more_than_asked_and_no_budget_is_invented() -> None:
    assert fair_shares(100, {"a": 10, "b": 20}) == {"a": 10, "b": 20}
    assert fair_shares(0, {"a": 10}) == {"a": 0}
    assert fair_shares(-5, {"a": 10}) == {"a": 0}
    assert fair_shares(50, {"a": 0, "b": 80}) == {"a": 0, "b": 50}


def test_the_learned_limit_drops_below_where_the_provider_refused() -> None:
    # 1.5M enqueued + a 600k batch refused: the real limit is under 2.1M and about 1.5M was accepted:
    # 90% of 1.5M.
    assert learned_limit_after_rejection(
        limit=2_000_000, enqueued=1_500_000, batch_tokens=600_000, floor=1
    ) == (1_350_000)
    assert learned_limit_after_rejection(limit=2_000_000, enqueued=900, batch_tokens=200, floor=1) == 810
    # Little enqueued under a big batch: 90% of half the batch (a bisection).
    assert learned_limit_after_rejection(limit=2_000_000, enqueued=100_000, batch_tokens=1_000_000, floor=1) == (
        450_000
    )
    assert learned_limit_after_rejection(limit=2_000_000, enqueued=0, batch_tokens=600, floor=1) == 270
    # Already lower than that: unchanged. Never under the floor (one request must always fit).
    assert learned_limit_after_rejection(
        limit=1_000_000, enqueued=1_500_000, batch_tokens=600_000, floor=1
    ) == (1_000_000)
    assert learned_limit_after_rejection(limit=100, enqueued=0, batch_tokens=10, floor=50) == 50


def test_the_prior_estimate_is_conservative() -> None:
    # 0.5 tokens per byte x 1.1 margin: a 1,000-byte line is estimated at 550 tokens.
    assert TokenRate().estimate(1_000) == 550
    assert TokenRate().estimate(0) == 0


def test_calibration_moves_towards_what_the_provider_counted() -> None:
    # 1,000,000 bytes observed at 0.25 tokens/byte, prior 0.5 worth 200,000 bytes:
    # (250,000 + 100,000) / 1,200,000 = 0.291666..., x 1.1 = 0.3208333...
    rate = calibrated_rate(250_000, 1_000_000)
    assert rate.tokens_per_byte == pytest.approx(0.3208333, rel=1e-6)
    assert rate.estimate(1_200) == 385
    # No evidence: the prior with its margin.
    assert calibrated_rate(0, 0).tokens_per_byte == pytest.approx(0.55)


def test_negative_evidence_is_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        calibrated_rate(-1, 10)


def test_a_learned_limit_recovers_a_tenth_of_its_gap_per_step_and_snaps_to_the_configured_one() -> None:
    assert learned_limit_after_success(learned=1_000_000, configured=2_000_000) == 1_100_000
    assert learned_limit_after_success(learned=1_100_000, configured=2_000_000) == 1_190_000
    # 1,985,000 + 1,500 is within 1% of 2,000,000: the configured limit again.
    assert learned_limit_after_success(learned=1_985_000, configured=2_000_000) == 2_000_000
    assert learned_limit_after_success(learned=2_500_000, configured=2_000_000) == 2_000_000
    # No configured limit: +10% of itself per step.
    assert learned_limit_after_success(learned=50_000, configured=None) == 55_000
