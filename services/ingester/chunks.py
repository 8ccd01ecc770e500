"""Writing outcomes in chunks while the files are still being read, a bounded number in flight.

Reading and validating the files is this process's CPU; writing a chunk is mostly the database's.
Done one after the other (the whole download parked on disk, then every chunk), a batch took their
sum; overlapped, it takes about the larger of the two, and with two chunks in flight the database
works on one while it waits for the next one's round trips and commit. Each chunk is still one short
transaction of its own that never waits on the network (the file is read outside it), started in
file order; memory holds ``in_flight + 1`` chunks of outcomes at most, whatever the file's size.

Concurrent chunks cannot deadlock each other or the producer: each locks its sessions in the one
global order before touching any row (``repository``), and a request is in one chunk only (the
first line of a request decides it). What must come after every line's outcome (the failures of
named lines, ``lines``) is written once the lines' chunks are all done.

Failures: a failed write is raised to the reader at the next ``submit`` after it failed (or at the
end), and no chunk is started after that; the chunks already in flight, and those in flight when
the reading fails, are let finish (like a crash between chunks, a re-ingest completes the rest) and
the first error is the one raised.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Sequence
from typing import Generic, TypeVar

import structlog

log = structlog.get_logger(__name__)

T = TypeVar("T")


async def chunked(items: AsyncIterable[T], size: int) -> AsyncIterator[list[T]]:
    """``items`` in lists of ``size`` (the last one shorter), in order."""
    if size < 1:
        raise ValueError("chunk size must be at least 1")
    chunk: list[T] = []
    async for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


class ChunkWriter(Generic[T]):
    """Runs ``write`` on each submitted chunk in the background, at most ``in_flight`` at a time,
    started in submission order."""

    def __init__(self, write: Callable[[Sequence[T]], Awaitable[None]], in_flight: int = 1) -> None:
        if in_flight < 1:
            raise ValueError("at least one chunk must be in flight")
        self._write = write
        self._in_flight = in_flight
        self._tasks: list[asyncio.Future[None]] = []

    async def write_all(self, items: AsyncIterable[T], after: Sequence[T], size: int) -> None:
        """Every item, then (once their writes are done) every one of ``after``, in chunks of ``size``."""
        try:
            async for chunk in chunked(items, size):
                await self.submit(chunk)
            await self.close()
            for start in range(0, len(after), size):
                await self.submit(after[start : start + size])
            await self.close()
        except BaseException:
            await self.abandon()
            raise

    async def submit(self, chunk: Sequence[T]) -> None:
        """Start this chunk's write once fewer than ``in_flight`` are running; if one has failed
        meanwhile, its error is raised instead (after the earlier ones finish)."""
        if any(t.done() and not t.cancelled() and t.exception() is not None for t in self._tasks):
            await self.close()
        while len(self._tasks) >= self._in_flight:
            await self._tasks.pop(0)
        self._tasks.append(asyncio.ensure_future(self._write(chunk)))

    async def close(self) -> None:
        """Wait for every chunk in flight; the first failed one's error is raised here."""
        while self._tasks:
            await self._tasks.pop(0)

    async def abandon(self) -> None:
        """Something failed: let the chunks in flight finish, log (not raise) their own errors."""
        tasks, self._tasks = self._tasks, []
        for result in await asyncio.gather(*tasks, return_exceptions=True):
            if isinstance(result, BaseException):
                log.warning("a chunk write failed while the ingest failed anyway", error=repr(result)[:300])
