"""Anthropic's walls decided in process (no socket): the processing-queue limit, results expiry, the
size limit and the 529 fault, on a clock the test moves."""

from __future__ import annotations

from typing import Any

import pytest

from emulator.anthropic_batches import MessageBatches
from emulator.anthropic_walls import size_refusal
from emulator.api_errors import ApiError
from emulator.config import EmulatorConfig, FaultConfig
from emulator.core import Emulator
from emulator.faults import FaultInjector

MODEL, OTHER = "claude-3-5-haiku-latest", "claude-3-7-sonnet-latest"
BASE = "http://emulator"


def body(n: int, model: str = MODEL, prefix: str = "r") -> dict[str, Any]:
    params = {"model": model, "max_tokens": 64, "messages": [{"role": "user", "content": "swap my shift"}]}
    return {"requests": [{"custom_id": f"{prefix}-{i}", "params": params} for i in range(n)]}


def setup(**config: Any) -> tuple[Emulator, MessageBatches, list[float]]:
    now = [1_000.0]
    emu = Emulator(EmulatorConfig(stage_s=10.0, **config), clock=lambda: now[0])
    return emu, MessageBatches(emu), now


def test_the_queue_counts_a_models_requests_until_their_batch_ends() -> None:
    emu, batches, now = setup(anthropic_queue_limits={MODEL: 5})
    batches.create(body(3), 1, BASE)
    now[0] += 4.0
    batches.create(body(2, prefix="s"), 1, BASE)  # exactly at the limit: admitted
    with pytest.raises(ApiError) as caught:
        batches.create(body(1, prefix="t"), 1, BASE)
    assert caught.value.status == 429
    # Room appears when the first batch ends: 3 stages (30 s) after its creation, 26 s from now.
    assert caught.value.headers == {"retry-after": "26"}
    assert "5" in str(caught.value) and MODEL in str(caught.value)
    assert batches.create(body(9, model=OTHER), 1, BASE)["processing_status"] == "in_progress"

    now[0] = 1_000.0 + 30.0  # the first batch has ended, the second not yet
    assert batches.create(body(3, prefix="u"), 1, BASE)["processing_status"] == "in_progress"
    assert emu.counters["message_batches_queue_limited"] == 1


def test_the_queue_limit_default_applies_to_every_model_and_is_off_unless_set() -> None:
    _, unlimited, _ = setup()
    created = [unlimited.create(body(1000, prefix=f"b{i}"), 1, BASE) for i in range(5)]
    assert [c["request_counts"]["processing"] for c in created] == [1000] * 5
    emu, batches, _ = setup(anthropic_queue_limit=2)
    batches.create(body(2), 1, BASE)
    batches.create(body(2, model=OTHER), 1, BASE)  # each model has its own queue
    with pytest.raises(ApiError):
        batches.create(body(1, prefix="x"), 1, BASE)
    emu.update_walls({"anthropic_queue_limits": {MODEL: 10}})  # a per-model entry overrides it
    assert batches.create(body(1, prefix="y"), 1, BASE)["processing_status"] == "in_progress"
    with pytest.raises(ApiError):
        batches.create(body(1, model=OTHER, prefix="z"), 1, BASE)


def test_results_are_gone_at_the_ttl_after_creation() -> None:
    emu, batches, now = setup(anthropic_results_ttl_s=100.0)
    created = batches.create(body(2), 1, BASE)
    now[0] += 40.0  # ended after 30 s
    assert len(list(batches.results(created["id"]))) == 2
    now[0] = 1_000.0 + 99.0
    assert len(list(batches.results(created["id"]))) == 2
    now[0] = 1_000.0 + 100.0
    with pytest.raises(ApiError) as caught:
        batches.results(created["id"])
    assert caught.value.status == 404 and "no longer available" in str(caught.value)
    assert batches.retrieve(created["id"], BASE)["processing_status"] == "ended"
    emu.update_walls({"anthropic_results_ttl_s": None})
    assert len(list(batches.results(created["id"]))) == 2


def test_size_limit_and_its_wall() -> None:
    assert size_refusal(100, 100) is None
    refused = size_refusal(101, 100)
    assert refused is not None and refused.status == 413
    _, batches, _ = setup(anthropic_max_batch_bytes=50)
    with pytest.raises(ApiError) as caught:
        batches.create(body(1), 51, BASE)
    assert caught.value.status == 413


def test_overloaded_next_hits_exactly_the_next_n_and_the_rate_is_seeded_apart() -> None:
    injector = FaultInjector(FaultConfig(overloaded_next=2), seed=3)
    assert [injector.overloaded() for _ in range(4)] == [True, True, False, False]
    assert injector.counters["http_529"] == 2

    def draws(config: FaultConfig) -> list[bool]:
        inj = FaultInjector(config, seed=3)
        out = []
        for _ in range(400):
            inj.http_fault()
            out.append(inj.overloaded())
        return out

    rated = draws(FaultConfig(overloaded_rate=0.25))
    assert rated == draws(
        FaultConfig(overloaded_rate=0.25, http_429_rate=0.5)
    )  # other faults do not shift it
    assert 60 < sum(rated) < 140
    assert not any(draws(FaultConfig()))
