"""The emulator's Azure OpenAI global batch walls, met through the official SDK's ``AzureOpenAI`` client
(and its ``OpenAI`` client for the Responses endpoint, which is OpenAI's).

The client builds Azure's requests itself (``{endpoint}/openai/...?api-version=...``, ``api-key``
header), so a wall that answers it answers what batchline's Azure flavour sends too.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import openai
import orjson
import pytest

from emulator.config import EmulatorConfig
from emulator.server import EmulatorServer
from tests.contract.sdk_support import admin, jsonl, wait

DEPLOYMENT = "gb-4o-mini"
TTL = {"anchor": "created_at", "seconds": 1_209_600}


@pytest.fixture
def server() -> Iterator[EmulatorServer]:
    with EmulatorServer(EmulatorConfig(port=0, stage_s=0.3, seed=7)) as srv:
        yield srv


def azure(server: EmulatorServer, **kwargs: Any) -> openai.AzureOpenAI:
    return openai.AzureOpenAI(azure_endpoint=server.url, api_key="azure-key-0123456789", max_retries=0,
                              timeout=10, api_version=kwargs.pop("api_version", "2024-10-21"), **kwargs)


def aline(custom_id: str, *, model: str = DEPLOYMENT, url: str = "/chat/completions") -> dict[str, Any]:
    return {"custom_id": custom_id, "method": "POST", "url": url,
            "body": {"model": model, "messages": [{"role": "user", "content": "Mein Urlaub bitte."}]}}


def upload(sdk: openai.AzureOpenAI, lines: list[dict[str, Any]], **kwargs: Any) -> Any:
    return sdk.files.create(file=("in.jsonl", io.BytesIO(jsonl(lines))), purpose="batch",
                            extra_body={"expires_after": kwargs.pop("expires_after", TTL)} if kwargs.pop(
                                "with_ttl", True) else None)


def create(sdk: openai.AzureOpenAI, lines: list[dict[str, Any]]) -> Any:
    uploaded = upload(sdk, lines)
    return sdk.batches.create(input_file_id=uploaded.id, endpoint="/chat/completions", completion_window="24h")


def test_a_job_runs_answers_every_line_and_leaves_an_empty_error_file(server: EmulatorServer) -> None:
    sdk = azure(server)
    batch = create(sdk, [aline(f"r{i}") for i in range(5)])
    done = wait(sdk, batch.id)
    assert done.status == "completed" and done.request_counts.completed == 5
    out = sdk.files.content(done.output_file_id).text.splitlines()
    assert sorted(orjson.loads(x)["custom_id"] for x in out) == [f"r{i}" for i in range(5)]
    assert orjson.loads(out[0])["response"]["body"]["model"] == DEPLOYMENT
    assert done.error_file_id is not None and sdk.files.content(done.error_file_id).content == b""


def test_the_gate_wants_api_key_and_api_version(server: EmulatorServer) -> None:
    import httpx

    no_version = httpx.get(f"{server.url}/openai/files", headers={"api-key": "k"})
    assert no_version.status_code == 404
    no_key = httpx.get(f"{server.url}/openai/files", params={"api-version": "2024-10-21"},
                       headers={"authorization": "Bearer k"})
    assert no_key.status_code == 401
    assert azure(server).files.list().data == []


def test_a_file_must_expire_within_azure_range(server: EmulatorServer) -> None:
    sdk = azure(server)
    for ttl in (None, {"anchor": "created_at", "seconds": 1_209_599}, {"anchor": "created_at",
                                                                        "seconds": 2_592_001}):
        with pytest.raises(openai.BadRequestError) as err:
            upload(sdk, [aline("a")], expires_after=ttl, with_ttl=ttl is not None)
        assert err.value.status_code == 400 and err.value.body["param"] == "expires_after"  # type: ignore[index]
    assert upload(sdk, [aline("a")], expires_after={"anchor": "created_at", "seconds": 2_592_000}).id


@pytest.mark.parametrize(
    ("lines", "code", "line_no"),
    [
        ([aline("a"), aline("b", model="other-deployment")], "model_mismatch", 2),
        ([aline("a"), aline("b", url="/v1/chat/completions")], "url_mismatch", 2),
        ([aline("a"), aline("a")], "duplicate_custom_id", 2),
    ],
)
def test_content_faults_fail_the_job_with_azure_codes(
    server: EmulatorServer, lines: list[dict[str, Any]], code: str, line_no: int
) -> None:
    sdk = azure(server)
    done = wait(sdk, create(sdk, lines).id)
    assert done.status == "failed"
    assert [(e.code, e.line) for e in done.errors.data] == [(code, line_no)]  # type: ignore[union-attr]


def test_the_openai_endpoint_name_is_refused_by_azure(server: EmulatorServer) -> None:
    sdk = azure(server)
    uploaded = upload(sdk, [aline("a")])
    with pytest.raises(openai.BadRequestError):
        sdk.batches.create(input_file_id=uploaded.id, endpoint="/v1/chat/completions", completion_window="24h")


def test_the_token_quota_is_refused_at_create(server: EmulatorServer) -> None:
    sdk = azure(server)
    admin(server, "walls", {"enqueued_token_limits": {DEPLOYMENT: 5}})
    uploaded = upload(sdk, [aline("a"), aline("b")])
    with pytest.raises(openai.BadRequestError) as err:
        sdk.batches.create(input_file_id=uploaded.id, endpoint="/chat/completions", completion_window="24h")
    assert err.value.code == "token_limit_exceeded"
    assert sdk.batches.list().data == []  # no job was made


def test_a_job_outlives_the_window_an_openai_batch_expires_at() -> None:
    # A window shorter than the work: the OpenAI batch expires, the Azure job runs to its end.
    with EmulatorServer(EmulatorConfig(port=0, stage_s=0.3, seed=7, window_s=0.4)) as srv:
        sdk = azure(srv)
        job = create(sdk, [aline("a"), aline("b")])
        oai = openai.OpenAI(base_url=srv.base_url, api_key="sk-0123456789abcdef", max_retries=0, timeout=10)
        data = jsonl([{**aline(x, model="gpt-4o-mini"), "url": "/v1/chat/completions"} for x in ("a", "b")])
        uploaded = oai.files.create(file=("in.jsonl", io.BytesIO(data)), purpose="batch")
        batch = oai.batches.create(input_file_id=uploaded.id, endpoint="/v1/chat/completions",
                                   completion_window="24h")
        assert wait(oai, batch.id).status == "expired"
        done = wait(sdk, job.id)
        assert done.status == "completed" and done.request_counts.completed == 2
        # Two resources: each lists only its own batches.
        assert [b.id for b in sdk.batches.list().data] == [job.id]
        assert [b.id for b in oai.batches.list().data] == [batch.id]


def test_the_openai_sdk_creates_a_responses_batch_answered_in_the_responses_shape(
    server: EmulatorServer,
) -> None:
    sdk = openai.OpenAI(base_url=server.base_url, api_key="sk-0123456789abcdef", max_retries=0, timeout=10)
    schema = {"type": "object", "properties": {"sentiment": {"type": "string", "enum": ["POSITIVE", "NEGATIVE",
              "NEUTRAL"]}}, "required": ["sentiment"], "additionalProperties": False}
    body = {"model": "gpt-4o-mini", "max_output_tokens": 200,
            "input": [{"role": "system", "content": "Classify."}, {"role": "user", "content": "Danke, super!"}],
            "text": {"format": {"type": "json_schema", "name": "sentiment_analysis_result", "schema": schema,
                                "strict": True}}}
    lines = [{"custom_id": "r1", "method": "POST", "url": "/v1/responses", "body": body}]
    uploaded = sdk.files.create(file=("in.jsonl", io.BytesIO(jsonl(lines))), purpose="batch")
    batch = sdk.batches.create(input_file_id=uploaded.id, endpoint="/v1/responses", completion_window="24h")
    done = wait(sdk, batch.id)
    assert done.status == "completed" and done.endpoint == "/v1/responses"
    [raw] = sdk.files.content(done.output_file_id).text.splitlines()  # type: ignore[arg-type]
    answer = orjson.loads(raw)["response"]["body"]
    assert answer["object"] == "response" and answer["status"] == "completed"
    [message] = answer["output"]
    [part] = message["content"]
    assert (message["type"], message["role"], part["type"]) == ("message", "assistant", "output_text")
    assert set(orjson.loads(part["text"])) == {"sentiment"}
    usage = answer["usage"]
    assert usage["input_tokens"] > 0 and usage["output_tokens"] > 0
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]
