"""Seeded, reproducible fault decisions: per HTTP request, per batch, and per request line.

Three independent sources, so that changing one kind of traffic does not shift the others:

* HTTP faults draw from one generator seeded with ``seed`` (same request sequence, same faults);
* batch faults are counters (``expire_batches`` = the next N batches created), exact by design;
* line faults draw from a generator seeded with ``seed`` and the batch's creation number, so the
  same file submitted as the same n-th batch fails on the same lines, and a retry of a failed
  line in a later batch gets a fresh draw.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass
from typing import Any, Literal

from emulator.config import FaultConfig

BatchFault = Literal["validation_fail", "token_limit", "expire"]


@dataclass(frozen=True, slots=True)
class HttpFault:
    """What to do to one request before handling it. ``status`` None = handle normally."""

    delay_s: float = 0.0
    status: int | None = None
    retry_after_s: float | None = None
    #: Handle the request, then answer 502 as if a proxy lost the response.
    lose_response: bool = False


class FaultInjector:
    def __init__(self, config: FaultConfig, seed: int) -> None:
        self.initial = config
        self.seed = seed
        self.reset()

    def reset(self) -> None:
        """Back to the configuration and random sequence the injector started with."""
        self.config = self.initial
        self.counters: Counter[str] = Counter()
        self._http_rng = random.Random(f"{self.seed}:http")
        self._overload_rng = random.Random(f"{self.seed}:overloaded")

    def update(self, changes: dict[str, Any]) -> FaultConfig:
        """Apply a partial change (validated as a whole) and return the new configuration."""
        self.config = FaultConfig.model_validate({**self.config.model_dump(), **changes})
        return self.config

    def http_fault(self) -> HttpFault:
        cfg = self.config
        delay = cfg.latency_ms / 1000.0
        if cfg.stall_next > 0:
            self.config = cfg.model_copy(update={"stall_next": cfg.stall_next - 1})
            self.counters["stalled"] += 1
            delay += cfg.stall_s
        draw = self._http_rng.random()
        if self.config.http_429_next > 0 or draw < cfg.http_429_rate:
            if self.config.http_429_next > 0:
                self.config = self.config.model_copy(update={"http_429_next": self.config.http_429_next - 1})
            self.counters["http_429"] += 1
            return HttpFault(delay, 429, cfg.retry_after_s)
        if self.config.http_500_next > 0 or draw < cfg.http_429_rate + cfg.http_500_rate:
            if self.config.http_500_next > 0:
                self.config = self.config.model_copy(update={"http_500_next": self.config.http_500_next - 1})
            self.counters["http_500"] += 1
            return HttpFault(delay, 500)
        if self.config.lost_response_next > 0:
            self.config = self.config.model_copy(
                update={"lost_response_next": self.config.lost_response_next - 1}
            )
            self.counters["lost_response"] += 1
            return HttpFault(delay, lose_response=True)
        return HttpFault(delay)

    def overloaded(self) -> bool:
        """Whether this Anthropic request gets 529 ``overloaded_error``. Its own generator, so
        switching it on does not shift the other HTTP faults' draws."""
        cfg = self.config
        draw = self._overload_rng.random()
        if cfg.overloaded_next > 0:
            self.config = cfg.model_copy(update={"overloaded_next": cfg.overloaded_next - 1})
        elif draw >= cfg.overloaded_rate:
            return False
        self.counters["http_529"] += 1
        return True

    def batch_fault(self) -> BatchFault | None:
        """Consumes one of the batch counters, most severe first."""
        cfg = self.config
        for name, fault in (
            ("validation_fail_batches", "validation_fail"),
            ("token_limit_batches", "token_limit"),
            ("expire_batches", "expire"),
        ):
            left = getattr(cfg, name)
            if left > 0:
                self.config = cfg.model_copy(update={name: left - 1})
                self.counters[f"batch_{fault}"] += 1
                return fault  # type: ignore[return-value]
        return None

    def take_upload_race(self) -> int:
        return self.config.upload_race_lookups

    def line_plan(self, batch_seq: int, n: int) -> tuple[list[str], list[int]]:
        """Per-line outcome and a processing order that differs from the input order."""
        rng = random.Random(f"{self.seed}:lines:{batch_seq}")
        err, bad = self.config.line_error_rate, self.config.malformed_rate
        outcomes: list[str] = []
        for _ in range(n):
            draw = rng.random()
            if draw < err:
                outcomes.append("error")
            elif draw < err + bad:
                outcomes.append("not_json" if rng.random() < 0.5 else "off_schema")
            else:
                outcomes.append("ok")
        order = list(range(n))
        rng.shuffle(order)
        if n > 1 and order == sorted(order):
            order = order[1:] + order[:1]
        return outcomes, order
