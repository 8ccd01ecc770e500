"""``docs/asyncapi.yaml``: up to date with the event models, valid AsyncAPI 3.0, true to the wire.

- stale: the checked-in file is byte for byte what ``batchline asyncapi`` prints now;
- valid: it passes the official AsyncAPI 3.0.0 JSON Schema (vendored, see asyncapi/ATTRIBUTION.md),
  and a copy broken on purpose does not (the validator is really looking);
- true: real events, serialised as the services write them, validate against the payload schemas
  the document gives for their channel.
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from cli.asyncapi import EVENTS, build_document, render
from services.registry import SERVICES
from shared.events import BatchCompleted, BatchCreated, DeadLetter, RequestPending, SessionEvent
from shared.settings import Topics

ROOT = Path(__file__).resolve().parents[2]
DOCUMENT = ROOT / "docs" / "asyncapi.yaml"
SCHEMA = Path(__file__).parent / "asyncapi" / "asyncapi-3.0.0.json"


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(DOCUMENT.read_text(encoding="utf-8"))
    return loaded


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft7Validator:
    return jsonschema.Draft7Validator(json.loads(SCHEMA.read_text(encoding="utf-8")))


def test_the_checked_in_document_is_what_the_command_prints() -> None:
    printed = subprocess.run(
        [sys.executable, "-m", "cli.main", "asyncapi"],
        check=False, capture_output=True, text=True, timeout=60, cwd=ROOT,
    )
    assert printed.returncode == 0, printed.stderr
    assert printed.stdout == render()
    assert DOCUMENT.read_text(encoding="utf-8") == printed.stdout, (
        "docs/asyncapi.yaml is stale: run `batchline asyncapi > docs/asyncapi.yaml` and commit it"
    )


def test_the_yaml_reads_back_as_the_generated_document(document: dict[str, Any]) -> None:
    assert document == build_document()


def test_the_document_is_valid_asyncapi_3(
    document: dict[str, Any], validator: jsonschema.Draft7Validator
) -> None:
    errors = [f"{list(e.absolute_path)}: {e.message[:300]}" for e in validator.iter_errors(document)]
    assert errors == []
    assert document["asyncapi"] == "3.0.0"


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("operations", "producerReceivesSessionEvents", "action"), "consume"),
        (("channels", "sessionEvents", "address"), 42),
        (("components", "messages", "DeadLetter", "contentType"), ["application/json"]),
    ],
)
def test_a_broken_copy_fails_the_schema(
    document: dict[str, Any], validator: jsonschema.Draft7Validator, path: tuple[str, ...], value: Any
) -> None:
    broken = copy.deepcopy(document)
    target = broken
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    assert list(validator.iter_errors(broken)), f"{path} = {value!r} passed the AsyncAPI schema"


def test_every_topic_has_its_channel_its_dlq_and_its_consumer(document: dict[str, Any]) -> None:
    addresses = {c["address"] for c in document["channels"].values()}
    names = ["session.events", "request.pending", "batch.created", "batch.completed"]
    assert addresses == {*names, *(f"{n}.dlq" for n in names)}
    assert set(EVENTS) == set(Topics.model_fields)
    receives = {
        (op["channel"]["$ref"].rsplit("/", 1)[1], name.split("Receives")[0])
        for name, op in document["operations"].items()
        if op["action"] == "receive"
    }
    assert receives == {
        ("sessionEvents", "producer"), ("requestPending", "submitter"),
        ("batchCreated", "poller"), ("batchCompleted", "ingester"),
    }  # fmt: skip
    assert {spec.name for spec in SERVICES.values()} == {consumer for _, consumer in receives}
    dlq_writes = [op for op in document["operations"].values() if op["channel"]["$ref"].endswith("Dlq")]
    assert len(dlq_writes) == 4 and all(op["action"] == "send" for op in dlq_writes)


def _payload_validator(document: dict[str, Any], channel: str) -> jsonschema.Draft7Validator:
    (ref,) = [m["$ref"] for m in document["channels"][channel]["messages"].values()]
    message = document["components"]["messages"][ref.rsplit("/", 1)[1]]
    # the payload's $refs point into #/components/schemas: validate inside the whole document
    schema = {**message["payload"], "components": document["components"]}
    return jsonschema.Draft7Validator(schema, format_checker=jsonschema.FormatChecker())


def test_events_as_the_services_write_them_match_their_channel(document: dict[str, Any]) -> None:
    batch = "5a0c6d2e-1f3b-4c84-9a55-2b7f0e6c9d11"
    written = {
        "sessionEvents": SessionEvent.model_validate({
            "event_id": "e-1", "company_id": "acme", "session_id": "s-1",
            "started_at": "2026-05-01T10:00:00Z", "messages": [{"role": "user", "content": "hi", "order": 0}],
        }),
        "requestPending": RequestPending(
            event_id="r:1:new", request_id="r", company_id="acme", session_id="s-1",
            processing_type="full_analysis", model="gpt-4o-mini", attempt=1, approx_bytes=1200,
        ),
        "batchCreated": BatchCreated(event_id="b:created", batch_id=batch, company_id="acme"),
        "batchCompleted": BatchCompleted(event_id="b:completed", batch_id=batch, company_id="acme"),
        "sessionEventsDlq": DeadLetter(
            topic="session.events", partition=0, offset=7, key="YWNtZQ==", value="bm90IGpzb24=",
            error="not JSON", consumer_group="batchline-producer", failed_at="2026-05-01T10:00:00Z",
        ),
    }  # fmt: skip
    for channel, event in written.items():
        wire = json.loads(event.to_bytes())
        errors = [e.message for e in _payload_validator(document, channel).iter_errors(wire)]
        assert errors == [], (channel, wire)
    # and a record the consumer dead-letters is refused by the contract too
    missing = json.loads(written["batchCreated"].to_bytes())
    del missing["batch_id"]
    assert list(_payload_validator(document, "batchCreated").iter_errors(missing))
