"""The emulator's webhook sender: a signed ``batch.*`` event POSTed when a batch reaches its end.

The emulator's lifecycle is lazy (a batch's status is computed when it is read), so a batch nobody
polls would never "end". :func:`run_webhooks` therefore reads every unfinished batch every ``TICK_S``
in the server's own event loop (the emulator is not thread-safe) and queues one event per batch that
has just become terminal (``Emulator.on_finish``). Each event is signed the Standard Webhooks way
(:mod:`shared.webhooks`) with a fresh timestamp per attempt, and retried with the same ``webhook-id``
on a connection error or a non-2xx answer, ``ATTEMPTS`` times, as the real provider retries.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import socket
import time
from typing import Any

import httpx
import structlog

from emulator.batch_clock import Phase
from emulator.core import Emulator
from emulator.state import BatchRecord
from shared.webhooks import STATUS_EVENT, batch_event_body, sign_headers

log = structlog.get_logger(__name__)

TICK_S = 0.2
ATTEMPTS = 5
RETRY_BASE_S = 0.5


class WebhookSender:
    def __init__(self, emulator: Emulator, url: str, secret: str) -> None:
        self._emulator = emulator
        self._url = url
        self._secret = secret
        self._queue: asyncio.Queue[tuple[str, bytes]] = asyncio.Queue()
        self.sent: list[str] = []  # webhook ids acknowledged (tests read it)
        emulator.on_finish = self._finished

    def _finished(self, rec: BatchRecord, phase: Phase) -> None:
        if phase.status not in STATUS_EVENT:
            return
        event_id = f"evt_{secrets.token_hex(12)}"
        ended = int(phase.ended_at or self._emulator.now())
        self._queue.put_nowait((event_id, batch_event_body(event_id, phase.status, rec.id, ended)))

    async def _deliver(self, client: httpx.AsyncClient, webhook_id: str, body: bytes) -> None:
        for attempt in range(1, ATTEMPTS + 1):
            headers = sign_headers(self._secret, webhook_id, int(time.time()), body)
            try:
                answer = await client.post(
                    self._url, content=body, headers={**headers, "content-type": "application/json"}
                )
                if answer.is_success:
                    self.sent.append(webhook_id)
                    return
                log.warning("webhook refused", webhook_id=webhook_id, status=answer.status_code)
            except httpx.HTTPError as exc:
                log.warning("webhook not delivered", webhook_id=webhook_id, error=type(exc).__name__)
            if attempt < ATTEMPTS:
                await asyncio.sleep(RETRY_BASE_S * 2 ** (attempt - 1))
        log.warning("webhook given up", webhook_id=webhook_id, attempts=ATTEMPTS)

    async def run(self) -> None:
        """Tick and deliver until cancelled."""
        async with httpx.AsyncClient(timeout=10.0) as client:
            pending: set[asyncio.Task[None]] = set()
            while True:
                self._emulator.refresh_all()
                while not self._queue.empty():
                    webhook_id, body = self._queue.get_nowait()
                    task = asyncio.create_task(self._deliver(client, webhook_id, body))
                    pending.add(task)
                    task.add_done_callback(pending.discard)
                await asyncio.sleep(TICK_S)


async def serve_with_webhooks(
    server: Any, emulator: Emulator, *, sockets: list[socket.socket] | None = None
) -> None:
    """Run a uvicorn ``server`` of ``emulator``, with the webhook sender beside it when configured."""
    config = emulator.config
    if config.webhook_url is None:
        await server.serve(sockets=sockets)
        return
    if config.webhook_secret is None:
        raise ValueError("webhook_url needs webhook_secret")
    sender = WebhookSender(emulator, config.webhook_url, config.webhook_secret.get_secret_value())
    task = asyncio.create_task(sender.run())
    try:
        await server.serve(sockets=sockets)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
