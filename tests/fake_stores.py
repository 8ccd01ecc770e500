"""In-memory stores for the submitter's and the poller's database ports (orchestration unit tests).

They make the same guarded decisions as the SQL, with the same lifecycle Moves (imported from the
repositories), so an orchestration test exercises the rule the database applies. What they cannot be
is concurrent: row locks, ``SKIP LOCKED`` and advisory locks that die with a connection stay covered by
the integration and reliability tests.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path

from services.poller.ports import DueBatch, Terminal
from services.poller.repository import FINISH, RESCHEDULE
from services.submitter.accumulator import GroupKey
from services.submitter.batch_file import BuiltFile, FileLimits, FileRow, write_lines
from services.submitter.circuits import WAIT_MARK
from services.submitter.ports import CircuitDecision, CircuitEntry, DuplicateCopy, Unsubmitted
from services.submitter.repository import CLAIM, FAIL_REQUEST, FAIL_UNSUBMITTED, RELEASE, SUBMITTED
from services.submitter.token_budget import (
    UNLIMITED,
    Allowance,
    Learned,
    ModelBudget,
    Outcome,
    allowance,
    feed_back,
    too_large_reason,
)
from services.submitter.token_sql import FAIL_UNADMITTABLE, FINISHED, HOLDING, REJECTION_CODE
from shared.analysis import conversation_text
from shared.circuit import Circuit
from shared.lifecycle import BATCH_INITIAL, IN_FLIGHT, REQUEST_INITIAL, BatchStatus, Move
from shared.outbox import OutgoingEvent
from shared.tokens import TokenRate
from tests.fakes import START


class FakeClock:
    """The time the stores and the poller see; tests move it by hand."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@dataclass
class FakeSubmitRequest:
    id: uuid.UUID
    company_id: str
    model: str
    processing_type: str
    conversation: list[tuple[str, str]]
    approx_bytes: int = 100
    status: str = REQUEST_INITIAL.value
    batch_id: uuid.UUID | None = None
    attempt: int = 1
    error: str | None = None
    est_tokens: int | None = None
    not_before: datetime | None = None


@dataclass
class FakeBatchRow:
    id: uuid.UUID
    company_id: str
    model: str
    created_at: datetime
    status: str = BATCH_INITIAL.value
    submit_attempts: int = 0
    input_file_id: str | None = None
    file_bytes: int | None = None
    provider_batch_id: str | None = None
    submitted_at: datetime | None = None
    submit_retry_at: datetime | None = None
    last_error: str | None = None
    request_count: int = 0
    estimated_tokens: int | None = None
    admitted_enqueued: int = 0
    token_rate: float = 0.0
    error_codes: list[str] = field(default_factory=list)
    fed_back: bool = False
    provider: str = "openai"


