"""The operator commands' argument rules and documents, without Kafka or a database.

Durations and statuses are checked against values written out here; group resolution against the
registry's four services; the ``lag --json`` document against offsets built by hand.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from aiokafka import TopicPartition

from cli.batches import parse_batch_id, parse_statuses
from cli.consumers import lag_document, parse_duration, reset_target, resolve_groups
from shared.errors import CliError
from shared.kafka.replay import GroupState, Member, PartitionOffsets
from shared.settings import Settings

SETTINGS = Settings(topic_prefix="x.")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("PT1H", timedelta(hours=1)),
        ("pt90m", timedelta(minutes=90)),
        ("P1DT12H", timedelta(days=1, hours=12)),
        ("P2W", timedelta(days=14)),
        ("PT0.5S", timedelta(milliseconds=500)),
        ("P1DT2H3M4S", timedelta(days=1, hours=2, minutes=3, seconds=4)),
    ],
)
def test_iso_durations(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["1h", "P", "PT", "P1DT", "P1M", "P1Y", "PT-1H", "PT1H30", ""])
def test_not_a_duration(text: str) -> None:
    with pytest.raises(CliError, match="--by-duration"):
        parse_duration(text)


def test_durations_past_the_calendar_are_refused() -> None:
    with pytest.raises(CliError, match="--by-duration: too long"):
        parse_duration("P999999999W")
    with pytest.raises(CliError, match="reaches before the year 1"):
        reset_target(None, "P999999D", now=datetime(2026, 5, 1, tzinfo=UTC))


def test_reset_targets() -> None:
    now = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
    assert reset_target(None, None, now=now).at is None
    by = reset_target(None, "PT2H", now=now)
    assert by.at == datetime(2026, 5, 1, 10, 0, tzinfo=UTC)
    assert by.at_ms == 1_777_629_600_000
    to = reset_target("2026-05-01T09:30:00+02:00", None, now=now)
    assert to.at == datetime(2026, 5, 1, 7, 30, tzinfo=UTC)
    naive = reset_target("2026-05-01T09:30", None, now=now)  # no offset: UTC
    assert naive.at == datetime(2026, 5, 1, 9, 30, tzinfo=UTC)


def test_groups_from_a_service_or_from_topics() -> None:
    assert resolve_groups(SETTINGS, "poller", []) == [("x.batchline-poller", ["x.batch.created"])]
    assert resolve_groups(SETTINGS, "producer", ["session.events"]) == [
        ("x.batchline-producer", ["x.session.events"])
    ]
    by_topic = resolve_groups(SETTINGS, None, ["x.batch.completed", "request.pending", "request.pending"])
    assert by_topic == [
        ("x.batchline-ingester", ["x.batch.completed"]),
        ("x.batchline-submitter", ["x.request.pending"]),
    ]
    with pytest.raises(CliError, match=re.escape("ingester does not consume x.session.events")):
        resolve_groups(SETTINGS, "ingester", ["session.events"])
    with pytest.raises(CliError, match=re.escape("no service consumes 'x.session.events.dlq'")):
        resolve_groups(SETTINGS, None, ["x.session.events.dlq"])


def test_statuses_and_ids() -> None:
    assert parse_statuses([]) is None
    assert parse_statuses(["in_progress", "PROCESSED", " cancelled ", "processed"]) == [
        "CANCELLED",
        "IN_PROGRESS",
        "PROCESSED",
    ]
    with pytest.raises(CliError, match="unknown batch status 'done'"):
        parse_statuses(["done"])
    batch = uuid.uuid4()
    assert parse_batch_id(f" {batch} ") == batch
    with pytest.raises(CliError, match="not a batch id"):
        parse_batch_id("batch_123")


def test_lag_counts_an_uncommitted_partition_from_its_beginning() -> None:
    held = Member("m-1", "batchline-producer", "10.0.0.7", (TopicPartition("x.session.events", 0),))
    state = GroupState("x.batchline-producer", "Stable", (held,))
    rows = [
        PartitionOffsets("x.session.events", 0, committed=40, beginning=0, end=55),
        PartitionOffsets("x.session.events", 1, committed=None, beginning=12, end=20),
        PartitionOffsets("x.session.events", 2, committed=9, beginning=0, end=9),
    ]
    document = lag_document([("producer", "x.batchline-producer", state, rows)])
    (group,) = document["groups"]
    assert document["schema_version"] == 1
    assert (group["service"], group["state"], group["members"], group["lag"]) == ("producer", "Stable", 1, 23)
    assert [p["lag"] for p in group["partitions"]] == [15, 8, 0]
    assert [p["committed_offset"] for p in group["partitions"]] == [40, None, 9]
    assert [p["consumer_id"] for p in group["partitions"]] == ["m-1", None, None]
    assert group["partitions"][0]["host"] == "10.0.0.7"
