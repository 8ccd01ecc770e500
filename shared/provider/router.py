"""Routing between batch APIs by model (``BATCHLINE_MODEL_PROVIDERS``), behind the one port.

The services hold one :class:`~shared.provider.base.BatchProvider` and stay provider-blind; the
router decides per call, from what the call carries, so no service needs the model threaded through:

* ``upload_file`` reads the file's first line (a batch file holds one model): an Azure line says
  so by its url (``/chat/completions``, its ``model`` being a deployment name), any other by its
  model; the upload goes to that adapter;
* every later call carries an id the adapter minted, and Anthropic's ids are recognisable
  (``msgbatch_...`` batches, ``msgbatch-input-...`` pseudo files, ``msgbatch-results:...``
  results), and the Azure flavour marks its ids ``azure:``, so create, retrieve, cancel, file reads
  and deletes go back to the adapter that made the id - also in another process (the poller, the
  ingester) that never saw the upload;
* ``list_batches`` merges the adapters' listings newest first, so reconciliation's "stop at the
  first batch older than ours" still holds across providers.

:func:`build_provider_for` gives the adapter of one model, for callers that know it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import orjson

from shared.provider.anthropic import AnthropicBatchProvider
from shared.provider.base import BatchProvider, ProviderBatch, ProviderFile
from shared.provider.lines import AZURE_ENDPOINT
from shared.provider.openai import AZURE_ID_PREFIX, OpenAIBatchProvider
from shared.settings import ProviderName, Settings

ANTHROPIC_ID_PREFIX = "msgbatch"
#: Bytes read from a batch file to find its model (the first line; a line is rarely longer).
_HEAD_BYTES = 1024 * 1024


def provider_of_id(object_id: str) -> ProviderName:
    if object_id.startswith(AZURE_ID_PREFIX):
        return "azure"
    return "anthropic" if object_id.startswith(ANTHROPIC_ID_PREFIX) else "openai"


def expires_at_window(provider_batch_id: str) -> bool:
    """Whether the provider ends the batch at its completion window. Azure's global batch jobs run
    past 24 h until they finish or are cancelled: cancelling them at window + grace would throw away
    work still coming, so the poller's overdue rule spares them."""
    return provider_of_id(provider_batch_id) != "azure"


def model_of_file(path: Path) -> str | None:
    """The ``body.model`` of the file's first line, or None when it cannot be read."""
    return _head_of_file(path)[1]


def _head_of_file(path: Path) -> tuple[str | None, str | None]:
    """``(url, body.model)`` of the file's first line, each None when it cannot be read."""
    with path.open("rb") as fh:
        head = fh.readline(_HEAD_BYTES)
    try:
        line = orjson.loads(head)
        url, model = line.get("url"), line.get("body", {}).get("model")
    except (orjson.JSONDecodeError, AttributeError):
        return None, None
    return (url if isinstance(url, str) else None), (model if isinstance(model, str) else None)


def _new_adapter(name: ProviderName, settings: Settings) -> BatchProvider:
    if name == "anthropic":
        return AnthropicBatchProvider.from_settings(settings)
    if name == "azure":
        return OpenAIBatchProvider.from_settings(settings, flavour="azure")
    return OpenAIBatchProvider.from_settings(settings)


def build_provider_for(model: str, settings: Settings) -> BatchProvider:
    """A new adapter of the batch API that runs ``model`` (the caller closes it)."""
    return _new_adapter(settings.provider_of(model), settings)


class RoutingProvider:
    """One port over several adapters, each call sent to the adapter of its model or id."""

    def __init__(self, settings: Settings, adapters: dict[ProviderName, BatchProvider]) -> None:
        self._settings = settings
        self.adapters = adapters

    @classmethod
    def from_settings(cls, settings: Settings) -> RoutingProvider:
        adapters: dict[ProviderName, BatchProvider] = {"openai": OpenAIBatchProvider.from_settings(settings)}
        for name in ("anthropic", "azure"):
            if name in settings.model_providers.values():
                adapters[name] = _new_adapter(name, settings)
        return cls(settings, adapters)

    def _adapter(self, name: ProviderName) -> BatchProvider:
        """The adapter ``name``, built on first use: an Anthropic batch still in flight after its model
        was routed back to OpenAI is polled and ingested where it runs."""
        if name not in self.adapters:
            self.adapters[name] = _new_adapter(name, self._settings)
        return self.adapters[name]

    def _by_id(self, object_id: str) -> BatchProvider:
        return self._adapter(provider_of_id(object_id))

    def for_model(self, model: str) -> BatchProvider:
        return self._adapter(self._settings.provider_of(model))

    async def upload_file(self, path: Path, *, filename: str | None = None) -> ProviderFile:
        url, model = _head_of_file(path)
        if url == AZURE_ENDPOINT:
            adapter = self._adapter("azure")
        else:
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

    async def list_batches(
        self, *, page_size: int = 100, model: str | None = None
    ) -> AsyncIterator[ProviderBatch]:
        """Every adapter's batches merged newest first (each listing is newest first); with ``model``,
        only the batches of the API that runs it (an outage elsewhere must not stop its lookups)."""
        if model is not None:
            async for found in self.for_model(model).list_batches(page_size=page_size):
                yield found
            return
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