@dataclass
class FakeSubmitterStore:
    """:class:`services.submitter.ports.SubmitterStore` in dicts; ``held`` are advisory locks of live
    processes (a test adds a batch id to play a submitter that is still working on it)."""

    clock: FakeClock = field(default_factory=FakeClock)
    requests: dict[uuid.UUID, FakeSubmitRequest] = field(default_factory=dict)
    batches: dict[uuid.UUID, FakeBatchRow] = field(default_factory=dict)
    outbox: list[tuple[str, OutgoingEvent]] = field(default_factory=list)
    held: set[uuid.UUID] = field(default_factory=set)
    #: ``model_token_limits``, and what ``observed_usage`` answers per model (prompt tokens, bytes).
    learned: dict[str, Learned] = field(default_factory=dict)
    usage: dict[str, tuple[int, int]] = field(default_factory=dict)
    circuits: dict[tuple[str, str], Circuit] = field(default_factory=dict)
    #: Each batch's request lines as recorded with its upload (request id -> 1-based line).
    lines: dict[uuid.UUID, dict[uuid.UUID, int]] = field(default_factory=dict)
    #: ``duplicate_batches`` by provider batch id.
    duplicates: dict[str, DuplicateCopy] = field(default_factory=dict)

    def add_request(
        self,
        content: str = "hi",
        *,
        company_id: str = "acme",
        model: str = "gpt-4o-mini",
        approx_bytes: int = 100,
    ) -> uuid.UUID:
        request = FakeSubmitRequest(
            uuid.uuid4(), company_id, model, "summary", [("user", content)], approx_bytes
        )
        self.requests[request.id] = request
        return request.id

    def left_behind(
        self, request_ids: list[uuid.UUID], *, age_s: float, attempts: int, input_file_id: str | None = None
    ) -> uuid.UUID:
        """A batch a dead submitter claimed (and maybe uploaded) but never recorded as submitted."""
        first = self.requests[request_ids[0]]
        batch = FakeBatchRow(
            uuid.uuid4(),
            first.company_id,
            first.model,
            self.clock.now - timedelta(seconds=age_s),
            submit_attempts=attempts,
            input_file_id=input_file_id,
        )
        self.batches[batch.id] = batch
        for rid in request_ids:
            self.requests[rid].status, self.requests[rid].batch_id = CLAIM.target, batch.id
        return batch.id

    def of_batch(self, batch_id: uuid.UUID) -> list[FakeSubmitRequest]:
        return [r for r in self.requests.values() if r.batch_id == batch_id]

    @asynccontextmanager
    async def lock(self, batch_id: uuid.UUID) -> AsyncIterator[bool]:
        if batch_id in self.held:
            yield False
            return
        self.held.add(batch_id)
        try:
            yield True
        finally:
            self.held.discard(batch_id)

    def finish(self, batch_id: uuid.UUID, *, codes: Sequence[str] = ()) -> None:
        """What the poller does: the provider finished the batch (``codes``: its batch-level errors)."""
        b = self.batches[batch_id]
        b.status, b.error_codes = (BatchStatus.FAILED if codes else BatchStatus.COMPLETED).value, list(codes)

    def _claimable(self, r: FakeSubmitRequest, model: str) -> bool:
        return (
            r.model == model
            and r.status in CLAIM.sources
            and r.batch_id is None
            and (r.not_before is None or r.not_before <= self.clock.now)
        )

    async def claim(
        self,
        batch_id: uuid.UUID,
        key: GroupKey,
        *,
        max_requests: int,
        max_bytes: int,
        budget: ModelBudget | None = None,
    ) -> int:
        rate = budget.rate if budget is not None else TokenRate()
        allowed = self._admit(key, budget) if budget is not None else Allowance.unlimited(enqueued=0)
        candidates = [
            r
            for r in self.requests.values()
            if r.company_id == key.company_id and self._claimable(r, key.model)
        ][:max_requests]
        taken, running, tokens = [], 0, 0
        for r in candidates:
            est = rate.estimate(r.approx_bytes)
            running, tokens, first = running + r.approx_bytes, tokens + est, not taken and r is candidates[0]
            if (running <= max_bytes or first) and (
                tokens <= allowed.share
                or (first and ((allowed.share > 0 and est <= allowed.available) or allowed.empty))
            ):
                taken.append((r, est))
        if not taken:
            return 0
        self.batches[batch_id] = FakeBatchRow(
            batch_id,
            key.company_id,
            key.model,
            self.clock.now,
            request_count=len(taken),
            estimated_tokens=sum(est for _, est in taken),
            admitted_enqueued=allowed.enqueued,
            token_rate=rate.tokens_per_byte,
        )
        for r, est in taken:
            r.status, r.batch_id, r.est_tokens = CLAIM.target, batch_id, est
        return len(taken)

    def _admit(self, key: GroupKey, budget: ModelBudget) -> Allowance:
        """``token_sql.admit`` in memory: fail the never-admittable, learn from finished batches, share."""
        if budget.configured_limit is not None:
            for r in self.requests.values():
                if (
                    r.company_id == key.company_id
                    and r.model == key.model
                    and r.batch_id is None
                    and budget.rate.estimate(r.approx_bytes) > budget.configured_limit
                ):
                    self._move(
                        r.id, FAIL_UNADMITTABLE, error=too_large_reason(key.model, budget.configured_limit)
                    )
        demands: dict[str, int] = {}
        for r in self.requests.values():
            if self._claimable(r, key.model):
                demands[r.company_id] = demands.get(r.company_id, 0) + budget.rate.estimate(r.approx_bytes)
        if not demands.get(key.company_id):
            return Allowance(0, 0, False, budget.configured_limit or UNLIMITED, 0, 0)
        outcomes = []
        for b in self.batches.values():
            if (
                b.model == key.model
                and not b.fed_back
                and b.estimated_tokens is not None
                and b.status in FINISHED
            ):
                b.fed_back = True
                rejected = REJECTION_CODE in b.error_codes
                if b.submitted_at is not None and (rejected or not b.error_codes):
                    outcomes.append(
                        Outcome(
                            rejected,
                            b.estimated_tokens,
                            b.admitted_enqueued,
                            b.token_rate,
                            b.request_count,
                            b.created_at,
                        )
                    )
        updated = feed_back(self.learned.get(key.model), outcomes, budget, self.clock.now)
        if updated is None:
            self.learned.pop(key.model, None)
        else:
            self.learned[key.model] = updated
        held: dict[str, int] = {}
        for b in self.batches.values():
            if b.model == key.model and b.status in HOLDING:
                held[b.company_id] = held.get(b.company_id, 0) + (b.estimated_tokens or 0)
        return allowance(budget, updated, held=held, demands=demands, company=key.company_id)

    async def observed_usage(self, model: str) -> tuple[int, int]:
        return self.usage.get(model, (0, 0))

    async def begin_attempt(self, batch_id: uuid.UUID) -> Unsubmitted | None:
        b = self.batches[batch_id]
        if b.status != BATCH_INITIAL.value:
            return None
        b.submit_attempts += 1
        return Unsubmitted(b.id, b.company_id, b.model, b.created_at, b.submit_attempts, b.input_file_id)

    async def write_file(
        self, batch_id: uuid.UUID, path: Path, limits: FileLimits, *, too_large_reason: str
    ) -> BuiltFile:
        async def rows() -> AsyncIterator[FileRow]:
            for r in self.of_batch(batch_id):
                if r.status == CLAIM.target and r.conversation:
                    yield FileRow(r.id, r.processing_type, r.model, conversation_text(r.conversation))

        built = await write_lines(rows(), path, limits)
        for rid in built.oversized:
            self._move(rid, FAIL_REQUEST, error=too_large_reason)
        for rid in built.overflow + built.oversized:
            if self._move(rid, RELEASE):
                self.requests[rid].batch_id = None
        return built

    def _move(self, request_id: uuid.UUID, move: Move, *, error: str | None = None) -> bool:
        r = self.requests[request_id]
        if r.status not in move.sources:
            return False
        r.status = move.target
        r.error = error or r.error
        return True

    async def record_upload(
        self,
        batch_id: uuid.UUID,
        file_id: str,
        size: int,
        *,
        attempt: int,
        lines: Sequence[uuid.UUID] = (),
    ) -> bool:
        b = self.batches[batch_id]
        if b.status != BATCH_INITIAL.value or b.submit_attempts != attempt:
            return False
        b.input_file_id, b.file_bytes = file_id, size
        self.lines[batch_id] = {rid: n for n, rid in enumerate(lines, start=1)}
        return True

    async def record_submitted(
        self, batch_id: uuid.UUID, provider_batch_id: str, *, topic: str, event: OutgoingEvent
    ) -> bool:
        b = self.batches[batch_id]
        if b.status not in SUBMITTED.sources:
            return False
        b.status, b.provider_batch_id, b.submitted_at = SUBMITTED.target, provider_batch_id, self.clock.now
        b.submit_retry_at = b.last_error = None
        self.duplicates.pop(provider_batch_id, None)
        self.outbox.append((topic, event))
        return True

    async def provider_batch_of(self, batch_id: uuid.UUID) -> str | None:
        return self.batches[batch_id].provider_batch_id

    async def record_attempt_error(self, batch_id: uuid.UUID, error: str, retry_in_s: float) -> None:
        b = self.batches[batch_id]
        if b.status == BATCH_INITIAL.value:
            b.last_error, b.submit_retry_at = error, self.clock.now + timedelta(seconds=retry_in_s)

    async def mark_failed(
        self,
        batch_id: uuid.UUID,
        error: str,
        *,
        topic: str,
        event: OutgoingEvent,
        error_codes: Sequence[str] = (),
        refused: bool = False,
    ) -> bool:
        b = self.batches[batch_id]
        if b.status not in FAIL_UNSUBMITTED.sources:
            return False
        b.status, b.last_error, b.submit_retry_at = FAIL_UNSUBMITTED.target, error, None
        b.error_codes = list(error_codes)
        if refused and b.submitted_at is None:
            b.submitted_at = self.clock.now
        self.outbox.append((topic, event))
        return True

    # --- circuits: the same decisions as services/submitter/circuits.py, on the fake clock ---------------

    async def paused_circuit(self, provider: str, model: str) -> Circuit | None:
        c = self.circuits.get((provider, model))
        return c if c is not None and c.probe_at > self.clock.now else None

    async def enter_circuit(self, provider: str, model: str, *, probe_lease_s: float) -> CircuitEntry:
        c = self.circuits.get((provider, model))
        if c is None:
            return CircuitEntry(None)
        if c.probe_at <= self.clock.now:
            c = self.circuits[(provider, model)] = replace(
                c, probe_at=self.clock.now + timedelta(seconds=probe_lease_s)
            )
            return CircuitEntry(c, probing=True)
        return CircuitEntry(c)

    async def record_configuration_fault(
        self, batch_id: uuid.UUID, *, attempt: int, provider: str, model: str, decide: CircuitDecision
    ) -> Circuit:
        c = self.circuits[(provider, model)] = decide(self.circuits.get((provider, model)), self.clock.now)
        await self.wait_for_circuit(batch_id, attempt=attempt, circuit=c)
        return c

    async def wait_for_circuit(self, batch_id: uuid.UUID, *, attempt: int, circuit: Circuit) -> None:
        b = self.batches[batch_id]
        if b.status != BATCH_INITIAL.value or b.submit_attempts != attempt:
            return
        current = self.circuits.get((circuit.provider, circuit.model))
        b.submit_attempts -= 1
        b.last_error = WAIT_MARK + circuit.reason
        b.submit_retry_at = current.probe_at if current is not None else self.clock.now

    async def close_circuit(self, provider: str, model: str) -> int:
        self.circuits.pop((provider, model), None)
        waiting = [
            b
            for b in self.batches.values()
            if b.status == BATCH_INITIAL.value
            and b.model == model
            and b.provider == provider
            and (b.last_error or "").startswith(WAIT_MARK)
        ]
        for b in waiting:
            b.submit_retry_at = None
        return len(waiting)

    async def open_circuits(self) -> list[Circuit]:
        return [self.circuits[k] for k in sorted(self.circuits)]

    async def due_unsubmitted(self, *, min_age_s: float) -> list[uuid.UUID]:
        now = self.clock.now
        return [
            b.id
            for b in sorted(self.batches.values(), key=lambda b: b.created_at)
            if b.status == BATCH_INITIAL.value
            and b.created_at < now - timedelta(seconds=min_age_s)
            and (b.submit_retry_at is None or b.submit_retry_at <= now)
        ]

    async def pending_groups(self, *, min_wait_s: float) -> list[GroupKey]:
        return sorted(
            {
                GroupKey(r.company_id, r.model)
                for r in self.requests.values()
                if r.status == REQUEST_INITIAL.value and r.batch_id is None
            }
        )

    async def record_duplicates(self, copies: Sequence[DuplicateCopy]) -> None:
        """As the SQL: a settled copy is kept as it is; counts and usage only grow."""
        for c in copies:
            old = self.duplicates.get(c.provider_batch_id)
            if old is None:
                self.duplicates[c.provider_batch_id] = c
            elif not old.settled:
                self.duplicates[c.provider_batch_id] = replace(
                    c,
                    provider_status=c.provider_status or old.provider_status,
                    total=max(c.total, old.total),
                    completed=max(c.completed, old.completed),
                    failed=max(c.failed, old.failed),
                    input_tokens=max(c.input_tokens, old.input_tokens),
                    output_tokens=max(c.output_tokens, old.output_tokens),
                )

    async def unsettled_duplicates(self, *, limit: int) -> list[DuplicateCopy]:
        return [c for c in self.duplicates.values() if not c.settled][:limit]


