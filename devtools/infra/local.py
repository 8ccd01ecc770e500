"""The whole local infrastructure (``batchline dev up|down|status``) with one call, no Docker.

PostgreSQL and Kafka start concurrently (the broker's JVM dominates, ~4-8 s; Postgres takes ~1 s).
If ``BATCHLINE_DATABASE_URL`` or a non-local ``BATCHLINE_KAFKA_BOOTSTRAP_SERVERS`` is configured, that
component is external: ``up`` only checks that it answers, and ``down`` leaves it alone.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

from devtools.infra import kafka, postgres
from shared.errors import CliError
from shared.settings import Settings


@dataclass(frozen=True)
class ComponentRow:
    """One line of `dev status`."""

    component: str
    state: str
    address: str
    version: str
    pid: str
    log_file: str


def kafka_is_local(settings: Settings) -> bool:
    """Every configured bootstrap host is loopback: the broker is the one `dev up` manages."""
    hosts = {s.strip().rpartition(":")[0] for s in settings.kafka_bootstrap_servers.split(",") if s.strip()}
    return hosts <= {"127.0.0.1", "localhost"}


def _check_kafka_ports(settings: Settings) -> None:
    ports = {s.strip().rpartition(":")[2] for s in settings.kafka_bootstrap_servers.split(",") if s.strip()}
    if ports != {str(settings.kafka_port)}:
        raise CliError(
            f"BATCHLINE_KAFKA_BOOTSTRAP_SERVERS={settings.kafka_bootstrap_servers} does not point at "
            f"the local broker's port {settings.kafka_port} (BATCHLINE_KAFKA_PORT); set both to the same port"
        )


async def up(settings: Settings) -> list[ComponentRow]:
    """Start (or check) both components; safe to repeat."""
    pg_node = postgres.PostgresNode.from_settings(settings)
    kafka_node = kafka.KafkaNode.from_settings(settings)

    async def pg() -> None:
        if settings.database_url:
            await postgres.server_version(settings.database_url)
        else:
            await postgres.start_postgres(pg_node)

    async def kf() -> None:
        if kafka_is_local(settings):
            await kafka.start_kafka(kafka_node)
        elif settings.kafka_security_protocol == "PLAINTEXT":  # the probe speaks PLAINTEXT only
            await kafka.wait_until_ready(settings.kafka_bootstrap_servers, timeout_s=15)

    if kafka_is_local(settings):
        _check_kafka_ports(settings)
    results = await asyncio.gather(pg(), kf(), return_exceptions=True)
    for result in results:  # report the first failure, but only after both finished starting
        if isinstance(result, BaseException):
            raise result
    write_state(settings)
    return await status(settings)


async def down(settings: Settings) -> list[ComponentRow]:
    """Stop what `up` started locally; data under the home directory is kept."""
    tasks = []
    if not settings.database_url:
        tasks.append(postgres.stop_postgres(postgres.PostgresNode.from_settings(settings)))
    if kafka_is_local(settings):
        tasks.append(kafka.stop_kafka(kafka.KafkaNode.from_settings(settings)))
    await asyncio.gather(*tasks)
    return await status(settings)


async def status(settings: Settings) -> list[ComponentRow]:
    rows: list[ComponentRow] = []
    if settings.database_url:
        try:
            version = await postgres.server_version(settings.database_url, timeout_s=3)
            state = "external, reachable"
        except Exception:
            version, state = "", "external, unreachable"
        address = _hide_password(settings.database_url)
        rows.append(ComponentRow("postgres", state, address, _short(version), "-", "-"))
    else:
        pg = postgres.postgres_status(postgres.PostgresNode.from_settings(settings))
        rows.append(_local_row("postgres", pg, pg.url))
    if kafka_is_local(settings):
        kf = kafka.kafka_status(kafka.KafkaNode.from_settings(settings))
        rows.append(_local_row("kafka", kf, kf.bootstrap))
    elif settings.kafka_security_protocol != "PLAINTEXT":
        rows.append(
            ComponentRow("kafka", "external, not probed", settings.kafka_bootstrap_servers, "?", "-", "-")
        )
    else:
        try:
            await kafka.wait_until_ready(settings.kafka_bootstrap_servers, timeout_s=3)
            state = "external, reachable"
        except Exception:
            state = "external, unreachable"
        rows.append(ComponentRow("kafka", state, settings.kafka_bootstrap_servers, "?", "-", "-"))
    return rows


def write_state(settings: Settings) -> Path:
    """Record the resolved addresses in ``<home>/state.json`` for scripts and other processes.

    Deliberately not a sourceable ``BATCHLINE_*`` env file: exporting BATCHLINE_DATABASE_URL would make
    the next `dev up` treat the embedded server as external and not start it.
    """
    home = settings.home.expanduser().resolve()
    home.mkdir(parents=True, exist_ok=True)
    kafka_node = kafka.KafkaNode.from_settings(settings)
    state = {
        "database_url": postgres.resolve_database_url(settings),
        "kafka_bootstrap_servers": kafka_node.bootstrap
        if kafka_is_local(settings)
        else settings.kafka_bootstrap_servers,
    }
    path = home / "state.json"
    path.write_text(json.dumps(state, indent=2) + "\n")
    return path


def _local_row(
    component: str, state: postgres.PostgresStatus | kafka.KafkaStatus, address: str
) -> ComponentRow:
    return ComponentRow(
        component,
        "running" if state.running else "stopped",
        address,
        state.version or "?",
        str(state.pid or "-"),
        str(state.log_file),
    )


def _short(version: str) -> str:
    """'PostgreSQL 18.6 on x86_64-pc-linux-gnu, compiled by ...' -> 'PostgreSQL 18.6'."""
    return " ".join(version.split()[:2])


def _hide_password(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)
