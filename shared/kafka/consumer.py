"""The consumer loop every service runs: decode, dead-letter, handle, then commit.

Delivery contract (at-least-once):
- offsets are committed only after the handler returned, i.e. after its database transaction
  committed; a crash anywhere before that re-delivers the records to the group;
- a record that cannot be decoded is written to ``<topic>.dlq`` (acks=all) with the reason, and the
  loop goes on; so is a record the handler rejects, or one that keeps failing alone (a poison
  record), while transient failures (database or broker down) are retried until they clear;
- on partition revoke and on shutdown, what was processed is committed.

Handlers must be idempotent: a redelivered batch is applied again.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

import structlog
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import CommitFailedError, KafkaError
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from shared.aio import sleep_or_stop
from shared.db.sqlstate import is_transaction_conflict
from shared.events import DLQ_MAX_KEY_BYTES, DLQ_MAX_ORIGINAL_BYTES, DeadLetter, DecodeError
from shared.kafka.connection import start_when_reachable
from shared.metrics import Gauge, Histogram, HistogramSource
from shared.periodic import backoff_delay
from shared.provider.base import RetryableProviderError
from shared.settings import Topics

log = structlog.get_logger(__name__)

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Delivery(Generic[T]):
    """A decoded event with the coordinates of the record it came from."""

    event: T
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None


@dataclass(frozen=True, slots=True)
class Rejection:
    """A record the handler refuses for good (the reason goes to the DLQ)."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    reason: str

    @classmethod
    def of(cls, d: Delivery[Any], reason: str) -> Rejection:
        return cls(d.topic, d.partition, d.offset, d.key, d.value, reason)


Decoder = Callable[[bytes | None], T]
Handler = Callable[[Sequence[Delivery[T]]], Awaitable[Sequence[Rejection]]]


def default_is_transient(exc: BaseException) -> bool:
    """Infrastructure failures heal by waiting; anything else is suspected to be the record's fault.

    A provider that answers 429/5xx or times out (``RetryableProviderError``, raised once the
    client's own retry budget is spent) is infrastructure too: the ingester must wait for it, not
    dead-letter the batch event, which would leave the batch's requests unresolved for good. So is
    a deadlock or a serialization failure (``shared.db.sqlstate``): SQLAlchemy reports those as a
    plain ``DBAPIError``, which without this check went the poison path after three tries.
    """
    if is_transaction_conflict(exc):
        return True
    if isinstance(
        exc,
        OSError
        | asyncio.TimeoutError
        | KafkaError
        | InterfaceError
        | OperationalError
        | RetryableProviderError,
    ):
        return True
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    name = type(exc).__name__
    return "Connection" in name or "CannotConnectNow" in name or "TooManyConnections" in name


class _CommitOnRevoke(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, loop: ConsumerLoop[Any]) -> None:
        self._loop = loop

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        # Waits for the batch in hand to finish (the lock is never held around getmany, so no deadlock).
        async with self._loop.processing:
            await self._loop.commit_processed(set(revoked))
            self._loop.forget(revoked)

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        log.info("partitions assigned", partitions=sorted(f"{tp.topic}:{tp.partition}" for tp in assigned))


