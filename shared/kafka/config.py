"""Connection options shared by every aiokafka client, derived from settings (security included)."""

from __future__ import annotations

import ssl
from typing import Any

from shared.settings import Settings


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
