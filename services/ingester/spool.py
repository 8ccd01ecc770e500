"""Parsed line outcomes parked in a temporary file between the download and the database writes.

The provider's files are downloaded and validated before any transaction opens (a 200 MB download
must not hold row locks); the outcomes then wait on disk, one compact JSON array a line, and are read
back in chunks. Memory stays constant whatever the file size: one line in, one chunk out.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from types import TracebackType
from typing import IO

import orjson

from services.ingester.results import LineOutcome, Usage


class OutcomeSpool:
    """Append outcomes, then read them back in file order, ``size`` at a time. Deleted on close."""

    def __init__(self) -> None:
        # Anonymous file (already unlinked on POSIX): nothing is left behind, even after a SIGKILL.
        self._file: IO[bytes] = tempfile.TemporaryFile(prefix="batchline-ingest-")  # noqa: SIM115
        self.count = 0

    def add(self, outcome: LineOutcome) -> None:
        u = outcome.usage
        fields = dict(outcome.fields) if outcome.fields is not None else None
        usage = [u.prompt_tokens, u.completion_tokens, u.total_tokens, u.cached_tokens]
        record = [outcome.custom_id, fields, outcome.reason, *usage, outcome.summary_truncated]
        # orjson escapes newlines inside strings: one record is always exactly one line.
        self._file.write(orjson.dumps(record) + b"\n")
        self.count += 1

    def chunks(self, size: int) -> Iterator[list[LineOutcome]]:
        if size < 1:
            raise ValueError("chunk size must be at least 1")
        self._file.flush()
        self._file.seek(0)
        chunk: list[LineOutcome] = []
        for line in self._file:
            cid, fields, reason, pt, ct, tt, cached, truncated = orjson.loads(line)
            chunk.append(LineOutcome(cid, fields, reason, Usage(pt, ct, tt, cached), truncated))
            if len(chunk) == size:
                yield chunk
                chunk = []
        if chunk:
            yield chunk

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> OutcomeSpool:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
