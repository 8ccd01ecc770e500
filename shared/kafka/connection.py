"""Connection options shared by every aiokafka client, derived from settings (security included)."""

from __future__ import annotations

import asyncio
import ssl
from typing import Any, Protocol

import structlog
from aiokafka.errors import KafkaConnectionError

from shared.aio import sleep_or_stop
from shared.periodic import backoff_delay
from shared.settings import Settings

log = structlog.get_logger(__name__)


def client_options(settings: Settings) -> dict[str, Any]:
    opts: dict[str, Any] = {
        "bootstrap_servers": settings.kafka_bootstrap_servers,
        "security_protocol": settings.kafka_security_protocol,
    }
    if settings.kafka_security_protocol in ("SSL", "SASL_SSL"):
        opts["ssl_context"] = ssl.create_default_context(
            cafile=str(settings.kafka_ssl_cafile) if settings.kafka_ssl_cafile else None
        )
    if settings.kafka_security_protocol.startswith("SASL"):
        opts["sasl_mechanism"] = settings.kafka_sasl_mechanism or "PLAIN"
        opts["sasl_plain_username"] = settings.kafka_sasl_username
        if settings.kafka_sasl_password is not None:
            opts["sasl_plain_password"] = settings.kafka_sasl_password.get_secret_value()
    return opts


class Startable(Protocol):
    async def start(self) -> None: ...


async def start_when_reachable(
    client: Startable,
    *,
    name: str,
    stop: asyncio.Event | None = None,
    backoff_s: tuple[float, float] = (0.5, 5.0),
) -> bool:
    """Start an aiokafka producer or consumer, waiting for the broker as long as it takes.

    A process started while its broker is down (a broker restart, a rolling upgrade, a supervisor
    restarting a crashed instance) waits and logs instead of exiting: at run time the clients ride
    out a broker outage, so start-up must too. aiokafka raises ``KafkaConnectionError`` from
    ``start()`` before anything is set up, so calling it again is safe. Returns False, not started,
    when ``stop`` is set first.
    """
    failures = 0
    while stop is None or not stop.is_set():
        try:
            await client.start()
            return True
        except KafkaConnectionError as exc:
            failures += 1
            delay = backoff_delay(failures, base=backoff_s[0], cap=backoff_s[1])
            log.warning(
                "kafka not reachable; waiting to start", client=name, error=str(exc), retry_in_s=delay
            )
        if stop is None:
            await asyncio.sleep(delay)
        else:
            await sleep_or_stop(stop, delay)
    return False
