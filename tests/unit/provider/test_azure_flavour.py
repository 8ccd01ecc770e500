"""The Azure flavour of the OpenAI adapter and the per-model line shapes, on an in-memory transport.

What Azure needs differently (api-key header, api-version, the ``/openai`` root, ``/chat/completions``,
a required file expiry, deployment names as the line's model) is checked on the requests the adapter
really sends; the ``azure:`` id mark is checked both ways (sent bare, recorded marked).
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from pydantic import ValidationError

from services.submitter.batch_file import LineEncoder, encode_line
from shared.analysis import ProcessingType
from shared.provider.lines import ENDPOINT_KEY, batch_metadata, line_shape
from shared.provider.openai import OpenAIBatchProvider
from shared.provider.router import RoutingProvider, expires_at_window, provider_of_id
from shared.settings import Settings

AZURE_ROOT = "https://contoso.openai.azure.com/openai"


def azure_settings(**extra: Any) -> Settings:
    values: dict[str, Any] = {
        "model_providers": {"gpt-4o-mini": "azure"},
        "azure_deployments": {"gpt-4o-mini": "gb-4o-mini-prod"},
        "azure_base_url": AZURE_ROOT,
        "azure_api_key": "azure-unit-key",
        **extra,
    }
    return Settings(**values)


class Recorder:
    """An in-memory Azure: records every request, answers files and batches in the API's shape."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.bodies: list[bytes] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = request.read()
        self.requests.append(request)
        self.bodies.append(body)
        path = request.url.path
        if path.endswith("/files") and request.method == "POST":
            return httpx.Response(200, json={"id": "file-abc", "bytes": len(body), "created_at": 1,
                                             "filename": "f.jsonl", "purpose": "batch"})
        if path.endswith("/batches") and request.method == "POST":
            sent = orjson.loads(body)
            return httpx.Response(200, json={"id": "batch_xyz", "status": "validating",
                                             "input_file_id": sent["input_file_id"], "created_at": 2,
                                             "output_file_id": "file-out", "error_file_id": "file-err",
                                             "metadata": sent["metadata"]})
        if "/batches/" in path:
            return httpx.Response(200, json={"id": "batch_xyz", "status": "in_progress",
                                             "input_file_id": "file-abc", "created_at": 2})
        return httpx.Response(404, json={"error": {"message": "no", "code": None}})


def line_file(tmp_path: Path, shape_settings: Settings, model: str = "gpt-4o-mini") -> Path:
    path = tmp_path / "batch.jsonl"
    shape = line_shape(shape_settings, model)
    path.write_bytes(encode_line(uuid.uuid4(), ProcessingType.SENTIMENT_ANALYSIS, model, "hello", shape))
    return path


async def test_the_azure_flavour_sends_api_key_version_root_and_a_required_expiry(tmp_path: Path) -> None:
    azure = Recorder()
    settings = azure_settings(azure_file_ttl_s=1_300_000)
    provider = OpenAIBatchProvider.from_settings(settings, transport=httpx.MockTransport(azure),
                                                 flavour="azure")
    uploaded = await provider.upload_file(line_file(tmp_path, settings))
    created = await provider.create_batch(uploaded.id, metadata={"batchline_batch_id": "b-1"})
    await provider.retrieve_batch(created.id)
    await provider.aclose()

    upload, create, poll = azure.requests
    for request in azure.requests:
        assert request.headers["api-key"] == "azure-unit-key"
        assert "authorization" not in request.headers
        assert request.url.params["api-version"] == "2024-10-21"
    assert str(upload.url).startswith(AZURE_ROOT + "/files?")
    assert b'name="expires_after[seconds]"\r\n\r\n1300000' in azure.bodies[0]
    sent = orjson.loads(azure.bodies[1])
    assert (sent["input_file_id"], sent["endpoint"]) == ("file-abc", "/chat/completions")
    assert create.url.path == "/openai/batches" and poll.url.path == "/openai/batches/batch_xyz"
    assert uploaded.id == "azure:file-abc"
    assert (created.id, created.input_file_id) == ("azure:batch_xyz", "azure:file-abc")
    assert (created.output_file_id, created.error_file_id) == ("azure:file-out", "azure:file-err")


async def test_the_openai_flavour_keeps_bearer_and_bare_ids_and_takes_the_endpoint_from_metadata() -> None:
    openai = Recorder()
    provider = OpenAIBatchProvider.from_settings(Settings(), transport=httpx.MockTransport(openai))
    created = await provider.create_batch("file-abc", metadata={"batchline_batch_id": "b", ENDPOINT_KEY:
                                                                "/v1/responses"})
    await provider.aclose()
    [request] = openai.requests
    assert request.headers["authorization"] == "Bearer sk-local-emulator"
    assert "api-version" not in request.url.params
    assert orjson.loads(openai.bodies[0])["endpoint"] == "/v1/responses"
    assert created.id == "batch_xyz"


