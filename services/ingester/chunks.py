"""Writing outcomes in chunks while the files are still being read: one chunk in flight, one filling.

Reading and validating the files is this process's CPU; writing a chunk is mostly waiting for the
database. Done one after the other (the whole download parked on disk, then every chunk), a batch
took their sum; overlapped, it takes about the larger of the two. Each chunk is still one short
transaction of its own that never waits on the network (the file is read outside it), chunks are
written one at a time and in file order, and memory holds at most two chunks of outcomes, whatever
the file's size.

Failures: a failed write is raised to the reader at its next ``submit`` (or at ``close``), so no
later chunk is written after it; when the reading fails, the chunk in flight is let finish (like a
crash between chunks, a re-ingest completes the rest) and the reading's error is the one raised.
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
    """Runs ``write`` on each submitted chunk in the background, one at a time, in submission order."""

    def __init__(self, write: Callable[[Sequence[T]], Awaitable[None]]) -> None:
        self._write = write
        self._task: asyncio.Task[None] | None = None

    async def submit(self, chunk: Sequence[T]) -> None:
        """Wait for the previous chunk's write (raising its error), then start this one's."""
        await self.close()
        self._task = asyncio.ensure_future(self._write(chunk))

    async def close(self) -> None:
        """Wait for the chunk in flight, if any; its error is raised here."""
        if self._task is not None:
            task, self._task = self._task, None
            await task

    async def abandon(self) -> None:
        """The reader failed: let the chunk in flight finish, log (not raise) its own error."""
        try:
            await self.close()
        except Exception as exc:
            log.warning("a chunk write failed while the ingest was failing anyway", error=repr(exc)[:300])
