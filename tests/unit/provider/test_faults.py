"""Fault decisions are seeded and reproducible, and counters hit exactly the next N."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from emulator.config import EmulatorConfig, FaultConfig
from emulator.faults import FaultInjector


def test_line_plan_is_reproducible_per_seed_and_batch() -> None:
    config = FaultConfig(line_error_rate=0.2, malformed_rate=0.2)
    a = FaultInjector(config, seed=1).line_plan(batch_seq=5, n=500)
    b = FaultInjector(config, seed=1).line_plan(batch_seq=5, n=500)
    assert a == b
    assert FaultInjector(config, seed=2).line_plan(5, 500) != a
    assert FaultInjector(config, seed=1).line_plan(6, 500) != a  # a retried line gets a fresh draw


def test_line_plan_rates_and_order() -> None:
    outcomes, order = FaultInjector(FaultConfig(line_error_rate=0.1, malformed_rate=0.2), 0).line_plan(
        1, 10_000
    )
    share = {k: outcomes.count(k) / 10_000 for k in ("error", "not_json", "off_schema", "ok")}
    assert 0.08 < share["error"] < 0.12
    assert 0.17 < share["not_json"] + share["off_schema"] < 0.23
    assert sorted(order) == list(range(10_000))
    assert order != list(range(10_000))
    assert FaultInjector(FaultConfig(), 0).line_plan(1, 2)[1] == [1, 0]  # even two lines come out of order


def test_no_faults_by_default() -> None:
    injector = FaultInjector(FaultConfig(), 0)
    outcomes, _ = injector.line_plan(1, 1000)
    assert set(outcomes) == {"ok"}
    assert all(injector.http_fault().status is None for _ in range(1000))
    assert injector.batch_fault() is None


def test_http_faults_are_reproducible() -> None:
    config = FaultConfig(http_429_rate=0.1, http_500_rate=0.1, retry_after_s=2)
    injectors = [FaultInjector(config, 9), FaultInjector(config, 9)]
    runs = [[injector.http_fault() for _ in range(300)] for injector in injectors]
    assert runs[0] == runs[1]
    statuses = [f.status for f in runs[0]]
    assert 10 < statuses.count(429) < 55
    assert 10 < statuses.count(500) < 55
    assert all(f.retry_after_s == 2 for f in runs[0] if f.status == 429)


def test_next_n_counters_are_exact() -> None:
    injector = FaultInjector(FaultConfig(http_429_next=2, http_500_next=1, stall_next=1, stall_s=3), 0)
    faults = [injector.http_fault() for _ in range(5)]
    assert [f.status for f in faults] == [429, 429, 500, None, None]
    assert [f.delay_s for f in faults] == [3, 0, 0, 0, 0]
    injector.update({"expire_batches": 1, "token_limit_batches": 1, "validation_fail_batches": 1})
    assert [injector.batch_fault() for _ in range(4)] == ["validation_fail", "token_limit", "expire", None]
    assert injector.counters["http_429"] == 2


def test_update_validates_and_reset_restores() -> None:
    injector = FaultInjector(FaultConfig(line_error_rate=0.5), 0)
    injector.update({"malformed_rate": 0.25})
    assert (injector.config.line_error_rate, injector.config.malformed_rate) == (0.5, 0.25)
    with pytest.raises(ValidationError):
        injector.update({"malformed_rate": 3})
    injector.reset()
    assert injector.config == FaultConfig(line_error_rate=0.5)


def test_config_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BATCHLINE_EMULATOR_LINE_ERROR_RATE", "0.3")
    monkeypatch.setenv("BATCHLINE_EMULATOR_EXPIRE_BATCHES", "2")
    monkeypatch.setenv("BATCHLINE_EMULATOR_STAGE_S", "0.5")
    config = EmulatorConfig()
    assert config.faults() == FaultConfig(line_error_rate=0.3, expire_batches=2)
    assert config.stage_s == 0.5
