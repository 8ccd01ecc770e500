"""Delivery bookkeeping of the at-least-once plumbing: the outbox, applied event ids, webhook ids."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, Index, LargeBinary, PrimaryKeyConstraint, String, func
from sqlalchemy.orm import Mapped, mapped_column

from shared.db.models.base import Base, Timestamp


class OutboxMessage(Base):
    """Events written in the same transaction as the state they announce; a relay publishes them."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    topic: Mapped[str] = mapped_column(String(255))
    key: Mapped[bytes | None] = mapped_column(LargeBinary)
    payload: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(Timestamp, server_default=func.now())


class ProcessedEvent(Base):
    """Event ids a consumer group has applied, so a duplicate delivery is recognised cheaply.

    Kept ``processed_events_retention_s``, then pruned by the producer (``services.producer.housekeeping``).
    """

    __tablename__ = "processed_events"
    __table_args__ = (
        PrimaryKeyConstraint("consumer_group", "event_id"),
        # The producer's prune deletes ids past the retention: a range of this column.
        Index("ix_processed_events_processed_at", "processed_at"),
    )

    consumer_group: Mapped[str] = mapped_column(String(255))
    event_id: Mapped[str] = mapped_column(String(255))
    processed_at: Mapped[datetime] = mapped_column(Timestamp, server_default=func.now())


class WebhookEvent(Base):
    """A provider webhook delivery received, by its ``webhook-id`` (de-duplication of retries).

    Written by ``batchline webhooks`` in the transaction that wakes the poller for the named batch;
    pruned past ``webhook_events_retention_s`` by the receiver.
    """

    __tablename__ = "webhook_events"
    __table_args__ = (Index("ix_webhook_events_received_at", "received_at"),)

    webhook_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    event_type: Mapped[str] = mapped_column(String(64))
    provider_batch_id: Mapped[str] = mapped_column(String(200))
    #: The event's own ``created_at`` (Unix seconds, as the provider sent it).
    event_created_at: Mapped[int] = mapped_column(BigInteger)
    #: Whether the event named one of our batches.
    batch_found: Mapped[bool] = mapped_column(Boolean)
    received_at: Mapped[datetime] = mapped_column(Timestamp, server_default=func.now())
