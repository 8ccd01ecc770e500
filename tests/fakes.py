"""In-memory stand-ins for the service ports, for orchestration unit tests that run in milliseconds.

``FakeBatchProvider`` implements :class:`shared.provider.base.BatchProvider` with plain dicts. It does
what a test scripts and records every call, so a test asserts on what the service *asked* the provider
to do (create once, cancel the orphan, never create when a lookup found the batch) without HTTP. The
real client and the emulator keep their own integration and contract tests.

``FakeIngestStore`` implements :class:`services.ingester.ports.IngestStore` the way the SQL does: every
write only touches a request the batch still claims, the final step only runs on a provider-terminal
batch. ``answer_line`` / ``error_line`` write provider file lines for it.
"""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

import orjson

from services.ingester.ports import (
    Announce,
    Applied,
    BatchRow,
    Charge,
    Decided,
    Finished,
    LineError,
    Member,
    Repending,
    Setback,
)
from services.ingester.results import LineOutcome, Usage
from shared.analysis import ProcessingType
from shared.lifecycle import BATCH_TERMINAL, BatchStatus, RequestStatus, Resolution
from shared.outbox import OutgoingEvent
from shared.provider.base import (
    LOCAL_BATCH_ID_KEY,
    BatchUsage,
    ProviderBatch,
    ProviderError,
    ProviderFile,
    ProviderNotFound,
    RequestCounts,
)

#: Where the fake clocks start: the provider's (epoch seconds) and the stores' (datetime) agree.
START = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


@dataclass
class FakeBatchProvider:
    """Batches and files in dicts; ``fail_next[method]`` raises the given errors on the next calls."""

    batches: dict[str, ProviderBatch] = field(default_factory=dict)
    files: dict[str, list[bytes]] = field(default_factory=dict)
    calls: list[tuple[str, str]] = field(default_factory=list)
    fail_next: dict[str, list[ProviderError]] = field(default_factory=dict)
    #: ``before[method]()`` runs once at the next call of ``method``: what another process does meanwhile.
    before: dict[str, Callable[[], None]] = field(default_factory=dict)
    #: Status a cancel leaves the batch in (the real API answers "cancelling" first).
    cancel_status: str = "cancelling"
    clock: int = int(START.timestamp())
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def _enter(self, method: str, arg: str) -> None:
        self.calls.append((method, arg))
        hook = self.before.pop(method, None)
        if hook is not None:
            hook()
        queued = self.fail_next.get(method)
        if queued:
            raise queued.pop(0)

    def called(self, method: str) -> list[str]:
        return [arg for name, arg in self.calls if name == method]

    def add_batch(self, status: str, *, local_batch_id: str | None = None, created_at: int | None = None,
                  output_lines: list[bytes] | None = None) -> ProviderBatch:
        """A batch that already exists on the provider (e.g. created by a process that then died)."""
        n = next(self._ids)
        output_file_id = None
        if output_lines is not None:
            output_file_id = f"file-out-{n}"
            self.files[output_file_id] = list(output_lines)
        batch = ProviderBatch(
            id=f"batch_{n}",
            status=status,
            input_file_id=f"file-in-{n}",
            output_file_id=output_file_id,
            error_file_id=None,
            created_at=self.clock if created_at is None else created_at,
            expires_at=None,
            request_counts=RequestCounts(),
            metadata={LOCAL_BATCH_ID_KEY: local_batch_id} if local_batch_id else {},
        )
        self.batches[batch.id] = batch
        return batch

    def set_status(self, batch_id: str, status: str) -> None:
        self.batches[batch_id] = replace(self.batches[batch_id], status=status)

    async def upload_file(self, path: Path, *, filename: str | None = None) -> ProviderFile:
        self._enter("upload_file", filename or path.name)
        file_id = f"file-{next(self._ids)}"
        data = path.read_bytes()  # noqa: ASYNC240 - test files are small and local
        self.files[file_id] = [line for line in data.splitlines() if line]
        return ProviderFile(file_id, len(data), filename or path.name, "batch", self.clock)

    async def create_batch(self, input_file_id: str, *, metadata: dict[str, str]) -> ProviderBatch:
        self._enter("create_batch", input_file_id)
        if input_file_id not in self.files:
            raise ProviderNotFound(f"no file {input_file_id}", status=404)
        batch = ProviderBatch(
            id=f"batch_{next(self._ids)}",
            status="validating",
            input_file_id=input_file_id,
            output_file_id=None,
            error_file_id=None,
            created_at=self.clock,
            expires_at=None,
            request_counts=RequestCounts(total=len(self.files[input_file_id])),
            metadata=dict(metadata),
        )
        self.batches[batch.id] = batch
        return batch

    async def retrieve_batch(self, batch_id: str) -> ProviderBatch:
        self._enter("retrieve_batch", batch_id)
        if batch_id not in self.batches:
            raise ProviderNotFound(f"no batch {batch_id}", status=404)
        return self.batches[batch_id]

    async def cancel_batch(self, batch_id: str) -> ProviderBatch:
        self._enter("cancel_batch", batch_id)
        if batch_id not in self.batches:
            raise ProviderNotFound(f"no batch {batch_id}", status=404)
        self.set_status(batch_id, self.cancel_status)
        return self.batches[batch_id]

    async def list_batches(self, *, page_size: int = 100, model: str | None = None) -> AsyncIterator[ProviderBatch]:
        self._enter("list_batches", str(page_size))
        for batch in sorted(self.batches.values(), key=lambda b: b.created_at, reverse=True):
            yield batch

    async def iter_file_lines(self, file_id: str) -> AsyncIterator[bytes]:
        self._enter("iter_file_lines", file_id)
        if file_id not in self.files:
            raise ProviderNotFound(f"no file {file_id}", status=404)
        for line in self.files[file_id]:
            yield line

    async def delete_file(self, file_id: str) -> bool:
        self._enter("delete_file", file_id)
        if file_id not in self.files:
            raise ProviderNotFound(f"no file {file_id}", status=404)
        del self.files[file_id]
        return True

    async def aclose(self) -> None:
        self.calls.append(("aclose", ""))


