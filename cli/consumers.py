"""``batchline lag`` and ``batchline replay``: the consumer groups, as ``kafka-consumer-groups`` shows them.

``lag`` is ``--describe``: per group and partition the committed offset, the log-end offset, the lag
and the member holding the partition. ``replay`` is ``--reset-offsets``: to the earliest offsets,
``--to-datetime`` or ``--by-duration`` before now, for a service's group or for the group of each
``--topic``; ``--dry-run`` prints the before/after of every partition and moves nothing. A group with
active members is refused (their next commit would undo the reset): stop its processes first.

Arguments are checked before anything connects; a bad one is one ``CliError`` line, exit status 2.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Any

import orjson
import typer
from rich.table import Table

from cli.common import load_settings
from cli.redrive_cli import parse_time
from cli.report_view import make_console
from services.registry import SERVICES
from shared.errors import CliError
from shared.settings import Settings

if TYPE_CHECKING:
    from shared.kafka.replay import GroupState, OffsetMove, PartitionOffsets

#: One group as ``lag`` reads it: service name, group id, its state, its partitions.
GroupOffsets = tuple[str, str, "GroupState", list["PartitionOffsets"]]

#: Version of the ``--json`` documents of ``lag`` and ``replay``; keys are only ever added.
SCHEMA_VERSION = 1

_DURATION = re.compile(
    r"P(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+(?:\.\d+)?)S)?)?"
)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document instead of tables.")]


def parse_duration(value: str) -> timedelta:
    """An ISO 8601 duration of weeks, days, hours, minutes and seconds (``PT1H``, ``P1DT30M``).

    Years and months are refused: their length depends on the date, and Kafka's tool refuses them too.
    """
    text = value.strip().upper()
    match = _DURATION.fullmatch(text)
    if not match or text == "P" or text.endswith("T"):
        raise CliError(
            f"--by-duration: not an ISO 8601 duration of weeks, days, hours, minutes or seconds: {value!r} "
            "(e.g. PT1H, P1DT12H)"
        )
    parts = {k: float(v) for k, v in match.groupdict().items() if v is not None}
    try:
        duration = timedelta(**parts)
    except OverflowError:
        raise CliError(f"--by-duration: too long: {value!r}") from None
    if duration <= timedelta(0):
        raise CliError(f"--by-duration: must be longer than zero: {value!r}")
    return duration


@dataclass(frozen=True, slots=True)
class Target:
    """Where a reset moves a group: the earliest offsets (``at`` None) or the first record at ``at``."""

    at: datetime | None
    label: str

    @property
    def at_ms(self) -> int | None:
        return None if self.at is None else int(self.at.timestamp() * 1000)


def reset_target(to_datetime: str | None, by_duration: str | None, *, now: datetime) -> Target:
    if to_datetime is not None and by_duration is not None:
        raise CliError("--to-datetime and --by-duration exclude each other; give one")
    if to_datetime is not None:
        at = parse_time(to_datetime, "--to-datetime")
        assert at is not None
        return Target(at, f"the first record at or after {at.isoformat()}")
    if by_duration is not None:
        try:
            at = now - parse_duration(by_duration)
        except OverflowError:
            raise CliError(f"--by-duration: reaches before the year 1: {by_duration!r}") from None
        return Target(at, f"the first record at or after {at.isoformat()} ({by_duration} ago)")
    return Target(None, "the earliest offset")


def resolve_groups(settings: Settings, service: str | None, topics: list[str]) -> list[tuple[str, list[str]]]:
    """``(group, topics)`` to reset: a service's group (narrowed to ``topics``), or the group of each topic.

    A topic may be named in full or without the configured prefix (``session.events``).
    """
    prefix = settings.topic_prefix
    consumed = {t: name for name, spec in SERVICES.items() for t in spec.topics(settings.topics)}

    def full(name: str) -> str:
        for candidate in (name, f"{prefix}{name}"):
            if candidate in consumed:
                return candidate
        known = ", ".join(sorted(consumed))
        raise CliError(f"--topic: no service consumes {name!r}; the consumed topics are {known}")

    if service is None:
        if not topics:
            raise CliError("name a service (producer, submitter, poller, ingester) or at least one --topic")
        by_group: dict[str, list[str]] = {}
        for name in topics:
            topic = full(name)
            by_group.setdefault(settings.group_id(consumed[topic]), []).append(topic)
        return [(group, sorted(set(ts))) for group, ts in by_group.items()]
    spec = SERVICES.get(service)
    if spec is None:
        raise CliError(f"unknown service {service!r}; choose one of {', '.join(SERVICES)}")
    own = spec.topics(settings.topics)
    chosen = own
    if topics:
        chosen = sorted({full(name) for name in topics})
        foreign = [t for t in chosen if t not in own]
        if foreign:
            raise CliError(
                f"--topic: {service} does not consume {', '.join(foreign)} (it reads {', '.join(own)})"
            )
    return [(settings.group_id(service), chosen)]


def replay(
    service: Annotated[
        str | None, typer.Argument(help="producer, submitter, poller or ingester (or use --topic).")
    ] = None,
    *,
    topic: Annotated[
        list[str] | None,
        typer.Option("--topic", help="Only this topic (repeatable); alone, the group consuming it."),
    ] = None,
    to_datetime: Annotated[
        str | None,
        typer.Option(
            "--to-datetime", help="To the first record at or after this time (ISO 8601; no offset = UTC)."
        ),
    ] = None,
    by_duration: Annotated[
        str | None,
        typer.Option("--by-duration", help="To this long before now (ISO 8601 duration, e.g. PT1H)."),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print before/after per partition; move nothing.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Move consumer groups back (default: to the earliest offsets); stop their processes first."""
    from shared.kafka.replay import GroupActive, reset_offsets

    target = reset_target(to_datetime, by_duration, now=datetime.now(UTC))
    settings = load_settings(local_database=False)
    groups = resolve_groups(settings, service, topic or [])

    async def work() -> list[tuple[str, list[OffsetMove]]]:
        done = []
        for group, topics in groups:
            moves = await reset_offsets(settings, group, topics, at_ms=target.at_ms, dry_run=dry_run)
            done.append((group, moves))
        return done

    try:
        results = asyncio.run(work())
    except GroupActive as exc:
        raise CliError(f"{exc}; stop its processes first, nothing was reset") from None
    except Exception as exc:
        raise CliError(f"cannot reset offsets on {settings.kafka_bootstrap_servers}: {exc!r}") from None
    if as_json:
        document = {
            "schema_version": SCHEMA_VERSION,
            "dry_run": dry_run,
            "to": target.at.isoformat() if target.at else "earliest",
            "groups": [
                {
                    "group": group,
                    "partitions": [
                        {"topic": m.topic, "partition": m.partition, "before": m.before, "after": m.after}
                        for m in moves
                    ],
                }
                for group, moves in results
            ],
        }
        typer.echo(orjson.dumps(document, option=orjson.OPT_SORT_KEYS).decode())
        return
    console = make_console()
    for group, moves in results:
        table = Table("topic", "partition", "before", "after", "records again", title=group)
        for m in moves:
            again = (m.before - m.after) if m.before is not None else None
            table.add_row(m.topic, str(m.partition), _offset(m.before), str(m.after), _offset(again))
        console.print(table)
        verb = "would move" if dry_run else "moved"
        console.print(f"{group}: {verb} {len(moves)} partitions to {target.label}")
    console.print("dry run: nothing changed" if dry_run else "restart the services to read the records again")


