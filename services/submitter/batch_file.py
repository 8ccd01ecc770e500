"""Writing a batch's JSONL input file, streamed from the database to disk.

One server-side cursor walks the batch's requests, each with its conversation's text built in order
by the server (:func:`shared.analysis.conversation_text`'s ``role: content`` lines); each request
becomes one line, written a fetch at a time, so memory holds one fetch of ``FETCH_ROWS`` requests.
The cursor is asyncpg's own, on the connection under SQLAlchemy's: SQLAlchemy's streamed result
cost more per row than encoding the line, and so did a Python tuple per message. The byte limit is
enforced on the real encoded size: requests that would push the file over it are
returned as overflow (the caller gives them back to pending) instead of breaking the file.

:func:`write_chunks` is the rule, fed by any stream of chunks of rows; :func:`write_batch_file` feeds it
from the database a fetch at a time, :func:`write_lines` (the in-memory store of the orchestration
tests, B5) a row at a time, so both build the same file.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import uuid
from collections.abc import AsyncGenerator, AsyncIterable, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import orjson
from sqlalchemy import text
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.analysis import ProcessingType, truncate_conversation
from shared.lifecycle import RequestStatus
from shared.provider.lines import LineShape, default_shape

#: Only requests still claimed by this batch go into its file (a released one is no longer its own).
CLAIMED = RequestStatus.BATCHING_IN_PROGRESS.value
#: The batch's requests are put in file order first (narrow rows: the sort stays in memory), then each
#: one's messages are aggregated from the session's index, already in order. Grouping the joined
#: messages instead sorted every message of the batch (500,000 rows at 50,000 requests) on disk, twice.
#: The text is joined by the server (``chr(10)``: a newline) exactly as ``conversation_text`` joins it;
#: a request without messages has an empty one.
_ROWS = text(
    """
    SELECT r.id, r.processing_type, r.model, coalesce(m.conversation, '') AS conversation
    FROM (
        SELECT r.id, r.company_id, r.session_id, r.processing_type, r.model, r.requested_at
        FROM ai_processing_requests r
        JOIN ai_batch_items i ON i.request_id = r.id AND i.batch_id = :bid
        WHERE r.batch_id = :bid AND r.status = :claimed
        ORDER BY r.requested_at, r.id
    ) r
    CROSS JOIN LATERAL (
        SELECT string_agg(m.role || ': ' || coalesce(m.content, ''), chr(10) ORDER BY m."order")
               AS conversation
        FROM session_messages m
        WHERE m.company_id = r.company_id AND m.session_id = r.session_id
    ) m
    ORDER BY r.requested_at, r.id
    """
)
#: ``_ROWS`` as asyncpg takes it (``$n`` placeholders), with the order of its parameters.
_ROWS_COMPILED = _ROWS.compile(dialect=asyncpg_dialect())  # type: ignore[no-untyped-call]
_ROWS_SQL, _ROWS_PARAMS = str(_ROWS_COMPILED), tuple(_ROWS_COMPILED.positiontup or ())
#: The file's sort of the batch's request keys, in memory, for the rest of its transaction only.
_FILE_WORK_MEM = text("SET LOCAL work_mem = '64MB'")
#: Requests fetched from the cursor per round trip (one conversation each; bounded memory).
FETCH_ROWS = 2_000
#: The file's write buffer: lines are small, writes of a megabyte are not.
WRITE_BUFFER = 1 << 20


class FileRow(NamedTuple):
    """One request with its whole conversation text (``conversation_text``, not yet cut), in file order.

    One row per request, its messages joined by the server: streaming one row per message cost more
    than everything else in the build (a driver and result row each, ten per line), and a tuple per
    message (with the collector running over them) more than encoding the line. The database path
    passes asyncpg's records as they come, which unpack the same four values.
    """

    id: uuid.UUID
    processing_type: str
    model: str
    conversation: str


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

    def encode(
        self, request_id: uuid.UUID, ptype: ProcessingType | str, model: str, conversation: str
    ) -> bytes:
        """``ptype`` may be the type's value as stored: it is validated when its template is built."""
        template = self._templates.get((ptype, model))
        if template is None:
            kind = ProcessingType(ptype)
            template = self._templates[(kind.value, model)] = _template(kind, self._shape_of(model))
        head, middle, tail = template
        return b"".join((head, orjson.dumps(str(request_id)), middle, orjson.dumps(conversation), tail))