class ConsumerLoop(Generic[T]):
    """Runs one consumer group member until ``stop`` is set. The consumer is created, not started."""

    def __init__(
        self,
        *,
        consumer: AIOKafkaConsumer,
        dlq_producer: AIOKafkaProducer,
        topics: Sequence[str],
        group_id: str,
        decode: Decoder[T],
        handle: Handler[T],
        max_records: int = 500,
        poll_timeout_ms: int = 500,
        retry_backoff_s: tuple[float, float] = (0.5, 15.0),
        poison_after: int = 3,
        is_transient: Callable[[BaseException], bool] = default_is_transient,
    ) -> None:
        self._consumer = consumer
        self._dlq = dlq_producer
        self._topics = list(topics)
        self._group_id = group_id
        self._decode = decode
        self._handle = handle
        self._max_records = max_records
        self._poll_timeout_ms = poll_timeout_ms
        self._backoff = retry_backoff_s
        self._poison_after = poison_after
        self._is_transient = is_transient
        self.processing = asyncio.Lock()
        self._processed: dict[TopicPartition, int] = {}
        #: Next offset to handle per partition, as this member last saw it (for the lag gauge).
        self._next: dict[TopicPartition, int] = {}
        self.stats = {"records": 0, "dead_lettered": 0, "handler_retries": 0, "commits": 0}
        #: Duration of every handler call (retries included: a slow retry is what an operator looks for).
        self.latency = Histogram()

    def latency_metric(self) -> HistogramSource:
        """``batchline_consumer_handler_seconds``: how long one call of the handler took."""
        return HistogramSource("consumer_handler_seconds", "handler call duration in seconds", self.latency)

    def lag(self) -> dict[tuple[str, ...], float]:
        """Records behind the end of each owned partition: the broker's last known high watermark
        (from the fetch responses, no extra request) minus the next offset this member will handle.

        A partition not fetched yet has no known high watermark and is left out until it is.
        """
        out: dict[tuple[str, ...], float] = {}
        for tp in self._consumer.assignment():
            high = self._consumer.highwater(tp)
            position = self._next.get(tp)
            if high is None or position is None:
                continue
            out[(tp.topic, str(tp.partition))] = float(max(0, high - position))
        return out

    def lag_metric(self) -> Gauge:
        """``batchline_consumer_lag{topic, partition}``: per owned partition, see :meth:`lag`."""
        return Gauge(
            "consumer_lag",
            "records behind the end of the partition (owned partitions)",
            ("topic", "partition"),
            self.lag,
        )

    async def _note_positions(self) -> None:
        """Remember the fetch position of owned partitions that have one (a local read, no request)."""
        for tp in self._consumer.assignment():
            if tp in self._next:
                continue
            try:
                position = await asyncio.wait_for(self._consumer.position(tp), timeout=0.01)
            except (TimeoutError, KafkaError):  # no position yet, or revoked meanwhile: next round
                continue
            self._next[tp] = position

    async def run(self, stop: asyncio.Event) -> None:
        self._consumer.subscribe(self._topics, listener=_CommitOnRevoke(self))
        if not await start_when_reachable(self._consumer, name=self._group_id, stop=stop):
            await self._consumer.stop()
            return
        log.info("consumer started", group=self._group_id, topics=self._topics)
        try:
            while not stop.is_set():
                batches = await self._consumer.getmany(
                    timeout_ms=self._poll_timeout_ms, max_records=self._max_records
                )
                await self._note_positions()
                if not batches:
                    continue
                async with self.processing:
                    done = await self._process(batches, stop)
                    if not done:
                        break  # stopping mid-retry: leave offsets uncommitted, the group re-delivers
                    await self.commit_processed(None)
        finally:
            try:
                async with self.processing:
                    await self.commit_processed(None)
            finally:
                await self._consumer.stop()
                log.info("consumer stopped", group=self._group_id, **self.stats)

    async def _process(self, batches: dict[TopicPartition, list[Any]], stop: asyncio.Event) -> bool:
        good: list[Delivery[T]] = []
        bad: list[Rejection] = []
        for records in batches.values():
            for r in records:
                try:
                    event = self._decode(r.value)
                except DecodeError as exc:
                    bad.append(Rejection(r.topic, r.partition, r.offset, r.key, r.value, str(exc)))
                    continue
                good.append(Delivery(event, r.topic, r.partition, r.offset, r.key, r.value))
        self.stats["records"] += len(good) + len(bad)
        if good and not await self._handle_until_done(good, bad, stop):
            return False
        if bad:
            await self._dead_letter(bad)
        for tp, records in batches.items():
            self._processed[tp] = records[-1].offset + 1
            self._next[tp] = records[-1].offset + 1
        return True

    async def _handle_until_done(
        self, deliveries: list[Delivery[T]], rejected: list[Rejection], stop: asyncio.Event
    ) -> bool:
        """Handle a batch; on a non-transient failure, isolate the poison record by handling one at a time."""
        failures = 0
        while not stop.is_set():
            started = time.monotonic()
            try:
                rejected.extend(await self._handle(deliveries))
                self.latency.observe(time.monotonic() - started)
                return True
            except Exception as exc:
                self.latency.observe(time.monotonic() - started)
                failures += 1
                self.stats["handler_retries"] += 1
                transient = self._is_transient(exc)
                log.warning(
                    "handler failed",
                    group=self._group_id,
                    error=repr(exc)[:500],
                    transient=transient,
                    batch=len(deliveries),
                    failures=failures,
                )
                if not transient and failures >= self._poison_after:
                    if len(deliveries) == 1:
                        rejected.append(Rejection.of(deliveries[0], f"handler error: {exc!r}"[:2000]))
                        return True
                    for single in deliveries:
                        if not await self._handle_until_done([single], rejected, stop):
                            return False
                    return True
                base, cap = self._backoff
                await sleep_or_stop(stop, backoff_delay(failures, base=base, cap=cap))
        return False

    async def _dead_letter(self, rejected: list[Rejection]) -> None:
        now = datetime.now(UTC)
        futures = []
        for r in rejected:
            key = r.key[:DLQ_MAX_KEY_BYTES] if r.key is not None else None
            value = r.value[:DLQ_MAX_ORIGINAL_BYTES] if r.value is not None else None
            letter = DeadLetter(
                topic=r.topic,
                partition=r.partition,
                offset=r.offset,
                key=base64.b64encode(key).decode() if key is not None else None,
                value=base64.b64encode(value).decode() if value is not None else None,
                error=r.reason[:4000],
                consumer_group=self._group_id,
                failed_at=now,
                # Bounded so the letter always fits the broker: an oversized one used to fail the
                # send and stop the service, on every restart (a poison pill for the whole group).
                truncated=key != r.key or value != r.value,
                value_bytes=len(r.value) if r.value is not None else None,
                value_sha256=hashlib.sha256(r.value).hexdigest() if r.value is not None else None,
            )
            futures.append(await self._dlq.send(Topics.dlq(r.topic), letter.to_bytes(), key=key))
            log.warning(
                "dead-lettered", topic=r.topic, partition=r.partition, offset=r.offset, reason=r.reason[:300]
            )
        await asyncio.gather(*futures)
        self.stats["dead_lettered"] += len(rejected)

    def forget(self, revoked: set[TopicPartition]) -> None:
        """Partitions leaving this member: their next owner reports their lag."""
        for tp in revoked:
            self._next.pop(tp, None)

    async def commit_processed(self, only: set[TopicPartition] | None) -> None:
        """Commit processed offsets: of ``only`` (partitions being revoked), else of owned partitions.

        A partition reassigned meanwhile is dropped rather than sent: one foreign partition in the
        request makes the broker reject the whole commit, re-delivering what we still own.
        """
        if only is None:
            owned = self._consumer.assignment()
            for lost in [tp for tp in self._processed if tp not in owned]:
                del self._processed[lost]  # its new owner re-reads it from the last commit
        offsets = {tp: o for tp, o in self._processed.items() if only is None or tp in only}
        if not offsets:
            return
        try:
            await self._consumer.commit(offsets)
            self.stats["commits"] += 1
        except (CommitFailedError, KafkaError) as exc:
            # The group moved on (rebalance): these records will be re-delivered and re-applied idempotently.
            log.warning("offset commit failed", group=self._group_id, error=repr(exc))
        for tp, offset in offsets.items():
            if self._processed.get(tp) == offset:
                del self._processed[tp]


def make_consumer(options: dict[str, Any], group_id: str, *, client_id: str) -> AIOKafkaConsumer:
    """A group member with manual commits that starts from the earliest offset of a new group.

    Session timeout 10 s: a SIGKILLed instance's partitions move to a live one within seconds.
    """
    return AIOKafkaConsumer(
        **options,
        group_id=group_id,
        client_id=client_id,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        session_timeout_ms=10_000,
        heartbeat_interval_ms=2_000,
        max_poll_interval_ms=600_000,
        fetch_max_bytes=16 * 1024 * 1024,
        max_partition_fetch_bytes=4 * 1024 * 1024,
    )
