"""Routing between batch APIs by model (``BATCHLINE_MODEL_PROVIDERS``), behind the one port.

The services hold one :class:`~shared.provider.base.BatchProvider` and stay provider-blind; the
router decides per call, from what the call carries, so no service needs the model threaded through:

* ``upload_file`` reads the model of the file's first line (a batch file holds one model) and
  uploads with that model's adapter;
* every later call carries an id the adapter minted, and Anthropic's ids are recognisable
  (``msgbatch_...`` batches, ``msgbatch-input-...`` pseudo files, ``msgbatch-results:...``
  results), so create, retrieve, cancel, file reads and deletes go back to the adapter that made
  the id - also in another process (the poller, the ingester) that never saw the upload;
* ``list_batches`` merges the adapters' listings newest first, so reconciliation's "stop at the
  first batch older than ours" still holds across providers.

:func:`build_provider_for` gives the adapter of one model, for callers that know it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Literal

import orjson

from shared.provider.anthropic import AnthropicBatchProvider
from shared.provider.base import BatchProvider, ProviderBatch, ProviderFile
from shared.provider.openai import OpenAIBatchProvider
from shared.settings import Settings

ProviderName = Literal["openai", "anthropic"]
ANTHROPIC_ID_PREFIX = "msgbatch"
#: Bytes read from a batch file to find its model (the first line; a line is rarely longer).
_HEAD_BYTES = 1024 * 1024


def provider_of_id(object_id: str) -> ProviderName:
    return "anthropic" if object_id.startswith(ANTHROPIC_ID_PREFIX) else "openai"


def model_of_file(path: Path) -> str | None:
    """The ``body.model`` of the file's first line, or None when it cannot be read."""
    with path.open("rb") as fh:
        head = fh.readline(_HEAD_BYTES)
    try:
        model = orjson.loads(head).get("body", {}).get("model")
    except (orjson.JSONDecodeError, AttributeError):
        return None
    return model if isinstance(model, str) else None


def build_provider_for(model: str, settings: Settings) -> BatchProvider:
    """A new adapter of the batch API that runs ``model`` (the caller closes it)."""
    if settings.provider_of(model) == "anthropic":
        return AnthropicBatchProvider.from_settings(settings)
    return OpenAIBatchProvider.from_settings(settings)


class RoutingProvider:
    """One port over several adapters, each call sent to the adapter of its model or id."""

    def __init__(self, settings: Settings, adapters: dict[ProviderName, BatchProvider]) -> None:
        self._settings = settings
        self.adapters = adapters

    @classmethod
    def from_settings(cls, settings: Settings) -> RoutingProvider:
        adapters: dict[ProviderName, BatchProvider] = {"openai": OpenAIBatchProvider.from_settings(settings)}
        if "anthropic" in settings.model_providers.values():
            adapters["anthropic"] = AnthropicBatchProvider.from_settings(settings)
        return cls(settings, adapters)

    def _adapter(self, name: ProviderName) -> BatchProvider:
        """The adapter ``name``, built on first use: an Anthropic batch still in flight after its model
        was routed back to OpenAI is polled and ingested where it runs."""
        if name not in self.adapters:
            self.adapters[name] = (
                AnthropicBatchProvider.from_settings(self._settings)
                if name == "anthropic"
                else OpenAIBatchProvider.from_settings(self._settings)
            )
        return self.adapters[name]

    def _by_id(self, object_id: str) -> BatchProvider:
        return self._adapter(provider_of_id(object_id))

    def for_model(self, model: str) -> BatchProvider:
        return self._adapter(self._settings.provider_of(model))

    async def upload_file(self, path: Path, *, filename: str | None = None) -> ProviderFile:
        model = model_of_file(path)
        adapter = self.for_model(model) if model is not None else self._adapter("openai")
        return await adapter.upload_file(path, filename=filename)

    async def create_batch(self, input_file_id: str, *, metadata: dict[str, str]) -> ProviderBatch:
        return await self._by_id(input_file_id).create_batch(input_file_id, metadata=metadata)

    async def retrieve_batch(self, batch_id: str) -> ProviderBatch:
        return await self._by_id(batch_id).retrieve_batch(batch_id)

    async def cancel_batch(self, batch_id: str) -> ProviderBatch:
        return await self._by_id(batch_id).cancel_batch(batch_id)

    def iter_file_lines(self, file_id: str) -> AsyncIterator[bytes]:
        return self._by_id(file_id).iter_file_lines(file_id)

    async def delete_file(self, file_id: str) -> bool:
        return await self._by_id(file_id).delete_file(file_id)

    async def list_batches(self, *, page_size: int = 100) -> AsyncIterator[ProviderBatch]:
        """Every adapter's batches merged newest first (each listing is newest first)."""
        streams = [a.list_batches(page_size=page_size) for a in self.adapters.values()]
        heads: list[ProviderBatch | None] = [await anext(s, None) for s in streams]
        while any(h is not None for h in heads):
            _, i, head = max((h.created_at, -i, h) for i, h in enumerate(heads) if h is not None)
            i = -i
            yield head
            heads[i] = await anext(streams[i], None)

    async def aclose(self) -> None:
        for adapter in self.adapters.values():
            await adapter.aclose()
