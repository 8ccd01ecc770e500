"""Replaying a topic for reprocessing, and measuring how far a consumer group is behind.

A replay moves a consumer group's committed offsets back (to the earliest offsets, to the first
record at or after a time, or by a duration before now) and the group's processes then read
the records again; every consumer is idempotent, so that changes no result. Offsets can only be
moved while the group has no live member: a running member would overwrite the new offsets with
its own at its next commit, and Kafka refuses a commit from outside a non-empty group anyway. So
:func:`reset_offsets` looks at the group first and refuses with :class:`GroupActive` naming the
members; stop the service's processes first.

:func:`describe_offsets` is ``kafka-consumer-groups --describe``: per partition the committed
offset, the log's beginning and end, the lag, and which member holds it. The lag of a partition the
group never committed counts from its beginning (what the group would still read), not "unknown".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.coordinator.protocol import ConsumerProtocolMemberAssignment

from shared.kafka.connection import client_options
from shared.settings import Settings


class GroupActive(RuntimeError):
    """The group has live members; its offsets cannot be moved under them."""

    def __init__(self, group_id: str, members: Sequence[Member]) -> None:
        who = ", ".join(f"{m.client_id}@{m.host}" for m in members)
        super().__init__(f"consumer group {group_id} has {len(members)} active members ({who})")
        self.group_id = group_id
        self.members = tuple(members)


@dataclass(frozen=True, slots=True)
class Member:
    member_id: str
    client_id: str
    host: str
    partitions: tuple[TopicPartition, ...] = ()


@dataclass(frozen=True, slots=True)
class GroupState:
    group_id: str
    #: Kafka's group state: ``Stable``, ``Empty``, ``Dead`` (never used or deleted), ``PreparingRebalance``...
    state: str
    members: tuple[Member, ...]

    def holder(self, topic: str, partition: int) -> Member | None:
        """The member the partition is assigned to, None when no member holds it."""
        tp = TopicPartition(topic, partition)
        return next((m for m in self.members if tp in m.partitions), None)


@dataclass(frozen=True, slots=True)
class PartitionOffsets:
    topic: str
    partition: int
    #: The group's committed offset (the next record it reads), None when it never committed one.
    committed: int | None
    beginning: int
    end: int

    @property
    def lag(self) -> int:
        start = self.committed if self.committed is not None else self.beginning
        return max(0, self.end - start)


@dataclass(frozen=True, slots=True)
class OffsetMove:
    """One partition of a reset: where the group stood and where the reset puts it."""

    topic: str
    partition: int
    before: int | None
    after: int


async def _partitions(admin: AIOKafkaAdminClient, topics: Sequence[str]) -> list[TopicPartition]:
    described = await admin.describe_topics(list(topics))
    found = []
    for topic in described:
        if topic.get("error_code", 0):
            name, code = topic.get("topic"), topic["error_code"]
            raise ValueError(f"topic {name!r} cannot be described (Kafka error {code})")
        for partition in sorted(p["partition"] for p in topic["partitions"]):
            found.append(TopicPartition(topic["topic"], partition))
    return sorted(found)


def _member(raw: dict[str, Any]) -> Member:
    partitions: list[TopicPartition] = []
    assignment = raw.get("member_assignment") or b""
    if assignment:
        try:
            decoded = ConsumerProtocolMemberAssignment.decode(assignment)
            partitions = [TopicPartition(t, p) for t, ps in decoded.assignment for p in ps]
        except Exception:  # another protocol's assignment: the member still counts, its partitions unknown
            partitions = []
    return Member(
        member_id=str(raw.get("member_id", "")),
        client_id=str(raw.get("client_id", "")),
        host=str(raw.get("client_host", "")).lstrip("/"),
        partitions=tuple(sorted(partitions)),
    )


async def _group_state(admin: AIOKafkaAdminClient, group_id: str) -> GroupState:
    for response in await admin.describe_consumer_groups([group_id]):
        for group in response.to_object()["groups"]:
            if group["group"] == group_id:
                members = tuple(_member(m) for m in group["members"])
                return GroupState(group_id, str(group["state"]), members)
    return GroupState(group_id, "Dead", ())


def _admin(settings: Settings) -> AIOKafkaAdminClient:
    return AIOKafkaAdminClient(**client_options(settings), client_id="batchline-replay")


def _reader(settings: Settings, group_id: str | None = None) -> AIOKafkaConsumer:
    """A consumer that never joins a group: it only reads offsets (and commits for ``group_id``)."""
    return AIOKafkaConsumer(**client_options(settings), group_id=group_id, enable_auto_commit=False)


async def group_state(settings: Settings, group_id: str) -> GroupState:
    admin = _admin(settings)
    await admin.start()
    try:
        return await _group_state(admin, group_id)
    finally:
        await admin.close()


async def describe_offsets(
    settings: Settings, group_id: str, topics: Sequence[str]
) -> tuple[GroupState, list[PartitionOffsets]]:
    """The group's state and, for every partition of ``topics``, committed / beginning / end offsets."""
    admin, reader = _admin(settings), _reader(settings)
    await admin.start()
    try:
        await reader.start()
        try:
            partitions = await _partitions(admin, topics)
            state = await _group_state(admin, group_id)
            committed = await admin.list_consumer_group_offsets(group_id, partitions=partitions)
            begins = await reader.beginning_offsets(partitions)
            ends = await reader.end_offsets(partitions)
        finally:
            await reader.stop()
    finally:
        await admin.close()
    rows = []
    for tp in partitions:
        meta = committed.get(tp)
        offset = meta.offset if meta is not None and meta.offset >= 0 else None
        rows.append(PartitionOffsets(tp.topic, tp.partition, offset, begins[tp], ends[tp]))
    return state, rows


