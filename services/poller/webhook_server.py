"""``batchline webhooks``: the receiver of the provider's webhook deliveries, over plain HTTP/1.1.

A small asyncio server rather than an ASGI stack: the receiver answers one kind of request (a POST of a
JSON body of a few hundred bytes), so it needs no framework, and the production image keeps its
dependencies (starlette and uvicorn are the emulator's, an optional extra). The provider requires HTTPS:
put the receiver behind the TLS-terminating proxy or load balancer that fronts the other probes.

Limits a public endpoint needs: a body must state its ``Content-Length`` and stay under
``MAX_BODY_BYTES`` (413 otherwise; chunked bodies get 411), headers under ``MAX_HEADERS``, and the whole
request must arrive within ``REQUEST_TIMEOUT_S`` (a slow client cannot hold connections open). Every
response closes the connection. ``GET /healthz`` answers 200 for a liveness probe.
"""

from __future__ import annotations

import asyncio

import orjson
import structlog

from services.poller.wake import PostgresWebhookStore
from services.poller.webhooks import Answer, SecretSource, WebhookReceiver
from shared.bootstrap import database_url
from shared.db.engine import make_engine
from shared.periodic import run_periodically
from shared.settings import Settings

log = structlog.get_logger(__name__)

MAX_BODY_BYTES = 1024 * 1024
MAX_HEADERS = 100
REQUEST_TIMEOUT_S = 10.0
#: How often received webhook ids past their retention are deleted.
PRUNE_EVERY_S = 3_600.0
REASONS = {
    200: "OK",
    400: "Bad Request",
    404: "Not Found",
    405: "Method Not Allowed",
    411: "Length Required",
    413: "Payload Too Large",
    431: "Request Header Fields Too Large",
    503: "Service Unavailable",
}


class WebhookServer:
    """Serves :class:`WebhookReceiver` on a port (0 = any free one; :attr:`port` says which)."""

    def __init__(self, receiver: WebhookReceiver) -> None:
        self._receiver = receiver
        self._server: asyncio.Server | None = None
        self.port = 0

    async def start(self, host: str, port: int) -> None:
        self._server = await asyncio.start_server(self._serve, host, port, limit=16 * 1024)
        self.port = self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _read(self, reader: asyncio.StreamReader) -> Answer | tuple[str, str, dict[str, str], bytes]:
        parts = (await reader.readline()).decode("latin-1").split()
        if len(parts) != 3:
            return Answer(400, {"error": "malformed request line"})
        headers: dict[str, str] = {}
        while (line := await reader.readline()) not in (b"\r\n", b"\n", b""):
            if len(headers) >= MAX_HEADERS:
                return Answer(431, {"error": "too many headers"})
            name, sep, value = line.decode("latin-1").partition(":")
            if not sep:
                return Answer(400, {"error": "malformed header"})
            headers[name.strip().lower()] = value.strip()
        method, path = parts[0], parts[1].split("?", 1)[0]
        if method == "GET" and path == "/healthz":
            return Answer(200, {"alive": "true"})
        if method != "POST":
            return Answer(405, {"error": "POST only"})
        if "transfer-encoding" in headers:
            return Answer(411, {"error": "send a Content-Length"})
        try:
            length = int(headers.get("content-length", ""))
        except ValueError:
            return Answer(411, {"error": "send a Content-Length"})
        if not 0 <= length <= MAX_BODY_BYTES:
            return Answer(413, {"error": f"at most {MAX_BODY_BYTES} bytes"})
        return method, path, headers, await reader.readexactly(length)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            try:
                async with asyncio.timeout(REQUEST_TIMEOUT_S):
                    request = await self._read(reader)
            except ValueError:  # a line over the reader's limit
                request = Answer(431, {"error": "header line too long"})
            if isinstance(request, Answer):
                answer = request
            else:
                _, _, headers, body = request
                answer = await self._receiver.receive(headers, body)
            payload = orjson.dumps(answer.body)
            head = (
                f"HTTP/1.1 {answer.status} {REASONS.get(answer.status, 'Error')}\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n"
                "Connection: close\r\n\r\n"
            )
            writer.write(head.encode() + payload)
            await writer.drain()
        except (TimeoutError, ConnectionError, asyncio.IncompleteReadError) as exc:
            log.debug("webhook connection dropped", error=type(exc).__name__)
        except Exception:
            log.exception("webhook request failed")
        finally:
            writer.close()


async def serve(
    settings: Settings,
    stop: asyncio.Event,
    *,
    host: str | None = None,
    port: int | None = None,
    started: asyncio.Future[int] | None = None,
) -> None:
    """Receive webhooks until ``stop``; ``started`` (tests) gets the bound port."""
    secret = SecretSource(settings.webhook_secret, settings.webhook_secret_file)
    engine = make_engine(database_url(settings), pool_size=settings.db_pool_size, application_name="webhooks")
    store = PostgresWebhookStore(engine)
    server = WebhookServer(WebhookReceiver(store, secret.key))
    try:
        await server.start(host or settings.webhook_host, settings.webhook_port if port is None else port)
        log.info("webhook receiver listening", port=server.port)
        if started is not None:
            started.set_result(server.port)

        async def prune() -> bool:
            pruned = await store.prune(retention_s=settings.webhook_events_retention_s)
            if pruned:
                log.info("pruned received webhook ids", rows=pruned)
            return False

        await run_periodically("webhook prune", prune, interval_s=PRUNE_EVERY_S, stop=stop)
    finally:
        await server.close()
        await engine.dispose()
