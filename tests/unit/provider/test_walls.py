"""The walls' rules without a server: key masking and rotation, expiry parameters, the storage
check, the enqueued-token count, injected invalid lines and the configuration read from env."""

from __future__ import annotations

import random
from typing import Any

import orjson
import pytest

from emulator.api_errors import ApiError
from emulator.config import EmulatorConfig
from emulator.core import Emulator
from emulator.validation import reject_lines, validate_input
from emulator.walls import KeyRing, expiry_seconds, mask_key, storage_error

EP = "/v1/chat/completions"


def test_mask_key_like_the_real_401() -> None:
    key = "sk-PMafP" + "x" * 39 + "E873"
    assert mask_key(key) == "sk-PMafP" + "*" * 39 + "E873"
    assert mask_key("sk-short") == "********"


def test_key_ring_rotation_and_revocation() -> None:
    ring = KeyRing(None)
    assert ring.check("anything") is None
    ring.update({"keys": ["sk-new-0123456789abcd"]})
    refused = ring.check("sk-old-0123456789abcd")
    assert refused is not None and refused.status == 401
    assert refused.body["error"]["code"] == "invalid_api_key"
    assert "sk-old-0123456789abcd" not in refused.body["error"]["message"]
    assert ring.check("sk-new-0123456789abcd") is None
    ring.update({"revoked": True})
    assert ring.check("sk-new-0123456789abcd") is not None
    assert ring.view() == {"mode": "revoked", "keys": ["sk-new-0*********abcd"]}
    for bad in ({"keys": [1]}, {"revoked": 1}, {"other": []}):
        with pytest.raises(ValueError, match=r"must|unknown"):
            ring.update(bad)


@pytest.mark.parametrize(
    ("anchor", "seconds", "code"),
    [
        (None, 3600, "missing_required_parameter"),
        ("created_at", None, "missing_required_parameter"),
        ("created_at", "soon", "invalid_type"),
        ("created_at", True, "invalid_type"),
        ("created_at", 3600.5, "invalid_type"),
        ("created_at", 3599, "integer_below_min_value"),
        ("created_at", 2_592_001, "integer_above_max_value"),
        ("expires_at", 3600, "invalid_value"),
    ],
)
def test_expiry_parameters(anchor: Any, seconds: Any, code: str) -> None:
    with pytest.raises(ApiError) as err:
        expiry_seconds(anchor, seconds, "expires_after")
    assert err.value.status == 400
    assert err.value.body["error"]["code"] == code


def test_expiry_accepts_the_form_text_and_the_range_ends() -> None:
    assert expiry_seconds("created_at", "3600", "expires_after") == 3600
    assert expiry_seconds("created_at", 2_592_000, "expires_after") == 2_592_000


def test_storage_check() -> None:
    assert storage_error(files=9, used=90, size=10, max_files=10, max_bytes=100) is None
    by_count = storage_error(files=10, used=0, size=1, max_files=10, max_bytes=None)
    by_bytes = storage_error(files=0, used=95, size=10, max_files=None, max_bytes=100)
    for err in (by_count, by_bytes):
        assert err is not None and err.status == 400
        assert err.body["error"]["code"] == "storage_limit_exceeded"


def _file(n: int) -> bytes:
    lines = [
        {"custom_id": f"r{i}", "method": "POST", "url": EP, "body": {"model": "m", "messages": []}}
        for i in range(n)
    ]
    return b"\n".join(orjson.dumps(x) for x in lines) + b"\n"


def test_reject_lines_by_id_number_and_seeded_rate() -> None:
    parsed = validate_input(_file(5), endpoint=EP, max_requests=10, max_bytes=10**6)
    assert reject_lines(parsed, lines=["r0", 4, 99], rate=0.0, rng=random.Random(1)) == 2
    assert [(e["code"], e["line"], e["param"]) for e in parsed.errors] == [
        ("invalid_request", 1, "body"),
        ("invalid_request", 4, "body"),
    ]

    def drawn(seed: int) -> list[int | None]:
        out = validate_input(_file(50), endpoint=EP, max_requests=100, max_bytes=10**6)
        reject_lines(out, lines=[], rate=0.3, rng=random.Random(seed))
        return [e["line"] for e in out.errors]

    assert drawn(7) == drawn(7) and 5 < len(drawn(7)) < 30


def test_walls_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BATCHLINE_EMULATOR_API_KEYS", '["sk-a-0123456789abcdef", "sk-b-0123456789abcdef"]')
    monkeypatch.setenv("BATCHLINE_EMULATOR_ENQUEUED_TOKEN_LIMITS", '{"gpt-4o": 90000}')
    monkeypatch.setenv("BATCHLINE_EMULATOR_ENQUEUED_TOKEN_LIMIT", "2000000")
    monkeypatch.setenv("BATCHLINE_EMULATOR_OUTPUT_FILE_TTL_S", "30")
    monkeypatch.setenv("BATCHLINE_EMULATOR_MAX_FILES", "500")
    monkeypatch.setenv("BATCHLINE_EMULATOR_MAX_STORAGE_BYTES", "1000000")
    config = EmulatorConfig()
    assert config.keys() == ["sk-a-0123456789abcdef", "sk-b-0123456789abcdef"]
    walls = config.walls()
    assert (walls.token_limit("gpt-4o"), walls.token_limit("gpt-4o-mini")) == (90_000, 2_000_000)
    assert (walls.output_file_ttl_s, walls.max_files, walls.max_storage_bytes) == (30, 500, 1_000_000)


def test_walls_off_by_default() -> None:
    walls = EmulatorConfig().walls()
    assert walls.model_dump() == {
        "enqueued_token_limit": None,
        "enqueued_token_limits": {},
        "output_file_ttl_s": None,
        "max_files": None,
        "max_storage_bytes": None,
        "anthropic_queue_limit": None,
        "anthropic_queue_limits": {},
        # Anthropic's limits that every account has, at their documented values (29 days, 256 MB).
        "anthropic_results_ttl_s": 2_505_600.0,
        "anthropic_max_batch_bytes": 268_435_456,
    }
    assert EmulatorConfig().keys() is None


def test_reset_restores_the_configured_walls_and_keys() -> None:
    emu = Emulator(EmulatorConfig(max_files=3, api_key="sk-configured-0123456789"))
    emu.update_walls({"max_files": 1, "enqueued_token_limit": 10})
    emu.update_keys({"revoked": True})
    emu.reset()
    assert emu.walls.max_files == 3 and emu.walls.enqueued_token_limit is None
    assert emu.keys.check("sk-configured-0123456789") is None


def test_enqueued_count_ignores_refused_and_ended_batches() -> None:
    now = [1_000.0]
    emu = Emulator(EmulatorConfig(stage_s=1.0, enqueued_token_limit=10_000), clock=lambda: now[0])

    def run(n: int) -> dict[str, Any]:
        up = emu.upload(filename="a.jsonl", purpose="batch", chunks=[_file(n)])
        return emu.create_batch({"input_file_id": up["id"], "endpoint": EP, "completion_window": "24h"})

    run(3)
    per_file = emu.enqueued()["m"]
    emu.update_walls({"enqueued_token_limit": per_file})
    run(1)  # refused: never counted
    assert emu.enqueued() == {"m": per_file}
    now[0] += 2.5  # finalizing: still enqueued
    assert emu.enqueued() == {"m": per_file}
    now[0] += 1.0  # completed
    assert emu.enqueued() == {}
    assert emu.ledger.peaks == {"m": per_file}
