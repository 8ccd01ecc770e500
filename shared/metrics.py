"""Prometheus metrics of a service process, read from the counters its components already keep.

Components count what they do in plain dicts/ints (no metrics library inside the core); this
collector turns them into ``batchline_<source>_<name>_total`` counters labelled with the service,
served beside the health probes (``shared.health``) on ``BATCHLINE_METRICS_PORT`` when it is set. A
component that knows a state rather than a count (e.g. the open configuration circuits) registers a
gauge source: a mapping from label values to a number, read at each scrape; a count that needs labels
(provider calls by operation) is a labelled family of kind ``counter``; a duration is a
:class:`Histogram` the component observes into. Labels carry no ids, keys or payloads.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

Source = Callable[[], Mapping[str, float]]
#: Label values (in the gauge's label order, service excluded) -> the gauge's value.
GaugeSource = Callable[[], Mapping[tuple[str, ...], float]]

#: Handler durations in seconds: a few milliseconds (a duplicate wake-up) to minutes (a large ingest).
LATENCY_BUCKETS_S: tuple[float, ...] = (
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0,
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Gauge:
    """A labelled family read at each scrape; ``kind="counter"`` for labelled counts (``..._total``)."""

    name: str
    documentation: str
    labels: tuple[str, ...]
    source: GaugeSource
    kind: Literal["gauge", "counter"] = "gauge"


@dataclass(slots=True)
class Histogram:
    """Observations counted per upper bound, as plain numbers (the component needs no metrics library)."""

    bounds: Sequence[float] = LATENCY_BUCKETS_S
    counts: list[int] = field(default_factory=list)
    total: float = 0.0
    observations: int = 0

    def __post_init__(self) -> None:
        self.counts = [0] * len(self.bounds)

    def observe(self, value: float) -> None:
        self.observations += 1
        self.total += value
        index = bisect.bisect_left(self.bounds, value)
        if index < len(self.counts):
            self.counts[index] += 1

    def cumulative(self) -> list[tuple[str, float]]:
        """Prometheus buckets: ``(le, observations <= le)``, ending with ``+Inf`` = all observations."""
        out: list[tuple[str, float]] = []
        running = 0
        for bound, count in zip(self.bounds, self.counts, strict=True):
            running += count
            out.append((repr(float(bound)), float(running)))
        out.append(("+Inf", float(self.observations)))
        return out


@dataclass(frozen=True, slots=True)
class HistogramSource:
    name: str
    documentation: str
    histogram: Histogram


class ServiceMetrics(Collector):
    def __init__(self, service: str) -> None:
        self._service = service
        self._sources: dict[str, Source] = {}
        self._gauges: dict[str, Gauge] = {}
        self._histograms: dict[str, HistogramSource] = {}
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(self)

    def add_source(self, name: str, source: Source) -> None:
        self._sources[name] = source

    def add_gauge(self, gauge: Gauge) -> None:
        """Serve ``batchline_<gauge.name>`` labelled with the service and ``gauge.labels``."""
        self._gauges[gauge.name] = gauge

    def add_histogram(self, source: HistogramSource) -> None:
        """Serve ``batchline_<name>`` (``_bucket``, ``_sum``, ``_count``) labelled with the service."""
        self._histograms[source.name] = source

    def collect(self) -> Iterator[Metric]:
        for source_name, source in sorted(self._sources.items()):
            for key, value in sorted(source().items()):
                family = CounterMetricFamily(
                    f"batchline_{source_name}_{key}",
                    f"{source_name} {key.replace('_', ' ')}",
                    labels=["service"],
                )
                family.add_metric([self._service], float(value))
                yield family
        for name, gauge in sorted(self._gauges.items()):
            kind = CounterMetricFamily if gauge.kind == "counter" else GaugeMetricFamily
            labelled = kind(f"batchline_{name}", gauge.documentation, labels=["service", *gauge.labels])
            for values, value in sorted(gauge.source().items()):
                labelled.add_metric([self._service, *values], float(value))
            yield labelled
        for name, hist in sorted(self._histograms.items()):
            histogram = HistogramMetricFamily(f"batchline_{name}", hist.documentation, labels=["service"])
            histogram.add_metric(
                [self._service], hist.histogram.cumulative(), sum_value=hist.histogram.total
            )
            yield histogram

    def render(self) -> bytes:
        """The Prometheus text exposition of everything registered (what ``/metrics`` answers)."""
        return bytes(generate_latest(self.registry))
