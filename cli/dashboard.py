"""``batchline dashboard``: one read-only page over the database, refreshed live in the browser.

The page (``cli/dashboard_assets``: HTML, CSS and plain JavaScript, no CDN, so it works offline)
polls ``GET /api/summary`` every few seconds and redraws its SVG charts. The server is a small
asyncio HTTP/1.1 loop serving four fixed GET paths: nothing to configure, no web framework in a
production install, and no route that accepts a body (anything but GET/HEAD is 405).

Every summary is read in a READ ONLY transaction (``cli.dashboard_data``) and shared by all open
pages for ``CACHE_S``: ten browsers cost the database what one does.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Annotated, Any

import orjson
import structlog
import typer
from sqlalchemy.exc import ProgrammingError
from sqlalchemy.ext.asyncio import AsyncEngine

from cli.dashboard_data import DlqReader, database_summary
from shared.errors import CliError
from shared.settings import Settings

log = structlog.get_logger(__name__)

ASSETS = Path(__file__).with_name("dashboard_assets")
#: path -> (asset file, content type); the only things served besides the summary.
PAGES = {
    "/": ("index.html", "text/html; charset=utf-8"),
    "/dashboard.js": ("dashboard.js", "text/javascript; charset=utf-8"),
    "/dashboard.css": ("dashboard.css", "text/css; charset=utf-8"),
}
#: Scripts, styles and fetches from this server only (inline scripts refused): nothing leaves it.
SECURITY_HEADERS = (
    "Content-Security-Policy: default-src 'self'; img-src 'self' data:; object-src 'none'\r\n"
    "X-Content-Type-Options: nosniff\r\nCache-Control: no-store\r\n"
)
REASONS = {200: "OK", 404: "Not Found", 405: "Method Not Allowed", 503: "Service Unavailable"}
#: One summary is reused this long by every page polling the server.
CACHE_S = 1.0

Answer = tuple[int, str, bytes]


class Dashboard:
    """The summary (cached) and the routing; the HTTP loop around it is :func:`serve`."""

    def __init__(
        self, engine: AsyncEngine, settings: Settings, dlq: DlqReader, *, hours: int, refresh_s: float
    ) -> None:
        self._engine = engine
        self._settings = settings
        self._dlq = dlq
        self._hours = hours
        self._refresh_s = refresh_s
        self._lock = asyncio.Lock()
        self._cached: tuple[float, Answer] | None = None

    async def summary(self) -> dict[str, Any]:
        """The database's figures plus DLQ depths; an unreachable broker leaves the DLQ unknown but
        the rest of the page working."""
        doc = await database_summary(self._engine, self._settings, self._hours)
        try:
            doc["dlq"], doc["dlq_error"] = await self._dlq.depths(), None
        except Exception as exc:  # the type only: a message may carry hosts
            doc["dlq"], doc["dlq_error"] = None, f"Kafka unreachable ({type(exc).__name__})"
        doc["refresh_s"] = self._refresh_s
        return doc

    async def _summary_answer(self) -> Answer:
        async with self._lock:
            if self._cached is not None and time.monotonic() - self._cached[0] < CACHE_S:
                return self._cached[1]
            try:
                body = orjson.dumps(await self.summary())
                answer: Answer = (200, "application/json", body)
            except Exception as exc:
                log.warning("summary failed", error=repr(exc))
                body = orjson.dumps({"error": f"database unavailable ({type(exc).__name__})"})
                answer = (503, "application/json", body)
            self._cached = (time.monotonic(), answer)
            return answer

    async def answer(self, method: str, target: str) -> Answer:
        """(status, content type, body) of one request line."""
        if method not in ("GET", "HEAD"):
            return 405, "text/plain; charset=utf-8", b"read-only: GET only\n"
        path = target.split("?", 1)[0]
        if path == "/api/summary":
            return await self._summary_answer()
        if path in PAGES:
            name, kind = PAGES[path]
            return 200, kind, (ASSETS / name).read_bytes()
        return 404, "text/plain; charset=utf-8", b"not found\n"

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """One request per connection (``Connection: close``): the page makes one every few seconds."""
        try:
            async with asyncio.timeout(30.0):
                request = (await reader.readline()).decode("latin-1").split()
                while (line := await reader.readline()) not in (b"\r\n", b"\n", b""):
                    del line  # no header changes the answer
                if len(request) < 2:
                    return
                status, kind, body = await self.answer(request[0], request[1])
                head = (
                    f"HTTP/1.1 {status} {REASONS[status]}\r\nContent-Type: {kind}\r\n"
                    f"Content-Length: {len(body)}\r\n{SECURITY_HEADERS}Connection: close\r\n\r\n"
                )
                writer.write(head.encode() + (b"" if request[0] == "HEAD" else body))
                await writer.drain()
        except (TimeoutError, ConnectionError) as exc:
            log.debug("dashboard connection dropped", error=type(exc).__name__)
        finally:
            writer.close()


async def serve(settings: Settings, host: str, port: int, *, hours: int, refresh_s: float) -> None:
    """Check the database once (a wrong URL is a one-line error, not a page of 503s), then serve
    until SIGINT/SIGTERM."""
    from cli.common import UNDEFINED_TABLE
    from shared.bootstrap import database_url
    from shared.db.engine import make_engine
    from shared.runtime import install_signal_handlers

    engine = make_engine(database_url(settings), pool_size=2)
    dlq = DlqReader(settings)
    try:
        try:
            await database_summary(engine, settings, 1)
        except OSError as exc:
            raise CliError(f"cannot reach the database: {exc}") from None
        except ProgrammingError as exc:
            if getattr(exc.orig, "sqlstate", None) == UNDEFINED_TABLE:
                raise CliError("the database has no batchline schema; run `batchline migrate`") from None
            raise
        dashboard = Dashboard(engine, settings, dlq, hours=hours, refresh_s=refresh_s)
        try:
            server = await asyncio.start_server(dashboard.handle, host, port)
        except OSError as exc:
            raise CliError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
        bound = server.sockets[0].getsockname()
        typer.echo(f"dashboard on http://{host}:{bound[1]}/ (read-only; Ctrl-C stops)", err=True)
        stop = asyncio.Event()
        install_signal_handlers(stop)
        async with server:
            await stop.wait()
    finally:
        await dlq.close()
        await engine.dispose()


def dashboard(
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[
        int, typer.Option("--port", min=0, max=65535, help="Port to listen on (0: any free one).")
    ] = 8090,
    hours: Annotated[
        int, typer.Option("--hours", min=1, max=48, help="Throughput chart window, in hours.")
    ] = 3,
    refresh: Annotated[
        float, typer.Option("--refresh", min=1, max=300, help="Seconds between the page's updates.")
    ] = 5.0,
) -> None:
    """Serve a read-only live page: throughput, statuses, backlog age, cost and savings, DLQ depths."""
    from cli.common import load_settings

    settings = load_settings()
    asyncio.run(serve(settings, host, port, hours=hours, refresh_s=refresh))


def register_dashboard(app: typer.Typer) -> None:
    app.command("dashboard")(dashboard)
