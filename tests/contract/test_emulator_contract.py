"""Every emulator response body validates against OpenAI's spec (``openai-batch-files-openapi.json``).

One scenario drives every endpoint and every batch status through the real client plus a raw
httpx client (for the answers the client never provokes: 401, unknown paths, injected 429/500).
Every response is recorded by an httpx event hook, then checked:

* 2xx JSON bodies against the operation's response schema (OpenAPI 3.1, the document's version),
  and additionally for undeclared top-level properties (the spec allows them; we do not want typos);
* file contents line by line against ``BatchRequestInput`` / ``BatchRequestOutput`` (OpenAPI 3.0
  semantics, see ATTRIBUTION.md);
* error bodies against OpenAI's ``ErrorResponse`` shape.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from openapi_schema_validator import OAS30Validator, OAS31Validator
from pydantic import SecretStr

from emulator.config import EmulatorConfig
from emulator.server import EmulatorServer
from shared.provider.base import LOCAL_BATCH_ID_KEY
from shared.provider.openai import OpenAIBatchProvider
from tests.integration.provider.helpers import (
    FAST_RETRY,
    TEST_KEY,
    make_input,
    request_line,
    wait_status,
    write_jsonl,
)

SPEC: dict[str, Any] = orjson.loads((Path(__file__).parent / "openai-batch-files-openapi.json").read_bytes())
ERROR_RESPONSE = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["message", "type", "param", "code"],
            "properties": {
                "message": {"type": "string"},
                "type": {"type": "string"},
                "param": {"type": ["string", "null"]},
                "code": {"type": ["string", "null"]},
            },
        }
    },
}
ALL_STATUSES = {
    "validating",
    "failed",
    "in_progress",
    "finalizing",
    "completed",
    "expired",
    "cancelling",
    "cancelled",
}


@dataclass
class Exchange:
    method: str
    path: str
    status: int
    body: bytes


def _schema_validator(ref: str, cls: type[Any] = OAS31Validator) -> Any:
    return cls({"$ref": ref, "components": SPEC["components"]})


def _operation(method: str, path: str) -> tuple[str, dict[str, Any]] | None:
    """The spec path template and operation answering ``method path`` (path without ``/v1``)."""
    for template, operations in SPEC["paths"].items():
        pattern = "^" + re.sub(r"\{[^}]+\}", "[^/]+", template) + "$"
        if re.match(pattern, path) and method.lower() in operations:
            return template, operations[method.lower()]
    return None


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorServer]:
    with EmulatorServer(EmulatorConfig(port=0, stage_s=0.15, seed=3)) as srv:
        yield srv


@pytest.fixture(scope="module")
def recorded() -> list[Exchange]:
    return []


@pytest.fixture
async def client(server: EmulatorServer, recorded: list[Exchange]) -> AsyncIterator[httpx.AsyncClient]:
    async def record(response: httpx.Response) -> None:
        await response.aread()
        path = response.request.url.path
        if path.startswith("/v1/"):
            recorded.append(
                Exchange(response.request.method, path[3:], response.status_code, response.content)
            )

    async with httpx.AsyncClient(event_hooks={"response": [record]}, timeout=10) as http:
        yield http


async def _finish(provider: OpenAIBatchProvider, batch_id: str, statuses: set[str]) -> dict[str, Any]:
    for _ in range(400):
        batch = await provider.retrieve_batch(batch_id)
        statuses.add(batch.status)
        if batch.is_terminal:
            return batch.raw
        await asyncio.sleep(0.01)
    raise AssertionError(f"{batch_id} did not finish")


async def test_scenario_then_validate_every_response(
    server: EmulatorServer, client: httpx.AsyncClient, recorded: list[Exchange], tmp_path: Path
) -> None:
    emu = server.emulator
    provider = OpenAIBatchProvider(
        base_url=server.base_url, api_key=SecretStr(TEST_KEY), retry=FAST_RETRY, client=client
    )
    statuses: set[str] = set()
    batches: list[dict[str, Any]] = []

    async def run(path: Path, **faults: Any) -> dict[str, Any]:
        emu.faults.update({"line_error_rate": 0.0, "malformed_rate": 0.0, **faults})
        uploaded = await provider.upload_file(path)
        created = await provider.create_batch(uploaded.id, metadata={LOCAL_BATCH_ID_KEY: str(len(batches))})
        statuses.add(created.status)
        batches.append(await _finish(provider, created.id, statuses))
        return batches[-1]

    good = make_input(tmp_path / "good.jsonl", 8)
    await run(good, line_error_rate=0.3, malformed_rate=0.3)  # completed, output + error files
    await run(good, line_error_rate=1.0)  # completed, no output file
    bad = write_jsonl(tmp_path / "bad.jsonl", [request_line("a"), request_line("a"), b"nope"])
    await run(bad)  # failed at validation
    await run(good, token_limit_batches=1)  # failed: token_limit_exceeded
    await run(good, expire_batches=1)  # expired with partial output

    uploaded = await provider.upload_file(good)  # cancelled mid-run
    created = await provider.create_batch(uploaded.id, metadata={})
    await wait_status(provider, created.id, "in_progress")
    statuses.add((await provider.cancel_batch(created.id)).status)
    batches.append(await _finish(provider, created.id, statuses))

    # every file endpoint, including downloads of inputs, outputs and error files
    for batch in batches:
        for key in ("input_file_id", "output_file_id", "error_file_id"):
            if file_id := batch.get(key):
                await provider.retrieve_file(file_id)
                assert [line async for line in provider.iter_file_lines(file_id)]
    assert [f async for f in provider.list_files(page_size=3)]
    assert [f async for f in provider.list_files(purpose="batch")]
    assert [b async for b in provider.list_batches(page_size=4)]
    assert await provider.delete_file(uploaded.id)
    empty = await client.get(f"{server.base_url}/batches", params={"after": "batch_unknown"}, headers=_auth())
    assert empty.json()["data"] == []
    empty_files = await client.get(f"{server.base_url}/files", params={"purpose": "vision"}, headers=_auth())
    assert empty_files.json()["data"] == []

    # error answers
    base = server.base_url
    no_key = await client.get(f"{base}/batches")
    assert no_key.status_code == 401, no_key.text
    unknown_batch = await client.get(f"{base}/batches/batch_nope", headers=_auth())
    assert unknown_batch.status_code == 404, unknown_batch.text
    unknown_file = await client.get(f"{base}/files/file-nope", headers=_auth())
    assert unknown_file.status_code == 404, unknown_file.text
    incomplete_batch = await client.post(f"{base}/batches", json={"input_file_id": "x"}, headers=_auth())
    assert incomplete_batch.status_code == 400, incomplete_batch.text
    no_purpose = await client.post(f"{base}/files", files={"file": ("a.jsonl", b"{}")}, headers=_auth())
    assert no_purpose.status_code == 400, no_purpose.text
    over_limit = await client.get(f"{base}/batches?limit=1000", headers=_auth())
    assert over_limit.status_code == 400, over_limit.text
    emu.faults.update({"http_429_next": 1, "http_500_next": 1})
    rate_limited = await client.get(f"{base}/batches", headers=_auth())
    assert rate_limited.status_code == 429, rate_limited.text
    server_error = await client.get(f"{base}/batches", headers=_auth())
    assert server_error.status_code == 500, server_error.text
    unknown_path = await client.get(f"{base}/nowhere", headers=_auth())
    assert unknown_path.status_code == 404, unknown_path.text

    assert statuses == ALL_STATUSES, f"never saw {ALL_STATUSES - statuses}"
    _validate_all(recorded, batches)


def _auth() -> dict[str, str]:
    return {"Authorization": f"Bearer {TEST_KEY}"}


def _validate_all(recorded: list[Exchange], batches: list[dict[str, Any]]) -> None:
    inputs = {b["input_file_id"] for b in batches}
    results = {b[k] for b in batches for k in ("output_file_id", "error_file_id") if b.get(k)}
    line_in = _schema_validator("#/components/schemas/BatchRequestInput", OAS30Validator)
    line_out = _schema_validator("#/components/schemas/BatchRequestOutput", OAS30Validator)
    error_shape = OAS31Validator(ERROR_RESPONSE)
    covered: set[tuple[str, str]] = set()
    problems: list[str] = []
    for ex in recorded:
        where = f"{ex.method} {ex.path} -> {ex.status}"
        if ex.status >= 400:
            problems += [f"{where}: {e.message}" for e in error_shape.iter_errors(orjson.loads(ex.body))]
            continue
        found = _operation(ex.method, ex.path)
        if found is None:
            problems.append(f"{where}: not in the spec")
            continue
        template, operation = found
        covered.add((ex.method, template))
        schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
        if template == "/files/{file_id}/content":
            file_id = ex.path.split("/")[2]
            validator = line_in if file_id in inputs else line_out if file_id in results else None
            assert validator is not None, f"download of an unexpected file {file_id}"
            for line in ex.body.splitlines():
                if validator is line_in and not line.startswith(b"{"):
                    continue  # the deliberately broken line of our own invalid input file
                problems += [f"{where}: {e.message}" for e in validator.iter_errors(orjson.loads(line))]
            continue
        body = orjson.loads(ex.body)
        problems += [
            f"{where}: {e.message}" for e in OAS31Validator({**schema, **_components()}).iter_errors(body)
        ]
        problems += [f"{where}: {p}" for p in _undeclared(schema, body)]
    assert problems == []
    expected = {(method.upper(), template) for template, ops in SPEC["paths"].items() for method in ops}
    assert covered == expected, f"not exercised: {expected - covered}"


def _components() -> dict[str, Any]:
    return {"components": SPEC["components"]}


def _resolve(schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = SPEC["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _undeclared(schema: dict[str, Any], body: Any) -> list[str]:
    """Top-level keys the schema does not declare (one level into list ``data`` items too)."""
    schema = _resolve(schema)
    if not isinstance(body, dict) or "properties" not in schema:
        return []
    out = [f"undeclared property {key!r}" for key in body if key not in schema["properties"]]
    items = schema["properties"].get("data", {}).get("items")
    if items is not None:
        for item in body.get("data", []):
            out += _undeclared(items, item)
    return out
