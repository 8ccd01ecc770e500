"""Anthropic's walls, as the official ``anthropic`` SDK meets them on the emulator.

Each wall must reach the SDK as the exception class the real API's answer produces (the SDK picks
it from the status code and the error body), with Anthropic's body ``{"type": "error", "error":
{type, message}}``: a revoked key, the per-model processing-queue limit (429 with ``retry-after``,
which the SDK's own retries wait for), 529 ``overloaded_error``, a body over the size limit (413) and
results fetched after they expired (404). Every wall is switched on at start in one test and through
the admin API in the others.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import httpx2
import pytest
from pydantic import SecretStr

from emulator.config import EmulatorConfig
from emulator.server import EmulatorServer
from tests.contract.sdk_support import admin
from tests.contract.test_emulator_anthropic_sdk import KEY, MODEL, request, sdk, wait_ended

OTHER_MODEL = "claude-3-7-sonnet-latest"
#: Long stages, so a queued batch stays queued while the test makes its refused calls.
STAGE_S = 1.0


@pytest.fixture
def server() -> Iterator[EmulatorServer]:
    with EmulatorServer(EmulatorConfig(port=0, stage_s=0.2, seed=5, api_key=SecretStr(KEY))) as srv:
        yield srv


def error_body(exc: anthropic.APIStatusError, kind: str) -> dict[str, Any]:
    """The error object, after checking the body is Anthropic's shape with error type ``kind``."""
    body = exc.body
    assert isinstance(body, dict) and body["type"] == "error"
    assert set(body["error"]) == {"type", "message"} and body["error"]["type"] == kind
    return dict(body["error"])


def test_a_revoked_key_is_an_authentication_error_until_restored(server: EmulatorServer) -> None:
    client = sdk(server)
    assert client.messages.batches.list().data == []
    assert admin(server, "keys", {"revoked": True})["mode"] == "revoked"
    with pytest.raises(anthropic.AuthenticationError) as caught:
        client.messages.batches.create(requests=[request("r-1")])
    assert caught.value.status_code == 401
    error_body(caught.value, "authentication_error")
    with pytest.raises(anthropic.AuthenticationError):
        client.messages.batches.list()
    admin(server, "keys", {"revoked": False})
    assert client.messages.batches.create(requests=[request("r-1")]).processing_status == "in_progress"


def test_a_rotated_key_is_refused_and_the_new_one_accepted() -> None:
    config = EmulatorConfig(port=0, stage_s=0.2, api_keys=[SecretStr("sk-ant-old-0000"), SecretStr(KEY)])
    with EmulatorServer(config) as srv:
        admin(srv, "keys", {"remove": ["sk-ant-old-0000"]})
        with pytest.raises(anthropic.AuthenticationError):
            sdk(srv, key="sk-ant-old-0000").messages.batches.list()
        assert sdk(srv).messages.batches.list().data == []


def test_the_queue_limit_is_a_rate_limit_error_whose_retry_after_the_sdk_waits_for() -> None:
    config = EmulatorConfig(port=0, stage_s=STAGE_S, seed=5, api_key=SecretStr(KEY))
    seen: list[tuple[float, int, str | None]] = []

    def record(response: httpx2.Response) -> None:
        if response.request.method == "POST":
            seen.append((time.monotonic(), response.status_code, response.headers.get("retry-after")))

    with EmulatorServer(config) as srv:
        assert admin(srv, "walls", {"anthropic_queue_limits": {MODEL: 3}})["anthropic_queue_limits"] == {
            MODEL: 3
        }
        client = sdk(srv)
        first = client.messages.batches.create(requests=[request("q-1"), request("q-2")])
        with pytest.raises(anthropic.RateLimitError) as caught:
            client.messages.batches.create(requests=[request("q-3"), request("q-4")])
        assert caught.value.status_code == 429
        assert MODEL in error_body(caught.value, "rate_limit_error")["message"]
        # Room appears when the queued batch ends (3 stages after its creation): that is the wait.
        assert 1 <= int(caught.value.response.headers["retry-after"]) <= 3 * STAGE_S
        # The queue is per model, and a batch that fits still fits.
        other = {**request("o-1"), "params": {**request("o-1")["params"], "model": OTHER_MODEL}}
        assert client.messages.batches.create(requests=[other]).processing_status == "in_progress"
        assert client.messages.batches.create(requests=[request("q-5")]).processing_status == "in_progress"

        retrying = anthropic.Anthropic(
            base_url=srv.url, api_key=KEY, max_retries=3, timeout=10,
            http_client=httpx2.Client(event_hooks={"response": [record]}),
        )  # fmt: skip
        admitted = retrying.messages.batches.create(requests=[request("q-6"), request("q-7")])
        assert admitted.processing_status == "in_progress"
        assert wait_ended(client, first.id).request_counts.succeeded == 2
        stats = admin(srv, "stats?requests=false")
        assert stats["counters"]["message_batches_queue_limited"] >= 2

    assert len(seen) >= 2 and seen[-1][1] == 200
    # Each retry came no sooner than the retry-after the refusal before it asked for.
    for i in range(len(seen) - 1):
        t, status, after = seen[i]
        assert status == 429 and after is not None
        assert seen[i + 1][0] - t >= float(after)