async def reset_offsets(
    settings: Settings,
    group_id: str,
    topics: Sequence[str],
    *,
    at_ms: int | None = None,
    dry_run: bool = False,
) -> list[OffsetMove]:
    """Move the group to the earliest offsets (``at_ms`` None) or to the first record at or after
    ``at_ms`` (epoch milliseconds; a partition with no such record goes to its end, as Kafka's tool
    does). Refuses with :class:`GroupActive` while the group has members; ``dry_run`` only plans."""
    admin = _admin(settings)
    await admin.start()
    try:
        state = await _group_state(admin, group_id)
        if state.members:
            raise GroupActive(group_id, state.members)
        partitions = await _partitions(admin, topics)
        committed = await admin.list_consumer_group_offsets(group_id, partitions=partitions)
    finally:
        await admin.close()
    consumer = _reader(settings, group_id)
    await consumer.start()
    try:
        targets = await _targets(consumer, partitions, at_ms)
        moves = []
        for tp in partitions:
            meta = committed.get(tp)
            before = meta.offset if meta is not None and meta.offset >= 0 else None
            moves.append(OffsetMove(tp.topic, tp.partition, before, targets[tp]))
        if not dry_run and partitions:
            consumer.assign(partitions)
            await consumer.commit(dict(targets))
        return moves
    finally:
        await consumer.stop()


async def _targets(
    consumer: AIOKafkaConsumer, partitions: list[TopicPartition], at_ms: int | None
) -> dict[TopicPartition, int]:
    begins = await consumer.beginning_offsets(partitions)
    if at_ms is None:
        return dict(begins)
    ends = await consumer.end_offsets(partitions)
    found = await consumer.offsets_for_times({tp: at_ms for tp in partitions})
    targets = {}
    for tp in partitions:
        hit = found.get(tp)
        targets[tp] = max(begins[tp], hit.offset) if hit is not None else ends[tp]
    return targets


async def reset_to_earliest(settings: Settings, group_id: str, topics: Sequence[str]) -> int:
    """Commit the beginning offset of every partition for the group; returns partitions reset."""
    return len(await reset_offsets(settings, group_id, topics))


async def group_lag(settings: Settings, group_id: str, topics: Sequence[str]) -> int:
    """Records on ``topics`` not yet committed by the group (unconsumed partitions count in full)."""
    _, rows = await describe_offsets(settings, group_id, topics)
    return sum(r.lag for r in rows)
