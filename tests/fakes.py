"""In-memory stand-ins for the service ports, for orchestration unit tests that run in milliseconds.

``FakeBatchProvider`` implements :class:`shared.provider.base.BatchProvider` with plain dicts. It does
what a test scripts and records every call, so a test asserts on what the service *asked* the provider
to do (create once, cancel the orphan, never create when a lookup found the batch) without HTTP. The
real client and the emulator keep their own integration and contract tests.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

from shared.provider.base import (
    LOCAL_BATCH_ID_KEY,
    ProviderBatch,
    ProviderError,
    ProviderFile,
    ProviderNotFound,
    RequestCounts,
)

#: Where the fake clocks start: the provider's (epoch seconds) and the stores' (datetime) agree.
START = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


@dataclass
class FakeBatchProvider:
    """Batches and files in dicts; ``fail_next[method]`` raises the given errors on the next calls."""

    batches: dict[str, ProviderBatch] = field(default_factory=dict)
    files: dict[str, list[bytes]] = field(default_factory=dict)
    calls: list[tuple[str, str]] = field(default_factory=list)
    fail_next: dict[str, list[ProviderError]] = field(default_factory=dict)
    #: ``before[method]()`` runs once at the next call of ``method``: what another process does meanwhile.
    before: dict[str, Callable[[], None]] = field(default_factory=dict)
    #: Status a cancel leaves the batch in (the real API answers "cancelling" first).
    cancel_status: str = "cancelling"
    clock: int = int(START.timestamp())
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def _enter(self, method: str, arg: str) -> None:
        self.calls.append((method, arg))
        hook = self.before.pop(method, None)
        if hook is not None:
            hook()
        queued = self.fail_next.get(method)
        if queued:
            raise queued.pop(0)

    def called(self, method: str) -> list[str]:
        return [arg for name, arg in self.calls if name == method]

    def add_batch(self, status: str, *, local_batch_id: str | None = None, created_at: int | None = None,
                  output_lines: list[bytes] | None = None) -> ProviderBatch:
        """A batch that already exists on the provider (e.g. created by a process that then died)."""
        n = next(self._ids)
        output_file_id = None
        if output_lines is not None:
            output_file_id = f"file-out-{n}"
            self.files[output_file_id] = list(output_lines)
        batch = ProviderBatch(
            id=f"batch_{n}",
            status=status,
            input_file_id=f"file-in-{n}",
            output_file_id=output_file_id,
            error_file_id=None,
            created_at=self.clock if created_at is None else created_at,
            expires_at=None,
            request_counts=RequestCounts(),
            metadata={LOCAL_BATCH_ID_KEY: local_batch_id} if local_batch_id else {},
        )
        self.batches[batch.id] = batch
        return batch

    def set_status(self, batch_id: str, status: str) -> None:
        self.batches[batch_id] = replace(self.batches[batch_id], status=status)

    async def upload_file(self, path: Path, *, filename: str | None = None) -> ProviderFile:
        self._enter("upload_file", filename or path.name)
        file_id = f"file-{next(self._ids)}"
        data = path.read_bytes()  # noqa: ASYNC240 - test files are small and local
        self.files[file_id] = [line for line in data.splitlines() if line]
        return ProviderFile(file_id, len(data), filename or path.name, "batch", self.clock)

    async def create_batch(self, input_file_id: str, *, metadata: dict[str, str]) -> ProviderBatch:
        self._enter("create_batch", input_file_id)
        if input_file_id not in self.files:
            raise ProviderNotFound(f"no file {input_file_id}", status=404)
        batch = ProviderBatch(
            id=f"batch_{next(self._ids)}",
            status="validating",
            input_file_id=input_file_id,
            output_file_id=None,
            error_file_id=None,
            created_at=self.clock,
            expires_at=None,
            request_counts=RequestCounts(total=len(self.files[input_file_id])),
            metadata=dict(metadata),
        )
        self.batches[batch.id] = batch
        return batch

    async def retrieve_batch(self, batch_id: str) -> ProviderBatch:
        self._enter("retrieve_batch", batch_id)
        if batch_id not in self.batches:
            raise ProviderNotFound(f"no batch {batch_id}", status=404)
        return self.batches[batch_id]

    async def cancel_batch(self, batch_id: str) -> ProviderBatch:
        self._enter("cancel_batch", batch_id)
        if batch_id not in self.batches:
            raise ProviderNotFound(f"no batch {batch_id}", status=404)
        self.set_status(batch_id, self.cancel_status)
        return self.batches[batch_id]

    async def list_batches(self, *, page_size: int = 100) -> AsyncIterator[ProviderBatch]:
        self._enter("list_batches", str(page_size))
        for batch in sorted(self.batches.values(), key=lambda b: b.created_at, reverse=True):
            yield batch

    async def iter_file_lines(self, file_id: str) -> AsyncIterator[bytes]:
        self._enter("iter_file_lines", file_id)
        if file_id not in self.files:
            raise ProviderNotFound(f"no file {file_id}", status=404)
        for line in self.files[file_id]:
            yield line

    async def aclose(self) -> None:
        self.calls.append(("aclose", ""))
