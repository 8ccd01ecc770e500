"""The new metric families, in memory: latency histograms, labelled counters and provider counting."""

from __future__ import annotations

from shared.metrics import Gauge, Histogram, HistogramSource, ServiceMetrics
from shared.provider.base import ConfigurationFault, RetryableProviderError
from shared.provider.counted import CountedProvider
from tests.fakes import FakeBatchProvider


def test_histogram_buckets_are_cumulative_and_end_with_every_observation() -> None:
    h = Histogram(bounds=(0.1, 1.0))
    for value in (0.05, 0.1, 0.5, 3.0):
        h.observe(value)
    # an observation equal to a bound belongs to it (Prometheus buckets are "less or equal")
    assert h.cumulative() == [("0.1", 2.0), ("1.0", 3.0), ("+Inf", 4.0)]
    assert h.total == 3.65 and h.observations == 4


def test_the_exposition_holds_histogram_labelled_counter_and_gauge() -> None:
    metrics = ServiceMetrics("poller")
    h = Histogram(bounds=(1.0,))
    h.observe(0.5)
    metrics.add_histogram(HistogramSource("consumer_handler_seconds", "handler call duration", h))
    metrics.add_gauge(Gauge("provider_calls", "calls", ("operation",), lambda: {("retrieve_batch",): 3.0},
                            kind="counter"))  # fmt: skip
    metrics.add_gauge(Gauge("consumer_lag", "lag", ("topic", "partition"), lambda: {("batch.created", "2"): 7.0}))
    page = metrics.render().decode()
    assert 'batchline_consumer_handler_seconds_bucket{le="1.0",service="poller"} 1.0' in page
    assert 'batchline_consumer_handler_seconds_count{service="poller"} 1.0' in page
    assert "# TYPE batchline_provider_calls_total counter" in page
    assert 'batchline_provider_calls_total{operation="retrieve_batch",service="poller"} 3.0' in page
    assert "# TYPE batchline_consumer_lag gauge" in page
    assert 'batchline_consumer_lag{partition="2",service="poller",topic="batch.created"} 7.0' in page


async def test_provider_calls_and_errors_are_counted_by_operation_and_owner() -> None:
    fake = FakeBatchProvider()
    fake.add_batch("in_progress")
    fake.fail_next["retrieve_batch"] = [
        RetryableProviderError("503", status=503), ConfigurationFault("401", status=401),
    ]  # fmt: skip
    counted = CountedProvider(fake)
    outcomes = []
    for _ in range(3):
        try:
            outcomes.append((await counted.retrieve_batch("batch_1")).status)
        except (RetryableProviderError, ConfigurationFault) as exc:
            outcomes.append(type(exc).__name__)
    assert outcomes == ["RetryableProviderError", "ConfigurationFault", "in_progress"]
    listed = [b.id async for b in counted.list_batches()]
    assert listed == ["batch_1"]
    assert fake.called("retrieve_batch") == ["batch_1"] * 3  # every call reached the provider
    assert dict(counted.calls) == {("retrieve_batch",): 3, ("list_batches",): 1}
    assert dict(counted.errors) == {("retrieve_batch", "transient"): 1, ("retrieve_batch", "configuration"): 1}
    calls, errors = counted.metrics()
    assert calls.kind == errors.kind == "counter"
    assert errors.source() == {("retrieve_batch", "transient"): 1, ("retrieve_batch", "configuration"): 1}
