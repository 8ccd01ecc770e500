"""Fallback for the remainder: what finishes the requests an expired or cancelled batch never ran.

Without it (``BATCHLINE_FALLBACK_MODE=off``) they go back to pending and wait for the next batch,
which can be another day. Two ways to finish them the same day, chosen by setting:

- ``sync``: the ingester hands them to the synchronous chat completions API in the transaction that
  finishes their batch (:class:`PostgresFallback`, up to the company's ``BATCHLINE_FALLBACK_SYNC_DAILY_CAP``
  per UTC day; beyond it they go back to pending with the cap as their reason), and
  :class:`FallbackWorker`, a loop of the ingester process, calls the API for them with bounded
  concurrency. An answer is parsed and validated by the batch line parser and written by the batch
  result writer (``repository.apply_successes``), its usage and the full list price it was charged at
  recorded on the call in the same transaction; a failed answer is resolved like a failed line
  (attempt + 1, or failed for good at the limit). Calls are leased: a crash or a lost lease lets
  another worker call again, and only the lease holder's first write counts (``fallback_sql``).
- ``provider``: they go back to pending at once on the model ``BATCHLINE_FALLBACK_MODEL_MAP`` maps
  theirs to, which the router sends to ``BATCHLINE_FALLBACK_PROVIDER``; marked ``provider`` so the
  report shows them (and their cost) as fallback.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal, Protocol

import orjson
import structlog
from sqlalchemy.ext.asyncio import AsyncEngine

from services.ingester.batches import read_batch
from services.ingester.fallback_sql import (
    IN_CALL,
    SYNC_COMPLETE,
    CallResult,
    ClaimedCall,
    claim_calls,
    hand_over_provider,
    hand_over_sync,
    record_calls,
    release_calls,
)
from services.ingester.ports import BatchRow, Decided, Repending
from services.ingester.repository import apply_resolutions, apply_successes, lock_sessions
from services.ingester.results import LineOutcome, UnreadableLine, Usage, parse_line
from shared.analysis import ProcessingType, chat_body, format_conversation
from shared.events import pending_event
from shared.lifecycle import BatchStatus, OutcomeKind, Resolution, resolve_request
from shared.outbox import OutgoingEvent, enqueue
from shared.provider.base import ConfigurationFault, PermanentProviderError
from shared.settings import ModelPrice

log = structlog.get_logger(__name__)

#: Batches whose unfinished requests a fallback may take (a failed batch's are not "unfinished work").
FALLBACK_STATUSES = frozenset({BatchStatus.EXPIRED, BatchStatus.CANCELLED})


#: Error codes of lines the provider writes for requests an expired or cancelled batch never ran.
NEVER_RAN_CODES = ("batch_expired", "batch_cancelled")


def never_ran(outcome: LineOutcome) -> bool:
    """An error line saying the batch ended before the request ran: the fallback's to finish."""
    reason = outcome.reason or ""
    return not outcome.ok and any(reason.startswith(f"{code}:") for code in NEVER_RAN_CODES)


@dataclass(frozen=True, slots=True)
class HandedOver:
    """What a hand-over did to one batch's unfinished requests."""

    sent: int = 0
    #: Left to the final step (back to pending) because the company's daily sync cap is reached.
    capped: int = 0
    cap: int = 0


class Fallback(Protocol):
    """The ingester's hook: called before the final step of an expired or cancelled batch."""

    async def hand_over(self, batch: BatchRow) -> HandedOver: ...


def capped_reason(reason: str, handed: HandedOver, company: str) -> str:
    """The reason stored on requests the daily cap sent back to the batch path."""
    if not handed.capped:
        return reason
    return (
        f"{reason}; fallback_capped: company {company} used its {handed.cap} synchronous fallback "
        "requests for today, so this one waits for the next batch"
    )


