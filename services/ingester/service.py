"""Resolving every request of a finished batch, in one transaction per batch.

Output and error files are streamed line by line; successes are written in chunks as they arrive;
failed lines, requests absent from both files and requests a failed/expired/cancelled batch never
ran are decided by ``shared.lifecycle.resolve_request`` and written set-based at the end, together
with the ``request.pending`` events of retried requests (outbox) and the batch's PROCESSED status.
Re-ingesting a PROCESSED batch changes nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass

import structlog
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.ingester import repository as repo
from services.ingester.results import LineOutcome, UnreadableLine, Usage, parse_line
from shared.events import pending_event
from shared.lifecycle import PROVIDER_TERMINAL, BatchStatus, OutcomeKind, resolve_request, unfinished_reason
from shared.outbox import enqueue
from shared.provider.base import BatchProvider

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class IngesterConfig:
    max_attempts: int
    retry_backoff_s: float
    request_pending_topic: str
    chunk_size: int = 2_000


@dataclass(slots=True)
class IngestReport:
    batch_id: str
    status: str = ""
    completed: int = 0
    retried: int = 0
    failed: int = 0
    unreadable_lines: int = 0
    skipped: bool = False


class Ingester:
    def __init__(
        self,
        engine: AsyncEngine,
        provider: BatchProvider,
        config: IngesterConfig,
        on_commit: Callable[[], None],
    ) -> None:
        self._engine = engine
        self._provider = provider
        self._config = config
        self._on_commit = on_commit
        self.stats = {
            "batches_ingested": 0,
            "requests_completed": 0,
            "requests_retried": 0,
            "requests_failed": 0,
            "unreadable_lines": 0,
        }

    async def ingest(self, batch_id: uuid.UUID) -> IngestReport:
        report = IngestReport(str(batch_id))
        async with self._engine.begin() as conn:
            batch = await repo.lock_batch(conn, batch_id)
            if batch is None or batch.status not in PROVIDER_TERMINAL:
                # PROCESSED (a duplicate or replayed event) or not finished: nothing to do here.
                report.skipped = True
                report.status = batch.status.value if batch else "unknown"
                return report
            report.status = batch.status.value
            members = await repo.open_members(conn, batch_id)
            types = {cid: m.processing_type for cid, m in members.items()}
            failures: dict[str, tuple[OutcomeKind, str, Usage]] = {}
            seen: set[str] = set()
            pending_ok: list[LineOutcome] = []

            for file_id in (batch.output_file_id, batch.error_file_id):
                if not file_id:
                    continue
                async for raw in self._provider.iter_file_lines(file_id):
                    try:
                        outcome = parse_line(raw, types)
                    except UnreadableLine:
                        report.unreadable_lines += 1
                        continue
                    if outcome.custom_id in seen:
                        continue  # a duplicated line must not count twice
                    seen.add(outcome.custom_id)
                    if outcome.ok:
                        pending_ok.append(outcome)
                        if len(pending_ok) >= self._config.chunk_size:
                            report.completed += await repo.apply_successes(conn, batch_id, pending_ok)
                            pending_ok = []
                    else:
                        failures[outcome.custom_id] = (
                            OutcomeKind.FAILED,
                            outcome.reason or "failed",
                            outcome.usage,
                        )
            report.completed += await repo.apply_successes(conn, batch_id, pending_ok)

            kind, reason = unfinished_reason(batch.status, batch.error_codes, batch.last_error)
            for cid in members.keys() - seen:
                failures[cid] = (kind, reason, Usage())
            await self._resolve(conn, batch_id, members, failures, report)
            await repo.mark_processed(conn, batch_id, completed=report.completed, failed=report.failed)
        self._on_commit()
        self.stats["batches_ingested"] += 1
        self.stats["requests_completed"] += report.completed
        self.stats["requests_retried"] += report.retried
        self.stats["requests_failed"] += report.failed
        self.stats["unreadable_lines"] += report.unreadable_lines
        log.info(
            "batch ingested",
            **{k: v for k, v in asdict(report).items() if k != "batch_id"},
            batch_id=report.batch_id,
        )
        return report

    async def sweep_once(self, *, older_than_s: float) -> int:
        """Ingest finished batches whose ``batch.completed`` never got processed; returns how many.

        Events are the fast path; the database is the truth. A batch whose event was lost (or
        dead-lettered by a bug) would otherwise leave its requests in BATCHING_IN_PROGRESS for good.
        """
        async with self._engine.connect() as conn:
            stale = await repo.overdue_unprocessed(conn, older_than_s=older_than_s)
        done = 0
        for batch_id in stale:
            report = await self.ingest(batch_id)
            if not report.skipped:
                log.warning("ingested a batch no event announced", batch_id=str(batch_id))
                done += 1
        return done

    async def _resolve(
        self,
        conn: AsyncConnection,
        batch_id: uuid.UUID,
        members: dict[str, repo.Member],
        failures: dict[str, tuple[OutcomeKind, str, Usage]],
        report: IngestReport,
    ) -> None:
        decided = []
        for cid, (kind, reason, usage) in failures.items():
            resolution = resolve_request(
                kind,
                attempt=members[cid].attempt,
                max_attempts=self._config.max_attempts,
                reason=reason,
                backoff_base_s=self._config.retry_backoff_s,
            )
            decided.append((cid, resolution, usage))
        repending = []
        for start in range(0, len(decided), self._config.chunk_size):
            repending += await repo.apply_resolutions(
                conn, batch_id, decided[start : start + self._config.chunk_size]
            )
        report.retried = len(repending)
        report.failed = len(decided) - len(repending)
        await enqueue(
            conn,
            self._config.request_pending_topic,
            [pending_event(r, f"retry-{batch_id}") for r in repending],
        )


__all__ = ["BatchStatus", "IngestReport", "Ingester", "IngesterConfig"]
