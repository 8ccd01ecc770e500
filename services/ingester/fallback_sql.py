"""SQL of the fallback for the remainder: hand a batch's unfinished requests over, claim, record.

Every statement is set-based and guarded by a ``lifecycle.Move``:

- :func:`hand_over_sync` (under the batch's row lock, before the final step): the batch's requests
  still claimed go to ``FALLBACK_IN_PROGRESS`` with one ``fallback_calls`` row each, up to what the
  company has left of its daily cap; the company's day is serialised by a transaction-scoped advisory
  lock, so two batches of one company finishing at once cannot both spend the same allowance.
  Requests beyond the cap stay claimed: the final step sends them back to pending with the reason.
- :func:`hand_over_provider`: the requests go back to pending at once, with their model replaced by the
  one the fallback provider runs (``BATCHLINE_FALLBACK_MODEL_MAP``) and marked ``provider``; the
  submitter groups them into a batch of that model, which the router sends to the second provider.
  A request whose mapped twin already exists (same session, type and revision) keeps its model.
- :func:`claim_calls`: open calls whose lease is free or expired, leased to one worker
  (``FOR UPDATE SKIP LOCKED``), with what is needed to rebuild their request's body.
- :func:`record_calls`: a call's usage and the full price it was charged at, only by the lease's
  holder and only once (``done_at IS NULL``): the caller writes the answers of the rows it got back,
  in the same transaction, so a replay or a second worker after a lost lease writes nothing twice.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from services.ingester.ports import Repending
from services.ingester.results import Usage
from shared.lifecycle import RequestStatus, request_move
from shared.settings import ModelPrice

#: A batch's unfinished request handed to the synchronous API, and the three ways out of it.
HAND_OVER = request_move(RequestStatus.FALLBACK_IN_PROGRESS, RequestStatus.BATCHING_IN_PROGRESS)
SYNC_COMPLETE = request_move(RequestStatus.PROCESSING_COMPLETE, RequestStatus.FALLBACK_IN_PROGRESS)
SYNC_RETRY = request_move(RequestStatus.PENDING_BATCHING, RequestStatus.FALLBACK_IN_PROGRESS)
SYNC_FAIL = request_move(RequestStatus.PROCESSING_FAILED, RequestStatus.FALLBACK_IN_PROGRESS)
#: The status set the fallback worker resolves (its three moves share it, as the ingester's do).
IN_CALL = list(SYNC_COMPLETE.sources)
if not IN_CALL == list(SYNC_RETRY.sources) == list(SYNC_FAIL.sources):
    raise ImportError("the fallback worker's moves must share one source set: its write guard")
#: The provider path: a batch's unfinished request straight back to pending, on the mapped model.
REROUTE = request_move(RequestStatus.PENDING_BATCHING, RequestStatus.BATCHING_IN_PROGRESS)

_HAND_OVER_SYNC = text(
    """
    WITH used AS (
        SELECT count(*) AS n FROM fallback_calls
        WHERE company_id = :company AND day = CAST(now() AT TIME ZONE 'UTC' AS date)
          AND (done_at IS NULL OR answered IS NOT NULL)  -- calls closed uncharged were never made
    ), picked AS (
        SELECT r.id FROM ai_processing_requests r
        WHERE r.batch_id = :bid AND r.status = ANY(:from)
        ORDER BY r.requested_at, r.id
        LIMIT greatest(CAST(:cap AS bigint) - (SELECT n FROM used), 0)
    ), moved AS (
        UPDATE ai_processing_requests r SET status = :to, fallback = :kind, updated_at = now()
        FROM picked p WHERE r.id = p.id AND r.batch_id = :bid AND r.status = ANY(:from)
        RETURNING r.id, r.company_id, r.model
    ), calls AS (
        INSERT INTO fallback_calls (request_id, batch_id, company_id, model, day)
        SELECT id, :bid, company_id, model, CAST(now() AT TIME ZONE 'UTC' AS date) FROM moved
        ON CONFLICT DO NOTHING RETURNING 1
    )
    SELECT (SELECT count(*) FROM moved) AS sent,
           (SELECT count(*) FROM ai_processing_requests WHERE batch_id = :bid AND status = ANY(:from))
           - (SELECT count(*) FROM moved) AS capped
    """
)
_LOCK_COMPANY_DAY = text(
    "SELECT pg_advisory_xact_lock(hashtextextended('batchline-fallback:' || :company, 0))"
)


async def hand_over_sync(
    conn: AsyncConnection, batch_id: uuid.UUID, company: str, cap: int
) -> tuple[int, int]:
    """(handed over, left claimed because the company's daily cap is reached)."""
    await conn.execute(_LOCK_COMPANY_DAY, {"company": company})
    row = (
        await conn.execute(
            _HAND_OVER_SYNC,
            {**HAND_OVER.params(), "bid": batch_id, "company": company, "cap": cap, "kind": "sync"},
        )
    ).one()
    return int(row.sent), int(row.capped)


_HAND_OVER_PROVIDER = text(
    """
    UPDATE ai_processing_requests r SET
        status = :to, batch_id = NULL, model = :target, fallback = :kind,
        fallback_from_model = coalesce(r.fallback_from_model, r.model),
        error_message = :reason, not_before = NULL, updated_at = now()
    WHERE r.batch_id = :bid AND r.status = ANY(:from) AND r.model = :source
      AND NOT EXISTS (
        SELECT 1 FROM ai_processing_requests o
        WHERE o.company_id = r.company_id AND o.session_id = r.session_id
          AND o.processing_type = r.processing_type AND o.model = :target AND o.revision = r.revision)
    RETURNING r.id, r.session_id, r.company_id, r.processing_type, r.model, r.attempt, r.approx_bytes
    """
)


async def hand_over_provider(
    conn: AsyncConnection, batch_id: uuid.UUID, *, source: str, target: str, reason: str
) -> list[Repending]:
    """The requests sent back to pending on ``target`` (each needs its ``request.pending`` event)."""
    rows = await conn.execute(
        _HAND_OVER_PROVIDER,
        {**REROUTE.params(), "bid": batch_id, "source": source, "target": target, "kind": "provider",
         "reason": reason},
    )  # fmt: skip
    return [
        Repending(r.id, r.session_id, r.company_id, r.processing_type, r.model, r.attempt, r.approx_bytes)
        for r in rows
    ]


@dataclass(frozen=True, slots=True)
class ClaimedCall:
    request_id: uuid.UUID
    batch_id: uuid.UUID
    model: str
    claims: int
    #: None when the request is no longer in a fallback call (the row is then closed uncharged).
    processing_type: str | None
    attempt: int
    messages: list[tuple[str, str]]


_CLAIM = text(
    """
    WITH c AS (
        SELECT request_id, batch_id FROM fallback_calls
        WHERE done_at IS NULL AND (lease_until IS NULL OR lease_until < now())
        ORDER BY created_at, request_id LIMIT :n FOR UPDATE SKIP LOCKED
    ), leased AS (
        UPDATE fallback_calls f SET lease_token = :token, claims = f.claims + 1,
            lease_until = now() + make_interval(secs => :lease)
        FROM c WHERE f.request_id = c.request_id AND f.batch_id = c.batch_id
        RETURNING f.request_id, f.batch_id, f.model, f.claims
    )
    SELECT l.request_id, l.batch_id, l.model, l.claims, r.processing_type, coalesce(r.attempt, 1) AS attempt,
           array_agg(m.role ORDER BY m."order") FILTER (WHERE m.role IS NOT NULL) AS roles,
           array_agg(coalesce(m.content, '') ORDER BY m."order") FILTER (WHERE m.role IS NOT NULL) AS contents
    FROM leased l
    LEFT JOIN ai_processing_requests r ON r.id = l.request_id AND r.batch_id = l.batch_id
         AND r.status = ANY(:in_call)
    LEFT JOIN session_messages m ON m.company_id = r.company_id AND m.session_id = r.session_id
    GROUP BY l.request_id, l.batch_id, l.model, l.claims, r.processing_type, r.attempt
    ORDER BY l.batch_id, l.request_id
    """
)


async def claim_calls(
    conn: AsyncConnection, token: uuid.UUID, *, limit: int, lease_s: float
) -> list[ClaimedCall]:
    rows = await conn.execute(_CLAIM, {"token": token, "n": limit, "lease": lease_s, "in_call": IN_CALL})
    return [
        ClaimedCall(
            r.request_id,
            r.batch_id,
            r.model,
            int(r.claims),
            r.processing_type,
            int(r.attempt),
            list(zip(r.roles, r.contents, strict=True)) if r.roles else [],
        )
        for r in rows
    ]


_RECORD = text(
    """
    UPDATE fallback_calls f SET done_at = now(), answered = u.answered, error = u.error,
        prompt_tokens = u.pt, cached_tokens = u.cached, completion_tokens = u.ct,
        price_input_per_million = :pi, price_cached_input_per_million = :pc,
        price_output_per_million = :po, price_batch_discount = :pd, lease_until = NULL
    FROM unnest(CAST(:ids AS uuid[]), CAST(:answered AS bool[]), CAST(:errors AS text[]),
                CAST(:pt AS bigint[]), CAST(:cached AS bigint[]), CAST(:ct AS bigint[]))
         AS u(id, answered, error, pt, cached, ct)
    WHERE f.request_id = u.id AND f.batch_id = :bid AND f.lease_token = :token AND f.done_at IS NULL
    RETURNING f.request_id
    """
)


@dataclass(frozen=True, slots=True)
class CallResult:
    request_id: uuid.UUID
    #: None: the request was no longer in a call (closed uncharged); True/False: answered or not.
    answered: bool | None
    error: str | None
    usage: Usage


async def record_calls(
    conn: AsyncConnection,
    batch_id: uuid.UUID,
    token: uuid.UUID,
    results: Sequence[CallResult],
    *,
    price: ModelPrice | None,
    discount: Decimal,
) -> set[uuid.UUID]:
    """Close the calls this lease still holds; returns their request ids (the ones to write)."""
    if not results:
        return set()
    rows = await conn.execute(
        _RECORD,
        {
            "bid": batch_id,
            "token": token,
            "ids": [r.request_id for r in results],
            "answered": [r.answered for r in results],
            "errors": [r.error for r in results],
            "pt": [r.usage.prompt_tokens for r in results],
            "cached": [r.usage.cached_tokens for r in results],
            "ct": [r.usage.completion_tokens for r in results],
            "pi": None if price is None else price.input_per_million,
            "pc": None if price is None else price.cached_input_per_million,
            "po": None if price is None else price.output_per_million,
            "pd": None if price is None else discount,
        },
    )
    return {r.request_id for r in rows}


_RELEASE = text(
    """
    WITH closed AS (
        UPDATE fallback_calls SET done_at = now(), error = :reason, lease_until = NULL
        WHERE done_at IS NULL RETURNING request_id, batch_id
    )
    UPDATE ai_processing_requests r SET status = :to, batch_id = NULL, error_message = :reason,
        not_before = NULL, updated_at = now()
    FROM closed c WHERE r.id = c.request_id AND r.batch_id = c.batch_id AND r.status = ANY(:from)
    RETURNING r.id, r.session_id, r.company_id, r.processing_type, r.model, r.attempt, r.approx_bytes
    """
)


async def release_calls(conn: AsyncConnection, reason: str) -> list[Repending]:
    """Every open call closed uncharged, its request back to pending at the same attempt (to announce)."""
    rows = await conn.execute(_RELEASE, {**SYNC_RETRY.params(), "reason": reason})
    return [
        Repending(r.id, r.session_id, r.company_id, r.processing_type, r.model, r.attempt, r.approx_bytes)
        for r in rows
    ]
