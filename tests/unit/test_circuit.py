"""A configuration fault pauses one provider/model and is retried by itself, with a bounded pause."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from shared.circuit import record_fault

T0 = datetime(2026, 12, 3, 3, 0, tzinfo=UTC)


def test_the_first_fault_opens_the_circuit_for_the_base_pause() -> None:
    c = record_fault(
        None, provider="openai", model="gpt-4o-mini", reason="401 invalid_api_key", now=T0, base_s=15
    )
    assert (c.faults, c.reason, c.opened_at) == (1, "401 invalid_api_key", T0)
    assert c.probe_at == T0 + timedelta(seconds=15)
    assert not c.allows(T0 + timedelta(seconds=14))
    assert c.allows(T0 + timedelta(seconds=15))


def test_each_failed_probe_doubles_the_pause_up_to_the_cap() -> None:
    c = None
    pauses = []
    now = T0
    for _ in range(7):
        c = record_fault(c, provider="openai", model="m", reason="403", now=now, base_s=15, cap_s=300)
        pauses.append((c.probe_at - now).total_seconds())
        now = c.probe_at
    assert pauses == [15, 30, 60, 120, 240, 300, 300]
    assert c is not None
    assert c.opened_at == T0  # the outage is dated from its first fault
    assert c.faults == 7


def test_a_new_reason_replaces_the_old_one() -> None:
    c = record_fault(None, provider="openai", model="m", reason="401", now=T0)
    c = record_fault(c, provider="openai", model="m", reason="429 insufficient_quota", now=T0)
    assert c.reason == "429 insufficient_quota"
