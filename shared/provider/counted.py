"""Provider calls and their failures counted by operation and by who must act, for the metrics.

Wraps any :class:`~shared.provider.base.BatchProvider` (the OpenAI client, a test fake) so every
service counts the same way without touching its core: ``batchline_provider_calls_total{operation}``
and ``batchline_provider_errors_total{operation, owner}``, the owner being the fault's
:class:`~shared.provider.base.FaultOwner` (``configuration``, ``content``, ``transient``; ``other``
for an exception the adapter did not classify). A call is counted once, after the client's own
retries: these are the outcomes the services act on.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator, Awaitable
from pathlib import Path
from typing import TypeVar

from shared.metrics import Gauge
from shared.provider.base import BatchProvider, ProviderBatch, ProviderError, ProviderFile

T = TypeVar("T")


def owner_label(exc: BaseException) -> str:
    return exc.owner.value if isinstance(exc, ProviderError) else "other"


class CountedProvider:
    """A :class:`BatchProvider` that delegates every call and counts it."""

    def __init__(self, inner: BatchProvider, *, name: str = "openai") -> None:
        self.inner = inner
        #: The provider's name in ``provider_circuits`` (the submitter's ``SubmitterConfig.provider``).
        self.name = name
        self.calls: Counter[tuple[str, ...]] = Counter()
        self.errors: Counter[tuple[str, ...]] = Counter()

    async def _counted(self, operation: str, call: Awaitable[T]) -> T:
        self.calls[(operation,)] += 1
        try:
            return await call
        except Exception as exc:
            self.errors[(operation, owner_label(exc))] += 1
            raise

    async def _counted_stream(self, operation: str, stream: AsyncIterator[T]) -> AsyncIterator[T]:
        self.calls[(operation,)] += 1
        try:
            async for item in stream:
                yield item
        except Exception as exc:
            self.errors[(operation, owner_label(exc))] += 1
            raise

    async def upload_file(self, path: Path, *, filename: str | None = None) -> ProviderFile:
        return await self._counted("upload_file", self.inner.upload_file(path, filename=filename))

    async def create_batch(self, input_file_id: str, *, metadata: dict[str, str]) -> ProviderBatch:
        return await self._counted("create_batch", self.inner.create_batch(input_file_id, metadata=metadata))

    async def retrieve_batch(self, batch_id: str) -> ProviderBatch:
        return await self._counted("retrieve_batch", self.inner.retrieve_batch(batch_id))

    async def cancel_batch(self, batch_id: str) -> ProviderBatch:
        return await self._counted("cancel_batch", self.inner.cancel_batch(batch_id))

    def list_batches(self, *, page_size: int = 100, model: str | None = None) -> AsyncIterator[ProviderBatch]:
        return self._counted_stream("list_batches", self.inner.list_batches(page_size=page_size, model=model))

    def iter_file_lines(self, file_id: str) -> AsyncIterator[bytes]:
        return self._counted_stream("iter_file_lines", self.inner.iter_file_lines(file_id))

    async def delete_file(self, file_id: str) -> bool:
        return await self._counted("delete_file", self.inner.delete_file(file_id))

    async def aclose(self) -> None:
        await self.inner.aclose()

    def metrics(self) -> list[Gauge]:
        """The two counter families (``provider_calls``, ``provider_errors``) of this process."""
        return [
            Gauge(
                "provider_calls",
                "provider API calls (after the client's retries) by operation",
                ("operation",),
                lambda: dict(self.calls),
                kind="counter",
            ),
            Gauge(
                "provider_errors",
                "failed provider API calls by operation and fault owner",
                ("operation", "owner"),
                lambda: dict(self.errors),
                kind="counter",
            ),
        ]
