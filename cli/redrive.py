"""Re-drive and reprocess, the SQL: failed requests back to pending, sessions analysed again.

Both work in chunks (``chunk`` rows, 5,000 by default), each chunk one transaction of a fixed
number of statements whatever its size: the status write (or the insert of new requests) with
``RETURNING``, and the ``request.pending`` announcements as outbox rows in that same transaction,
exactly as the producer announces the requests it creates. A crash between chunks leaves every
finished chunk complete and announced; running the command again does the rest.

- **Retry** moves ``PROCESSING_FAILED`` requests to ``PENDING_BATCHING`` through the lifecycle's
  operator move, with a fresh attempt budget (attempt 1, no requeues, no backoff) and out of their
  old batch. The old batch's items stay (``ai_batch_items`` is the audit) and its last error stays on
  the row until the next outcome. Idempotent: a retried request is no longer failed, so a second run
  matches nothing.
- **Reprocess** creates, for each matching session, one request per (processing type, model) the
  session was analysed with before (narrowed by ``--type`` / ``--model``), under a new revision. The
  ingester keeps the earlier analysis in ``session_analyses_history`` when the new results arrive.
  Idempotent by the requests' unique key (session, type, model, revision): a second run under the
  same revision inserts nothing, announces nothing, so no second provider batch can follow.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Row, text
from sqlalchemy.ext.asyncio import AsyncEngine

from services.producer.sessions import request_id
from shared.analysis import ProcessingType
from shared.events import pending_event
from shared.lifecycle import REQUEST_INITIAL, RequestStatus, request_move
from shared.outbox import enqueue

#: The operator's re-drive: failed for good -> pending again (``shared.lifecycle``, operator moves).
REDRIVE = request_move(RequestStatus.PENDING_BATCHING, RequestStatus.PROCESSING_FAILED, operator=True)

DEFAULT_CHUNK = 5_000
#: Prefix of the revisions ``reprocess`` derives from its filters (never a 64-hex content hash).
DERIVED_PREFIX = "reprocess-"


@dataclass(frozen=True, slots=True)
class Filters:
    """Which rows a command touches. Times are aware datetimes; ``None`` means "no bound"."""

    company: str
    since: datetime | None = None
    until: datetime | None = None
    processing_type: ProcessingType | None = None
    model: str | None = None
    #: Retry only: a case-insensitive substring of the request's last error.
    reason: str | None = None

    def params(self) -> dict[str, object]:
        return {
            "company": self.company,
            "since": self.since,
            "until": self.until,
            "ptype": None if self.processing_type is None else self.processing_type.value,
            "model": self.model,
            "reason": self.reason,
        }


def derived_revision(filters: Filters) -> str:
    """The reprocess revision named by the filters: the same command always names the same revision.

    So running it twice finds its own requests the second time. Times enter as UTC ISO strings, so
    ``2026-05-01`` and ``2026-05-01T00:00:00+00:00`` are the same filter.
    """
    doc = {
        "company": filters.company,
        "since": None if filters.since is None else filters.since.isoformat(),
        "until": None if filters.until is None else filters.until.isoformat(),
        "type": None if filters.processing_type is None else filters.processing_type.value,
        "model": filters.model,
    }
    digest = hashlib.sha256(orjson.dumps(doc, option=orjson.OPT_SORT_KEYS)).hexdigest()
    return f"{DERIVED_PREFIX}{digest[:24]}"


# --------------------------------------------------------------------------------------------- retry

_COUNT_FAILED = text(
    """
    SELECT count(*) FROM ai_processing_requests
    WHERE company_id = :company AND status = ANY(:from)
      AND (CAST(:since AS timestamptz) IS NULL OR requested_at >= :since)
      AND (CAST(:until AS timestamptz) IS NULL OR requested_at < :until)
      AND (CAST(:ptype AS text) IS NULL OR processing_type = :ptype)
      AND (CAST(:model AS text) IS NULL OR model = :model)
      AND (CAST(:reason AS text) IS NULL
           OR strpos(lower(coalesce(error_message, '')), lower(:reason)) > 0)
    """
)

#: One chunk of the re-drive. ``SKIP LOCKED``: two operators running it at once share the rows.
_RETRY_CHUNK = text(
    """
    WITH picked AS (
        SELECT id FROM ai_processing_requests
        WHERE company_id = :company AND status = ANY(:from)
          AND (CAST(:since AS timestamptz) IS NULL OR requested_at >= :since)
          AND (CAST(:until AS timestamptz) IS NULL OR requested_at < :until)
          AND (CAST(:ptype AS text) IS NULL OR processing_type = :ptype)
          AND (CAST(:model AS text) IS NULL OR model = :model)
          AND (CAST(:reason AS text) IS NULL
               OR strpos(lower(coalesce(error_message, '')), lower(:reason)) > 0)
        ORDER BY requested_at, id LIMIT :n FOR UPDATE SKIP LOCKED
    )
    UPDATE ai_processing_requests r SET
        status = :to, attempt = 1, requeues = 0, batch_id = NULL, not_before = NULL,
        success = NULL, completed_at = NULL, updated_at = now()
    FROM picked WHERE r.id = picked.id AND r.status = ANY(:from)
    RETURNING r.id, r.session_id, r.company_id, r.processing_type, r.model, r.attempt, r.approx_bytes
    """
)


async def count_failed(engine: AsyncEngine, filters: Filters) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(_COUNT_FAILED, {**filters.params(), **REDRIVE.params()})).scalar_one())


async def retry_failed(
    engine: AsyncEngine,
    filters: Filters,
    *,
    topic: str,
    chunk: int = DEFAULT_CHUNK,
    progress: Callable[[int], None] = lambda n: None,
) -> int:
    """Move every matching failed request back to pending and announce it; returns how many moved."""
    params = {**filters.params(), **REDRIVE.params(), "n": chunk}
    moved = 0
    while True:
        async with engine.begin() as conn:
            rows = (await conn.execute(_RETRY_CHUNK, params)).all()
            await enqueue(conn, topic, [pending_event(r, "redrive") for r in rows])
        if not rows:
            return moved
        moved += len(rows)
        progress(len(rows))


# ----------------------------------------------------------------------------------------- reprocess

#: The analyses of the matching sessions: one row per (session, type, model) they had before, in key
#: order from ``after`` on. ``present``: a request of this revision exists already.
_ANALYSES = text(
    """
    SELECT r.session_id, r.processing_type, r.model, max(r.approx_bytes) AS approx_bytes,
           bool_or(r.revision = :revision) AS present
    FROM ai_processing_requests r JOIN sessions s ON s.company_id = r.company_id AND s.id = r.session_id
    WHERE r.company_id = :company AND s.company_id = :company
      AND (CAST(:since AS timestamptz) IS NULL OR s.started_at >= :since)
      AND (CAST(:until AS timestamptz) IS NULL OR s.started_at < :until)
      AND (CAST(:ptype AS text) IS NULL OR r.processing_type = :ptype)
      AND (CAST(:model AS text) IS NULL OR r.model = :model)
      AND (r.session_id, r.processing_type, r.model) > (:after_s, :after_t, :after_m)
    GROUP BY r.session_id, r.processing_type, r.model
    ORDER BY r.session_id, r.processing_type, r.model
    LIMIT :n
    """
)

_COUNT_ANALYSES = text(
    """
    SELECT count(DISTINCT a.session_id) AS sessions, count(*) AS analyses,
           count(*) FILTER (WHERE a.present) AS present
    FROM (SELECT r.session_id, bool_or(r.revision = :revision) AS present
          FROM ai_processing_requests r JOIN sessions s ON s.company_id = r.company_id AND s.id = r.session_id
          WHERE r.company_id = :company AND s.company_id = :company
            AND (CAST(:since AS timestamptz) IS NULL OR s.started_at >= :since)
            AND (CAST(:until AS timestamptz) IS NULL OR s.started_at < :until)
            AND (CAST(:ptype AS text) IS NULL OR r.processing_type = :ptype)
            AND (CAST(:model AS text) IS NULL OR r.model = :model)
          GROUP BY r.session_id, r.processing_type, r.model) AS a
    """
)

_INSERT = text(
    """
    INSERT INTO ai_processing_requests
        (id, session_id, company_id, processing_type, model, revision, status, attempt, approx_bytes)
    SELECT u.id, u.session_id, :company, u.ptype, u.model, :revision, :initial, 1, u.approx_bytes
    FROM unnest(CAST(:ids AS uuid[]), CAST(:sids AS text[]), CAST(:ptypes AS text[]),
                CAST(:models AS text[]), CAST(:sizes AS int[]))
         AS u(id, session_id, ptype, model, approx_bytes)
    ON CONFLICT DO NOTHING
    RETURNING id, session_id, company_id, processing_type, model, attempt, approx_bytes
    """
)


@dataclass(frozen=True, slots=True)
class ReprocessPlan:
    """What a reprocess run matches: sessions, their analyses, and how many exist under the revision."""

    revision: str
    sessions: int
    analyses: int
    present: int

    @property
    def missing(self) -> int:
        return self.analyses - self.present


@dataclass(frozen=True, slots=True)
class ReprocessResult:
    created: int
    #: Analyses that already had a request of the revision (an earlier run, or a concurrent one).
    existing: int


async def plan_reprocess(engine: AsyncEngine, filters: Filters, revision: str) -> ReprocessPlan:
    async with engine.connect() as conn:
        row = (await conn.execute(_COUNT_ANALYSES, {**filters.params(), "revision": revision})).one()
    return ReprocessPlan(revision, int(row.sessions), int(row.analyses), int(row.present))


async def reprocess(
    engine: AsyncEngine,
    filters: Filters,
    revision: str,
    *,
    topic: str,
    chunk: int = DEFAULT_CHUNK,
    progress: Callable[[int], None] = lambda n: None,
) -> ReprocessResult:
    """Create the revision's requests for every matching analysis, chunk by chunk, and announce them."""
    base = {**filters.params(), "revision": revision, "n": chunk}
    after = ("", "", "")
    created = existing = 0
    while True:
        async with engine.begin() as conn:
            params = {**base, "after_s": after[0], "after_t": after[1], "after_m": after[2]}
            found = (await conn.execute(_ANALYSES, params)).all()
            todo = [a for a in found if not a.present]
            rows: Sequence[Row[Any]] = ()
            if todo:
                result = await conn.execute(
                    _INSERT,
                    {
                        "company": filters.company,
                        "revision": revision,
                        "initial": REQUEST_INITIAL.value,
                        "ids": [
                            request_id(
                                filters.company,
                                a.session_id,
                                ProcessingType(a.processing_type),
                                a.model,
                                revision,
                            )
                            for a in todo
                        ],
                        "sids": [a.session_id for a in todo],
                        "ptypes": [a.processing_type for a in todo],
                        "models": [a.model for a in todo],
                        "sizes": [a.approx_bytes for a in todo],
                    },
                )
                rows = result.all()
                await enqueue(conn, topic, [pending_event(r, "reprocess") for r in rows])
        created += len(rows)
        existing += len(found) - len(rows)
        if found:
            progress(len(found))
            last = found[-1]
            after = (last.session_id, last.processing_type, last.model)
        if len(found) < chunk:
            return ReprocessResult(created, existing)
