"""What the ingester records for money: cached tokens per line, each batch's charge, usage mismatches.

Also the two ends it depends on: the provider's batch ``usage`` as parsed, and the emulator's stand-in
prompt cache (a repeated system prompt is reported cached), whose batch usage is the sum of its lines.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import Any

import orjson

from emulator.output_files import build_results
from emulator.state import BatchRecord
from services.ingester.download import Downloaded, read_outcomes
from services.ingester.results import Usage, parse_line
from services.ingester.service import Ingester, IngesterConfig
from shared.analysis import ProcessingType, chat_body
from shared.lifecycle import BatchStatus
from shared.provider.base import BatchUsage
from shared.provider.parse import parse_usage
from shared.settings import ModelPrice
from tests.fakes import FakeBatchProvider, FakeIngestStore, error_line

GOOD = {
    "sentiment": "NEGATIVE",
    "category": "LEAVE_VACATION",
    "summary": "wants a week off",
    "language": "de",
}
MINI = ModelPrice.model_validate({"input_per_million": "0.15", "output_per_million": "0.60"})


def usage_line(custom_id: str, prompt: int, completion: int, details: Any = None) -> bytes:
    usage: dict[str, Any] = {"prompt_tokens": prompt, "completion_tokens": completion}
    usage["total_tokens"] = prompt + completion
    if details is not None:
        usage["prompt_tokens_details"] = details
    message = {"role": "assistant", "content": orjson.dumps(GOOD).decode()}
    body = {"choices": [{"index": 0, "message": message, "finish_reason": "stop"}], "usage": usage}
    return orjson.dumps(
        {"custom_id": custom_id, "response": {"status_code": 200, "body": body}, "error": None}
    )


def test_a_lines_cached_tokens_are_read_and_capped_to_its_prompt() -> None:
    types = {"r": ProcessingType.FULL_ANALYSIS}
    assert parse_line(usage_line("r", 120, 30, {"cached_tokens": 64}), types).usage == Usage(120, 30, 150, 64)
    assert parse_line(usage_line("r", 120, 30, {"cached_tokens": 500}), types).usage.cached_tokens == 120
    assert parse_line(usage_line("r", 120, 30), types).usage.cached_tokens == 0
    assert parse_line(usage_line("r", 120, 30, {"cached_tokens": "9"}), types).usage.cached_tokens == 0
    assert parse_line(usage_line("r", 120, 30, {"cached_tokens": -3}), types).usage.cached_tokens == 0


async def test_the_batchs_usage_sums_cached_tokens_of_resolved_requests_too() -> None:
    store, provider = FakeIngestStore(), FakeBatchProvider()
    bid = store.add_batch(BatchStatus.COMPLETED)
    a, b = store.add_request(bid, "s-a"), store.add_request(bid, "s-b")
    provider.files["file-out"] = [usage_line(a, 10, 2, {"cached_tokens": 8}), usage_line(b, 20, 3)]
    members = await store.members(bid)
    members[b] = replace(members[b], open=False)  # resolved by an earlier, interrupted ingest
    found = Downloaded()
    yielded = [o async for o in read_outcomes(provider, store.batches[bid], members, found)]
    assert [o.custom_id for o in yielded] == [a]
    assert yielded[0].usage == Usage(10, 2, 12, 8)
    assert found.usage == Usage(30, 5, 35, 8)


def test_the_providers_batch_usage_is_parsed_or_absent() -> None:
    usage = {"input_tokens": 900, "input_tokens_details": {"cached_tokens": 256}, "output_tokens": 70}
    assert parse_usage(usage) == BatchUsage(900, 256, 70)
    assert parse_usage({"input_tokens": 5, "output_tokens": 1}) == BatchUsage(5, 0, 1)
    assert parse_usage(None) is None
    assert parse_usage({"input_tokens": -4, "output_tokens": True}) == BatchUsage(0, 0, 0)


def ingester(store: FakeIngestStore, provider: FakeBatchProvider, prices: dict[str, ModelPrice]) -> Ingester:
    config = IngesterConfig(
        max_attempts=3,
        retry_backoff_s=0,
        request_pending_topic="request.pending",
        prices=prices,
        batch_discount=Decimal("0.45"),
    )
    return Ingester(store, provider, config, on_commit=lambda: None)


async def test_the_batch_is_charged_its_lines_at_the_price_configured_when_it_is_ingested() -> None:
    store, provider = FakeIngestStore(), FakeBatchProvider()
    bid = store.add_batch(BatchStatus.COMPLETED)
    a, b, c = (store.add_request(bid, f"s-{i}") for i in range(3))
    provider.files["file-out"] = [
        usage_line(a, 100, 10, {"cached_tokens": 40}),
        usage_line(a, 999, 999),  # a duplicate line: the first one decides, for the bill too
        usage_line(b, 50, 5),
    ]
    provider.files["file-err"] = [error_line(c, "server_error", "boom")]  # no usage: nothing billed
    store.provider_usage[bid] = BatchUsage(150, 40, 15)

    ing = ingester(store, provider, {"gpt-4o-mini": MINI})
    await ing.ingest(bid)

    charge = store.charges[bid]
    assert charge is not None
    assert charge.lines == Usage(150, 15, 165, 40)
    assert (charge.price, charge.discount) == (MINI, Decimal("0.45"))
    assert ing.stats["usage_mismatches"] == 0


async def test_a_model_without_a_price_is_charged_unpriced() -> None:
    store, provider = FakeIngestStore(), FakeBatchProvider()
    bid = store.add_batch(BatchStatus.COMPLETED)
    r = store.add_request(bid, "s-1")
    provider.files["file-out"], provider.files["file-err"] = [usage_line(r, 7, 3)], []
    await ingester(store, provider, {"gpt-4o": MINI}).ingest(bid)
    charge = store.charges[bid]
    assert charge is not None and charge.price is None and charge.lines.prompt_tokens == 7


async def test_a_provider_usage_unlike_the_lines_is_counted_once() -> None:
    store, provider = FakeIngestStore(), FakeBatchProvider()
    bid = store.add_batch(BatchStatus.COMPLETED)
    r = store.add_request(bid, "s-1")
    provider.files["file-out"], provider.files["file-err"] = [usage_line(r, 7, 3, {"cached_tokens": 2})], []
    store.provider_usage[bid] = BatchUsage(7, 0, 3)  # the provider reports no cached tokens

    ing = ingester(store, provider, {"gpt-4o-mini": MINI})
    await ing.ingest(bid)
    await ing.ingest(bid)  # already PROCESSED: nothing is written, nothing counted again

    assert ing.stats["usage_mismatches"] == 1


def emulated(bodies: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The emulator's output lines' usage and batch usage for these request bodies (all answered)."""
    data = b"".join(
        orjson.dumps({"custom_id": f"c{i}", "method": "POST", "url": "/v1/chat/completions", "body": b})
        + b"\n"
        for i, b in enumerate(bodies)
    )
    n = len(bodies)
    rec = BatchRecord(
        id="batch_1",
        seq=1,
        input_file_id="f",
        endpoint="/v1/chat/completions",
        completion_window="24h",
        metadata=None,
        created_at=0.0,
        expires_at=1.0,
        plan="run",
        custom_ids=[f"c{i}" for i in range(n)],
        outcomes=["ok"] * n,
        order=list(range(n)),
    )
    results = build_results(rec, data, done=n, status="completed", created=0)
    lines = [orjson.loads(line)["response"]["body"]["usage"] for line in results.output_lines]
    return lines, results.usage()


def test_the_emulator_caches_a_repeated_system_prompt_and_sums_its_lines() -> None:
    bodies = [
        chat_body(ProcessingType.SENTIMENT_ANALYSIS, "gpt-4o-mini", "user: hello"),
        chat_body(ProcessingType.SENTIMENT_ANALYSIS, "gpt-4o-mini", "user: a longer conversation here"),
        chat_body(ProcessingType.SUMMARY, "gpt-4o-mini", "user: hello"),
    ]
    lines, batch = emulated(bodies)
    cached = [u["prompt_tokens_details"]["cached_tokens"] for u in lines]
    # The first sentiment prompt and the first summary prompt are new; the second sentiment one repeats
    # the system message: 119 characters, ceil(119 / 4) + 3 = 33 tokens.
    assert len(bodies[1]["messages"][0]["content"]) == 119
    assert cached == [0, 33, 0]
    assert batch["input_tokens"] == sum(u["prompt_tokens"] for u in lines)
    assert batch["input_tokens_details"]["cached_tokens"] == sum(cached)
    assert batch["output_tokens"] == sum(u["completion_tokens"] for u in lines)
