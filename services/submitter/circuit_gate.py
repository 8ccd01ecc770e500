"""The submitter's side of the configuration circuits: may a submission go, and what its end means.

The circuits themselves live in the database (shared by every instance, rules in :mod:`shared.circuit`);
this class asks the store, applies :class:`~services.submitter.faults.FaultPolicy`'s pauses, logs each
change as a structured event (``circuit.opened``, ``circuit.probe_failed``, ``circuit.closed``,
``submission.paused``) and keeps the last view of the open circuits for the metrics gauge.
"""

from __future__ import annotations

from collections.abc import Callable, MutableMapping
from datetime import datetime

import structlog

from services.submitter.faults import FaultPolicy
from services.submitter.ports import CircuitEntry, SubmitterStore, Unsubmitted
from shared.circuit import Circuit
from shared.metrics import Gauge
from shared.provider.base import ProviderError

log = structlog.get_logger(__name__)


class CircuitGate:
    def __init__(
        self,
        store: SubmitterStore,
        provider: str | Callable[[str], str],
        policy: FaultPolicy,
        stats: MutableMapping[str, int],
    ) -> None:
        self._store = store
        #: The provider of a model: circuits are per (provider, model), and models may be routed apart.
        self._provider_of = provider if callable(provider) else _always(provider)
        self._policy = policy
        self._stats = stats
        for key in ("configuration_faults", "submissions_paused", "circuits_closed"):
            stats.setdefault(key, 0)
        #: Open circuits as last seen (opened by any instance): the metrics gauge reads this.
        self.circuits: dict[tuple[str, str], Circuit] = {}

    async def refresh(self) -> list[Circuit]:
        """Read every open circuit (other instances open and close them too)."""
        found = await self._store.open_circuits()
        self.circuits = {(c.provider, c.model): c for c in found}
        return found

    def gauge(self) -> dict[tuple[str, ...], float]:
        """1 per open circuit, labelled (provider, model): the sum is how many are open."""
        return {key: 1.0 for key in self.circuits}

    def metric(self) -> Gauge:
        """``batchline_submitter_open_circuits{provider, model}`` (the reason is in the logs and the
        report: labels carry no free text)."""
        return Gauge(
            "submitter_open_circuits",
            "configuration circuits open (submissions paused) per provider and model",
            ("provider", "model"),
            self.gauge,
        )

    async def paused(self, model: str) -> bool:
        """True while the model's circuit is open and its probe time has not come: claim nothing."""
        circuit = await self._store.paused_circuit(self._provider_of(model), model)
        if circuit is None:
            self.circuits.pop((self._provider_of(model), model), None)
            return False
        self.circuits[(circuit.provider, circuit.model)] = circuit
        return True

    async def enter(self, batch: Unsubmitted) -> CircuitEntry:
        """Whether the batch's submission (its attempt counted) may go; if not, it waits for the probe
        with that attempt given back."""
        entry = await self._store.enter_circuit(
            self._provider_of(batch.model), batch.model, probe_lease_s=self._policy.circuit_max_s
        )
        circuit = entry.circuit
        if circuit is None:
            return entry
        self.circuits[(circuit.provider, circuit.model)] = circuit
        if entry.probing:
            log.info("circuit.probe", batch_id=str(batch.id), provider=circuit.provider, model=batch.model)
            return entry
        self._stats["submissions_paused"] += 1
        log.info(
            "submission.paused",
            batch_id=str(batch.id),
            provider=circuit.provider,
            model=batch.model,
            probe_at=circuit.probe_at.isoformat(),
            reason=circuit.reason,
        )
        await self._store.wait_for_circuit(batch.id, attempt=batch.submit_attempts, circuit=circuit)
        return entry

    async def fault(self, batch: Unsubmitted, exc: ProviderError) -> Circuit:
        """Our configuration or account was refused: open (or extend) the circuit, charge nothing."""
        reason = str(exc)
        self._stats["configuration_faults"] += 1
        provider, model = self._provider_of(batch.model), batch.model

        def decide(current: Circuit | None, now: datetime) -> Circuit:
            return self._policy.opened(current, now, provider=provider, model=model, reason=reason)

        circuit = await self._store.record_configuration_fault(
            batch.id, attempt=batch.submit_attempts, provider=provider, model=model, decide=decide
        )
        self.circuits[(provider, model)] = circuit
        log.error(
            "circuit.opened" if circuit.faults == 1 else "circuit.probe_failed",
            provider=provider,
            model=model,
            reason=reason,
            status=exc.status,
            code=exc.code,
            faults=circuit.faults,
            opened_at=circuit.opened_at.isoformat(),
            probe_at=circuit.probe_at.isoformat(),
            batch_id=str(batch.id),
        )
        return circuit

    async def passed(self, entry: CircuitEntry, batch: Unsubmitted) -> None:
        """The submission got past our configuration (the provider accepted it, or judged only its
        content): if it was the probe, the circuit closes and the batches that waited become due."""
        circuit = entry.circuit
        if not entry.probing or circuit is None:
            return
        released = await self._store.close_circuit(circuit.provider, batch.model)
        self.circuits.pop((circuit.provider, batch.model), None)
        self._stats["circuits_closed"] += 1
        log.warning(
            "circuit.closed",
            provider=circuit.provider,
            model=batch.model,
            reason=circuit.reason,
            faults=circuit.faults,
            opened_at=circuit.opened_at.isoformat(),
            batches_released=released,
        )


def _always(name: str) -> Callable[[str], str]:
    def provider_of(model: str) -> str:
        return name

    return provider_of
