"""Submitting a local batch to the provider, crash-safe, and reconciling batches a crash left behind.

Sequence for one batch (each arrow a separate commit or provider call):
    claim (admission against the model's enqueued-token budget, ``token_budget``; batch row
    PENDING_SUBMISSION + requests) -> count attempt -> write JSONL -> upload ->
    record file id -> create provider batch (metadata carries our batch id) -> record provider id,
    VALIDATING, outbox ``batch.created``.
The submitter never schedules polls: ``next_poll_at`` is the poller's alone, set when ``batch.created``
reaches it (or when its own round adopts a submitted batch no event announced).
The whole sequence runs under a PostgreSQL advisory lock on the batch id. A batch still
PENDING_SUBMISSION whose lock is free therefore belongs to a dead process; the reconciler takes it
and, if an earlier attempt may have reached the provider, first looks the batch up there by metadata,
so a crash between "create" and "record" never yields a second provider batch.

A provider failure is handled by who must act (``faults``): a configuration fault opens the circuit of
the provider/model and pauses its submissions with nothing charged, a content fault fails the batch, a
transient one is retried up to a cap and then releases the batch. Provider batches of ours that were
not recorded are cancelled (``duplicates``).

The database is reached only through the :class:`~services.submitter.ports.SubmitterStore` passed in
(PostgreSQL in production, in memory in the orchestration unit tests), so this module holds the
decisions and none of the SQL.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import structlog

from services.submitter.accumulator import GroupKey
from services.submitter.batch_file import FileLimits
from services.submitter.circuit_gate import CircuitGate
from services.submitter.duplicates import Duplicates
from services.submitter.faults import (
    RELEASED_CODE,
    TOKEN_REFUSAL_CODE,
    Action,
    FaultPolicy,
    submit_retry_delay_s,
)
from services.submitter.ports import CircuitEntry, SubmitterStore, Unsubmitted
from services.submitter.token_budget import ModelBudget, RateBook
from shared.admission import RECOVERY_INTERVAL_S
from shared.circuit import Circuit
from shared.events import BatchCompleted, BatchCreated
from shared.provider.base import LOCAL_BATCH_ID_KEY, BatchProvider, ProviderError
from shared.provider.lines import LineShape, batch_metadata, default_shape

log = structlog.get_logger(__name__)

#: ``submit_retry_delay_s`` lives in ``faults`` now; importable from here as before.
__all__ = ["Submitter", "SubmitterConfig", "submit_retry_delay_s"]


@dataclass(frozen=True, slots=True)
class SubmitterConfig:
    max_requests: int
    max_bytes: int
    max_conversation_chars: int
    retry_delay_s: float
    batch_created_topic: str
    batch_completed_topic: str
    work_dir: Path | None = None
    #: Test hook: "after_upload" or "after_create" ends the process there (crash-recovery tests).
    crash_point: str | None = None
    #: Enqueued-token limit per model; a model not listed gets ``default_token_limit`` (None:
    #: unlimited, though a limit learned from the provider's refusals still applies).
    token_limits: Mapping[str, int] = field(default_factory=dict)
    default_token_limit: int | None = None
    #: How often a model's tokens-per-byte rate is recalibrated from recent usage.
    rate_refresh_s: float = 60.0
    #: At most one recovery step of a learned limit per this many seconds (``shared.admission``).
    recovery_interval_s: float = RECOVERY_INTERVAL_S
    #: The provider's name in ``provider_batches.provider`` and in circuits.
    provider: str = "openai"
    #: Transient failures (counted attempts) before a batch is released.
    max_transient_failures: int = 6
    circuit_base_s: float = 15.0
    circuit_max_s: float = 300.0
    #: Model -> the batch API that runs it (``BATCHLINE_MODEL_PROVIDERS``); unlisted: ``provider``.
    #: Recorded on each batch (``provider_batches.provider``), which keys its token budget.
    model_providers: Mapping[str, str] = field(default_factory=dict)
    #: The line each model's requests become (url, the model string, the body's shape).
    shape_of: Callable[[str], LineShape] = default_shape
    #: Requests per file each provider accepts; ``max_requests`` is capped by the model's provider's.
    provider_max_requests: Mapping[str, int] = field(default_factory=dict)

    def provider_of(self, model: str) -> str:
        return self.model_providers.get(model, self.provider)

    def max_requests_of(self, model: str) -> int:
        cap = self.provider_max_requests.get(self.provider_of(model), self.max_requests)
        return min(self.max_requests, cap)


class Submitter:
    """Turns pending requests into provider batches, each submitted exactly once.

    It exists because the provider bills half price only for work sent as batch files: someone has
    to group a stream of single requests by (company, model), and do it so that a crash at any point
    neither loses requests nor pays for the same batch twice.
    """

    def __init__(
        self,
        store: SubmitterStore,
        provider: BatchProvider,
        config: SubmitterConfig,
        on_commit: Callable[[], None],
    ) -> None:
        self._store = store
        self._provider = provider
        self._config = config
        self._on_commit = on_commit
        self._limits = FileLimits(
            max_bytes=config.max_bytes,
            max_requests=config.max_requests,
            max_conversation_chars=config.max_conversation_chars,
            shape_of=config.shape_of,
        )
        self._rates = RateBook(store.observed_usage, refresh_s=config.rate_refresh_s)
        self._policy = FaultPolicy(
            max_transient_failures=config.max_transient_failures,
            retry_delay_s=config.retry_delay_s,
            circuit_base_s=config.circuit_base_s,
            circuit_max_s=config.circuit_max_s,
        )
        self.stats = {
            "batches_submitted": 0,
            "batches_reconciled": 0,
            "batches_failed": 0,
            "attempt_errors": 0,
            "batches_released": 0,
        }
        self._duplicates = Duplicates(provider, store, self.stats)
        self.gate = CircuitGate(store, config.provider_of, self._policy, self.stats)

    async def flush_group(self, key: GroupKey) -> int:
        """Claim and submit batches for one group until nothing claimable is left; returns batches made."""
        made = 0
        budget = await self.budget(key.model)
        max_requests = self._config.max_requests_of(key.model)
        while True:
            if await self.gate.paused(key.model):
                return made  # no claim while the circuit is open: the requests stay pending
            batch_id = uuid.uuid4()
            # Fresh id: always free; taken before the row exists, so no reconciler can take it over.
            async with self._store.lock(batch_id) as got:
                if not got:
                    raise RuntimeError(f"advisory lock of a fresh batch id {batch_id} is held")
                claimed = await self._store.claim(
                    batch_id,
                    key,
                    max_requests=max_requests,
                    max_bytes=self._config.max_bytes,
                    budget=budget,
                )
                if claimed == 0:
                    return made
                log.info(
                    "claimed requests",
                    batch_id=str(batch_id),
                    company=key.company_id,
                    model=key.model,
                    requests=claimed,
                )
                await self._submit_locked(batch_id)
                made += 1
            if claimed < max_requests:
                return made

    async def budget(self, model: str) -> ModelBudget:
        """The model's configured limit and its calibrated rate, for admission in the claim."""
        return ModelBudget(
            model,
            self._config.token_limits.get(model, self._config.default_token_limit),
            await self._rates.rate(model),
            recovery_interval_s=self._config.recovery_interval_s,
            provider=self._config.provider_of(model),
        )

    async def reconcile_once(self, *, min_age_s: float = 2.0) -> int:
        """Resume batches left PENDING_SUBMISSION by a dead process (or a failed attempt that is due);
        first settle the duplicates recorded earlier (``duplicates``: their spend, a cancel retried)."""
        await self.refresh_circuits()
        await self._duplicates.settle_once()
        resumed = 0
        for batch_id in await self._store.due_unsubmitted(min_age_s=min_age_s):
            async with self._store.lock(batch_id) as got:
                if not got:
                    continue  # its submitter is alive and working on it
                await self._submit_locked(batch_id)
                resumed += 1
        return resumed

    async def refresh_circuits(self) -> list[Circuit]:
        """Read every open circuit (other instances open and close them too) for the metrics gauge."""
        return await self.gate.refresh()

    async def _submit_locked(self, batch_id: uuid.UUID) -> None:
        batch = await self._store.begin_attempt(batch_id)
        if batch is None:
            return  # already submitted or failed
        entry = await self.gate.enter(batch)
        if not entry.allowed:
            return  # waits for the probe, its attempt given back
        try:
            if batch.submit_attempts > 1 or batch.input_file_id is not None:
                existing = await self._duplicates.find(batch)
                if existing is not None:
                    log.warning(
                        "reconciled: provider batch already existed",
                        batch_id=str(batch_id),
                        provider_batch_id=existing.id,
                    )
                    self.stats["batches_reconciled"] += 1
                    await self._record(batch, existing.id)
                    await self.gate.passed(entry, batch)
                    return
            await self._upload_and_create(batch)
        except ProviderError as exc:
            await self._on_provider_error(batch, exc, entry)
            return
        await self.gate.passed(entry, batch)

    async def _on_provider_error(self, batch: Unsubmitted, exc: ProviderError, entry: CircuitEntry) -> None:
        action = self._policy.action(exc, attempts=batch.submit_attempts)
        if action is Action.PAUSE:
            await self.gate.fault(batch, exc)
            return
        if action is Action.REFUSE:
            # The provider judged the queue full, not the content: its requests come back without an
            # attempt and admission learns the lower limit, as from a batch failed at validation.
            await self._fail(batch, f"provider refused the batch: {exc}", codes=[TOKEN_REFUSAL_CODE])
            await self.gate.passed(entry, batch)
            return
        if action is Action.FAIL:
            await self._fail(batch, f"provider rejected the batch: {exc}")
            # The provider read the request and judged its content: our configuration works.
            await self.gate.passed(entry, batch)
            return
        self.stats["attempt_errors"] += 1
        if action is Action.RELEASE:
            await self._release(batch, exc)
            return
        delay = self._policy.retry_in_s(exc, attempts=batch.submit_attempts)
        log.warning("submission failed, will retry", batch_id=str(batch.id), error=str(exc), retry_in_s=delay)
        await self._store.record_attempt_error(batch.id, str(exc), delay)

    async def _release(self, batch: Unsubmitted, exc: ProviderError) -> None:
        """Too many transient failures: give the batch up so its requests go back without an attempt.

        A failed create may still have created the batch (a timeout after the provider accepted it),
        so the provider is asked first; a copy found is recorded instead of released.
        """
        try:
            existing = await self._duplicates.find(batch)
        except ProviderError as lookup:
            if self._policy.action(lookup, attempts=0) is Action.PAUSE:
                await self.gate.fault(batch, lookup)
                return
            delay = self._policy.retry_in_s(lookup, attempts=batch.submit_attempts)
            await self._store.record_attempt_error(batch.id, f"release lookup: {lookup}", delay)
            return
        if existing is not None:
            self.stats["batches_reconciled"] += 1
            await self._record(batch, existing.id)
            return
        self.stats["batches_released"] += 1
        error = f"{RELEASED_CODE}: {batch.submit_attempts} transient submission failures, last: {exc}"
        log.error(
            "submission.released", batch_id=str(batch.id), attempts=batch.submit_attempts, error=str(exc)
        )
        completed = BatchCompleted(
            event_id=f"{batch.id}:completed", batch_id=batch.id, company_id=batch.company_id
        )
        if await self._store.mark_failed(
            batch.id,
            error,
            topic=self._config.batch_completed_topic,
            event=completed,
            error_codes=[RELEASED_CODE],
        ):
            self._on_commit()

    async def _upload_and_create(self, batch: Unsubmitted) -> None:
        with tempfile.TemporaryDirectory(dir=self._config.work_dir, prefix="batch-") as tmp:
            path = Path(tmp) / f"{batch.id}.jsonl"
            built = await self._store.write_file(
                batch.id,
                path,
                self._limits,
                too_large_reason=(
                    f"request_too_large: its line exceeds the {self._config.max_bytes}-byte file limit"
                ),
            )
            if built.lines == 0:
                await self._fail(batch, "empty: no request left to submit")
                return
            uploaded = await self._provider.upload_file(path, filename=f"batchline-{batch.id}.jsonl")
        if not await self._store.record_upload(
            batch.id, uploaded.id, built.bytes, attempt=batch.submit_attempts, lines=built.included
        ):
            log.warning(
                "batch taken over by another submitter during the upload; not creating it",
                batch_id=str(batch.id),
                attempt=batch.submit_attempts,
            )
            return
        self._crash_if("after_upload")
        if batch.submit_attempts > 1:
            # A takeover: the owner it replaced may live on (a database restart freed its lock) and
            # its create, held up in retries, may have landed while this upload ran. Looking again
            # right before creating keeps that copy instead of adding a second provider batch.
            existing = await self._duplicates.find(batch)
            if existing is not None:
                log.warning(
                    "reconciled: provider batch created during the takeover's upload",
                    batch_id=str(batch.id),
                    provider_batch_id=existing.id,
                )
                self.stats["batches_reconciled"] += 1
                await self._record(batch, existing.id)
                return
        metadata = batch_metadata(self._config.shape_of(batch.model), str(batch.id), LOCAL_BATCH_ID_KEY)
        created = await self._provider.create_batch(uploaded.id, metadata=metadata)
        self._crash_if("after_create")
        await self._record(batch, created.id)

    async def _record(self, batch: Unsubmitted, provider_batch_id: str) -> None:
        announced = BatchCreated(
            event_id=f"{batch.id}:created", batch_id=batch.id, company_id=batch.company_id
        )
        if not await self._store.record_submitted(
            batch.id, provider_batch_id, topic=self._config.batch_created_topic, event=announced
        ):
            # The batch moved on without this copy (another copy recorded, or the batch released or
            # failed meanwhile): nobody will ever read it, so it must not run.
            recorded = await self._store.provider_batch_of(batch.id)
            if recorded != provider_batch_id:
                await self._duplicates.cancel(batch, provider_batch_id, kept=recorded)
            return
        self.stats["batches_submitted"] += 1
        self._on_commit()
        log.info("batch submitted", batch_id=str(batch.id), provider_batch_id=provider_batch_id)

    async def _fail(self, batch: Unsubmitted, error: str, *, codes: Sequence[str] = ()) -> None:
        """The batch will never reach the provider: FAILED, announced, its requests left to the ingester,
        which resolves them as those of any failed batch (another attempt, or failed when out of them)."""
        log.error("batch failed at submission", batch_id=str(batch.id), error=error)
        self.stats["batches_failed"] += 1
        completed = BatchCompleted(
            event_id=f"{batch.id}:completed", batch_id=batch.id, company_id=batch.company_id
        )
        if await self._store.mark_failed(
            batch.id,
            error,
            topic=self._config.batch_completed_topic,
            event=completed,
            error_codes=codes,
            refused=bool(codes),
        ):
            self._on_commit()

    def _crash_if(self, point: str) -> None:
        if self._config.crash_point == point:
            log.warning("test crash point reached; exiting without cleanup", point=point)
            os._exit(86)
