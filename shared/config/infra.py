"""Settings of the infrastructure every process shares: PostgreSQL, Kafka, and local development."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr, field_validator


class Topics(BaseModel):
    """Resolved topic names; each has a ``.dlq`` twin for records its consumer could not decode."""

    session_events: str
    request_pending: str
    batch_created: str
    batch_completed: str

    def all(self) -> list[str]:
        return [self.session_events, self.request_pending, self.batch_created, self.batch_completed]

    @staticmethod
    def dlq(topic: str) -> str:
        return f"{topic}.dlq"


class DatabaseSettings(BaseModel):
    """PostgreSQL: where the one database is and how many connections a process holds."""

    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy/asyncpg URL; unset = the embedded PostgreSQL started by `batchline dev up`.",
    )
    db_pool_size: int = Field(default=5, ge=1, description="Connections per process.")


class KafkaSettings(BaseModel):
    """The broker, its security, and the topic and consumer-group names derived from the prefix."""

    kafka_bootstrap_servers: str = Field(default="127.0.0.1:19092", description="Broker list.")
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = Field(
        default="PLAINTEXT", description="PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL."
    )
    kafka_sasl_mechanism: str | None = Field(default=None, description="e.g. PLAIN, SCRAM-SHA-512.")
    kafka_sasl_username: str | None = Field(default=None, description="SASL user.")
    kafka_sasl_password: SecretStr | None = Field(default=None, description="SASL password (secret).")
    kafka_ssl_cafile: Path | None = Field(default=None, description="CA bundle for SSL/SASL_SSL.")
    topic_prefix: str = Field(
        default="", description="Prepended to every topic and consumer-group name (isolates environments)."
    )
    topic_partitions: int = Field(default=6, ge=1, description="Partitions per topic at creation.")
    topic_replication_factor: int = Field(default=1, ge=1, description="Replicas per topic at creation.")
    consumer_max_records: int = Field(default=500, ge=1, description="Records per `getmany` call.")
    producer_max_records: int = Field(
        default=2_000,
        ge=1,
        description=(
            "Records per `getmany` call of the producer (session events): one handler transaction and "
            "one offset commit each, so larger batches share their round trips (B2 in `bench/PROFILES.md`)."
        ),
    )

    @field_validator("topic_prefix")
    @classmethod
    def _prefix_is_topic_safe(cls, v: str) -> str:
        if v and not all(c.isalnum() or c in "._-" for c in v):
            raise ValueError("topic_prefix may only contain letters, digits, '.', '_' and '-'")
        return v

    @property
    def topics(self) -> Topics:
        p = self.topic_prefix
        return Topics(
            session_events=f"{p}session.events",
            request_pending=f"{p}request.pending",
            batch_created=f"{p}batch.created",
            batch_completed=f"{p}batch.completed",
        )

    def group_id(self, service: str) -> str:
        """Consumer group of a service, e.g. ``batchline-producer``."""
        return f"{self.topic_prefix}batchline-{service}"


class LocalSettings(BaseModel):
    """Local infrastructure of `batchline dev`, logging and the probes' port."""

    home: Path = Field(default=Path(".batchline"), description="Data, logs and caches of `batchline dev`.")
    kafka_port: int = Field(default=19092, ge=1, le=65535, description="Local broker port (`dev up`).")
    kafka_controller_port: int = Field(
        default=19093, ge=1, le=65535, description="Local KRaft controller port."
    )
    postgres_port: int = Field(default=15432, ge=1, le=65535, description="Local embedded PostgreSQL port.")
    emulator_port: int = Field(default=18080, ge=1, le=65535, description="Provider emulator port (demo).")
    log_level: str = Field(default="INFO", description="DEBUG, INFO, WARNING or ERROR.")
    log_json: bool = Field(default=False, description="JSON log lines instead of console rendering.")
    gc_gen0_threshold: int = Field(
        default=50_000,
        ge=0,
        description="Allocations between two young garbage collections in a service process (Python's "
        "default is 700, which re-scans every decoded event many times); 0 = Python's default.",
    )
    metrics_port: int | None = Field(
        default=None,
        ge=0,
        le=65535,
        description="Serve the probes /healthz, /readyz and Prometheus /metrics on this port; unset = off.",
    )
    test_crash_point: Literal["after_upload", "after_create"] | None = Field(
        default=None, description="Test hook only: the submitter exits at this point of a submission."
    )
