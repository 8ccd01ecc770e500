"""A streamed ``multipart/form-data`` body for uploads of up to 200 MB with bounded memory.

httpx would build a multipart body for us, but only from in-memory values or synchronous file
objects, and it cannot take an async iterator as the file part. Writing the few framing bytes
ourselves lets one code path stream from a file on disk (read in a worker thread through anyio)
or from any async iterator, and compute ``Content-Length`` up front so the server sees an ordinary
request rather than a chunked one.

A body is a *recipe*, not a consumed stream: each iteration re-opens the source, which is what
lets the retry loop send the same upload again after a 429 or a dropped connection.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterable, AsyncIterator, Callable
from pathlib import Path

import anyio

CHUNK_BYTES = 1024 * 1024

ChunkSource = Callable[[], AsyncIterable[bytes]]


def file_chunks(path: Path, chunk_bytes: int = CHUNK_BYTES) -> ChunkSource:
    """A re-openable source reading ``path`` in ``chunk_bytes`` pieces without blocking the loop."""

    async def _open() -> AsyncIterator[bytes]:
        async with await anyio.open_file(path, "rb") as fh:
            while chunk := await fh.read(chunk_bytes):
                yield chunk

    return _open


def _quote(value: str) -> str:
    """Form-data parameter quoting: no way to break out of the quoted filename or the header."""
    return value.replace("\\", "\\\\").replace('"', "%22").replace("\r", "%0D").replace("\n", "%0A")


class MultipartUpload:
    """``purpose`` field + one file part, streamed from ``source`` every time it is iterated.

    ``size`` is the file part's exact byte count; when it is known the body has a
    ``Content-Length``, otherwise it goes out with chunked transfer encoding.
    """

    def __init__(
        self,
        source: ChunkSource,
        *,
        filename: str,
        size: int | None,
        fields: dict[str, str],
        content_type: str = "application/jsonl",
    ) -> None:
        self._source = source
        self.boundary = secrets.token_hex(16)
        head = b"".join(
            self._part_header(f'name="{_quote(name)}"') + value.encode() + b"\r\n"
            for name, value in fields.items()
        )
        file_header = self._part_header(
            f'name="file"; filename="{_quote(filename)}"', f"Content-Type: {content_type}"
        )
        self._head = head + file_header
        self._tail = f"\r\n--{self.boundary}--\r\n".encode()
        self.size = size

    def _part_header(self, disposition: str, *extra: str) -> bytes:
        lines = [f"--{self.boundary}", f"Content-Disposition: form-data; {disposition}", *extra, "", ""]
        return "\r\n".join(lines).encode()

    @property
    def content_type(self) -> str:
        return f"multipart/form-data; boundary={self.boundary}"

    @property
    def content_length(self) -> int | None:
        return None if self.size is None else len(self._head) + self.size + len(self._tail)

    def headers(self) -> dict[str, str]:
        out = {"Content-Type": self.content_type}
        if (length := self.content_length) is not None:
            out["Content-Length"] = str(length)
        return out

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield self._head
        sent = 0
        async for chunk in self._source():
            sent += len(chunk)
            yield chunk
        if self.size is not None and sent != self.size:
            # The file changed under us; a short body would hang the server, a long one corrupt it.
            raise ValueError(f"upload source produced {sent} bytes, expected {self.size}")
        yield self._tail
