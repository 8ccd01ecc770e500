"""Helpers of the SDK-driven wall tests: the official ``openai`` client against an emulator server."""

from __future__ import annotations

import io
import time
from typing import Any

import httpx
import openai
import orjson
from openapi_schema_validator import OAS31Validator

from emulator.model import estimate_prompt_tokens
from emulator.server import EmulatorServer
from tests.contract.test_emulator_contract import ERROR_RESPONSE, SPEC

KEY = "sk-test-walls-0123456789abcdefXYZ"
ENDPOINT = "/v1/chat/completions"
TERMINAL = {"completed", "failed", "expired", "cancelled"}


def client(server: EmulatorServer, key: str = KEY) -> Any:
    """A synchronous SDK client that does not retry: each wall must show on the first answer."""
    return openai.OpenAI(base_url=server.base_url, api_key=key, max_retries=0, timeout=10)


def body(model: str = "gpt-4o-mini", text: str = "Please summarise my shift change request.") -> dict[str, Any]:
    return {"model": model, "messages": [{"role": "user", "content": text}]}


def line(custom_id: str, **kwargs: Any) -> dict[str, Any]:
    return {"custom_id": custom_id, "method": "POST", "url": ENDPOINT, "body": body(**kwargs)}


def jsonl(lines: list[dict[str, Any]] | list[bytes]) -> bytes:
    raw = [x if isinstance(x, bytes) else orjson.dumps(x) for x in lines]
    return b"\n".join(raw) + b"\n"


def requests(n: int, prefix: str = "req", **kwargs: Any) -> list[dict[str, Any]]:
    return [line(f"{prefix}-{i}", **kwargs) for i in range(n)]


def tokens(lines: list[dict[str, Any]]) -> int:
    """The emulator's input-token estimate of a file: what counts as enqueued."""
    return sum(estimate_prompt_tokens(x["body"]) for x in lines)


def upload(sdk: Any, data: bytes, name: str = "in.jsonl", **kwargs: Any) -> Any:
    return sdk.files.create(file=(name, io.BytesIO(data)), purpose="batch", **kwargs)


def submit(sdk: Any, lines: list[dict[str, Any]], **kwargs: Any) -> Any:
    uploaded = upload(sdk, jsonl(lines))
    return sdk.batches.create(
        input_file_id=uploaded.id, endpoint=ENDPOINT, completion_window="24h", **kwargs
    )


def wait(sdk: Any, batch_id: str, statuses: set[str] = TERMINAL, timeout_s: float = 15.0) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        batch = sdk.batches.retrieve(batch_id)
        if batch.status in statuses:
            return batch
        assert time.monotonic() < deadline, f"{batch_id} still {batch.status}"
        time.sleep(0.02)


def admin(server: EmulatorServer, path: str, payload: dict[str, Any] | None = None) -> Any:
    url = f"{server.url}/_emulator/{path}"
    response = httpx.get(url) if payload is None else httpx.post(url, json=payload)
    assert response.status_code == 200, response.text
    return response.json()


def error_of(exc: Any) -> dict[str, Any]:
    """The ``error`` object of an SDK exception, checked against OpenAI's ErrorResponse shape."""
    payload = exc.response.json()
    assert list(OAS31Validator(ERROR_RESPONSE).iter_errors(payload)) == []
    assert set(payload["error"]) == {"message", "type", "param", "code"}
    return dict(payload["error"])


def spec_problems(schema: str, server: EmulatorServer, path: str, key: str = KEY) -> list[str]:
    """What the raw JSON of ``GET /v1{path}`` breaks of the spec's component ``schema``."""
    raw = httpx.get(f"{server.base_url}{path}", headers={"Authorization": f"Bearer {key}"}).json()
    validator = OAS31Validator({"$ref": f"#/components/schemas/{schema}", "components": SPEC["components"]})
    return [e.message for e in validator.iter_errors(raw)]
