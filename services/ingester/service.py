"""Resolving every request of a finished batch: files read outside transactions, short ones to write.

A batch's output and error files can hold 50,000 lines and 200 MB. Streaming them inside the
transaction that row-locks the batch and writes thousands of sessions made one long transaction that
blocked the producer and could deadlock with it. So the work comes in three steps:

1. Download and validate outside any transaction: the batch and its members are read (no lock);
   the output file, then the error file, are streamed line by line, each line parsed and validated
   by ``results.parse_line`` as it arrives (``download`` has the rules: the first attributable line
   of a request decides it, unreadable lines are counted). Memory holds a line, the batch's member
   list and a few chunks of outcomes, never a file.
2. Apply in chunks of ``chunk_size`` outcomes, one transaction each, sorted by session id, written
   while the next chunks are read (``chunks``: ``chunks_in_flight`` at once); the store locks
   the chunk's sessions in the producer's order before writing, and a chunk's transaction never
   waits on the network. Good answers complete their request and write its session fields; failed
   lines are decided by ``lifecycle.resolve_request`` (back to pending at attempt + 1, or failed at
   ``max_attempts``), and the retries are announced on ``request.pending`` through the outbox in the
   same transaction.
3. Finish in one short transaction under the batch's row lock: the requests no line resolved (absent
   from both files, or never run by a failed, expired or cancelled batch) are decided by
   ``lifecycle.unfinished_reason`` and ``resolve_request`` and announced when retried; the batch
   becomes PROCESSED with its counts, read back from the database, and its charge (``ports.Charge``:
   its lines' usage and the model's price now), compared in the same write with the provider's usage
   of the batch; a difference is logged and counted (``usage_mismatches``).

A batch the provider failed for errors on named input lines is the exception (``lines``): the
requests on those lines are failed lines of step 2, the others go back uncharged in step 3.

Replays, crashes and duplicates: every write is guarded by the batch id and the claimed status, so
a chunk applied again (a re-ingest after a crash between chunks or a download that failed midway,
or two ingesters handed the same ``batch.completed``) changes nothing, and an event is written only
by the transaction that moved its request. The final step re-checks the batch under its lock:
whoever comes second finds it PROCESSED. Re-ingesting a PROCESSED batch changes nothing. The
database is reached only through the ``ports.IngestStore`` port, so these rules are unit-tested
against an in-memory store.

Failures (``faults`` has the rules): a file that cannot be read for good is resolved like missing
lines, and the batch is finished; any other failure of a batch in the recovery sweep is recorded on
that batch alone (backoff, then quarantine), so one bad batch never holds up the others.

File hygiene: unless ``keep_files``, the ingester that finished a batch then deletes its input, output
and error files at the provider, best effort after the commit (a failed deletion is logged and
counted, never fails the batch; a file already gone counts as deleted). A crash in between leaves
them to the files' expiry and to ``batchline files orphans --delete``.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from decimal import Decimal

import structlog
from sqlalchemy.ext.asyncio import AsyncEngine

from services.ingester.chunks import ChunkWriter
from services.ingester.download import Downloaded, read_outcomes
from services.ingester.fallback import FALLBACK_STATUSES, Fallback, HandedOver, capped_reason, never_ran
from services.ingester.lines import named_requests, untried_outcome
from services.ingester.ports import (
    Announce,
    BatchRow,
    Charge,
    Decided,
    Finished,
    IngestStore,
    Member,
    Repending,
)
from services.ingester.repository import PostgresIngestStore
from services.ingester.results import LineOutcome, Usage
from services.ingester.setbacks import SetbackPolicy, is_infrastructure, unresolved_outcome
from shared.events import pending_event
from shared.lifecycle import (
    BATCH_TERMINAL,
    BatchStatus,
    OutcomeKind,
    Resolution,
    resolve_request,
    unfinished_reason,
)
from shared.outbox import OutgoingEvent
from shared.periodic import Backoff
from shared.provider.base import BatchProvider, ConfigurationFault, ProviderNotFound
from shared.settings import ModelPrice

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class IngesterConfig:
    max_attempts: int
    retry_backoff_s: float
    request_pending_topic: str
    #: Outcomes per write transaction (and rows per statement in the final step).
    chunk_size: int = 2_000
    #: Chunk transactions running at once while the files are read (``chunks``).
    chunks_in_flight: int = 2
    #: A batch the sweep failed to ingest waits this long, doubling per consecutive failure, up to the cap.
    setback_base_s: float = 300.0
    setback_cap_s: float = 6 * 3600.0
    #: Consecutive failed ingests (configuration faults excluded) before a batch is quarantined.
    quarantine_after: int = 8
    #: Keep the provider's files of processed batches; False deletes them once the batch is PROCESSED.
    keep_files: bool = True
    #: Bound of one best-effort file deletion (the adapter's own retry budget can be minutes).
    delete_timeout_s: float = 30.0
    #: List prices per model and the batch discount, stored on each batch as it is processed (a model
    #: without a price is stored unpriced; the report then prices it at the prices configured then).
    prices: Mapping[str, ModelPrice] = field(default_factory=dict)
    batch_discount: Decimal = Decimal("0.5")


@dataclass(slots=True)
class IngestReport:
    """What this call changed (a duplicate running alongside changes, and counts, nothing twice)."""

    batch_id: str
    status: str = ""
    completed: int = 0
    retried: int = 0
    failed: int = 0
    unreadable_lines: int = 0
    #: Output/error files that could not be read for good (their requests were resolved as lost).
    unreadable_files: int = 0
    #: Nothing to finish: the batch was not provider-terminal, was quarantined, or another ingester
    #: finished it (or, with ``setback``, it failed and was left for a later try).
    skipped: bool = False
    #: Why this ingest failed and was recorded on the batch for the sweep to retry (or quarantine).
    setback: str | None = None
    #: Unfinished requests handed to the fallback (``BATCHLINE_FALLBACK_MODE``) by this call.
    fallback: int = 0


class Ingester:
    """Resolves every request of a finished batch: a result stored, a retry, or a failure with its reason.

    It exists so that no request is left in limbo: whatever the provider returns (answers, error lines,
    nothing, an unreadable file), each request of the batch leaves BATCHING_IN_PROGRESS exactly once,
    and the answers it keeps are only those that pass their schema.
    """

    def __init__(
        self,
        store: IngestStore | AsyncEngine,
        provider: BatchProvider,
        config: IngesterConfig,
        on_commit: Callable[[], None],
        fallback: Fallback | None = None,
    ) -> None:
        # The wiring and the integration tests hand over an engine; the unit tests a fake store.
        if isinstance(store, AsyncEngine):
            store = PostgresIngestStore(
                store, pending_topic=config.request_pending_topic, statement_rows=config.chunk_size
            )
        self._store = store
        self._provider = provider
        self._config = config
        self._on_commit = on_commit
        self._fallback = fallback  # what finishes an expired or cancelled batch's remainder (``fallback``)
        self._setbacks = SetbackPolicy(
            Backoff(config.setback_base_s, cap_s=config.setback_cap_s), config.quarantine_after
        )
        self.stats = {
            "batches_ingested": 0,
            "requests_completed": 0,
            "requests_retried": 0,
            "requests_failed": 0,
            "unreadable_lines": 0,
            "unreadable_files": 0,
            "batch_setbacks": 0,
            "batches_quarantined": 0,
            "files_deleted": 0,
            "file_delete_failures": 0,
            "usage_mismatches": 0,
        }

    async def ingest(self, batch_id: uuid.UUID) -> IngestReport:
        report = IngestReport(str(batch_id))
        batch = await self._store.batch(batch_id)
        if batch is None or batch.status not in BATCH_TERMINAL or batch.quarantined:
            # PROCESSED (a duplicate or replayed event), not finished, or given up to an operator.
            report.skipped = True
            report.status = "unknown" if batch is None else batch.status.value
            if batch is not None and batch.quarantined:
                report.status = "quarantined"
            return report
        report.status = batch.status.value
        members = await self._store.members(batch_id)
        announce = self._announcer(batch_id)
        named = named_requests(batch.status, batch.validation_errors, members)
        # With a fallback, a line the batch never ran (``batch_expired``) leaves its request open for it.
        defer = self._fallback is not None and named is None and batch.status in FALLBACK_STATUSES
        found = Downloaded()

        async def kept() -> AsyncIterator[LineOutcome]:
            async for outcome in read_outcomes(self._provider, batch, members, found):
                if not (defer and never_ran(outcome)):
                    yield outcome

        async def write(chunk: Sequence[LineOutcome]) -> None:
            await self._apply(batch_id, chunk, members, announce, report)

        # A named request resolved already by an ingest a crash interrupted is left alone.
        failures = [LineOutcome(c, None, why, Usage()) for c, why in (named or {}).items() if members[c].open]
        writer = ChunkWriter(write, self._config.chunks_in_flight)
        try:
            await writer.write_all(kept(), failures, self._config.chunk_size)
        finally:
            report.unreadable_lines += found.unreadable_lines
            report.unreadable_files += found.unreadable_files
        problems, lines = found.problems, found.usage

        handed = HandedOver()
        if named is not None:
            kind, reason = untried_outcome(named)
        else:
            if self._fallback is not None:
                handed = await self._fallback.hand_over(batch)
            kind, reason = unresolved_outcome(
                *unfinished_reason(batch.status, batch.error_codes, batch.last_error), problems
            )
        reason = capped_reason(reason, handed, batch.company_id)
        report.fallback = handed.sent
        finished = await self._store.finish(
            batch_id,
            lambda attempt, requeues: self._resolution(kind, reason, attempt, requeues),
            announce,
            note="; ".join(problems) or None,
            charge=Charge(lines, self._config.prices.get(batch.model), self._config.batch_discount),
        )
        if finished is None:
            report.skipped = True  # another ingester of the same batch finished it first
        else:
            self._on_commit()
            report.retried += finished.retried
            report.failed += finished.failed
            self.stats["batches_ingested"] += 1
            self._check_usage(batch_id, finished, lines)
        for name in ("completed", "retried", "failed"):
            self.stats[f"requests_{name}"] += getattr(report, name)
        self.stats["unreadable_lines"] += report.unreadable_lines
        self.stats["unreadable_files"] += report.unreadable_files
        log.info(
            "batch ingested",
            **{k: v for k, v in asdict(report).items() if k != "batch_id"},
            batch_id=report.batch_id,
        )
        if finished is not None and not self._config.keep_files:
            await self._delete_files(batch)
        return report

    async def handle_event(self, batch_id: uuid.UUID) -> IngestReport:
        """The ``batch.completed`` path. A transient provider error propagates: the consumer loop
        retries it (it is never dead-lettered), which is what carries the ingester through an outage.
        A configuration fault is recorded on the batch and left to the sweep instead, so the event is
        not dead-lettered for a key an operator is about to fix."""
        try:
            return await self.ingest(batch_id)
        except ConfigurationFault as exc:
            return await self._set_back(batch_id, exc)

    async def sweep_once(self, *, older_than_s: float) -> int:
        """Ingest finished batches whose ``batch.completed`` never got processed; returns how many.

        Events are the fast path; the database is the truth. A batch whose event was lost (or
        dead-lettered by a bug) would otherwise leave its requests in BATCHING_IN_PROGRESS for good.
        Each batch is isolated: one that fails gets a setback of its own (``faults``) and the round
        goes on with the next; only a failure of our own database or disk ends the round.
        """
        done = 0
        for batch_id in await self._store.overdue_unprocessed(older_than_s=older_than_s):
            try:
                report = await self.ingest(batch_id)
            except Exception as exc:
                if is_infrastructure(exc):
                    raise
                await self._set_back(batch_id, exc)
                continue
            if not report.skipped:
                log.warning("ingested a batch no event announced", batch_id=str(batch_id))
                done += 1
        return done

    async def _set_back(self, batch_id: uuid.UUID, exc: BaseException) -> IngestReport:
        setback = await self._store.record_setback(
            batch_id, lambda stored: self._setbacks.decide(exc, stored)
        )
        report = IngestReport(str(batch_id), status="unknown", skipped=True)
        if setback is None:
            return report  # processed by someone else meanwhile: nothing to retry
        report.setback = setback.reason
        self.stats["batch_setbacks"] += 1
        fields = {"batch_id": str(batch_id), "failures": setback.failures, "reason": setback.reason}
        if setback.quarantined:
            self.stats["batches_quarantined"] += 1
            log.error("batch quarantined: the ingester leaves it to an operator", **fields)
        else:
            log.warning("batch ingest failed; retried later", retry_after_s=setback.retry_after_s, **fields)
        return report

    def _check_usage(self, batch_id: uuid.UUID, finished: Finished, lines: Usage) -> None:
        """The provider's usage of the batch should be the sum of its lines: a difference means tokens
        billed that no request records (or the reverse), so it is logged and counted for an operator."""
        if not finished.usage_mismatch or finished.provider_usage is None:
            return
        self.stats["usage_mismatches"] += 1
        reported = finished.provider_usage
        log.warning(
            "batch usage differs from the sum of its lines",
            batch_id=str(batch_id),
            provider_input_tokens=reported.input_tokens,
            provider_cached_tokens=reported.cached_tokens,
            provider_output_tokens=reported.output_tokens,
            lines_input_tokens=lines.prompt_tokens,
            lines_cached_tokens=lines.cached_tokens,
            lines_output_tokens=lines.completion_tokens,
        )

    async def _delete_files(self, batch: BatchRow) -> None:
        """Best effort, after the commit: a failure is logged and counted, never raised."""
        for file_id in (batch.input_file_id, batch.output_file_id, batch.error_file_id):
            if not file_id:
                continue
            try:
                async with asyncio.timeout(self._config.delete_timeout_s):
                    deleted = await self._provider.delete_file(file_id)
                if not deleted:
                    raise RuntimeError("the provider answered deleted: false")
            except ProviderNotFound:
                pass  # already gone (expired, deleted by a replay or by hand): what we wanted
            except Exception as exc:
                self.stats["file_delete_failures"] += 1
                log.warning("could not delete a provider file", batch_id=str(batch.id), file_id=file_id,
                            error=repr(exc)[:300])  # fmt: skip
                continue
            self.stats["files_deleted"] += 1

    async def _apply(
        self,
        batch_id: uuid.UUID,
        chunk: Sequence[LineOutcome],
        members: dict[str, Member],
        announce: Announce,
        report: IngestReport,
    ) -> None:
        def by_session(cid: str) -> tuple[str, str]:
            return members[cid].session_id, cid

        successes = sorted((o for o in chunk if o.ok), key=lambda o: by_session(o.custom_id))
        failures: list[Decided] = sorted(
            (
                (
                    o.custom_id,
                    self._resolution(OutcomeKind.FAILED, o.reason or "failed", members[o.custom_id].attempt),
                    o.usage,
                )
                for o in chunk
                if not o.ok
            ),
            key=lambda d: by_session(d[0]),
        )
        applied = await self._store.apply_chunk(batch_id, successes, failures, announce)
        report.completed += applied.completed
        report.retried += applied.retried
        report.failed += applied.failed
        if applied.retried:
            self._on_commit()

    def _resolution(self, kind: OutcomeKind, reason: str, attempt: int, requeues: int = 0) -> Resolution:
        return resolve_request(
            kind,
            attempt=attempt,
            max_attempts=self._config.max_attempts,
            reason=reason,
            backoff_base_s=self._config.retry_backoff_s,
            requeues=requeues,
        )

    @staticmethod
    def _announcer(batch_id: uuid.UUID) -> Announce:
        def announce(rows: Sequence[Repending]) -> Sequence[OutgoingEvent]:
            return [pending_event(r, f"retry-{batch_id}") for r in rows]

        return announce


__all__ = ["BatchStatus", "IngestReport", "Ingester", "IngesterConfig"]
