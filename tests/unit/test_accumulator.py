"""When the submitter flushes a (company, model) group."""

from __future__ import annotations

from services.submitter.accumulator import Accumulator, GroupKey

A, B = GroupKey("acme", "m1"), GroupKey("acme", "m2")


def test_flush_on_count_bytes_or_linger() -> None:
    acc = Accumulator(max_requests=3, max_bytes=1_000, linger_s=10)
    for i in range(3):
        acc.add(A, f"r{i}", 10, now=0)
    acc.add(B, "x", 2_000, now=0)
    assert acc.due(now=1) == [A, B]
    acc.take(A)
    acc.take(B)
    acc.add(A, "late", 1, now=5)
    assert acc.due(now=14) == []
    assert acc.due(now=15) == [A]
    assert acc.next_deadline() == 15


def test_duplicate_deliveries_do_not_inflate_a_group() -> None:
    acc = Accumulator(max_requests=2, max_bytes=10**9, linger_s=60)
    acc.add(A, "r1", 1, now=0)
    acc.add(A, "r1", 1, now=0)
    assert acc.due(now=1) == []
    assert len(acc) == 1


def test_companies_and_models_never_share_a_group() -> None:
    acc = Accumulator(max_requests=2, max_bytes=10**9, linger_s=60)
    acc.add(GroupKey("acme", "m1"), "r1", 1, now=0)
    acc.add(GroupKey("other", "m1"), "r2", 1, now=0)
    acc.add(GroupKey("acme", "m2"), "r3", 1, now=0)
    assert acc.due(now=1) == []


def test_a_failed_flush_makes_the_group_due_again() -> None:
    acc = Accumulator(max_requests=100, max_bytes=10**9, linger_s=60)
    acc.add(A, "r1", 1, now=0)
    acc.take(A)
    assert acc.due(now=1) == []
    acc.mark_due(A)
    assert acc.due(now=1) == [A]
