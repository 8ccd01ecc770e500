"""Regression tests for the bugs the chaos and outage runs found, each small enough for every run.

1. A service instance started while the broker was down exited at once (``producer.start()`` /
   ``consumer.start()`` raise ``KafkaConnectionError``); a supervisor restarting it during a broker
   restart got a crash loop. Now it waits for the broker, and still stops cleanly on SIGTERM.
2. The submitter ran a reconciliation before its components started, outside any error handling:
   started while PostgreSQL was down (restart, failover), it exited. The reconciler component
   already does this first round, with retries.
3. (provider outage) The consumer loop classed ``RetryableProviderError`` (429/5xx after the
   client's retry budget) as the record's fault: after a few failures the ingester dead-lettered
   the ``batch.completed`` event, and the batch's requests stayed BATCHING_IN_PROGRESS forever.
"""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path

import pytest
from aiokafka.errors import KafkaConnectionError

from devtools.processes import ManagedProcess, service_argv
from devtools.stack import free_port, settings_env
from shared.events import SessionEvent
from shared.kafka.connection import start_when_reachable
from shared.kafka.consumer import ConsumerLoop, Delivery, Rejection, default_is_transient, make_consumer
from shared.kafka.producer import make_producer
from shared.kafka.topics import ensure_topics
from shared.provider.base import PermanentProviderError, RetryableProviderError
from shared.settings import Settings
from tests.infra import Infra

pytestmark = pytest.mark.reliability

DEAD_DATABASE = "postgresql+asyncpg://postgres@127.0.0.1:{port}/nothing"


class FlakyClient:
    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.calls = 0

    async def start(self) -> None:
        self.calls += 1
        if self.calls <= self.failures:
            raise KafkaConnectionError("Unable to bootstrap from [('127.0.0.1', 1)]")


async def test_start_when_reachable_retries_until_the_broker_answers() -> None:
    client = FlakyClient(failures=3)
    assert await start_when_reachable(client, name="t", backoff_s=(0.01, 0.02))
    assert client.calls == 4


async def test_start_when_reachable_gives_up_only_when_stopped() -> None:
    client = FlakyClient(failures=10**6)
    stop = asyncio.Event()
    asyncio.get_running_loop().call_later(0.3, stop.set)
    # A generous hang detector, not a speed bound: the wait must end once ``stop`` is set.
    started = await asyncio.wait_for(
        start_when_reachable(client, name="t", stop=stop, backoff_s=(0.05, 0.05)), timeout=30
    )
    assert not started
    assert stop.is_set(), "gave up before it was stopped"
    assert client.calls > 1


async def test_consumer_loop_started_without_broker_waits_then_stops_cleanly() -> None:
    settings = Settings(kafka_bootstrap_servers=f"127.0.0.1:{free_port()}")
    producer = make_producer(settings)
    options = {"bootstrap_servers": settings.kafka_bootstrap_servers}
    consumer = make_consumer(options, "g", client_id="c")
    attempts = 0
    real_start = consumer.start

    async def counted_start() -> None:
        nonlocal attempts
        attempts += 1
        await real_start()

    consumer.start = counted_start  # type: ignore[method-assign]
    loop = ConsumerLoop(
        consumer=consumer,
        dlq_producer=producer,
        topics=["t"],
        group_id="g",
        decode=lambda raw: SessionEvent.model_validate_json(raw or b""),
        handle=lambda deliveries: asyncio.sleep(0, result=[]),
    )
    stop = asyncio.Event()
    asyncio.get_running_loop().call_later(1.5, stop.set)
    try:
        await asyncio.wait_for(loop.run(stop), timeout=30)  # before the fix: KafkaConnectionError
    finally:
        await producer.stop()
    # It kept waiting for the broker until it was told to stop, trying to start more than once
    # (backoff 0.5 s then 1 s within the 1.5 s before stop): a loop that returned at once fails here.
    assert stop.is_set(), "run() returned before stop was set"
    assert attempts >= 2, f"consumer start attempted {attempts} time(s)"
    assert loop.stats["records"] == 0


def _service(tmp_path: Path, service: str, settings: Settings) -> ManagedProcess:
    env = {**settings_env(settings), "PYTHONUNBUFFERED": "1"}
    return ManagedProcess(service, service_argv(service), env, tmp_path / f"{service}.log")


def _stays_up_then_stops_on_sigterm(proc: ManagedProcess, up_s: float, expect_in_log: str) -> None:
    proc.start()
    try:
        deadline = time.monotonic() + up_s
        while time.monotonic() < deadline:
            assert proc.alive(), f"{proc.name} exited: {proc.log_path.read_text()[-3000:]}"
            time.sleep(0.2)
        assert expect_in_log in proc.log_path.read_text()
        assert proc.proc is not None
        proc.proc.send_signal(signal.SIGTERM)
        assert proc.proc.wait(timeout=15) == 0, proc.log_path.read_text()[-3000:]
    finally:
        proc.stop()


def test_service_started_while_the_broker_is_down_waits_for_it(tmp_path: Path) -> None:
    settings = Settings(
        kafka_bootstrap_servers=f"127.0.0.1:{free_port()}",
        database_url=DEAD_DATABASE.format(port=free_port()),
        home=tmp_path / "home",
    )
    _stays_up_then_stops_on_sigterm(
        _service(tmp_path, "producer", settings), 5.0, "kafka not reachable; waiting to start"
    )


async def test_submitter_started_while_the_database_is_down_waits_for_it(
    tmp_path: Path, infra: Infra
) -> None:
    settings = Settings(
        kafka_bootstrap_servers=infra.kafka_bootstrap,
        topic_prefix=f"reg{free_port()}.",
        database_url=DEAD_DATABASE.format(port=free_port()),
        home=tmp_path / "home",
        batch_linger_s=0.5,
    )
    await ensure_topics(settings)
    await asyncio.to_thread(
        _stays_up_then_stops_on_sigterm, _service(tmp_path, "submitter", settings), 6.0, "reconcile failed"
    )


def test_provider_unavailable_is_transient_for_the_consumer_loop() -> None:
    assert default_is_transient(RetryableProviderError("GET /files/x/content failed: HTTP 500", status=500))
    assert not default_is_transient(PermanentProviderError("HTTP 400", status=400))


async def test_consumer_loop_waits_out_a_provider_outage_instead_of_dead_lettering() -> None:
    calls = 0

    async def ingest(deliveries: object) -> list[Rejection]:
        nonlocal calls
        calls += 1
        if calls <= 6:  # longer than poison_after (3), in batch and alone
            raise RetryableProviderError("GET /files/f/content failed: HTTP 503", status=503)
        return []

    loop: ConsumerLoop[str] = ConsumerLoop(
        consumer=None,  # type: ignore[arg-type]  # not used by _handle_until_done
        dlq_producer=None,  # type: ignore[arg-type]
        topics=["batch.completed"],
        group_id="g",
        decode=lambda raw: "",
        handle=ingest,
        retry_backoff_s=(0.01, 0.01),
    )
    rejected: list[Rejection] = []
    done = await loop._handle_until_done(
        [Delivery("event", "batch.completed", 0, 7, b"k", b"v")], rejected, asyncio.Event()
    )
    assert done
    assert rejected == []  # before the fix: dead-lettered after the third failure
    assert calls == 7
