"""``batchline asyncapi``: the AsyncAPI 3.0 contract of every topic, generated from the event models.

The document is derived, never written by hand: topics from ``shared.settings.Topics`` (each with its
``.dlq`` twin), payloads from the pydantic models of ``shared.events`` (the JSON schema pydantic
validates with, so the contract is what consumers actually accept), receivers from
``services.registry`` and senders from :data:`SENDERS`. ``docs/asyncapi.yaml`` is its checked-in
output; a test regenerates it and fails when the two differ, so a changed event model is a changed
contract in the same commit.

YAML is written by the small emitter below (block style, strings quoted whenever they could read as
anything else), because the core installs no YAML library; the test reads it back with PyYAML.
"""

from __future__ import annotations

import json
import re
from typing import Any

import typer
from pydantic import BaseModel

from services.registry import SERVICES
from shared.events import BatchCompleted, BatchCreated, DeadLetter, RequestPending, SessionEvent, _Event
from shared.settings import Settings, Topics

ASYNCAPI_VERSION = "3.0.0"
KAFKA_BINDING_VERSION = "0.5.0"

#: The event model carried by each topic (a ``Topics`` field name); a new topic without one fails a test.
EVENTS: dict[str, type[_Event]] = {
    "session_events": SessionEvent,
    "request_pending": RequestPending,
    "batch_created": BatchCreated,
    "batch_completed": BatchCompleted,
}
#: Who writes each topic (through the outbox); ``upstream`` is the systems batchline serves,
#: ``operator`` the re-drive commands (their outbox rows are published by a service's relay).
SENDERS: dict[str, tuple[str, ...]] = {
    "session_events": ("upstream",),
    "request_pending": ("producer", "ingester", "operator"),
    "batch_created": ("submitter",),
    "batch_completed": ("poller", "submitter"),
}
SENDER_NAMES = {
    "upstream": "upstream systems (or `batchline publish`)",
    "operator": "`batchline requests retry` and `batchline reprocess`",
}
TOPIC_DESCRIPTIONS: dict[str, str] = {
    "session_events": "Conversations from upstream systems: the producer stores them and creates requests.",
    "request_pending": "A request waits for a batch (new or retried): wakes the submitter.",
    "batch_created": "A provider batch was created: wakes the poller, which schedules its first poll.",
    "batch_completed": "A batch reached a terminal status: wakes the ingester, which resolves its requests.",
}


def _camel(name: str) -> str:
    head, *rest = re.split(r"[._-]", name)
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def _schemas(models: list[type[BaseModel]]) -> dict[str, Any]:
    """Each model's validation schema, with nested definitions hoisted into ``components/schemas``."""
    out: dict[str, Any] = {}
    for model in models:
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        out.update(schema.pop("$defs", {}))
        out[model.__name__] = schema
    return dict(sorted(out.items()))


def _message(model: type[BaseModel], summary: str) -> dict[str, Any]:
    version = model.model_fields["schema_version"].default
    reads = sorted(getattr(model, "READS", {version}))
    return {
        "name": model.__name__,
        "title": model.__name__,
        "summary": summary,
        "description": (
            f"JSON, keyed by company id. Written with schema_version {version}; consumers read "
            f"{', '.join(str(v) for v in reads)}. Unknown fields are ignored."
        ),
        "contentType": "application/json",
        "payload": {"$ref": f"#/components/schemas/{model.__name__}"},
        "bindings": {
            "kafka": {
                "key": {"type": "string", "description": "the company id (its events share a partition)"},
                "bindingVersion": KAFKA_BINDING_VERSION,
            }
        },
    }


