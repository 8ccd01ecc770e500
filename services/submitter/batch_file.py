"""Writing a batch's JSONL input file, streamed from the database to disk.

One server-side cursor walks the batch's requests, each with its messages aggregated in order by the
server; each request becomes one line written as soon as it is read, so memory holds one
conversation at a time (and the cursor's fetch of ``FETCH_ROWS`` requests). The
byte limit is enforced on the real encoded size: requests that would push the file over it are
returned as overflow (the caller gives them back to pending) instead of breaking the file.

:func:`write_lines` is the rule, fed by any stream of rows; :func:`write_batch_file` feeds it from the
database, the in-memory store of the orchestration tests from a list, so both build the same file.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, NamedTuple

import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.analysis import ProcessingType, format_conversation
from shared.lifecycle import RequestStatus
from shared.provider.lines import LineShape, default_shape

#: Only requests still claimed by this batch go into its file (a released one is no longer its own).
CLAIMED = RequestStatus.BATCHING_IN_PROGRESS.value
_ROWS = text(
    """
    SELECT r.id, r.processing_type, r.model,
           array_agg(m.role ORDER BY m."order") FILTER (WHERE m.role IS NOT NULL) AS roles,
           array_agg(coalesce(m.content, '') ORDER BY m."order") FILTER (WHERE m.role IS NOT NULL) AS contents
    FROM ai_processing_requests r
    JOIN ai_batch_items i ON i.request_id = r.id AND i.batch_id = :bid
    LEFT JOIN session_messages m ON m.company_id = r.company_id AND m.session_id = r.session_id
    WHERE r.batch_id = :bid AND r.status = :claimed
    GROUP BY r.requested_at, r.id, r.processing_type, r.model
    ORDER BY r.requested_at, r.id
    """
)
#: Requests fetched from the cursor per round trip (one conversation each).
FETCH_ROWS = 1_000


class FileRow(NamedTuple):
    """One request with its messages (role, content) in order, in file order.

    One row per request, its messages aggregated by the server: streaming one row per message cost
    more than everything else in the build (a driver and result row each, ten per line).
    """

    id: uuid.UUID
    processing_type: str
    model: str
    messages: list[tuple[str, str]]


@dataclass(frozen=True, slots=True, kw_only=True)
class FileLimits:
    """Keyword-only: three ints in a row are too easy to pass in the wrong order."""

    max_bytes: int
    max_requests: int
    max_conversation_chars: int
    #: Where each model's lines go and what they hold (``shared.provider.lines``).
    shape_of: Callable[[str], LineShape] = default_shape


@dataclass(slots=True)
class BuiltFile:
    path: Path
    lines: int = 0
    bytes: int = 0
    included: list[uuid.UUID] = field(default_factory=list)
    overflow: list[uuid.UUID] = field(default_factory=list)
    #: Requests whose single line is larger than the whole byte limit: they can never be batched.
    oversized: list[uuid.UUID] = field(default_factory=list)
    models: set[str] = field(default_factory=set)


def encode_line(
    request_id: uuid.UUID,
    ptype: ProcessingType,
    model: str,
    conversation: str,
    shape: LineShape | None = None,
) -> bytes:
    """The line as a whole document; :class:`LineEncoder` writes the same bytes, faster."""
    return _encode(str(request_id), ptype, shape or default_shape(model), conversation)


def _encode(custom_id: str, ptype: ProcessingType, shape: LineShape, conversation: str) -> bytes:
    body = shape.body(ptype, conversation)
    line = {"custom_id": custom_id, "method": "POST", "url": shape.url, "body": body}
    return orjson.dumps(line) + b"\n"


#: Stand-ins spliced out of a line's template; each must occur in it exactly once.
_ID_MARK = "\x00batchline-custom-id\x00"
_CONVERSATION_MARK = "\x00batchline-conversation\x00"


class LineEncoder:
    """Encodes lines byte for byte as :func:`encode_line`, building each (type, model) skeleton once.

    Everything in a line but its id and conversation depends on (processing type, model) only, and
    building it (``response_format`` derives a JSON schema from the answer model) cost far more than
    the line itself. So a template is rendered once per pair with stand-ins, split around them, and a
    line is the template's pieces joined with the JSON encoding of its id and of its conversation.
    """

    def __init__(self, shape_of: Callable[[str], LineShape] = default_shape) -> None:
        self._templates: dict[tuple[str, str], tuple[bytes, bytes, bytes]] = {}
        self._shape_of = shape_of

    def encode(self, request_id: uuid.UUID, ptype: ProcessingType, model: str, conversation: str) -> bytes:
        template = self._templates.get((ptype.value, model))
        if template is None:
            template = self._templates[(ptype.value, model)] = _template(ptype, self._shape_of(model))
        head, middle, tail = template
        return b"".join((head, orjson.dumps(str(request_id)), middle, orjson.dumps(conversation), tail))


def _template(ptype: ProcessingType, shape: LineShape) -> tuple[bytes, bytes, bytes]:
    whole = _encode(_ID_MARK, ptype, shape, _CONVERSATION_MARK)
    id_mark, conversation_mark = orjson.dumps(_ID_MARK), orjson.dumps(_CONVERSATION_MARK)
    head, _, rest = whole.partition(id_mark)
    middle, _, tail = rest.partition(conversation_mark)
    if whole.count(id_mark) != 1 or whole.count(conversation_mark) != 1 or conversation_mark not in rest:
        raise ValueError("a line template must hold the id, then the conversation, exactly once each")
    return head, middle, tail


async def write_batch_file(
    conn: AsyncConnection,
    batch_id: uuid.UUID,
    path: Path,
    *,
    max_bytes: int,
    max_requests: int,
    max_conversation_chars: int,
    shape_of: Callable[[str], LineShape] = default_shape,
) -> BuiltFile:
    limits = FileLimits(
        max_bytes=max_bytes,
        max_requests=max_requests,
        max_conversation_chars=max_conversation_chars,
        shape_of=shape_of,
    )
    result = await conn.stream(
        _ROWS.execution_options(yield_per=FETCH_ROWS), {"bid": batch_id, "claimed": CLAIMED}
    )

    async def rows() -> AsyncIterable[FileRow]:
        async for row in result:
            messages = list(zip(row.roles, row.contents, strict=True)) if row.roles else []
            yield FileRow(row.id, row.processing_type, row.model, messages)

    return await write_lines(rows(), path, limits)


async def write_lines(rows: AsyncIterable[FileRow], path: Path, limits: FileLimits) -> BuiltFile:
    """Write one JSONL line per request of ``rows``, in their order."""
    built = BuiltFile(path=path)
    bounds = (limits.max_bytes, limits.max_requests, limits.max_conversation_chars)
    encoder = LineEncoder(limits.shape_of)
    with path.open("wb") as out:
        async for row in rows:
            _emit(out, built, row, bounds, encoder)
    return built


def _emit(
    out: IO[bytes],
    built: BuiltFile,
    row: FileRow,
    limits: tuple[int, int, int],
    encoder: LineEncoder,
) -> None:
    max_bytes, max_requests, max_chars = limits
    request_id, ptype, model, messages = row
    line = encoder.encode(request_id, ProcessingType(ptype), model, format_conversation(messages, max_chars))
    if len(line) > max_bytes:
        built.oversized.append(request_id)
        return
    if built.bytes + len(line) > max_bytes or built.lines >= max_requests:
        built.overflow.append(request_id)
        return
    out.write(line)
    built.bytes += len(line)
    built.lines += 1
    built.included.append(request_id)
    built.models.add(model)