class PostgresFallback:
    """Hands a finished batch's unfinished requests to the configured fallback, in one transaction."""

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        mode: Literal["sync", "provider"],
        daily_cap: int,
        model_map: Mapping[str, str],
        pending_topic: str,
        on_handed: Callable[[], None] | None = None,
        sync_models: Callable[[str], bool] = lambda model: True,
    ) -> None:
        self._engine = engine
        #: Models the sync API can answer (the OpenAI-routed ones); others go the default way.
        self._sync_models = sync_models
        self._on_handed = on_handed  # wakes the fallback worker once the hand-over committed
        self._mode = mode
        self._cap = daily_cap
        self._map = dict(model_map)
        self._topic = pending_topic

    async def hand_over(self, batch: BatchRow) -> HandedOver:
        if batch.status not in FALLBACK_STATUSES:
            return HandedOver()
        if self._mode == "sync" and not self._sync_models(batch.model):
            return HandedOver()
        async with self._engine.begin() as conn:
            locked = await read_batch(conn, batch.id, lock=True)
            if locked is None or locked.status not in FALLBACK_STATUSES:
                return HandedOver()  # processed by another ingester meanwhile
            if self._mode == "sync":
                sent, capped = await hand_over_sync(conn, batch.id, batch.company_id, self._cap)
                handed = HandedOver(sent, capped, self._cap)
            else:
                target = self._map.get(batch.model)
                if target is None:
                    return HandedOver()
                reason = f"fallback_provider: batch {locked.status.value.lower()}, rerouted to {target}"
                moved = await hand_over_provider(
                    conn, batch.id, source=batch.model, target=target, reason=reason
                )
                await enqueue(conn, self._topic, [pending_event(r, f"fallback-{batch.id}") for r in moved])
                handed = HandedOver(len(moved))
        if handed.sent and self._on_handed is not None:
            self._on_handed()
        if handed.sent or handed.capped:
            log.info("batch remainder handed to the fallback", batch_id=str(batch.id), mode=self._mode,
                     sent=handed.sent, capped=handed.capped)  # fmt: skip
        return handed


async def release_open_calls(engine: AsyncEngine, pending_topic: str, mode: str) -> int:
    """At the start of an ingester whose mode is no longer ``sync``: requests still waiting for a call
    would wait for good (no worker runs), so their calls are closed uncharged and they go back to
    pending at the same attempt, announced, for the batch path. Returns how many went back."""
    reason = f"fallback_released: BATCHLINE_FALLBACK_MODE is {mode}, so this request waits for a batch"
    async with engine.begin() as conn:
        moved = await release_calls(conn, reason)
        await enqueue(conn, pending_topic, [pending_event(r, "fallback-released") for r in moved])
    if moved:
        log.warning(
            "requests waiting for a synchronous call sent back to the batch path", requests=len(moved)
        )
    return len(moved)


class SyncApi(Protocol):
    async def complete(self, body: dict[str, Any]) -> dict[str, Any]: ...


@dataclass(frozen=True, slots=True)
class WorkerConfig:
    max_attempts: int
    retry_backoff_s: float
    pending_topic: str
    max_conversation_chars: int
    prices: Mapping[str, ModelPrice] = field(default_factory=dict)
    batch_discount: Decimal = Decimal("0.5")
    concurrency: int = 8
    claim_rows: int = 64
    lease_s: float = 300.0
    #: Claims of one call that ended in a transient error before it is resolved as a failed answer.
    max_claims: int = 5


def answer_outcome(request_id: str, ptype: ProcessingType, completion: dict[str, Any]) -> LineOutcome:
    """A synchronous answer judged exactly as the same answer in a batch output line would be."""
    line = orjson.dumps({"custom_id": request_id, "response": {"status_code": 200, "body": completion}})
    try:
        return parse_line(line, {request_id: ptype})
    except UnreadableLine:  # pragma: no cover - the line is ours and always names the request
        return LineOutcome(request_id, None, "unreadable answer", Usage())


