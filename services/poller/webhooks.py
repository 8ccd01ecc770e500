"""The webhook receiver's decisions: verify a delivery, record it once, wake the poller for its batch.

The provider calls us when a batch ends, so the batch needs no frequent polls: with webhooks on, a poll
interval of an hour costs no latency, and polling stays as the fallback for a lost delivery. The
receiver writes no status: it makes the named batch due at once (:mod:`services.poller.wake`), and the
poller's next round polls it and writes what the provider says.

Answers (the provider retries anything but a 2xx):

- 400 for any delivery that fails verification (missing header, timestamp outside 300 s, no matching
  signature, a signed body that is no event): nothing is written, so a forged or replayed delivery
  changes nothing;
- 200 for a verified batch event, whether it woke a batch, repeated a ``webhook-id`` already received,
  named a batch that is not ours or one that is finished; and for verified events of other kinds;
- 503 when the database cannot record it (the provider retries later, which is what we want).

The HTTP layer is :mod:`services.poller.webhook_server`; this class sees bytes and headers only, and the
database through :class:`WebhookStore`, so its rules run in unit tests without a socket.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import structlog
from pydantic import SecretStr

from services.poller.wake import WakeOutcome
from shared.webhooks import BadSecret, BatchEvent, WebhookError, parse_event, secret_key, verify

log = structlog.get_logger(__name__)


class WebhookStore(Protocol):
    async def record_and_wake(self, webhook_id: str, event: BatchEvent) -> WakeOutcome:
        """Record ``webhook_id`` (once) and make the event's batch due now; what it did."""
        ...


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    body: dict[str, str]


class SecretSource:
    """The signing key, from the setting or from a file re-read whenever it changes (rotation without
    a restart). A file that becomes unreadable or invalid keeps the last good key, and says so."""

    def __init__(self, secret: SecretStr | None, secret_file: Path | None) -> None:
        self._file = secret_file
        self._stamp: tuple[int, int] | None = None
        self._key: bytes | None = secret_key(secret.get_secret_value()) if secret is not None else None
        self.refresh()
        if self._key is None:
            raise BadSecret("set BATCHLINE_WEBHOOK_SECRET or BATCHLINE_WEBHOOK_SECRET_FILE")

    def refresh(self) -> None:
        if self._file is None:
            return
        try:
            stat = self._file.stat()
            stamp = (stat.st_mtime_ns, stat.st_size)
            if stamp == self._stamp:
                return
            key = secret_key(self._file.read_text(encoding="utf-8"))
        except (OSError, BadSecret) as exc:
            if self._key is None:
                raise BadSecret(f"cannot read the webhook secret file: {exc}") from None
            log.warning("webhooks.secret_file_unusable", path=str(self._file), error=type(exc).__name__)
            return
        if self._stamp is not None:
            log.info("webhooks.secret_reloaded", path=str(self._file))
        self._stamp, self._key = stamp, key

    def key(self) -> bytes:
        self.refresh()
        assert self._key is not None  # set in __init__ or it raised
        return self._key


class WebhookReceiver:
    """One delivery in, one :class:`Answer` out."""

    def __init__(
        self, store: WebhookStore, key: Callable[[], bytes], clock: Callable[[], float] = time.time
    ) -> None:
        self._store = store
        self._key = key
        self._clock = clock
        self.stats: dict[str, int] = {"refused": 0, "ignored": 0} | {o.value: 0 for o in WakeOutcome}

    async def receive(self, headers: Mapping[str, str], body: bytes) -> Answer:
        try:
            webhook_id = verify(body, headers, key=self._key(), now=self._clock())
            event = parse_event(body)
        except WebhookError as exc:
            self.stats["refused"] += 1
            log.warning("webhook refused", reason=type(exc).__name__, detail=str(exc))
            return Answer(400, {"error": str(exc)})
        if event is None:
            self.stats["ignored"] += 1
            return Answer(200, {"result": "ignored"})
        try:
            outcome = await self._store.record_and_wake(webhook_id, event)
        except Exception as exc:  # the database is down: not acknowledged, the provider retries
            log.warning("webhook not recorded", webhook_id=webhook_id, error=repr(exc)[:300])
            return Answer(503, {"error": "not recorded; retry"})
        self.stats[outcome.value] += 1
        log.info(
            "webhook received",
            webhook_id=webhook_id,
            type=event.type,
            provider_batch_id=event.provider_batch_id,
            outcome=outcome.value,
        )
        return Answer(200, {"result": outcome.value})