def test_overloaded_is_the_sdks_overloaded_error_and_its_retries_get_through(server: EmulatorServer) -> None:
    admin(server, "faults", {"overloaded_next": 1, "retry_after_s": 0.1})
    with pytest.raises(anthropic.OverloadedError) as caught:
        sdk(server).messages.batches.list()
    assert isinstance(caught.value, anthropic.InternalServerError) and caught.value.status_code == 529
    error_body(caught.value, "overloaded_error")
    assert caught.value.response.headers["retry-after"] == "0.1"

    admin(server, "faults", {"overloaded_next": 2})
    patient = anthropic.Anthropic(base_url=server.url, api_key=KEY, max_retries=2, timeout=10)
    assert patient.messages.batches.create(requests=[request("x-1")]).processing_status == "in_progress"
    assert admin(server, "stats?requests=false")["counters"]["fault_http_529"] == 3


def test_overloaded_and_the_queue_limit_can_be_set_at_start() -> None:
    config = EmulatorConfig(
        port=0, stage_s=STAGE_S, api_key=SecretStr(KEY), overloaded_next=1, anthropic_queue_limit=1
    )
    with EmulatorServer(config) as srv:
        client = sdk(srv)
        with pytest.raises(anthropic.OverloadedError):
            client.messages.batches.list()
        client.messages.batches.create(requests=[request("s-1")])
        with pytest.raises(anthropic.RateLimitError):
            client.messages.batches.create(requests=[request("s-2")])


def test_a_body_over_the_size_limit_is_request_too_large(server: EmulatorServer) -> None:
    admin(server, "walls", {"anthropic_max_batch_bytes": 4_000})
    client = sdk(server)
    big = request("big", text="user: " + "please move my shift " * 400)
    with pytest.raises(anthropic.RequestTooLargeError) as caught:
        client.messages.batches.create(requests=[big])
    assert caught.value.status_code == 413
    assert "4000 bytes" in error_body(caught.value, "request_too_large")["message"]
    assert client.messages.batches.create(requests=[request("small")]).processing_status == "in_progress"


def test_results_expire_29_days_after_creation_and_the_batch_stays(server: EmulatorServer) -> None:
    client = sdk(server)
    created = client.messages.batches.create(requests=[request("e-1")])
    wait_ended(client, created.id)
    assert [r.custom_id for r in client.messages.batches.results(created.id)] == ["e-1"]
    admin(server, "clock", {"advance_s": 29 * 86_400 - 60})
    assert [r.result.type for r in client.messages.batches.results(created.id)] == ["succeeded"]
    admin(server, "clock", {"advance_s": 120})
    with pytest.raises(anthropic.NotFoundError) as caught:
        list(client.messages.batches.results(created.id))
    assert caught.value.status_code == 404
    assert "no longer available" in error_body(caught.value, "not_found_error")["message"]
    assert client.messages.batches.retrieve(created.id).processing_status == "ended"


def test_the_results_expiry_is_configurable(server: EmulatorServer) -> None:
    assert admin(server, "walls", {"anthropic_results_ttl_s": 30})["anthropic_results_ttl_s"] == 30
    client = sdk(server)
    created = client.messages.batches.create(requests=[request("t-1")])
    wait_ended(client, created.id)
    admin(server, "clock", {"advance_s": 31})
    with pytest.raises(anthropic.NotFoundError):
        list(client.messages.batches.results(created.id))
    admin(server, "walls", {"anthropic_results_ttl_s": None})  # null: results never expire
    assert [r.result.type for r in client.messages.batches.results(created.id)] == ["succeeded"]


def test_the_walls_survive_a_restart(tmp_path: Path) -> None:
    config = EmulatorConfig(port=0, stage_s=STAGE_S, api_key=SecretStr(KEY), state_dir=tmp_path)
    first = EmulatorServer(config).start()
    admin(first, "walls", {"anthropic_queue_limits": {MODEL: 1}, "anthropic_results_ttl_s": 10})
    sdk(first).messages.batches.create(requests=[request("p-1")])
    first.kill()
    with first.restarted() as again:
        walls = admin(again, "walls")
        assert walls["anthropic_queue_limits"] == {MODEL: 1} and walls["anthropic_results_ttl_s"] == 10
        with pytest.raises(anthropic.RateLimitError):
            sdk(again).messages.batches.create(requests=[request("p-2")])
