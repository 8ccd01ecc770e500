"""File walls met through the official SDK: expiry (``expires_after``, ``output_expires_after``,
the emulator-wide ``output_file_ttl_s``) and the organisation's file-store cap.

Durations run on the emulator's clock, so the tests advance it (``POST /_emulator/clock``)
instead of waiting an hour.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from openapi_schema_validator import OAS31Validator

from emulator.config import EmulatorConfig
from emulator.server import EmulatorServer
from tests.contract.sdk_support import (
    admin,
    client,
    error_of,
    jsonl,
    openai,
    requests,
    spec_problems,
    submit,
    upload,
    wait,
)
from tests.contract.test_emulator_contract import SPEC

EXPIRES = {"anchor": "created_at", "seconds": 3600}


@pytest.fixture
def server() -> Iterator[EmulatorServer]:
    with EmulatorServer(EmulatorConfig(port=0, stage_s=0.1, seed=2)) as srv:
        yield srv


def _gone(sdk: Any, file_id: str) -> None:
    for call in (sdk.files.retrieve, sdk.files.content):
        with pytest.raises(openai.NotFoundError) as err:
            call(file_id)
        assert error_of(err.value) == {
            "message": f"No such File object: {file_id}",
            "type": "invalid_request_error",
            "param": "id",
            "code": None,
        }
    assert file_id not in {f.id for f in sdk.files.list()}


# --- 4. expiry ------------------------------------------------------------------------------


def test_upload_expires_after_then_answers_404(server: EmulatorServer) -> None:
    sdk = client(server)
    kept = upload(sdk, jsonl(requests(1)))
    short = upload(sdk, jsonl(requests(1)), expires_after=EXPIRES)
    untouched = upload(sdk, jsonl(requests(1)), expires_after=EXPIRES)
    assert short.expires_at == short.created_at + 3600
    assert kept.expires_at == kept.created_at + 30 * 86_400  # batch files: 30 days by default
    file_schema = {"$ref": "#/components/schemas/OpenAIFile", "components": SPEC["components"]}
    assert list(OAS31Validator(file_schema).iter_errors(short.model_dump(exclude_none=True))) == []

    # created_at is whole seconds, so "3599 s later" may already be the 3600th second: 3598
    admin(server, "clock", {"advance_s": 3598})
    assert sdk.files.content(short.id).content == jsonl(requests(1))
    admin(server, "clock", {"advance_s": 2})
    _gone(sdk, short.id)
    assert sdk.files.retrieve(kept.id).id == kept.id
    with pytest.raises(openai.NotFoundError) as err:  # an expired input cannot start a batch either
        sdk.batches.create(
            input_file_id=untouched.id, endpoint="/v1/chat/completions", completion_window="24h"
        )
    assert error_of(err.value)["message"] == f"Cannot find file {untouched.id}."


def test_input_expiring_under_a_running_batch_is_still_read(server: EmulatorServer) -> None:
    sdk = client(server)
    uploaded = upload(sdk, jsonl(requests(3)), expires_after=EXPIRES)
    batch = sdk.batches.create(
        input_file_id=uploaded.id, endpoint="/v1/chat/completions", completion_window="24h"
    )
    admin(server, "clock", {"advance_s": 3600})
    upload(sdk, jsonl(requests(1)))  # an upload purges expired files while the batch is unfinished
    done = sdk.batches.retrieve(batch.id)
    assert done.status == "completed"
    assert len(sdk.files.content(done.output_file_id).text.splitlines()) == 3
    _gone(sdk, uploaded.id)


@pytest.mark.parametrize(
    ("expires_after", "code", "param"),
    [
        ({"anchor": "created_at", "seconds": 3599}, "integer_below_min_value", "expires_after.seconds"),
        ({"anchor": "created_at", "seconds": 2_592_001}, "integer_above_max_value", "expires_after.seconds"),
        ({"anchor": "last_active_at", "seconds": 3600}, "invalid_value", "expires_after.anchor"),
    ],
)
def test_upload_expiry_out_of_range(
    server: EmulatorServer, expires_after: dict[str, Any], code: str, param: str
) -> None:
    with pytest.raises(openai.BadRequestError) as err:
        upload(client(server), jsonl(requests(1)), expires_after=expires_after)
    error = error_of(err.value)
    assert (error["code"], error["param"], error["type"]) == (code, param, "invalid_request_error")
    assert admin(server, "stats")["files"] == 0


def test_batch_output_expires_after(server: EmulatorServer) -> None:
    sdk = client(server)
    batch = submit(sdk, requests(3), output_expires_after={"anchor": "created_at", "seconds": 7200})
    done = wait(sdk, batch.id)
    output = sdk.files.retrieve(done.output_file_id)
    assert output.expires_at == output.created_at + 7200
    assert spec_problems("OpenAIFile", server, f"/files/{output.id}") == []
    admin(server, "clock", {"advance_s": 7201})
    _gone(sdk, done.output_file_id)
    assert sdk.batches.retrieve(batch.id).output_file_id == done.output_file_id  # still named

    with pytest.raises(openai.BadRequestError) as err:
        submit(sdk, requests(1), output_expires_after={"anchor": "created_at", "seconds": 60})
    assert error_of(err.value)["param"] == "output_expires_after.seconds"


def test_output_file_ttl_expires_results_before_ingestion(server: EmulatorServer) -> None:
    sdk = client(server)
    assert admin(server, "walls", {"output_file_ttl_s": 5})["output_file_ttl_s"] == 5
    admin(server, "faults", {"line_error_rate": 0.5})
    batch = submit(sdk, requests(6))
    admin(server, "clock", {"advance_s": 10})  # the batch ended long ago; nobody polled it
    done = sdk.batches.retrieve(batch.id)
    assert done.status == "completed"
    assert done.output_file_id and done.error_file_id
    _gone(sdk, done.output_file_id)
    _gone(sdk, done.error_file_id)
    assert sdk.files.retrieve(batch.input_file_id).id == batch.input_file_id  # inputs untouched
    assert admin(server, "stats")["counters"]["files_expired"] == 2

    admin(server, "walls", {"output_file_ttl_s": None})
    fresh = wait(sdk, submit(sdk, requests(2)).id)
    admin(server, "clock", {"advance_s": 10})
    assert sdk.files.retrieve(fresh.output_file_id).id == fresh.output_file_id


def test_output_file_ttl_on_a_compressed_clock_without_advancing() -> None:
    with EmulatorServer(EmulatorConfig(port=0, stage_s=0.1, output_file_ttl_s=0.3)) as srv:
        sdk = client(srv)
        done = wait(sdk, submit(sdk, requests(2)).id)
        assert sdk.files.content(done.output_file_id).content  # just ended: still there
        wait_gone = done.output_file_id
        for _ in range(100):
            try:
                sdk.files.retrieve(wait_gone)
            except openai.NotFoundError:
                break
            time.sleep(0.02)
        _gone(sdk, wait_gone)


# --- 5. storage -----------------------------------------------------------------------------


def test_file_count_cap_and_deleting_frees_room(server: EmulatorServer) -> None:
    sdk = client(server)
    admin(server, "walls", {"max_files": 2})
    first = upload(sdk, jsonl(requests(1)))
    upload(sdk, jsonl(requests(2)))
    with pytest.raises(openai.BadRequestError) as err:
        upload(sdk, jsonl(requests(3)))
    assert error_of(err.value) == {
        "message": "File storage limit reached for organization org-emulator: 2 files stored; the "
        "limit is 2 files. Delete files you no longer need, then try again.",
        "type": "invalid_request_error",
        "param": "file",
        "code": "storage_limit_exceeded",
    }
    assert len(list(sdk.files.list())) == 2
    sdk.files.delete(first.id)
    upload(sdk, jsonl(requests(3)))
    stats = admin(server, "stats")
    assert stats["storage"]["files"] == 2
    assert stats["counters"]["uploads_refused_storage"] == 1


def test_byte_cap_counts_result_files_and_is_switched_at_start() -> None:
    data = jsonl(requests(2))
    config = EmulatorConfig(port=0, stage_s=0.1, max_storage_bytes=3 * len(data))
    with EmulatorServer(config) as srv:
        sdk = client(srv)
        done = wait(sdk, submit(sdk, requests(2)).id)  # input + output file
        held = sum(f.bytes for f in sdk.files.list())
        assert held == admin(srv, "stats")["storage"]["bytes"] > len(data)
        with pytest.raises(openai.BadRequestError) as err:
            upload(sdk, data * 2)
        assert error_of(err.value)["code"] == "storage_limit_exceeded"
        sdk.files.delete(done.output_file_id)
        upload(sdk, data)
        admin(srv, "walls", {"max_storage_bytes": None})
        upload(sdk, data * 4)


def test_walls_admin_validates(server: EmulatorServer) -> None:
    for bad in ({"max_files": -1}, {"enqueued_token_limits": {"m": 0}}, {"nope": 1}):
        assert httpx.post(f"{server.url}/_emulator/walls", json=bad).status_code == 422
    assert admin(server, "walls")["max_files"] is None