@dataclass
class FakePolledBatch:
    id: uuid.UUID
    provider_batch_id: str
    submitted_at: datetime
    status: BatchStatus = BatchStatus.VALIDATING
    company_id: str = "acme"
    model: str = "gpt-4o-mini"
    next_poll_at: datetime | None = None
    poll_count: int = 0
    last_error: str | None = None
    outcome: Terminal | None = None


@dataclass
class FakePollerStore:
    """:class:`services.poller.ports.PollerStore` in a dict; ``delays`` records every reschedule."""

    clock: FakeClock = field(default_factory=FakeClock)
    batches: dict[uuid.UUID, FakePolledBatch] = field(default_factory=dict)
    outbox: list[tuple[str, OutgoingEvent]] = field(default_factory=list)
    delays: list[float] = field(default_factory=list)

    def submitted(
        self, provider_batch_id: str, *, ago_s: float = 0.0, status: BatchStatus = BatchStatus.VALIDATING
    ) -> uuid.UUID:
        """A batch the submitter recorded ``ago_s`` seconds ago (unscheduled: its event not consumed yet)."""
        batch = FakePolledBatch(
            uuid.uuid4(), provider_batch_id, self.clock.now - timedelta(seconds=ago_s), status
        )
        self.batches[batch.id] = batch
        return batch.id

    def _schedule_first(self, b: FakePolledBatch, first_delay_s: float) -> bool:
        if b.next_poll_at is not None or b.status not in IN_FLIGHT:
            return False
        b.next_poll_at = b.submitted_at + timedelta(seconds=first_delay_s)
        return True

    async def track(self, batch_ids: Sequence[uuid.UUID], *, first_delay_s: float) -> int:
        return sum(
            self._schedule_first(self.batches[i], first_delay_s) for i in batch_ids if i in self.batches
        )

    async def adopt(self, *, older_than_s: float, first_delay_s: float) -> int:
        cutoff = self.clock.now - timedelta(seconds=older_than_s)
        return sum(
            self._schedule_first(b, first_delay_s) for b in self.batches.values() if b.submitted_at < cutoff
        )

    async def claim_due(self, *, limit: int, lease_s: float) -> list[DueBatch]:
        now = self.clock.now
        due = sorted(
            (
                b
                for b in self.batches.values()
                if b.status in IN_FLIGHT and b.next_poll_at is not None and b.next_poll_at <= now
            ),
            key=lambda b: b.next_poll_at or now,
        )[:limit]
        for b in due:
            b.next_poll_at = now + timedelta(seconds=lease_s)
        return [
            DueBatch(
                b.id,
                b.company_id,
                b.model,
                b.provider_batch_id,
                b.status,
                b.poll_count,
                b.submitted_at,
                b.last_error,
            )
            for b in due
        ]

    async def renew_lease(self, batch_id: uuid.UUID, *, lease_s: float) -> bool:
        b = self.batches[batch_id]
        if b.status not in IN_FLIGHT or b.next_poll_at is None:
            return False
        b.next_poll_at = self.clock.now + timedelta(seconds=lease_s)
        return True

    async def reschedule(
        self,
        batch_id: uuid.UUID,
        status: BatchStatus,
        *,
        delay_s: float,
        completed: int | None,
        failed: int | None,
        last_error: str | None,
    ) -> bool:
        b = self.batches[batch_id]
        if b.status.value not in RESCHEDULE[status].sources:
            return False
        b.status, b.poll_count = status, b.poll_count + 1
        b.next_poll_at = self.clock.now + timedelta(seconds=delay_s)
        b.last_error = last_error or b.last_error
        self.delays.append(delay_s)
        return True

    async def finish(
        self, batch_id: uuid.UUID, outcome: Terminal, *, topic: str, event: OutgoingEvent
    ) -> bool:
        b = self.batches[batch_id]
        if b.status.value not in FINISH[outcome.status].sources:
            return False
        b.status, b.outcome, b.next_poll_at, b.poll_count = outcome.status, outcome, None, b.poll_count + 1
        b.last_error = outcome.detail or b.last_error
        self.outbox.append((topic, event))
        return True
