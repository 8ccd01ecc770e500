"""The official ``anthropic`` SDK drives the emulator's Message Batches endpoints.

If the SDK can create, poll, list, read results of, cancel and delete batches, and raises its own
typed errors for a bad ``custom_id`` and a bad key, the emulator speaks Anthropic's wire format
(paths, headers, timestamps, pagination cursors, result lines, error shape) well enough for the
adapter's tests to mean something.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import anthropic
import orjson
import pytest
from pydantic import SecretStr

from emulator.config import EmulatorConfig
from emulator.server import EmulatorServer
from shared.analysis import SESSION_FIELDS, ProcessingType

KEY = "sk-ant-test-0123456789abcdef"
MODEL = "claude-3-5-haiku-latest"
TOOL = {
    "name": "sentiment_result",
    "description": "Record the analysis.",
    "input_schema": {
        "type": "object",
        "properties": {"sentiment": {"type": "string", "enum": ["POSITIVE", "NEUTRAL", "NEGATIVE"]}},
        "required": ["sentiment"],
        "additionalProperties": False,
    },
}


@pytest.fixture
def server() -> Iterator[EmulatorServer]:
    with EmulatorServer(EmulatorConfig(port=0, stage_s=0.3, seed=3, api_key=SecretStr(KEY))) as srv:
        yield srv


def sdk(server: EmulatorServer, key: str = KEY) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=server.url, api_key=key, max_retries=0, timeout=10)


def request(custom_id: str, *, tool: bool = False, text: str = "user: I love the new rota, thanks!") -> Any:
    params: dict[str, Any] = {
        "model": MODEL,
        "max_tokens": 256,
        "system": "Analyse the conversation.",
        "messages": [{"role": "user", "content": text}],
    }
    if tool:
        params |= {"tools": [TOOL], "tool_choice": {"type": "tool", "name": TOOL["name"]}}
    return {"custom_id": custom_id, "params": params}


def wait_ended(client: anthropic.Anthropic, batch_id: str, timeout_s: float = 15.0) -> Any:
    deadline = time.monotonic() + timeout_s
    while (batch := client.messages.batches.retrieve(batch_id)).processing_status != "ended":
        assert time.monotonic() < deadline, f"{batch_id} still {batch.processing_status}"
        time.sleep(0.05)
    return batch


def test_create_poll_list_and_read_results(server: EmulatorServer) -> None:
    client = sdk(server)
    created = client.messages.batches.create(
        requests=[request("plain-1"), request("tool_2", tool=True), request("plain-3")]
    )
    assert created.processing_status == "in_progress"
    assert created.request_counts.processing == 3 and created.results_url is None

    ended = wait_ended(client, created.id)
    assert ended.ended_at is not None and ended.results_url is not None
    counts = ended.request_counts
    assert counts.to_dict() == {"processing": 0, "succeeded": 3, "errored": 0, "canceled": 0, "expired": 0}

    results = {r.custom_id: r.result for r in client.messages.batches.results(created.id)}
    assert set(results) == {"plain-1", "tool_2", "plain-3"}
    assert all(r.type == "succeeded" for r in results.values())
    tool_result = results["tool_2"]
    assert tool_result.type == "succeeded"
    block = tool_result.message.content[0]
    assert block.type == "tool_use" and block.name == "sentiment_result"
    assert block.input == {"sentiment": "POSITIVE"}
    plain = results["plain-1"]
    assert plain.type == "succeeded" and plain.message.content[0].type == "text"
    assert plain.message.usage.input_tokens > 0 and plain.message.usage.output_tokens > 0
    # Without a schema the stand-in answers the processing type's fields as JSON text.
    assert set(orjson.loads(plain.message.content[0].text)) == set(
        SESSION_FIELDS[ProcessingType.FULL_ANALYSIS]
    )

    second = client.messages.batches.create(requests=[request("other")])
    listed = [b.id for b in client.messages.batches.list(limit=1)]  # auto-paged via after_id
    assert listed[:2] == [second.id, created.id]
    page = client.messages.batches.list(limit=1)
    assert page.has_more and page.first_id == second.id and page.last_id == second.id

    deleted = client.messages.batches.delete(created.id)
    assert deleted.id == created.id and deleted.type == "message_batch_deleted"
    with pytest.raises(anthropic.NotFoundError):
        client.messages.batches.retrieve(created.id)


def test_cancel_reports_canceled_requests(server: EmulatorServer) -> None:
    client = sdk(server)
    created = client.messages.batches.create(requests=[request(f"c-{i}") for i in range(4)])
    canceling = client.messages.batches.cancel(created.id)
    assert canceling.processing_status == "canceling" and canceling.cancel_initiated_at is not None
    ended = wait_ended(client, created.id)
    assert ended.request_counts.canceled == 4 and ended.request_counts.succeeded == 0
    results = list(client.messages.batches.results(created.id))
    assert sorted(r.custom_id for r in results) == [f"c-{i}" for i in range(4)]
    assert {r.result.type for r in results} == {"canceled"}


def test_bad_custom_id_is_an_invalid_request(server: EmulatorServer) -> None:
    with pytest.raises(anthropic.BadRequestError) as caught:
        sdk(server).messages.batches.create(requests=[request("has a space")])
    assert caught.value.status_code == 400
    assert caught.value.body == {
        "type": "error",
        "error": {"type": "invalid_request_error", "message": caught.value.body["error"]["message"]},
    }
    assert "custom_id" in caught.value.body["error"]["message"]


def test_bad_key_is_an_authentication_error(server: EmulatorServer) -> None:
    with pytest.raises(anthropic.AuthenticationError) as caught:
        sdk(server, key="sk-ant-wrong").messages.batches.list()
    assert caught.value.status_code == 401
    assert caught.value.body["type"] == "error"
    assert caught.value.body["error"]["type"] == "authentication_error"
