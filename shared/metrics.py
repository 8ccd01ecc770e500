"""Prometheus metrics of a service process, read from the counters its components already keep.

Components count what they do in plain dicts/ints (no metrics library inside the core); this
collector turns them into ``batchline_<source>_<name>_total`` counters labelled with the service,
served on ``BATCHLINE_METRICS_PORT`` when it is set. A component that knows a state rather than a
count (e.g. the open configuration circuits) registers a gauge source: a mapping from label values to
a number, read at each scrape. Labels carry no ids, keys or payloads.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

Source = Callable[[], Mapping[str, float]]
#: Label values (in the gauge's label order, service excluded) -> the gauge's value.
GaugeSource = Callable[[], Mapping[tuple[str, ...], float]]


@dataclass(frozen=True, slots=True)
class Gauge:
    name: str
    documentation: str
    labels: tuple[str, ...]
    source: GaugeSource


class ServiceMetrics(Collector):
    def __init__(self, service: str) -> None:
        self._service = service
        self._sources: dict[str, Source] = {}
        self._gauges: dict[str, Gauge] = {}
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(self)

    def add_source(self, name: str, source: Source) -> None:
        self._sources[name] = source

    def add_gauge(self, gauge: Gauge) -> None:
        """Serve ``batchline_<gauge.name>`` labelled with the service and ``gauge.labels``."""
        self._gauges[gauge.name] = gauge

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
            gauge_family = GaugeMetricFamily(
                f"batchline_{name}", gauge.documentation, labels=["service", *gauge.labels]
            )
            for values, value in sorted(gauge.source().items()):
                gauge_family.add_metric([self._service, *values], float(value))
            yield gauge_family

    def serve(self, port: int) -> None:
        start_http_server(port, addr="0.0.0.0", registry=self.registry)  # noqa: S104 - scraped from outside
