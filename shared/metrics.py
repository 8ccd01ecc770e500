"""Prometheus metrics of a service process, read from the counters its components already keep.

Components count what they do in plain dicts/ints (no metrics library inside the core); this
collector turns them into ``batchline_<source>_<name>_total`` counters labelled with the service,
served on ``BATCHLINE_METRICS_PORT`` when it is set. Labels carry no ids, keys or payloads.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector

Source = Callable[[], Mapping[str, float]]


class ServiceMetrics(Collector):
    def __init__(self, service: str) -> None:
        self._service = service
        self._sources: dict[str, Source] = {}
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(self)

    def add_source(self, name: str, source: Source) -> None:
        self._sources[name] = source

    def collect(self) -> Iterator[CounterMetricFamily]:
        for source_name, source in sorted(self._sources.items()):
            for key, value in sorted(source().items()):
                family = CounterMetricFamily(
                    f"batchline_{source_name}_{key}",
                    f"{source_name} {key.replace('_', ' ')}",
                    labels=["service"],
                )
                family.add_metric([self._service], float(value))
                yield family

    def serve(self, port: int) -> None:
        start_http_server(port, addr="0.0.0.0", registry=self.registry)  # noqa: S104 - scraped from outside