def _offset(value: int | None) -> str:
    return "-" if value is None else str(value)


def lag(
    service: Annotated[
        str | None, typer.Option("--service", help="Only this service's group (default: every group).")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Committed offset, log-end offset and lag per consumer group and partition."""
    from shared.kafka.replay import describe_offsets

    if service is not None and service not in SERVICES:
        raise CliError(f"unknown service {service!r}; choose one of {', '.join(SERVICES)}")
    settings = load_settings(local_database=False)
    names = [service] if service else list(SERVICES)

    async def work() -> list[GroupOffsets]:
        found = []
        for name in names:
            group = settings.group_id(name)
            state, rows = await describe_offsets(settings, group, SERVICES[name].topics(settings.topics))
            found.append((name, group, state, rows))
        return found

    try:
        groups = asyncio.run(work())
    except Exception as exc:
        raise CliError(
            f"cannot read consumer offsets on {settings.kafka_bootstrap_servers}: {exc!r}"
        ) from None
    if as_json:
        typer.echo(orjson.dumps(lag_document(groups), option=orjson.OPT_SORT_KEYS).decode())
        return
    console = make_console()
    columns = ("topic", "partition", "current-offset", "log-end-offset", "lag", "consumer-id", "host")
    for _, group, state, rows in groups:
        title = f"{group}: {state.state}, {len(state.members)} members, lag {sum(r.lag for r in rows)}"
        table = Table(*columns, "client-id", title=title)
        for r in rows:
            holder = state.holder(r.topic, r.partition)
            table.add_row(
                r.topic, str(r.partition), _offset(r.committed), str(r.end), str(r.lag),
                holder.member_id if holder else "-", holder.host if holder else "-",
                holder.client_id if holder else "-",
            )  # fmt: skip
        console.print(table)


def lag_document(groups: list[GroupOffsets]) -> dict[str, Any]:
    """The ``lag --json`` document: one entry per group, its partitions and its total lag."""
    entries = []
    for name, group, state, rows in groups:
        partitions = []
        for r in rows:
            holder = state.holder(r.topic, r.partition)
            partitions.append(
                {
                    "topic": r.topic,
                    "partition": r.partition,
                    "committed_offset": r.committed,
                    "beginning_offset": r.beginning,
                    "end_offset": r.end,
                    "lag": r.lag,
                    "consumer_id": holder.member_id if holder else None,
                    "client_id": holder.client_id if holder else None,
                    "host": holder.host if holder else None,
                }
            )
        entries.append(
            {
                "service": name,
                "group": group,
                "state": state.state,
                "members": len(state.members),
                "lag": sum(r.lag for r in rows),
                "partitions": partitions,
            }
        )
    return {"schema_version": SCHEMA_VERSION, "groups": entries}


def register_consumers(app: typer.Typer) -> None:
    app.command("replay")(replay)
    app.command("lag")(lag)
