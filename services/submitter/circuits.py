"""SQL of the configuration circuits (``provider_circuits``) and of the batches that wait for them.

Apart from ``repository`` because it is a concern of its own: the circuits are shared by every
submitter instance, so the decisions that must not race (who opens, who probes, who closes) are single
statements or transactions under a per-circuit lock here. No status is written: a batch that waits
for a circuit stays PENDING_SUBMISSION; only its retry timer, its error and its attempt count change.
"""

from __future__ import annotations

import uuid

from sqlalchemy import text
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from services.submitter.ports import CircuitDecision, CircuitEntry
from services.submitter.repository import UNSUBMITTED
from shared.circuit import Circuit

#: ``last_error`` of a batch waiting for an open circuit; ``close_circuit`` makes exactly these due.
WAIT_MARK = "waiting for the configuration circuit: "


def _circuit(row: Row[tuple[object, ...]]) -> Circuit:
    m = row._mapping
    return Circuit(m["provider"], m["model"], m["reason"], m["opened_at"], m["faults"], m["probe_at"])


async def paused(conn: AsyncConnection, provider: str, model: str) -> Circuit | None:
    row = (
        await conn.execute(
            text(
                "SELECT provider, model, reason, opened_at, faults, probe_at FROM provider_circuits "
                "WHERE provider = :p AND model = :m AND probe_at > now()"
            ),
            {"p": provider, "m": model},
        )
    ).first()
    return _circuit(row) if row is not None else None


async def enter(conn: AsyncConnection, provider: str, model: str, *, probe_lease_s: float) -> CircuitEntry:
    """One statement: take the probe if it is due (row lock: one taker), else read the circuit.

    A second instance racing for the same probe waits on the row lock, re-checks ``probe_at`` and
    finds it moved: it reads the circuit instead (and waits, see :func:`wait`).
    """
    row = (
        await conn.execute(
            text(
                """
                WITH probe AS (
                    UPDATE provider_circuits SET probe_at = now() + make_interval(secs => :lease)
                    WHERE provider = :p AND model = :m AND probe_at <= now()
                    RETURNING provider, model, reason, opened_at, faults, probe_at, true AS probing
                )
                SELECT * FROM probe
                UNION ALL
                SELECT provider, model, reason, opened_at, faults, probe_at, false AS probing
                FROM provider_circuits
                WHERE provider = :p AND model = :m AND NOT EXISTS (SELECT 1 FROM probe)
                """
            ),
            {"p": provider, "m": model, "lease": probe_lease_s},
        )
    ).first()
    if row is None:
        return CircuitEntry(None)
    return CircuitEntry(_circuit(row), probing=bool(row._mapping["probing"]))


async def record_fault(
    conn: AsyncConnection,
    batch_id: uuid.UUID,
    *,
    attempt: int,
    provider: str,
    model: str,
    decide: CircuitDecision,
) -> Circuit:
    """Open or extend the circuit (under a transaction lock per circuit, so two instances meeting the
    fault at once count two faults instead of both "opening" it), then make the batch wait for it."""
    await conn.execute(
        text("SELECT pg_advisory_xact_lock(hashtextextended('circuit:' || :p || '/' || :m, 7))"),
        {"p": provider, "m": model},
    )
    now = await conn.scalar(text("SELECT now()"))
    row = (
        await conn.execute(
            text(
                "SELECT provider, model, reason, opened_at, faults, probe_at FROM provider_circuits "
                "WHERE provider = :p AND model = :m"
            ),
            {"p": provider, "m": model},
        )
    ).first()
    circuit = decide(_circuit(row) if row is not None else None, now)
    await conn.execute(
        text(
            "INSERT INTO provider_circuits (provider, model, reason, opened_at, faults, probe_at) "
            "VALUES (:p, :m, :r, :o, :f, :at) ON CONFLICT (provider, model) DO UPDATE SET "
            "reason = excluded.reason, opened_at = excluded.opened_at, faults = excluded.faults, "
            "probe_at = excluded.probe_at"
        ),
        {
            "p": provider,
            "m": model,
            "r": circuit.reason[:2000],
            "o": circuit.opened_at,
            "f": circuit.faults,
            "at": circuit.probe_at,
        },
    )
    await wait(conn, batch_id, attempt=attempt, circuit=circuit)
    return circuit


async def wait(conn: AsyncConnection, batch_id: uuid.UUID, *, attempt: int, circuit: Circuit) -> None:
    """Give back the attempt counted for a submission that did not go (or met a configuration fault)
    and retry at the circuit's probe time as stored now (another instance may have moved it; a
    circuit closed meanwhile makes the batch due at once).

    ``submit_attempts = :a`` keeps the give-back to the submission that counted it: a batch taken over
    since (a higher count) is the new owner's. The count going down does not weaken it as a fencing
    token: the process that gives its attempt back does nothing more with the batch.
    """
    await conn.execute(
        text(
            "UPDATE provider_batches SET submit_attempts = submit_attempts - 1, last_error = :e, "
            "submit_retry_at = coalesce((SELECT probe_at FROM provider_circuits "
            "WHERE provider = :p AND model = :m), now()) "
            "WHERE id = :id AND status = :s AND submit_attempts = :a"
        ),
        {
            "e": (WAIT_MARK + circuit.reason)[:2000],
            "p": circuit.provider,
            "m": circuit.model,
            "id": batch_id,
            "s": UNSUBMITTED,
            "a": attempt,
        },
    )


async def close(conn: AsyncConnection, provider: str, model: str) -> int:
    """Delete the circuit; the batches waiting for it become due at once. Returns how many waited."""
    await conn.execute(
        text("DELETE FROM provider_circuits WHERE provider = :p AND model = :m"), {"p": provider, "m": model}
    )
    rows = await conn.execute(
        text(
            "UPDATE provider_batches SET submit_retry_at = NULL "
            "WHERE status = :s AND provider = :p AND model = :m AND starts_with(last_error, :mark) "
            "RETURNING id"
        ),
        {"s": UNSUBMITTED, "p": provider, "m": model, "mark": WAIT_MARK},
    )
    return len(rows.all())


async def open_circuits(conn: AsyncConnection) -> list[Circuit]:
    rows = await conn.execute(
        text(
            "SELECT provider, model, reason, opened_at, faults, probe_at FROM provider_circuits "
            "ORDER BY provider, model"
        )
    )
    return [_circuit(r) for r in rows]