# --- the ingester's store --------------------------------------------------------------------------


def answer_line(custom_id: str, answer: dict[str, str], *, total_tokens: int = 0) -> bytes:
    """An output-file line with a 200 response whose message content is ``answer`` as JSON."""
    message = {"role": "assistant", "content": orjson.dumps(answer).decode()}
    body = {
        "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": total_tokens},
    }
    line = {"custom_id": custom_id, "response": {"status_code": 200, "body": body}, "error": None}
    return orjson.dumps(line)


def error_line(custom_id: str, code: str, message: str) -> bytes:
    """An error-file line."""
    return orjson.dumps({"custom_id": custom_id, "response": None, "error": {"code": code, "message": message}})


@dataclass
class FakeRequest:
    session_id: str
    processing_type: ProcessingType
    attempt: int
    batch_id: uuid.UUID | None
    status: RequestStatus = RequestStatus.BATCHING_IN_PROGRESS
    error: str | None = None
    retry_after_s: float | None = None
    total_tokens: int = 0
    requeues: int = 0


@dataclass
class FakeIngestStore:
    """Batches, requests and sessions in dicts; ``outbox`` collects every announced event.

    ``crash_after_chunks`` makes ``apply_chunk`` raise after that many chunk writes (a process dying
    between two transactions). Each call yields to the event loop once, so two ingesters run together
    interleave their chunks as they would against a database.

    Time is ``clock`` (seconds, moved by the test): a setback's retry time is ``clock + delay``, and
    the sweep lists a batch with a setback only once ``clock`` reached it.
    """

    batches: dict[uuid.UUID, BatchRow] = field(default_factory=dict)
    requests: dict[uuid.UUID, FakeRequest] = field(default_factory=dict)
    items: dict[uuid.UUID, list[uuid.UUID]] = field(default_factory=dict)
    sessions: dict[str, dict[str, str]] = field(default_factory=dict)
    outbox: list[OutgoingEvent] = field(default_factory=list)
    #: (completed, failed) written with PROCESSED.
    counts: dict[uuid.UUID, tuple[int, int]] = field(default_factory=dict)
    #: Session ids of each chunk write, in the order the service handed them over.
    chunk_sessions: list[list[str]] = field(default_factory=list)
    crash_after_chunks: int | None = None
    #: The ingest error written with PROCESSED (why a file could not be read), per batch.
    notes: dict[uuid.UUID, str | None] = field(default_factory=dict)
    #: The charge written with PROCESSED, and the provider's usage the poller stored, per batch.
    charges: dict[uuid.UUID, Charge | None] = field(default_factory=dict)
    provider_usage: dict[uuid.UUID, BatchUsage] = field(default_factory=dict)
    #: Every setback recorded, in order, and each batch's retry time.
    setbacks: list[tuple[uuid.UUID, Setback]] = field(default_factory=list)
    retry_at: dict[uuid.UUID, float] = field(default_factory=dict)
    #: Summary-truncated flag of each session, as the last completed summary left it.
    summary_truncated: dict[str, bool] = field(default_factory=dict)
    #: Batches whose items carry no line (their file was written before lines were recorded).
    unlined: set[uuid.UUID] = field(default_factory=set)
    clock: float = 0.0

    def add_batch(
        self,
        status: BatchStatus,
        *,
        error_codes: Sequence[str] = (),
        last_error: str | None = None,
        output_file_id: str | None = "file-out",
        error_file_id: str | None = "file-err",
        input_file_id: str | None = "file-in",
        validation_errors: Sequence[LineError] = (),
    ) -> uuid.UUID:
        batch_id = uuid.uuid4()
        self.batches[batch_id] = BatchRow(
            batch_id, "acme", "gpt-4o-mini", status, output_file_id, error_file_id, last_error, list(error_codes),
            input_file_id, validation_errors=tuple(validation_errors),
        )  # fmt: skip
        self.items[batch_id] = []
        return batch_id

    def add_request(
        self,
        batch_id: uuid.UUID,
        session_id: str,
        *,
        attempt: int = 1,
        processing_type: ProcessingType = ProcessingType.FULL_ANALYSIS,
        requeues: int = 0,
    ) -> str:
        request_id = uuid.uuid4()
        self.requests[request_id] = FakeRequest(
            session_id, processing_type, attempt, batch_id, requeues=requeues
        )
        self.items[batch_id].append(request_id)
        self.sessions.setdefault(session_id, {})
        return str(request_id)

    def request(self, custom_id: str) -> FakeRequest:
        return self.requests[uuid.UUID(custom_id)]

    def _open(self, request_id: uuid.UUID, batch_id: uuid.UUID) -> FakeRequest | None:
        r = self.requests[request_id]
        ok = r.batch_id == batch_id and r.status is RequestStatus.BATCHING_IN_PROGRESS
        return r if ok else None

    async def batch(self, batch_id: uuid.UUID) -> BatchRow | None:
        await asyncio.sleep(0)
        return self.batches.get(batch_id)

    async def members(self, batch_id: uuid.UUID) -> dict[str, Member]:
        await asyncio.sleep(0)
        ids = set(self.items.get(batch_id, [])) | {i for i, r in self.requests.items() if r.batch_id == batch_id}
        return {
            str(i): Member(
                self.requests[i].processing_type,
                self.requests[i].attempt,
                self.requests[i].session_id,
                self._open(i, batch_id) is not None,
                # The request's line in the batch's file: its position among the batch's items.
                None if batch_id in self.unlined or i not in self.items[batch_id]
                else self.items[batch_id].index(i) + 1,
            )
            for i in ids
        }

    def _resolve(self, batch_id: uuid.UUID, decided: Sequence[Decided]) -> tuple[list[Repending], int]:
        repending: list[Repending] = []
        failed = 0
        for cid, resolution, usage in decided:
            r = self._open(uuid.UUID(cid), batch_id)
            if r is None:
                continue
            r.status, r.attempt, r.error = resolution.status, resolution.attempt, resolution.error
            r.retry_after_s = resolution.retry_after_s
            r.requeues = r.requeues if resolution.requeues is None else resolution.requeues
            r.total_tokens += usage.total_tokens
            if resolution.emits_pending:
                r.batch_id = None
                repending.append(
                    Repending(uuid.UUID(cid), r.session_id, "acme", r.processing_type.value, "gpt-4o-mini",
                              r.attempt, 100)
                )
            else:
                failed += 1
        return repending, failed

    async def apply_chunk(
        self,
        batch_id: uuid.UUID,
        successes: Sequence[LineOutcome],
        failures: Sequence[Decided],
        announce: Announce,
    ) -> Applied:
        await asyncio.sleep(0)
        if self.crash_after_chunks is not None and len(self.chunk_sessions) >= self.crash_after_chunks:
            raise RuntimeError("the process died between two chunks")
        self.chunk_sessions.append(
            [self.request(o.custom_id).session_id for o in successes]
            + [self.request(cid).session_id for cid, _, _ in failures]
        )
        completed = 0
        for o in successes:
            r = self._open(uuid.UUID(o.custom_id), batch_id)
            if r is None:
                continue
            r.status, r.error = RequestStatus.PROCESSING_COMPLETE, None
            r.total_tokens += o.usage.total_tokens
            self.sessions[r.session_id].update(o.fields or {})
            if o.fields and "summary" in o.fields:
                self.summary_truncated[r.session_id] = o.summary_truncated
            completed += 1
        repending, failed = self._resolve(batch_id, failures)
        self.outbox.extend(announce(repending))
        return Applied(completed, len(repending), failed)

    async def finish(
        self,
        batch_id: uuid.UUID,
        resolve: Callable[[int, int], Resolution],
        announce: Announce,
        *,
        note: str | None = None,
        charge: Charge | None = None,
    ) -> Finished | None:
        await asyncio.sleep(0)
        batch = self.batches.get(batch_id)
        if batch is None or batch.status not in BATCH_TERMINAL:
            return None
        still_open = sorted(i for i in self.requests if self._open(i, batch_id))
        decided = [(str(i), resolve(self.requests[i].attempt, self.requests[i].requeues), Usage())
                   for i in still_open]
        repending, failed = self._resolve(batch_id, decided)
        self.outbox.extend(announce(repending))
        mine = [r for r in self.requests.values() if r.batch_id == batch_id]
        completed_total = sum(r.status is RequestStatus.PROCESSING_COMPLETE for r in mine)
        failed_total = sum(r.status is RequestStatus.PROCESSING_FAILED for r in mine)
        self.batches[batch_id] = replace(batch, status=BatchStatus.PROCESSED)
        self.counts[batch_id] = (completed_total, failed_total)
        self.notes[batch_id] = note
        self.charges[batch_id] = charge
        self.retry_at.pop(batch_id, None)
        reported = self.provider_usage.get(batch_id)
        mismatch = None
        if reported is not None and charge is not None:
            lines = charge.lines
            mismatch = (reported.input_tokens, reported.cached_tokens, reported.output_tokens) != (
                lines.prompt_tokens, lines.cached_tokens, lines.completion_tokens
            )
        return Finished(len(repending), failed, completed_total, failed_total, mismatch, reported)

    async def record_setback(self, batch_id: uuid.UUID, decide: Callable[[int], Setback]) -> Setback | None:
        await asyncio.sleep(0)
        batch = self.batches.get(batch_id)
        if batch is None or batch.status not in BATCH_TERMINAL:
            return None
        setback = decide(batch.ingest_failures)
        self.batches[batch_id] = replace(
            batch, ingest_failures=setback.failures, quarantined=batch.quarantined or setback.quarantined
        )
        self.retry_at[batch_id] = self.clock + setback.retry_after_s
        self.setbacks.append((batch_id, setback))
        return setback

    async def overdue_unprocessed(self, *, older_than_s: float) -> list[uuid.UUID]:
        """Terminal, not quarantined, due; batches without a setback first (in insertion order),
        then by retry time (the age rule has no clock here: every batch counts as old enough)."""
        due = [
            i for i, b in self.batches.items()
            if b.status in BATCH_TERMINAL and not b.quarantined and self.retry_at.get(i, 0.0) <= self.clock
        ]  # fmt: skip
        return sorted(due, key=lambda i: self.retry_at.get(i, 0.0))
