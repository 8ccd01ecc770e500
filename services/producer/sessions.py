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
    """sha256 over ``order US role US content RS`` per message (request ids derive from it, so it must
    never change)."""
    return _facts(event.ordered_messages())[0]


def _facts(ordered: list[tuple[int, str, str]]) -> tuple[str, int, int, int]:
    """(content hash, conversation chars, content chars, content UTF-8 bytes) in one pass.

    One string encoded once: the hash is the same as over the pieces encoded one by one (UTF-8 with
    surrogatepass encodes each code point on its own), at a fraction of the calls; the producer asks
    for all four of every event it stores."""
    text = "".join([f"{order}\x1f{role}\x1f{content}\x1e" for order, role, content in ordered])
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
    chars = content_chars = utf8 = 0
    for _, role, content in ordered:
        n = len(content)
        chars += len(role) + 3 + n
        content_chars += n
        utf8 += n if content.isascii() else len(content.encode("utf-8", "surrogatepass"))
    return digest, chars, content_chars, utf8


HashOf = Callable[[SessionEvent], str]

#: (order, role, content) of each message, sorted: ``SessionEvent.ordered_messages()``.
Ordered = list[tuple[int, str, str]]
#: What ``_facts`` returns.
Facts = tuple[str, int, int, int]


class HashMemo:
    """What the handler derives from each event of one batch, computed once: several steps ask.

    The ordered messages, ``content_hash`` and the size estimate of ``approx_line_bytes``. Keyed by
    object identity and holding the event, so an id is never reused while memoized; one memo lives
    for one handler call.
    """

    def __init__(self) -> None:
        self._known: dict[int, tuple[SessionEvent, Ordered, Facts]] = {}

    def _get(self, event: SessionEvent) -> tuple[Ordered, Facts]:
        known = self._known.get(id(event))
        if known is None or known[0] is not event:
            ordered = event.ordered_messages()
            known = self._known[id(event)] = (event, ordered, _facts(ordered))
        return known[1], known[2]

    def __call__(self, event: SessionEvent) -> str:
        return self._get(event)[1][0]

    def ordered(self, event: SessionEvent) -> Ordered:
        """``event.ordered_messages()``."""
        return self._get(event)[0]

    def approx_bytes(self, event: SessionEvent, max_conversation_chars: int) -> int:
        """``approx_line_bytes(event, max_conversation_chars)``."""
        _, chars, content_chars, utf8 = self._get(event)[1]
        return _approx(chars, content_chars, utf8, max_conversation_chars)


def approx_line_bytes(event: SessionEvent, max_conversation_chars: int) -> int:
    """Upper estimate of the JSONL line: conversation capped by the truncation rule, UTF-8, plus overhead."""
    _, chars, content_chars, utf8 = _facts(event.ordered_messages())
    return _approx(chars, content_chars, utf8, max_conversation_chars)


def _approx(chars: int, content_chars: int, utf8: int, max_conversation_chars: int) -> int:
    ratio = utf8 / max(1, content_chars)
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
    size_of: Callable[[SessionEvent, int], int] = approx_line_bytes,
) -> list[PlannedRequest]:
    """One request per (processing type, model) of each event; duplicates within the batch collapsed.

    The revision is the conversation's content hash: a replayed event maps to the same id (the insert
    is then a no-op), and a re-analysis of unchanged content maps to the same id too.
    """
    planned: dict[tuple[str, str, str, str], PlannedRequest] = {}
    for event in events:
        revision = hash_of(event)
        size = size_of(event, max_conversation_chars)
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