def test_ids_say_which_api_made_them_and_only_azure_jobs_outlive_the_window() -> None:
    assert [provider_of_id(i) for i in ("azure:batch_1", "batch_1", "msgbatch_01")] == [
        "azure", "openai", "anthropic"]
    assert expires_at_window("batch_1") and expires_at_window("msgbatch_01")
    assert not expires_at_window("azure:batch_1")


async def test_the_router_sends_an_azure_shaped_file_to_azure_by_its_url(tmp_path: Path) -> None:
    azure, openai = Recorder(), Recorder()
    settings = azure_settings()
    router = RoutingProvider(settings, {
        "openai": OpenAIBatchProvider.from_settings(settings, transport=httpx.MockTransport(openai)),
        "azure": OpenAIBatchProvider.from_settings(settings, transport=httpx.MockTransport(azure),
                                                   flavour="azure"),
    })
    uploaded = await router.upload_file(line_file(tmp_path, settings))
    batch = await router.create_batch(uploaded.id, metadata={})
    await router.retrieve_batch(batch.id)
    await router.aclose()
    assert (len(azure.requests), len(openai.requests)) == (3, 0)


def test_line_shapes_per_provider_and_endpoint() -> None:
    settings = azure_settings(model_endpoints={"gpt-4o": "responses"})
    azure_line = orjson.loads(encode_line(uuid.uuid4(), ProcessingType.CATEGORIZATION, "gpt-4o-mini", "c",
                                          line_shape(settings, "gpt-4o-mini")))
    assert (azure_line["url"], azure_line["body"]["model"]) == ("/chat/completions", "gb-4o-mini-prod")
    assert "response_format" in azure_line["body"]

    rid = uuid.uuid4()
    shape = line_shape(settings, "gpt-4o")
    line = orjson.loads(encode_line(rid, ProcessingType.SENTIMENT_ANALYSIS, "gpt-4o", "the chat", shape))
    body = line["body"]
    assert line["url"] == "/v1/responses" and body["model"] == "gpt-4o"
    assert [m["role"] for m in body["input"]] == ["system", "user"] and body["input"][1]["content"] == "the chat"
    assert body["max_output_tokens"] > 0 and "messages" not in body and "max_tokens" not in body
    fmt = body["text"]["format"]
    assert (fmt["type"], fmt["name"], fmt["strict"]) == ("json_schema", "sentiment_analysis_result", True)
    assert fmt["schema"]["type"] == "object" and fmt["schema"]["additionalProperties"] is False
    assert batch_metadata(shape, "b-1", "batchline_batch_id") == {
        "batchline_batch_id": "b-1", ENDPOINT_KEY: "/v1/responses"}
    assert batch_metadata(line_shape(settings, "gpt-4o-mini"), "b-1", "k") == {"k": "b-1"}

    # The fast encoder writes the same bytes as the whole-document one, for each shape.
    encoder = LineEncoder(lambda model: line_shape(settings, model))
    for model in ("gpt-4o", "gpt-4o-mini", "gpt-4.1-mini"):
        assert encoder.encode(rid, ProcessingType.SUMMARY, model, 'q "x"') == encode_line(
            rid, ProcessingType.SUMMARY, model, 'q "x"', line_shape(settings, model))


@pytest.mark.parametrize(
    "values",
    [
        {"model_providers": {"m": "azure"}, "azure_deployments": {"m": "d"}},  # no base URL
        {"model_providers": {"m": "azure"}, "azure_base_url": AZURE_ROOT},  # no deployment
        {"azure_file_ttl_s": 1_209_599},
        {"azure_file_ttl_s": 2_592_001},
        {"model_providers": {"m": "azure"}, "azure_deployments": {"m": "d"}, "azure_base_url": AZURE_ROOT,
         "model_endpoints": {"m": "responses"}},
        {"batch_max_requests": 50_001},  # the default model runs on OpenAI
    ],
)
def test_azure_settings_that_would_fail_at_the_provider_fail_at_start(values: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        Settings(**values)


def test_files_are_capped_per_provider() -> None:
    settings = Settings(default_model="big", model_providers={"big": "azure"}, azure_deployments={"big": "d"},
                        azure_base_url=AZURE_ROOT, batch_max_requests=100_000)
    assert settings.max_requests_of("big") == 100_000
    assert settings.max_requests_of("gpt-4o-mini") == 50_000
