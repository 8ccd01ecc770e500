"""Every way a batch can end, produced by the emulator and read back through the real client."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from pydantic import ValidationError
from structlog.testing import capture_logs

from emulator.config import EmulatorConfig
from emulator.model import estimate_prompt_tokens
from emulator.server import EmulatorServer
from shared.analysis import ANSWER_MODELS, ProcessingType
from shared.provider.base import LOCAL_BATCH_ID_KEY, PermanentProviderError, ProviderNotFound
from shared.provider.http import RetryPolicy
from shared.provider.openai import OpenAIBatchProvider
from tests.integration.provider.helpers import (
    lines,
    make_input,
    make_provider,
    request_line,
    set_faults,
    stats,
    wait_status,
    wait_terminal,
    write_jsonl,
)

LIMIT_TOKENS_PER_LINE = estimate_prompt_tokens(request_line("x")["body"])
LINE_BYTES = len(orjson.dumps(request_line("req-0")))


@pytest.fixture(scope="module")
def limited() -> Iterator[EmulatorServer]:
    """Small limits so violations need small files: 5 requests, ~8 lines of bytes, tokens for ~6 requests."""
    config = EmulatorConfig(
        port=0,
        stage_s=0.1,
        max_requests_per_file=5,
        max_file_bytes=8 * LINE_BYTES,
        enqueued_token_limit=int(LIMIT_TOKENS_PER_LINE * 6.5),
    )
    with EmulatorServer(config) as server:
        yield server


@pytest.fixture(scope="module")
def short_window() -> Iterator[EmulatorServer]:
    """A completion window that ends half-way through in_progress."""
    with EmulatorServer(EmulatorConfig(port=0, stage_s=0.2, window_s=0.3)) as server:
        yield server


@pytest.fixture(scope="module")
def slow() -> Iterator[EmulatorServer]:
    """Stages long enough to cancel reliably in the middle of in_progress."""
    with EmulatorServer(EmulatorConfig(port=0, stage_s=0.5)) as server:
        yield server


async def _run(provider: OpenAIBatchProvider, path: Path, local_id: str = "L") -> str:
    uploaded = await provider.upload_file(path)
    return (await provider.create_batch(uploaded.id, metadata={LOCAL_BATCH_ID_KEY: local_id})).id


async def test_completed_with_line_errors_and_malformed_answers(
    emulator: EmulatorServer, provider: OpenAIBatchProvider, tmp_path: Path
) -> None:
    await set_faults(emulator, line_error_rate=0.3, malformed_rate=0.3)
    n = 40
    batch = await wait_terminal(provider, await _run(provider, make_input(tmp_path / "in.jsonl", n)))
    assert batch.status == "completed"
    output, errors = await lines(provider, batch.output_file_id), await lines(provider, batch.error_file_id)
    assert batch.request_counts.total == n
    assert batch.request_counts.completed == len(output)
    assert batch.request_counts.failed == len(errors)
    assert sorted(x["custom_id"] for x in output + errors) == sorted(f"req-{i}" for i in range(n))
    for line in errors:
        assert line["error"] is None
        assert line["response"]["status_code"] == 500
        assert line["response"]["body"]["error"]["type"] == "server_error"
    bad = 0
    for line in output:
        try:
            content = line["response"]["body"]["choices"][0]["message"]["content"]
            ANSWER_MODELS[ProcessingType.FULL_ANALYSIS].model_validate_json(content)
        except ValidationError:
            bad += 1
    results = (await stats(emulator))["batches"][0]["results"]
    assert bad == sum(1 for v in results.values() if v == "malformed")
    assert 0 < bad < len(output)
    assert len(errors) == sum(1 for v in results.values() if v == "failed")


async def test_completed_all_failed_has_no_output_file(
    emulator: EmulatorServer, provider: OpenAIBatchProvider, tmp_path: Path
) -> None:
    await set_faults(emulator, line_error_rate=1.0)
    batch = await wait_terminal(provider, await _run(provider, make_input(tmp_path / "in.jsonl", 6)))
    assert batch.status == "completed"
    assert batch.output_file_id is None
    assert "output_file_id" not in batch.raw
    assert batch.request_counts.failed == 6
    assert len(await lines(provider, batch.error_file_id)) == 6


async def test_failed_at_validation_lists_each_bad_line(
    provider: OpenAIBatchProvider, tmp_path: Path
) -> None:
    good = request_line("a")
    path = write_jsonl(
        tmp_path / "bad.jsonl",
        [
            good,
            request_line("a"),  # line 2: duplicate custom_id
            request_line("b", model="gpt-4o"),  # line 3: second model
            b"{not json",  # line 4
            request_line("c", url="/v1/embeddings"),  # line 5
            {"custom_id": "d", "method": "POST", "url": "/v1/chat/completions"},  # line 6: no body
        ],
    )
    batch = await wait_terminal(provider, await _run(provider, path))
    assert batch.status == "failed"
    assert "failed_at" in batch.raw
    assert "in_progress_at" not in batch.raw
    assert (batch.output_file_id, batch.error_file_id) == (None, None)
    assert batch.request_counts.total == 0
    assert [(e.code, e.line) for e in batch.errors] == [
        ("duplicate_custom_id", 2),
        ("mismatched_model", 3),
        ("invalid_json_line", 4),
        ("invalid_url", 5),
        ("missing_required_parameter", 6),
    ]
    assert all(e.message for e in batch.errors)


async def test_failed_when_file_exceeds_request_or_byte_limits(
    limited: EmulatorServer, tmp_path: Path
) -> None:
    async with make_provider(limited) as provider:
        too_many = await wait_terminal(provider, await _run(provider, make_input(tmp_path / "many.jsonl", 6)))
        assert too_many.status == "failed"
        assert [e.code for e in too_many.errors] == ["too_many_tasks"]
        big = [request_line(f"b{i}", conversation="x" * 4 * LINE_BYTES) for i in range(3)]
        too_big = await wait_terminal(
            provider, await _run(provider, write_jsonl(tmp_path / "big.jsonl", big))
        )
        assert too_big.status == "failed"
        assert [e.code for e in too_big.errors] == ["file_too_large"]


async def test_enqueued_token_limit_exceeded(limited: EmulatorServer, tmp_path: Path) -> None:
    async with make_provider(limited) as provider:
        first = await _run(provider, make_input(tmp_path / "a.jsonl", 4, prefix="a"))
        second = await _run(provider, make_input(tmp_path / "b.jsonl", 4, prefix="b"))
        assert (await wait_terminal(provider, first)).status == "completed"
        failed = await wait_terminal(provider, second)
        assert failed.status == "failed"
        assert [e.code for e in failed.errors] == ["token_limit_exceeded"]
        # once the first batch has finished, the same file fits again
        third = await _run(provider, make_input(tmp_path / "c.jsonl", 4, prefix="c"))
        assert (await wait_terminal(provider, third)).status == "completed"


@pytest.mark.parametrize(
    ("fault", "code"),
    [("token_limit_batches", "token_limit_exceeded"), ("validation_fail_batches", "invalid_request")],
)
async def test_injected_batch_failures_hit_only_the_next_batch(
    emulator: EmulatorServer, provider: OpenAIBatchProvider, tmp_path: Path, fault: str, code: str
) -> None:
    await set_faults(emulator, **{fault: 1})
    path = make_input(tmp_path / "in.jsonl", 3)
    failed = await wait_terminal(provider, await _run(provider, path))
    assert failed.status == "failed"
    assert [e.code for e in failed.errors] == [code]
    assert failed.errors[0].line is None
    assert (await wait_terminal(provider, await _run(provider, path))).status == "completed"


async def test_expired_with_partial_output(
    emulator: EmulatorServer, provider: OpenAIBatchProvider, tmp_path: Path
) -> None:
    await set_faults(emulator, expire_batches=1, expire_partial_fraction=0.5)
    batch = await wait_terminal(provider, await _run(provider, make_input(tmp_path / "in.jsonl", 10)))
    assert batch.status == "expired"
    assert "expired_at" in batch.raw
    assert batch.request_counts.completed == 5
    assert batch.request_counts.failed == 5
    output, errors = await lines(provider, batch.output_file_id), await lines(provider, batch.error_file_id)
    assert len(output) == 5
    assert {e["error"]["code"] for e in errors} == {"batch_expired"}
    assert all(e["response"] is None for e in errors)
    assert sorted(x["custom_id"] for x in output + errors) == sorted(f"req-{i}" for i in range(10))
    results = (await stats(emulator))["batches"][0]["results"]
    assert sorted(results.values()) == ["expired"] * 5 + ["succeeded"] * 5


async def test_expired_when_the_window_ends(short_window: EmulatorServer, tmp_path: Path) -> None:
    async with make_provider(short_window) as provider:
        batch = await wait_terminal(provider, await _run(provider, make_input(tmp_path / "in.jsonl", 8)))
    assert batch.status == "expired"
    assert batch.raw["expired_at"] == batch.expires_at
    assert batch.request_counts.completed == 4  # half of in_progress had passed


async def test_cancelled_mid_run_keeps_partial_results(slow: EmulatorServer, tmp_path: Path) -> None:
    n = 50
    async with make_provider(slow) as provider:
        batch_id = await _run(provider, make_input(tmp_path / "in.jsonl", n))
        await wait_status(provider, batch_id, "in_progress")
        await asyncio.sleep(0.1)  # let part of the work happen
        await provider.cancel_batch(batch_id)
        batch = await wait_terminal(provider, batch_id)
        output, errors = (
            await lines(provider, batch.output_file_id),
            await lines(provider, batch.error_file_id),
        )
    assert batch.status == "cancelled"
    assert sorted(x["custom_id"] for x in output + errors) == sorted(f"req-{i}" for i in range(n))
    assert {e["error"]["code"] for e in errors} == {"batch_cancelled"}
    assert batch.request_counts.completed == len(output)
    assert batch.request_counts.failed == len(errors)
    assert 0 < len(output) < n


async def test_cancelled_while_validating_has_no_files(provider: OpenAIBatchProvider, tmp_path: Path) -> None:
    batch_id = await _run(provider, make_input(tmp_path / "in.jsonl", 3))
    await provider.cancel_batch(batch_id)
    batch = await wait_terminal(provider, batch_id)
    assert batch.status == "cancelled"
    assert (batch.output_file_id, batch.error_file_id) == (None, None)


async def test_cancelling_a_finished_batch_is_rejected(provider: OpenAIBatchProvider, tmp_path: Path) -> None:
    batch = await wait_terminal(provider, await _run(provider, make_input(tmp_path / "in.jsonl", 1)))
    with pytest.raises(PermanentProviderError) as err:
        await provider.cancel_batch(batch.id)
    assert err.value.status == 400


async def test_upload_race_is_retried(
    emulator: EmulatorServer, provider: OpenAIBatchProvider, tmp_path: Path
) -> None:
    await set_faults(emulator, upload_race_lookups=2)
    batch = await wait_terminal(provider, await _run(provider, make_input(tmp_path / "in.jsonl", 2)))
    assert batch.status == "completed"
    assert (await stats(emulator))["counters"]["upload_race"] == 2


async def test_missing_file_is_not_found_after_the_race_window(emulator: EmulatorServer) -> None:
    async with make_provider(
        emulator, retry=RetryPolicy(max_total_s=5, initial_wait_s=0.01, jitter_s=0.01, file_race_s=0.3)
    ) as p:
        with capture_logs() as logs, pytest.raises(ProviderNotFound, match="Cannot find file"):
            await p.create_batch("file-missing", metadata={})
    # Treated as the upload race (retried) while the 0.3 s window lasts, then a real 404.
    retries = [e for e in logs if e.get("event") == "provider.retry"]
    assert len(retries) >= 2, retries
    assert all("Cannot find file" in r["error"] for r in retries)
    assert sum(r["wait_s"] for r in retries) < 0.3


async def test_bad_uploads_are_rejected(provider: OpenAIBatchProvider, tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_bytes(orjson.dumps(request_line("x")) + b"\n")
    with pytest.raises(PermanentProviderError, match=r"Must be \.jsonl") as err:
        await provider.upload_file(path)
    assert err.value.status == 400
