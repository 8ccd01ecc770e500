"""A lookup of one model's batches asks only the API that runs that model.

The submitter looks for an earlier copy of a batch before it creates one; if that lookup merged every
provider's listing, a revoked key at OpenAI would fail the lookup of a Claude batch and pause the
Anthropic model's circuit with OpenAI's error.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from shared.provider.base import ConfigurationFault, ProviderBatch, RequestCounts
from shared.provider.router import RoutingProvider
from shared.settings import Settings


def _batch(batch_id: str, created_at: int) -> ProviderBatch:
    return ProviderBatch(
        id=batch_id, status="in_progress", input_file_id="f", output_file_id=None, error_file_id=None,
        created_at=created_at, expires_at=None, request_counts=RequestCounts(),
    )  # fmt: skip


class Listing:
    def __init__(self, batches: list[ProviderBatch] | None = None, *, refuse: bool = False) -> None:
        self.batches = batches or []
        self.refuse = refuse
        self.calls = 0

    async def list_batches(
        self, *, page_size: int = 100, model: str | None = None
    ) -> AsyncIterator[ProviderBatch]:
        self.calls += 1
        if self.refuse:
            raise ConfigurationFault("GET /batches: 401 invalid_api_key", status=401)
        for b in self.batches:
            yield b


def _router(openai: Listing, anthropic: Listing) -> RoutingProvider:
    settings = Settings(model_providers={"claude-x": "anthropic"})
    adapters: dict[Any, Any] = {"openai": openai, "anthropic": anthropic}
    return RoutingProvider(settings, adapters)


async def test_a_model_lookup_lists_only_its_provider_even_when_another_refuses() -> None:
    openai = Listing(refuse=True)
    anthropic = Listing([_batch("msgbatch_2", 20), _batch("msgbatch_1", 10)])
    found = [b.id async for b in _router(openai, anthropic).list_batches(model="claude-x")]
    assert found == ["msgbatch_2", "msgbatch_1"]
    assert openai.calls == 0


async def test_an_unrouted_model_lists_openai_only() -> None:
    openai = Listing([_batch("batch_1", 5)])
    anthropic = Listing(refuse=True)
    found = [b.id async for b in _router(openai, anthropic).list_batches(model="gpt-4o-mini")]
    assert found == ["batch_1"]
    assert anthropic.calls == 0


async def test_without_a_model_every_listing_is_merged_newest_first() -> None:
    openai = Listing([_batch("batch_b", 30), _batch("batch_a", 5)])
    anthropic = Listing([_batch("msgbatch_1", 10)])
    found = [b.id async for b in _router(openai, anthropic).list_batches()]
    assert found == ["batch_b", "msgbatch_1", "batch_a"]
