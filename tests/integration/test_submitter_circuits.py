"""The circuit table on PostgreSQL: one probe among racing instances, attempts given back only by the
submission that counted them, and a closed circuit making exactly the batches that waited for it due."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from cli.report import open_circuits
from services.submitter.circuits import WAIT_MARK
from services.submitter.ports import CircuitDecision
from services.submitter.store import PostgresSubmitterStore
from shared.circuit import Circuit, record_fault
from shared.events import BatchCompleted
from tests.pipeline import rows, scalar

MODEL = "gpt-4o-mini"


async def batch(engine: AsyncEngine, *, model: str = MODEL, attempts: int = 1, last_error: str | None = None,
                retry_in_s: float | None = None) -> uuid.UUID:
    batch_id = uuid.uuid4()
    async with engine.begin() as conn:
        await conn.execute(text(
            "INSERT INTO provider_batches (id, company_id, model, provider, status, request_count, poll_count, "
            "submit_attempts, last_error, submit_retry_at) VALUES (:b, 'acme', :m, 'openai', 'PENDING_SUBMISSION', "
            "1, 0, :a, :e, now() + make_interval(secs => :r))"),
            {"b": batch_id, "m": model, "a": attempts, "e": last_error, "r": retry_in_s})
    return batch_id


def opener(reason: str = "HTTP 401 (invalid_api_key)") -> tuple[CircuitDecision, list[datetime]]:
    seen: list[datetime] = []

    def decide(current: Circuit | None, now: datetime) -> Circuit:
        seen.append(now)
        return record_fault(current, provider="openai", model=MODEL, reason=reason, now=now, base_s=15, cap_s=300)

    return decide, seen


async def test_a_fault_opens_the_circuit_gives_the_attempt_back_and_makes_the_batch_wait(engine: AsyncEngine) -> None:
    store = PostgresSubmitterStore(engine)
    b = await batch(engine, attempts=1)
    decide, seen = opener()
    circuit = await store.record_configuration_fault(b, attempt=1, provider="openai", model=MODEL, decide=decide)
    db_now = seen[0]
    assert (circuit.faults, circuit.opened_at, circuit.probe_at) == (1, db_now, db_now + timedelta(seconds=15))
    [row] = await rows(engine, "SELECT submit_attempts, submit_retry_at, last_error, status FROM provider_batches")
    assert tuple(row) == (0, circuit.probe_at, WAIT_MARK + "HTTP 401 (invalid_api_key)", "PENDING_SUBMISSION")
    assert await store.paused_circuit("openai", MODEL) == circuit
    assert await store.paused_circuit("openai", "gpt-4o") is None
    entry = await store.enter_circuit("openai", MODEL, probe_lease_s=300)
    assert (entry.circuit, entry.probing, entry.allowed) == (circuit, False, False)

    # A second fault extends it (counted, not a new opening).
    decide2, _ = opener("HTTP 403 (permission_denied)")
    b2 = await batch(engine, attempts=3)
    again = await store.record_configuration_fault(b2, attempt=3, provider="openai", model=MODEL, decide=decide2)
    assert (again.faults, again.opened_at, again.reason) == (2, db_now, "HTTP 403 (permission_denied)")
    assert await scalar(engine, "SELECT submit_attempts FROM provider_batches WHERE id = :b", b=b2) == 2
    assert await store.open_circuits() == [again]


async def test_only_the_submission_that_counted_the_attempt_gives_it_back(engine: AsyncEngine) -> None:
    store = PostgresSubmitterStore(engine)
    b = await batch(engine, attempts=2)  # taken over: a newer submission counted attempt 2
    decide, _ = opener()
    circuit = await store.record_configuration_fault(b, attempt=1, provider="openai", model=MODEL, decide=decide)
    assert await scalar(engine, "SELECT submit_attempts FROM provider_batches WHERE id = :b", b=b) == 2
    await store.wait_for_circuit(b, attempt=2, circuit=circuit)
    assert await scalar(engine, "SELECT submit_attempts FROM provider_batches WHERE id = :b", b=b) == 1


async def test_racing_instances_take_one_probe(engine: AsyncEngine) -> None:
    stores = [PostgresSubmitterStore(engine) for _ in range(4)]
    decide, _ = opener()
    await stores[0].record_configuration_fault(await batch(engine), attempt=1, provider="openai", model=MODEL,
                                               decide=decide)
    async with engine.begin() as conn:
        await conn.execute(text("UPDATE provider_circuits SET probe_at = now() - interval '1 second'"))
    assert await stores[0].paused_circuit("openai", MODEL) is None  # due: a submission may probe
    entries = await asyncio.gather(*(s.enter_circuit("openai", MODEL, probe_lease_s=300) for s in stores))
    assert sorted(e.probing for e in entries) == [False, False, False, True]
    probe_at = await scalar(engine, "SELECT probe_at - now() FROM provider_circuits")
    assert timedelta(seconds=299) < probe_at <= timedelta(seconds=300)  # the probe's lease


async def test_closing_makes_exactly_the_batches_that_waited_due(engine: AsyncEngine) -> None:
    store = PostgresSubmitterStore(engine)
    decide, _ = opener()
    first = await batch(engine)
    await store.record_configuration_fault(first, attempt=1, provider="openai", model=MODEL, decide=decide)
    second = await batch(engine, last_error=WAIT_MARK + "old", retry_in_s=100)
    backoff = await batch(engine, last_error="HTTP 503", retry_in_s=100)  # a transient retry: its own timer
    other_model = await batch(engine, model="gpt-4o", last_error=WAIT_MARK + "x", retry_in_s=100)
    async with engine.connect() as conn:
        [shown] = await open_circuits(conn)
    assert (shown.model, shown.faults, shown.waiting_batches, shown.pending_requests) == (MODEL, 1, 3, 0)

    assert await store.close_circuit("openai", MODEL) == 2
    assert await scalar(engine, "SELECT count(*) FROM provider_circuits") == 0
    timers = {r.id: r.submit_retry_at for r in await rows(engine, "SELECT id, submit_retry_at FROM provider_batches")}
    assert timers[first] is None and timers[second] is None
    assert timers[backoff] is not None and timers[other_model] is not None
    assert (await store.enter_circuit("openai", MODEL, probe_lease_s=300)).allowed


async def test_a_released_batch_keeps_its_code_for_the_ingester(engine: AsyncEngine) -> None:
    store = PostgresSubmitterStore(engine)
    b = await batch(engine, attempts=6)
    event = BatchCompleted(event_id=f"{b}:completed", batch_id=b, company_id="acme")
    assert await store.mark_failed(b, "submission_released: 6 transient failures", topic="t.done", event=event,
                                   error_codes=["submission_released"])
    [row] = await rows(engine, "SELECT status, error_codes FROM provider_batches")
    assert (row.status, row.error_codes) == ("FAILED", ["submission_released"])
    assert await scalar(engine, "SELECT count(*) FROM outbox") == 1