def build_document() -> dict[str, Any]:
    """The AsyncAPI 3.0 document as plain data (topic names without ``BATCHLINE_TOPIC_PREFIX``; the
    environment is not read, so every machine generates the same document)."""
    topics: Topics = Settings.model_construct(topic_prefix="").topics
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {
        "DeadLetter": _message(DeadLetter, "A record its consumer could not process, with the reason.")
    }
    receivers = {attr: name for name, spec in SERVICES.items() for attr in spec.consumes}
    for attr in Topics.model_fields:
        model = EVENTS[attr]
        address = str(getattr(topics, attr))
        channel, dlq = _camel(address), _camel(Topics.dlq(address))
        event_type = str(model.model_fields["type"].default)
        message_key = _camel(event_type)
        messages[model.__name__] = _message(model, TOPIC_DESCRIPTIONS[attr])
        for name, addr, msg_key, ref, text in (
            (channel, address, message_key, model.__name__, TOPIC_DESCRIPTIONS[attr]),
            (dlq, Topics.dlq(address), "deadLetter", "DeadLetter",
             f"Dead letters of {address}: records its consumer could not decode or handle."),
        ):  # fmt: skip
            channels[name] = {
                "address": addr,
                "description": text,
                "messages": {msg_key: {"$ref": f"#/components/messages/{ref}"}},
                "bindings": {"kafka": {"topic": addr, "bindingVersion": KAFKA_BINDING_VERSION}},
            }
        consumer = receivers[attr]
        operations[f"{consumer}Receives{channel[:1].upper()}{channel[1:]}"] = {
            "action": "receive",
            "channel": {"$ref": f"#/channels/{channel}"},
            "summary": f"{consumer} (consumer group batchline-{consumer}) consumes {address}.",
            "messages": [{"$ref": f"#/channels/{channel}/messages/{message_key}"}],
        }
        operations[f"{consumer}DeadLetters{channel[:1].upper()}{channel[1:]}"] = {
            "action": "send",
            "channel": {"$ref": f"#/channels/{dlq}"},
            "summary": f"{consumer} writes what it cannot process from {address} to {Topics.dlq(address)}.",
            "messages": [{"$ref": f"#/channels/{dlq}/messages/deadLetter"}],
        }
        for sender in SENDERS[attr]:
            who = SENDER_NAMES.get(sender, f"the {sender}")
            operations[f"{sender}Sends{channel[:1].upper()}{channel[1:]}"] = {
                "action": "send",
                "channel": {"$ref": f"#/channels/{channel}"},
                "summary": f"{event_type} events written to {address} by {who}.",
                "messages": [{"$ref": f"#/channels/{channel}/messages/{message_key}"}],
            }
    return {
        "asyncapi": ASYNCAPI_VERSION,
        "info": {
            "title": "batchline",
            "version": "1.0.0",
            "description": (
                "Topics of the batchline pipeline, generated by `batchline asyncapi` from shared/events.py. "
                "Every topic name is prefixed with BATCHLINE_TOPIC_PREFIX (empty by default). Events wake a "
                "stage up and carry ids; the database is the truth."
            ),
        },
        "defaultContentType": "application/json",
        "channels": channels,
        "operations": dict(sorted(operations.items())),
        "components": {
            "messages": dict(sorted(messages.items())),
            "schemas": _schemas([*EVENTS.values(), DeadLetter]),
        },
    }


_PLAIN = re.compile(r"^[A-Za-z][A-Za-z0-9_./-]*$")
_RESERVED = {"true", "false", "null", "yes", "no", "on", "off", "y", "n", "~"}


def _scalar(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return json.dumps(value)
    text = str(value)
    if _PLAIN.match(text) and text.lower() not in _RESERVED:
        return text
    return json.dumps(text, ensure_ascii=False)


def to_yaml(value: Any, indent: int = 0) -> str:
    """Block-style YAML of JSON-like data (dicts, lists, strings, numbers, booleans, null)."""
    pad = " " * indent
    lines: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            head = f"{pad}{_scalar(key)}:"
            if isinstance(item, dict | list) and item:
                lines.append(head)
                lines.append(to_yaml(item, indent + 2))
            else:
                lines.append(f"{head} {_empty(item)}")
    elif isinstance(value, list):
        for item in value:
            if isinstance(item, dict | list) and item:
                nested = to_yaml(item, indent + 2)
                lines.append(f"{pad}- {nested[indent + 2 :]}")
            else:
                lines.append(f"{pad}- {_empty(item)}")
    else:
        lines.append(pad + _scalar(value))
    return "\n".join(lines)


def _empty(item: Any) -> str:
    if isinstance(item, dict):
        return "{}"
    if isinstance(item, list):
        return "[]"
    return _scalar(item)


def render() -> str:
    return to_yaml(build_document()) + "\n"


def register_asyncapi(app: typer.Typer) -> None:
    @app.command("asyncapi")
    def asyncapi() -> None:
        """Print the AsyncAPI 3.0 document of every topic and its DLQ (`> docs/asyncapi.yaml`)."""
        typer.echo(render(), nl=False)