@functools.lru_cache(maxsize=256)
def _template(ptype: ProcessingType, shape: LineShape) -> tuple[bytes, bytes, bytes]:
    """Cached for the process: a :class:`LineEncoder` lives for one file, and B4's ~150-request
    batches paid the schema derivation (~14 ms a pair, under load) in every one of them."""
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
    # Through SQLAlchemy first: it opens the transaction the cursor needs (a server-side cursor lives
    # in one), and the setting lasts until that transaction ends.
    await conn.execute(_FILE_WORK_MEM)
    raw = (await conn.get_raw_connection()).driver_connection
    if raw is None:
        raise RuntimeError("the connection has no driver connection")
    values = {"bid": batch_id, "claimed": CLAIMED}
    cursor = await raw.cursor(_ROWS_SQL, *(values[name] for name in _ROWS_PARAMS))

    async def chunks() -> AsyncGenerator[list[FileRow]]:
        # One await per ``FETCH_ROWS`` requests: awaiting the cursor per row cost more than its line.
        # (``n`` by name: the cursor's fetch takes a row count, not SQL, which the SQL scan can see.)
        # The next fetch is sent before a chunk is encoded, so the server builds it meanwhile (on the
        # other core) instead of each side waiting for the other; memory holds two fetches.
        ahead = asyncio.ensure_future(cursor.fetch(n=FETCH_ROWS))
        try:
            while records := await ahead:
                ahead = asyncio.ensure_future(cursor.fetch(n=FETCH_ROWS))
                await asyncio.sleep(0)  # the fetch's request goes out before the encoding holds the loop
                yield records
        finally:
            if not ahead.done():  # the writer stopped early: the connection must not stay busy
                ahead.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await ahead

    # Closed on the way out, even when the writer fails: its fetch ahead ends before the transaction.
    async with contextlib.aclosing(chunks()) as rows:
        return await write_chunks(rows, path, limits)


async def write_lines(rows: AsyncIterable[FileRow], path: Path, limits: FileLimits) -> BuiltFile:
    """Write one JSONL line per request of ``rows``, in their order."""

    async def chunks() -> AsyncIterable[list[FileRow]]:
        async for row in rows:
            yield [row]

    return await write_chunks(chunks(), path, limits)


async def write_chunks(chunks: AsyncIterable[Iterable[FileRow]], path: Path, limits: FileLimits) -> BuiltFile:
    """Write one JSONL line per request of each chunk of rows, in their order (the rule of both)."""
    built = BuiltFile(path=path)
    bounds = (limits.max_bytes, limits.max_requests, limits.max_conversation_chars)
    encoder = LineEncoder(limits.shape_of)
    with path.open("wb", buffering=WRITE_BUFFER) as out:
        # A chunk's bytes past the buffer size go to disk in a thread while the next chunk is encoded
        # (one write at a time, in order): inline, writing 112 MB took about half the build's time.
        writing: asyncio.Future[int] | None = None
        try:
            async for chunk in chunks:
                # One write per chunk: a write call per line cost about as much as encoding it.
                data = b"".join([line for row in chunk if (line := _emit(built, row, bounds, encoder))])
                if writing is not None:
                    await writing
                if len(data) < WRITE_BUFFER:
                    out.write(data)
                    writing = None
                else:
                    writing = asyncio.ensure_future(asyncio.to_thread(out.write, data))
        finally:
            if writing is not None:  # the file closes only after its last write
                await writing
    return built


def _emit(built: BuiltFile, row: FileRow, limits: tuple[int, int, int], encoder: LineEncoder) -> bytes:
    """The row's line if it goes into the file (counted), else ``b""`` (it is listed as left out)."""
    max_bytes, max_requests, max_chars = limits
    request_id, ptype, model, conversation = row
    line = encoder.encode(request_id, ptype, model, truncate_conversation(conversation, max_chars))
    if len(line) > max_bytes:
        built.oversized.append(request_id)
        return b""
    if built.bytes + len(line) > max_bytes or built.lines >= max_requests:
        built.overflow.append(request_id)
        return b""
    built.bytes += len(line)
    built.lines += 1
    built.included.append(request_id)
    built.models.add(model)
    return line
