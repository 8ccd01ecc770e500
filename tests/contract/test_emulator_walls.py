"""The emulator's walls met through the official SDK: key rotation and revocation, the per-model
enqueued-token limit, and per-line validation failures. Each wall is switched at run time through
the admin API (and, where it matters, at start through the configuration), and each answer is
checked to the byte: status, error shape, code, message, ``line`` and ``param``.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from emulator.config import EmulatorConfig
from emulator.server import EmulatorServer
from emulator.walls import mask_key
from tests.contract.sdk_support import (
    KEY,
    admin,
    client,
    error_of,
    line,
    openai,
    requests,
    spec_problems,
    submit,
    tokens,
    wait,
)

OLD, NEW = "sk-proj-OLDkey-0123456789abcdef0001", "sk-proj-NEWkey-fedcba9876543210aaaa"


@pytest.fixture
def server() -> Iterator[EmulatorServer]:
    with EmulatorServer(EmulatorConfig(port=0, stage_s=0.3, seed=5, api_key=OLD)) as srv:
        yield srv


# --- 1. keys --------------------------------------------------------------------------------


def _refused(sdk: openai.OpenAI, key: str) -> None:
    with pytest.raises(openai.AuthenticationError) as err:
        sdk.files.list()
    assert err.value.status_code == 401
    assert error_of(err.value) == {
        "message": f"Incorrect API key provided: {mask_key(key)}. You can find your API key at "
        "https://platform.openai.com/account/api-keys.",
        "type": "invalid_request_error",
        "param": None,
        "code": "invalid_api_key",
    }


def test_rotation_refuses_the_old_key_at_once(server: EmulatorServer) -> None:
    old, new = client(server, OLD), client(server, NEW)
    assert old.files.list().data == []
    _refused(new, NEW)

    view = admin(server, "keys", {"keys": [NEW]})
    assert view == {"mode": "listed", "keys": [mask_key(NEW)]}
    _refused(old, OLD)  # the very next request
    assert new.files.list().data == []
    assert mask_key(OLD) == "sk-proj-***********************0001"
    assert OLD not in httpx.get(f"{server.url}/_emulator/stats").text

    # rotation with an overlap: both work until the old one is removed
    admin(server, "keys", {"add": [OLD]})
    assert old.batches.list().data == [] and new.batches.list().data == []
    admin(server, "keys", {"remove": [OLD]})
    _refused(old, OLD)
    admin(server, "keys", {"keys": None})  # any key again
    assert client(server, "sk-anything-at-all-000").files.list().data == []


def test_revoking_every_key_then_restoring(server: EmulatorServer) -> None:
    sdk = client(server, OLD)
    batch = submit(sdk, requests(2))
    assert admin(server, "keys", {"revoked": True})["mode"] == "revoked"
    for call in (
        sdk.files.list,
        lambda: sdk.batches.retrieve(batch.id),
        lambda: sdk.files.content(batch.input_file_id),
        lambda: submit(sdk, requests(1)),
    ):
        with pytest.raises(openai.AuthenticationError) as err:
            call()
        assert error_of(err.value)["code"] == "invalid_api_key"
    admin(server, "keys", {"revoked": False})
    assert wait(sdk, batch.id).status == "completed"


def test_keys_switched_at_start() -> None:
    config = EmulatorConfig(port=0, api_key=OLD, api_keys=[NEW], keys_revoked=True)
    with EmulatorServer(config) as srv:
        _refused(client(srv, OLD), OLD)
        admin(srv, "keys", {"revoked": False})
        assert client(srv, OLD).files.list().data == client(srv, NEW).files.list().data == []
        _refused(client(srv, KEY), KEY)


def test_admin_rejects_a_bad_keys_body(server: EmulatorServer) -> None:
    for bad in ({"keys": "one"}, {"revoked": "yes"}, {"unknown": 1}, {"add": [""]}):
        assert httpx.post(f"{server.url}/_emulator/keys", json=bad).status_code == 422
    assert admin(server, "keys")["mode"] == "listed"


# --- 2. enqueued tokens ---------------------------------------------------------------------


def _token_error(model: str, limit: int) -> dict[str, object]:
    return {
        "code": "token_limit_exceeded",
        "message": f"Enqueued token limit reached for {model} in organization org-emulator. "
        f"Limit: {limit:,} enqueued tokens. Please try again once some in_progress batches have "
        "been completed.",
        "param": None,
        "line": None,
    }


def test_per_model_limit_fails_validation_and_peak_stays_under_it(server: EmulatorServer) -> None:
    sdk = client(server, OLD)
    four = requests(4)
    per_file = tokens(four)
    limit = int(per_file * 1.5)
    assert admin(server, "walls", {"enqueued_token_limits": {"gpt-4o-mini": limit}})[
        "enqueued_token_limits"
    ] == {"gpt-4o-mini": limit}

    first = submit(sdk, four)
    second = submit(sdk, requests(4, prefix="b"))  # created fine: the refusal shows on poll
    assert second.status == "validating"
    other_model = submit(sdk, requests(4, prefix="c", model="gpt-4o"))  # no limit for gpt-4o
    refused = wait(sdk, second.id)
    assert refused.status == "failed"
    assert [e.model_dump() for e in refused.errors.data] == [_token_error("gpt-4o-mini", limit)]
    assert refused.request_counts.total == 0
    assert spec_problems("Batch", server, f"/batches/{second.id}", OLD) == []
    assert wait(sdk, first.id).status == "completed"
    assert wait(sdk, other_model.id).status == "completed"

    # once the first batch has finished, the same file fits again
    again = submit(sdk, requests(4, prefix="d"))
    assert wait(sdk, again.id).status == "completed"
    enqueued = admin(server, "stats?requests=false")["enqueued_tokens"]
    assert enqueued["gpt-4o-mini"] == {"current": 0, "peak": per_file, "limit": limit}
    assert enqueued["gpt-4o"] == {"current": 0, "peak": per_file, "limit": None}


def test_default_limit_switched_at_run_time_applies_to_every_model(server: EmulatorServer) -> None:
    sdk = client(server, OLD)
    admin(server, "walls", {"enqueued_token_limit": 5})
    refused = wait(sdk, submit(sdk, requests(2, model="gpt-4.1-mini")).id)  # too big even alone
    assert [e.model_dump() for e in refused.errors.data] == [_token_error("gpt-4.1-mini", 5)]
    admin(server, "walls", {"enqueued_token_limit": None})
    assert wait(sdk, submit(sdk, requests(2, model="gpt-4.1-mini")).id).status == "completed"


def test_many_batches_never_enqueue_more_than_the_limit() -> None:
    lines = requests(3)
    limit = tokens(lines) * 3  # room for three batches at a time
    config = EmulatorConfig(port=0, stage_s=0.3, enqueued_token_limits={"gpt-4o-mini": limit})
    with EmulatorServer(config) as srv:
        sdk = client(srv)
        created = [submit(sdk, requests(3, prefix=f"r{i}")) for i in range(8)]
        ended = [wait(sdk, b.id) for b in created]
        statuses = [b.status for b in ended]
        assert statuses.count("completed") >= 3 and "failed" in statuses
        for batch in ended:
            if batch.status == "failed":
                assert batch.errors.data[0].code == "token_limit_exceeded"
        stats = admin(srv, "stats?requests=false")
        assert 0 < stats["enqueued_tokens"]["gpt-4o-mini"]["peak"] <= limit
        assert stats["counters"]["batches_token_limited"] == statuses.count("failed")


def test_cancelled_batch_frees_its_tokens(server: EmulatorServer) -> None:
    sdk = client(server, OLD)
    lines = requests(4)
    admin(server, "walls", {"enqueued_token_limits": {"gpt-4o-mini": tokens(lines)}})
    first = submit(sdk, lines)
    sdk.batches.cancel(first.id)
    assert wait(sdk, submit(sdk, requests(4, prefix="x")).id).status == "completed"


# --- 3. per-line validation -----------------------------------------------------------------


def test_invalid_lines_fault_reports_each_line(server: EmulatorServer) -> None:
    sdk = client(server, OLD)
    admin(server, "faults", {"invalid_lines": ["req-2", 5]})
    failed = wait(sdk, submit(sdk, requests(6)).id)
    assert failed.status == "failed"
    errors = [e.model_dump() for e in failed.errors.data]
    assert [(e["code"], e["line"], e["param"]) for e in errors] == [
        ("invalid_request", 3, "body"),
        ("invalid_request", 5, "body"),
    ]
    assert "req-2" in errors[0]["message"]
    assert spec_problems("Batch", server, f"/batches/{failed.id}", OLD) == []

    admin(server, "faults", {"invalid_lines": [], "invalid_line_rate": 1.0})
    assert len(wait(sdk, submit(sdk, requests(3)).id).errors.data) == 3
    admin(server, "faults", {"invalid_line_rate": 0.0})
    assert wait(sdk, submit(sdk, requests(6)).id).status == "completed"
    stats = admin(server, "stats?requests=false")
    assert stats["counters"]["fault_invalid_lines"] == 5


def test_real_line_validation_through_the_sdk(server: EmulatorServer) -> None:
    sdk = client(server, OLD)
    bad = [
        line("a"),
        {**line("b"), "url": "/v1/embeddings"},  # url does not match the batch endpoint
        line("c", model="gpt-4o"),  # a second model in one file
        line("a"),  # duplicate custom_id
        {"custom_id": "e", "method": "POST", "url": "/v1/chat/completions", "body": {"messages": []}},
        {"custom_id": "f", "method": "POST", "url": "/v1/chat/completions"},
    ]
    failed = wait(sdk, submit(sdk, bad).id)
    got = [(e.code, e.line, e.param) for e in failed.errors.data]
    assert got == [
        ("invalid_url", 2, "url"),
        ("mismatched_model", 3, "body.model"),
        ("duplicate_custom_id", 4, "custom_id"),
        ("missing_required_parameter", 5, "body"),
        ("missing_required_parameter", 6, "body"),
    ]
    assert all(e.message for e in failed.errors.data)


def test_invalid_lines_switched_at_start(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BATCHLINE_EMULATOR_INVALID_LINES", '["req-0", 2]')
    monkeypatch.setenv("BATCHLINE_EMULATOR_ENQUEUED_TOKEN_LIMITS", '{"gpt-4o": 7}')
    config = EmulatorConfig(port=0, stage_s=0.1)
    assert config.invalid_lines == ["req-0", 2]
    assert config.token_limit("gpt-4o") == 7 and config.token_limit("gpt-4o-mini") is None
    with EmulatorServer(config) as srv:
        failed = wait(client(srv), submit(client(srv), requests(3)).id)
        assert [e.line for e in failed.errors.data] == [1, 2]