class FallbackWorker:
    """Calls the synchronous API for requests handed over, and writes their results (see module doc)."""

    def __init__(
        self, engine: AsyncEngine, api: SyncApi, config: WorkerConfig, on_commit: Callable[[], None]
    ) -> None:
        self._engine = engine
        self._api = api
        self._config = config
        self._on_commit = on_commit
        self._gate = asyncio.Semaphore(config.concurrency)
        self.stats = {"fallback_calls": 0, "fallback_completed": 0, "fallback_retried": 0,
                      "fallback_failed": 0, "fallback_call_errors": 0}  # fmt: skip

    async def run_once(self) -> int:
        """One round: claim, call, record. Returns how many calls it closed."""
        token = uuid.uuid4()
        async with self._engine.begin() as conn:
            claimed = await claim_calls(
                conn, token, limit=self._config.claim_rows, lease_s=self._config.lease_s
            )
        if not claimed:
            return 0
        results = await asyncio.gather(*(self._call(c) for c in claimed))
        by_batch: dict[uuid.UUID, list[tuple[ClaimedCall, CallResult, LineOutcome | None]]] = {}
        for call, result in zip(claimed, results, strict=True):
            if result is not None:
                by_batch.setdefault(call.batch_id, []).append((call, *result))
        closed = 0
        for batch_id, rows in by_batch.items():
            closed += await self._write(batch_id, token, rows)
        return closed

    async def _call(self, call: ClaimedCall) -> tuple[CallResult, LineOutcome | None] | None:
        """The call's result, or None to leave it to its lease (a transient error, retried later)."""
        if call.processing_type is None:
            return CallResult(
                call.request_id, None, "the request is no longer in a fallback call", Usage()
            ), None
        ptype = ProcessingType(call.processing_type)
        body = chat_body(
            ptype, call.model, format_conversation(call.messages, self._config.max_conversation_chars)
        )
        cid = str(call.request_id)
        try:
            async with self._gate:
                self.stats["fallback_calls"] += 1
                completion = await self._api.complete(body)
        except ConfigurationFault as exc:
            # Our key or account, not the request: it waits for the operator, never a strike.
            self._defer(call, exc)
            return None
        except Exception as exc:
            if not isinstance(exc, PermanentProviderError) and call.claims < self._config.max_claims:
                self._defer(call, exc)
                return None
            reason = f"fallback_call: {type(exc).__name__}: {exc}"[:500]
            return CallResult(call.request_id, False, reason, Usage()), LineOutcome(
                cid, None, reason, Usage()
            )
        outcome = answer_outcome(cid, ptype, completion)
        return CallResult(call.request_id, outcome.ok, outcome.reason, outcome.usage), outcome

    def _defer(self, call: ClaimedCall, exc: BaseException) -> None:
        """Counted and logged; the call stays leased until its lease ends, then is claimed again."""
        self.stats["fallback_call_errors"] += 1
        log.warning("fallback call failed; retried when its lease ends", request_id=str(call.request_id),
                    claims=call.claims, error=repr(exc)[:300])  # fmt: skip

    async def _write(
        self,
        batch_id: uuid.UUID,
        token: uuid.UUID,
        rows: Sequence[tuple[ClaimedCall, CallResult, LineOutcome | None]],
    ) -> int:
        """Record the calls and write their requests in one transaction, sessions locked first."""
        model = rows[0][0].model
        config = self._config
        async with self._engine.begin() as conn:
            ids = [str(c.request_id) for c, _, o in rows if o is not None]
            if ids:
                await lock_sessions(conn, batch_id, ids, open_=IN_CALL)
            owned = await record_calls(
                conn,
                batch_id,
                token,
                [r for _, r, _ in rows],
                price=config.prices.get(model),
                discount=config.batch_discount,
            )
            mine = [(c, o) for c, _, o in rows if o is not None and c.request_id in owned]
            successes = sorted((o for _, o in mine if o.ok), key=lambda o: o.custom_id)
            failures: list[Decided] = [
                (o.custom_id, self._failed(o.reason or "failed", c.attempt), o.usage)
                for c, o in mine
                if not o.ok
            ]
            completed = await apply_successes(conn, batch_id, successes, move=SYNC_COMPLETE)
            repending, failed = await apply_resolutions(conn, batch_id, failures, open_=IN_CALL)
            await enqueue(conn, config.pending_topic, self._announce(batch_id, repending))
        self.stats["fallback_completed"] += completed
        self.stats["fallback_retried"] += len(repending)
        self.stats["fallback_failed"] += failed
        if repending:
            self._on_commit()
        return len(owned)

    def _failed(self, reason: str, attempt: int) -> Resolution:
        return resolve_request(
            OutcomeKind.FAILED,
            attempt=attempt,
            max_attempts=self._config.max_attempts,
            reason=reason,
            backoff_base_s=self._config.retry_backoff_s,
        )

    @staticmethod
    def _announce(batch_id: uuid.UUID, rows: Sequence[Repending]) -> list[OutgoingEvent]:
        return [pending_event(r, f"fallback-{batch_id}") for r in rows]
