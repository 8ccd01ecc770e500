"""Pure decisions of the producer: what a batch of session events means, before any SQL runs.

Kept free of I/O so the idempotency rules (which requests exist for which event) are unit-tested.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

import orjson

from shared.analysis import ProcessingType
from shared.events import SessionEvent

D = TypeVar("D")

#: A session's identity: (company_id, session_id). Session ids are each company's own, so two
#: companies may use the same one; nothing is keyed by the session id alone.
SessionKey = tuple[str, str]

#: Namespace of request ids: uuid5 of the JSON array [company, session, type, model, revision] is
#: stable across replays. Requests created before sessions were tenant-scoped keep their ids (uuid5
#: of "session|type|model|revision" in namespace 6f1c7f38-2f2e-4bb4-9d7b-8a3c3f4f9b11): an id is only
#: an identity, and the natural key (company, session, type, model, revision) is what dedups a replay.
REQUEST_NAMESPACE = uuid.UUID("c9d4c38d-82dc-4ed3-a31f-796428c458e2")

#: Bytes a JSONL line adds around the conversation (system prompt, response_format, envelope).
LINE_OVERHEAD_BYTES = 3_000


def content_hash(event: SessionEvent) -> str:
    """sha256 over ``order US role US content RS`` per message (one buffer, the same digest as fed
    piece by piece: request ids derive from it, so it must never change)."""
    parts: list[bytes] = []
    for order, role, content in event.ordered_messages():
        parts.append(f"{order}\x1f{role}\x1f".encode())
        parts.append(content.encode("utf-8", "surrogatepass"))
        parts.append(b"\x1e")
    return hashlib.sha256(b"".join(parts)).hexdigest()


HashOf = Callable[[SessionEvent], str]


class HashMemo:
    """``content_hash`` of each event of one batch, computed once: three steps of the handler ask.

    Keyed by object identity and holding the event, so an id is never reused while memoized; one
    memo lives for one handler call.
    """

    def __init__(self) -> None:
        self._known: dict[int, tuple[SessionEvent, str]] = {}

    def __call__(self, event: SessionEvent) -> str:
        known = self._known.get(id(event))
        if known is None or known[0] is not event:
            known = self._known[id(event)] = (event, content_hash(event))
        return known[1]


def approx_line_bytes(event: SessionEvent, max_conversation_chars: int) -> int:
    """Upper estimate of the JSONL line: conversation capped by the truncation rule, UTF-8, plus overhead."""
    ordered = event.ordered_messages()
    chars = sum(len(role) + 2 + len(content) + 1 for _, role, content in ordered)
    utf8 = sum(len(content.encode("utf-8", "surrogatepass")) for _, _, content in ordered)
    ratio = utf8 / max(1, sum(len(c) for _, _, c in ordered))
    return int(min(chars, max_conversation_chars) * max(ratio, 1.0) * 1.1) + LINE_OVERHEAD_BYTES


def request_id(
    company_id: str, session_id: str, ptype: ProcessingType, model: str, revision: str
) -> uuid.UUID:
    """The id of a session's analysis; a JSON array, so no company and session pair can spell another's."""
    name = orjson.dumps([company_id, session_id, ptype.value, model, revision]).decode()
    return uuid.uuid5(REQUEST_NAMESPACE, name)


@dataclass(frozen=True, slots=True)
class PlannedRequest:
    id: uuid.UUID
    session_id: str
    company_id: str
    processing_type: ProcessingType
    model: str
    revision: str
    approx_bytes: int
    #: True: create even if an analysis of this (session, type, model) exists, when content is new.
    reanalyze: bool


def plan_requests(
    events: Sequence[SessionEvent],
    *,
    default_model: str,
    max_conversation_chars: int,
    hash_of: HashOf = content_hash,
) -> list[PlannedRequest]:
    """One request per (processing type, model) of each event; duplicates within the batch collapsed.

    The revision is the conversation's content hash: a replayed event maps to the same id (the insert
    is then a no-op), and a re-analysis of unchanged content maps to the same id too.
    """
    planned: dict[tuple[str, str, str, str], PlannedRequest] = {}
    for event in events:
        revision = hash_of(event)
        size = approx_line_bytes(event, max_conversation_chars)
        for ptype in event.processing_types:
            for model in event.models or [default_model]:
                key = (event.company_id, event.session_id, ptype.value, model)
                if key in planned and not event.reanalyze:
                    continue  # first analysis of a session in this batch wins unless re-analysis is asked
                planned[key] = PlannedRequest(
                    id=request_id(event.company_id, event.session_id, ptype, model, revision),
                    session_id=event.session_id,
                    company_id=event.company_id,
                    processing_type=ptype,
                    model=model,
                    revision=revision,
                    approx_bytes=size,
                    reanalyze=event.reanalyze,
                )
    return list(planned.values())


def session_key(event: SessionEvent) -> SessionKey:
    return (event.company_id, event.session_id)


def latest_per_session(events: Sequence[SessionEvent]) -> dict[SessionKey, SessionEvent]:
    """The event whose conversation is stored for each session: conversations only grow, so the one
    with the most messages wins (ties: the later event), and a late, shorter duplicate cannot shrink it."""
    chosen: dict[SessionKey, SessionEvent] = {}
    for event in events:
        current = chosen.get(session_key(event))
        if current is None or len(event.messages) >= len(current.messages):
            chosen[session_key(event)] = event
    return chosen


def delivery_rounds(
    deliveries: Sequence[D],
    fresh_event_ids: set[str],
    event_id: Callable[[D], str],
    payload: Callable[[D], object],
) -> list[list[D]]:
    """Deliveries of fresh event ids in rounds: round k holds the k-th distinct payload of each id.

    Identical copies of an event in one batch are one delivery (a redelivery, applied once). A
    different payload under the same id is an operator's fix of a dead-lettered event (the README
    says to re-publish it with its id): it must get its own turn in case the earlier payload, now in
    the same batch (e.g. after a crash before the commit), is refused again. The handler applies the
    rounds in order and skips, in later rounds, the ids an earlier round accepted. (Since sessions
    are tenant-scoped the handler refuses no decodable event, so today a later round only finds ids
    already accepted: the first payload of an id wins, as a later duplicate of an accepted id does.)
    """
    rounds: list[list[D]] = []
    seen: dict[str, list[object]] = {}
    for d in deliveries:
        eid = event_id(d)
        if eid not in fresh_event_ids:
            continue
        payloads = seen.setdefault(eid, [])
        value = payload(d)
        if value in payloads:
            continue
        payloads.append(value)
        if len(rounds) < len(payloads):
            rounds.append([])
        rounds[len(payloads) - 1].append(d)
    return rounds


def conversations_to_store(
    accepted: Sequence[SessionEvent],
    stored: Mapping[SessionKey, tuple[int, str]],
    hash_of: HashOf = content_hash,
) -> list[SessionEvent]:
    """New sessions and changed conversations; ``stored`` maps (company, session) -> (message count, hash)."""
    out = []
    for key, event in latest_per_session(accepted).items():
        before = stored.get(key)
        if before is not None and len(event.messages) < before[0]:
            continue  # an older, shorter copy of the conversation: keep what we have
        if before is None or before[1] != hash_of(event):
            out.append(event)
    return out
