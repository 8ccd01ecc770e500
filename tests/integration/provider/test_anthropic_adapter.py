"""The Anthropic adapter against the emulator: the submitter's file in, the ingester's lines out.

What the services rely on, end to end over HTTP: a chat-completions JSONL "uploads" and creates a
batch, statuses come back in OpenAI's words, the results parse with the ingester's own parser into
the same validated fields, cancelled work shows as ``batch_cancelled`` error lines, reconciliation
finds the batch by our local id without provider metadata, and errors land in the same tree.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from emulator.server import EmulatorServer
from services.ingester.results import parse_line
from shared.analysis import SESSION_FIELDS, ProcessingType
from shared.provider.anthropic import AnthropicBatchProvider
from shared.provider.anthropic_spool import Spool
from shared.provider.base import (
    LOCAL_BATCH_ID_KEY,
    ConfigurationFault,
    PermanentProviderError,
    ProviderBatch,
    ProviderNotFound,
    RetryableProviderError,
)
from shared.provider.http import RetryPolicy
from shared.provider.router import RoutingProvider
from shared.settings import Settings
from tests.integration.provider.helpers import FAST_RETRY, TEST_KEY, make_input, make_provider, set_faults

MODEL = "claude-3-5-haiku-latest"


def adapter(server: EmulatorServer, spool: Path, key: str = TEST_KEY) -> AnthropicBatchProvider:
    return AnthropicBatchProvider(
        base_url=server.url, api_key=SecretStr(key), spool_dir=spool, retry=FAST_RETRY, timeout_s=5.0
    )


@pytest.fixture
async def anthropic(emulator: EmulatorServer, tmp_path: Path) -> AsyncIterator[AnthropicBatchProvider]:
    provider = adapter(emulator, tmp_path / "spool")
    yield provider
    await provider.aclose()


async def ended(provider: AnthropicBatchProvider, batch_id: str) -> ProviderBatch:
    for _ in range(400):
        batch = await provider.retrieve_batch(batch_id)
        if batch.is_terminal:
            return batch
        await asyncio.sleep(0.02)
    raise AssertionError(f"{batch_id} never ended")


async def test_a_file_runs_and_its_results_parse_like_openai_lines(
    anthropic: AnthropicBatchProvider, tmp_path: Path
) -> None:
    path = make_input(tmp_path / "in.jsonl", 5, ptype=ProcessingType.SENTIMENT_ANALYSIS, model=MODEL)
    uploaded = await anthropic.upload_file(path)
    path.unlink()  # the submitter's temp dir is gone by the time it creates the batch
    created = await anthropic.create_batch(uploaded.id, metadata={LOCAL_BATCH_ID_KEY: "local-1"})
    assert created.id.startswith("msgbatch_") and created.status == "in_progress"
    with pytest.raises(ProviderNotFound):
        await anthropic.delete_file(uploaded.id)  # posted inline, the pseudo file is already gone

    done = await ended(anthropic, created.id)
    assert done.status == "completed" and done.output_file_id is not None
    assert (done.request_counts.total, done.request_counts.completed, done.request_counts.failed) == (5, 5, 0)
    assert done.local_batch_id == "local-1"

    types = {f"req-{i}": ProcessingType.SENTIMENT_ANALYSIS for i in range(5)}
    outcomes = [parse_line(raw, types) async for raw in anthropic.iter_file_lines(done.output_file_id)]
    assert sorted(o.custom_id for o in outcomes) == sorted(types)
    assert all(
        o.ok and set(o.fields or {}) == set(SESSION_FIELDS[ProcessingType.SENTIMENT_ANALYSIS])
        for o in outcomes
    )
    assert all(o.usage.prompt_tokens > 0 and o.usage.completion_tokens > 0 for o in outcomes)

    assert await anthropic.delete_file(done.output_file_id)  # deletes the ended batch
    with pytest.raises(ProviderNotFound):
        await anthropic.retrieve_batch(created.id)


async def test_cancelled_requests_are_batch_cancelled_error_lines(
    anthropic: AnthropicBatchProvider, tmp_path: Path
) -> None:
    uploaded = await anthropic.upload_file(make_input(tmp_path / "in.jsonl", 3, model=MODEL))
    created = await anthropic.create_batch(uploaded.id, metadata={})
    cancelling = await anthropic.cancel_batch(created.id)
    assert cancelling.status == "cancelling"
    done = await ended(anthropic, created.id)
    assert done.status == "cancelled" and done.output_file_id is not None
    types = {f"req-{i}": ProcessingType.FULL_ANALYSIS for i in range(3)}
    outcomes = [parse_line(raw, types) async for raw in anthropic.iter_file_lines(done.output_file_id)]
    assert len(outcomes) == 3
    assert all(not o.ok and (o.reason or "").startswith("batch_cancelled") for o in outcomes)


async def test_reconciliation_finds_the_batch_by_local_id_after_a_restart(
    emulator: EmulatorServer, tmp_path: Path
) -> None:
    spool = tmp_path / "spool"
    first = adapter(emulator, spool)
    uploaded = await first.upload_file(make_input(tmp_path / "in.jsonl", 2, model=MODEL))
    created = await first.create_batch(uploaded.id, metadata={LOCAL_BATCH_ID_KEY: "local-7"})
    other = await first.upload_file(make_input(tmp_path / "b.jsonl", 4, model=MODEL))
    await first.create_batch(other.id, metadata={LOCAL_BATCH_ID_KEY: "local-8"})
    await first.aclose()

    again = adapter(emulator, spool)  # a new process on the same machine: links read from the spool
    found = {b.id: b.local_batch_id async for b in again.list_batches(page_size=1)}
    assert found[created.id] == "local-7" and sorted(found.values()) == ["local-7", "local-8"]
    await again.aclose()


async def test_a_create_whose_link_was_never_written_is_matched_by_its_intent(
    emulator: EmulatorServer, tmp_path: Path
) -> None:
    spool = tmp_path / "spool"
    first = adapter(emulator, spool)
    uploaded = await first.upload_file(make_input(tmp_path / "in.jsonl", 3, model=MODEL))
    first._spool.intend("local-9", 3)  # what create_batch writes before posting
    source = first._spool.path_of(uploaded.id)
    assert source is not None
    created = await first._json("POST", "/v1/messages/batches", content=first._body(source))
    await first.aclose()  # "crash": the link after the create was never appended

    again = adapter(emulator, spool)
    batch = await again.retrieve_batch(str(created["id"]))
    assert batch.local_batch_id == "local-9"
    await again.aclose()


async def test_a_wrong_key_is_a_configuration_fault(emulator: EmulatorServer, tmp_path: Path) -> None:
    emulator.emulator.update_keys({"keys": [TEST_KEY]})
    wrong = adapter(emulator, tmp_path / "spool", key="sk-ant-wrong")
    with pytest.raises(ConfigurationFault) as caught:
        await anext(wrong.list_batches())
    assert caught.value.status == 401 and caught.value.code == "authentication_error"
    await wrong.aclose()


async def test_the_router_sends_each_model_to_its_provider(emulator: EmulatorServer, tmp_path: Path) -> None:
    settings = Settings(model_providers={MODEL: "anthropic"})
    router = RoutingProvider(
        settings, {"openai": make_provider(emulator), "anthropic": adapter(emulator, tmp_path / "spool")}
    )
    claude = await router.upload_file(make_input(tmp_path / "a.jsonl", 2, model=MODEL))
    gpt = await router.upload_file(make_input(tmp_path / "o.jsonl", 2, model="gpt-4o-mini"))
    assert claude.id.startswith("msgbatch-input-") and gpt.id.startswith("file-")
    a = await router.create_batch(claude.id, metadata={LOCAL_BATCH_ID_KEY: "a"})
    o = await router.create_batch(gpt.id, metadata={LOCAL_BATCH_ID_KEY: "o"})
    assert a.id.startswith("msgbatch_") and o.id.startswith("batch_")
    listed = {b.id: b.local_batch_id async for b in router.list_batches()}
    assert listed == {a.id: "a", o.id: "o"}
    assert (await router.retrieve_batch(a.id)).id == a.id
    await router.aclose()


async def test_an_expired_batch_returns_its_finished_part_and_expired_lines(
    anthropic: AnthropicBatchProvider, emulator: EmulatorServer, tmp_path: Path
) -> None:
    await set_faults(emulator, expire_batches=1, expire_partial_fraction=0.5, line_error_rate=0.0)
    uploaded = await anthropic.upload_file(make_input(tmp_path / "in.jsonl", 10, model=MODEL))
    done = await ended(anthropic, (await anthropic.create_batch(uploaded.id, metadata={})).id)
    assert done.status == "expired" and done.output_file_id is not None
    assert (done.request_counts.total, done.request_counts.completed, done.request_counts.failed) == (
        10,
        5,
        5,
    )
    types = {f"req-{i}": ProcessingType.FULL_ANALYSIS for i in range(10)}
    outcomes = [parse_line(raw, types) async for raw in anthropic.iter_file_lines(done.output_file_id)]
    assert sum(o.ok for o in outcomes) == 5
    assert sorted(o.reason.split(":")[0] for o in outcomes if o.reason) == ["batch_expired"] * 5


async def test_errored_lines_carry_the_providers_error(
    anthropic: AnthropicBatchProvider, emulator: EmulatorServer, tmp_path: Path
) -> None:
    await set_faults(emulator, line_error_rate=1.0)
    uploaded = await anthropic.upload_file(make_input(tmp_path / "in.jsonl", 3, model=MODEL))
    done = await ended(anthropic, (await anthropic.create_batch(uploaded.id, metadata={})).id)
    assert done.status == "completed" and done.request_counts.failed == 3
    types = {f"req-{i}": ProcessingType.FULL_ANALYSIS for i in range(3)}
    outcomes = [parse_line(raw, types) async for raw in anthropic.iter_file_lines(done.output_file_id or "")]
    assert [o.reason.split(":")[0] for o in outcomes if o.reason] == ["http_500"] * 3


def test_the_link_file_forgets_entries_older_than_a_week(tmp_path: Path) -> None:
    now = time.time()
    (tmp_path / "links.jsonl").write_bytes(
        b'{"link": "msgbatch_old", "local": "a", "at": %d}\n{"link": "msgbatch_new", "local": "b", "at": %d}\n'
        b'{"link": "msgbatch_torn", "loc' % (now - 8 * 86_400, now - 3_600)
    )
    spool = Spool(tmp_path)
    assert spool.links == {"msgbatch_new": "b"}
    assert (tmp_path / "links.jsonl").read_bytes().count(b"\n") == 1
    assert Spool(tmp_path).links == {"msgbatch_new": "b"}  # the rewritten file reads the same


async def test_a_batch_left_at_anthropic_is_still_read_after_its_model_is_routed_back(
    emulator: EmulatorServer, tmp_path: Path
) -> None:
    first = adapter(emulator, tmp_path / "home" / "spool" / "anthropic")
    uploaded = await first.upload_file(make_input(tmp_path / "in.jsonl", 2, model=MODEL))
    created = await first.create_batch(uploaded.id, metadata={LOCAL_BATCH_ID_KEY: "kept"})
    await first.aclose()

    settings = Settings(  # no BATCHLINE_MODEL_PROVIDERS any more: every new batch goes to OpenAI
        openai_base_url=emulator.base_url, anthropic_base_url=emulator.url, home=tmp_path / "home"
    )
    router = RoutingProvider.from_settings(settings)
    assert set(router.adapters) == {"openai"}
    done = await router.retrieve_batch(created.id)
    assert done.id == created.id and done.local_batch_id == "kept"
    assert set(router.adapters) == {"openai", "anthropic"}
    await router.aclose()


# --- Anthropic's walls: each lands in the class of the error tree the services act on --------------

#: Gives up at the first refusal, so the test sees the error the adapter's own retries would end with.
NO_WAIT = RetryPolicy(max_total_s=0.05, initial_wait_s=0.01, max_wait_s=0.01, jitter_s=0.0)


async def test_a_revoked_key_is_a_configuration_fault_until_restored(
    anthropic: AnthropicBatchProvider, emulator: EmulatorServer, tmp_path: Path
) -> None:
    uploaded = await anthropic.upload_file(make_input(tmp_path / "in.jsonl", 2, model=MODEL))
    emulator.emulator.update_keys({"revoked": True})
    with pytest.raises(ConfigurationFault) as caught:
        await anthropic.create_batch(uploaded.id, metadata={LOCAL_BATCH_ID_KEY: "revoked"})
    assert caught.value.status == 401 and caught.value.code == "authentication_error"
    assert TEST_KEY not in str(caught.value)
    emulator.emulator.update_keys({"revoked": False})
    created = await anthropic.create_batch(uploaded.id, metadata={LOCAL_BATCH_ID_KEY: "revoked"})
    assert (await ended(anthropic, created.id)).status == "completed"


async def test_a_permission_error_is_a_configuration_fault(tmp_path: Path) -> None:
    body = {"type": "error", "error": {"type": "permission_error", "message": "Your API key lacks access."}}
    forbidden = httpx.MockTransport(lambda request: httpx.Response(403, json=body))
    provider = AnthropicBatchProvider(
        base_url="http://anthropic.invalid", api_key=SecretStr(TEST_KEY), spool_dir=tmp_path,
        retry=NO_WAIT, transport=forbidden,
    )  # fmt: skip
    with pytest.raises(ConfigurationFault) as caught:
        await provider.retrieve_batch("msgbatch_x")
    assert caught.value.status == 403 and caught.value.code == "permission_error"
    await provider.aclose()


async def test_the_queue_limit_is_retryable_with_the_providers_retry_after(
    emulator: EmulatorServer, tmp_path: Path
) -> None:
    emulator.emulator.update_walls({"anthropic_queue_limits": {MODEL: 3}})
    impatient = AnthropicBatchProvider(
        base_url=emulator.url, api_key=SecretStr(TEST_KEY), spool_dir=tmp_path / "spool", retry=NO_WAIT
    )
    first = await impatient.upload_file(make_input(tmp_path / "a.jsonl", 2, model=MODEL))
    await impatient.create_batch(first.id, metadata={})
    second = await impatient.upload_file(make_input(tmp_path / "b.jsonl", 2, prefix="b", model=MODEL))
    with pytest.raises(RetryableProviderError) as caught:
        await impatient.create_batch(second.id, metadata={LOCAL_BATCH_ID_KEY: "queued"})
    assert caught.value.status == 429 and caught.value.code == "rate_limit_error"
    assert caught.value.retry_after is not None and caught.value.retry_after >= 1
    assert emulator.emulator.counters["message_batches_queue_limited"] == 1
    await impatient.aclose()


async def test_overloaded_is_retryable_with_retry_after_and_retried(
    anthropic: AnthropicBatchProvider, emulator: EmulatorServer, tmp_path: Path
) -> None:
    await set_faults(emulator, overloaded_next=1, retry_after_s=0.2)
    impatient = AnthropicBatchProvider(
        base_url=emulator.url, api_key=SecretStr(TEST_KEY), spool_dir=tmp_path / "spool", retry=NO_WAIT
    )
    with pytest.raises(RetryableProviderError) as caught:
        await anext(impatient.list_batches())
    assert caught.value.status == 529 and caught.value.code == "overloaded_error"
    assert caught.value.retry_after == 0.2
    await impatient.aclose()

    await set_faults(emulator, overloaded_next=2, retry_after_s=0.05)
    uploaded = await anthropic.upload_file(make_input(tmp_path / "in.jsonl", 2, model=MODEL))
    created = await anthropic.create_batch(uploaded.id, metadata={})  # FAST_RETRY outlasts two 529s
    assert created.status == "in_progress"
    assert emulator.emulator.faults.counters["http_529"] == 3


async def test_expired_results_are_not_found(
    anthropic: AnthropicBatchProvider, emulator: EmulatorServer, tmp_path: Path
) -> None:
    uploaded = await anthropic.upload_file(make_input(tmp_path / "in.jsonl", 2, model=MODEL))
    done = await ended(anthropic, (await anthropic.create_batch(uploaded.id, metadata={})).id)
    assert done.output_file_id is not None
    assert len([line async for line in anthropic.iter_file_lines(done.output_file_id)]) == 2
    emulator.emulator.advance_clock(29 * 86_400)
    with pytest.raises(ProviderNotFound) as caught:
        _ = [line async for line in anthropic.iter_file_lines(done.output_file_id)]
    assert caught.value.status == 404 and caught.value.code == "not_found_error"
    assert (await anthropic.retrieve_batch(done.id)).status == "completed"  # the batch itself stays


async def test_a_batch_over_the_size_limit_is_a_permanent_error_not_a_configuration_fault(
    anthropic: AnthropicBatchProvider, emulator: EmulatorServer, tmp_path: Path
) -> None:
    emulator.emulator.update_walls({"anthropic_max_batch_bytes": 1_000})
    uploaded = await anthropic.upload_file(make_input(tmp_path / "in.jsonl", 5, model=MODEL))
    with pytest.raises(PermanentProviderError) as caught:
        await anthropic.create_batch(uploaded.id, metadata={})
    assert type(caught.value) is PermanentProviderError
    assert caught.value.status == 413 and caught.value.code == "request_too_large"
