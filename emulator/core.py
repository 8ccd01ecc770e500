"""The emulated Batch API behind the HTTP layer: files, batches, their rules and their ends.

Handlers in :mod:`.app` only translate HTTP to these calls; everything an OpenAI server decides
(validation, limits, lifecycle, result files) is here, so it can be driven without a socket.
Errors are :class:`ApiError` carrying the real API's status and ``{"error": {...}}`` body.
"""

from __future__ import annotations

import secrets
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from emulator.batch_clock import CANCELLABLE, Phase, phase_at
from emulator.config import EmulatorConfig
from emulator.faults import FaultInjector
from emulator.objects import batch_object, by_creation, paginate, stats_entry
from emulator.output_files import build_results
from emulator.state import BatchRecord, FileRecord, Store
from emulator.validation import ParsedInput, validate_input

FILE_PURPOSES = frozenset({"assistants", "batch", "fine-tune", "vision", "user_data", "evals"})
SUPPORTED_ENDPOINTS = frozenset({"/v1/chat/completions"})
KNOWN_ENDPOINTS = frozenset(
    {"/v1/responses", "/v1/chat/completions", "/v1/embeddings", "/v1/completions", "/v1/moderations"}
)
BATCH_FILE_TTL_S = 30 * 86_400
_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


class ApiError(Exception):
    """An answer other than 2xx, in OpenAI's error shape."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = "invalid_request_error",
        param: str | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.body = {"error": {"message": message, "type": type, "param": param, "code": code}}
        self.headers = headers or {}


def _file_id() -> str:
    return "file-" + "".join(secrets.choice(_ALPHABET) for _ in range(22))


def _not_found(kind: str, object_id: str, param: str = "id") -> ApiError:
    return ApiError(404, f"No such {kind} object: {object_id}", param=param)


class Emulator:
    def __init__(self, config: EmulatorConfig, *, clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self.store = Store(config.state_dir)
        self.faults = FaultInjector(config.faults(), config.seed)
        self.counters: Counter[str] = Counter()
        self._clock = clock
        self.clock_offset = 0.0

    def now(self) -> float:
        return self._clock() + self.clock_offset

    # --- files -----------------------------------------------------------------------------

    def upload(self, *, filename: str, purpose: str, chunks: Iterable[bytes]) -> dict[str, Any]:
        if purpose not in FILE_PURPOSES:
            raise ApiError(
                400, f"'{purpose}' is not one of {sorted(FILE_PURPOSES)} - 'purpose'", param="purpose"
            )
        if purpose == "batch" and not filename.endswith(".jsonl"):
            raise ApiError(400, "Invalid file format for Batch API. Must be .jsonl", param="file")
        file_id = _file_id()
        size = self.store.put_blob(file_id, chunks)
        if size > self.config.max_upload_bytes:
            self.store.drop_file(file_id)
            raise ApiError(
                413, f"File is too large: {size} bytes, the limit is {self.config.max_upload_bytes}."
            )
        created = int(self.now())
        rec = FileRecord(
            id=file_id,
            bytes=size,
            created_at=created,
            filename=filename,
            purpose=purpose,
            expires_at=created + BATCH_FILE_TTL_S if purpose == "batch" else None,
            race_lookups_left=self.faults.take_upload_race(),
        )
        self.store.save_file(rec)
        self.counters["files_uploaded"] += 1
        return rec.to_api()

    def _file(self, file_id: str) -> FileRecord:
        rec = self.store.files.get(file_id)
        if rec is None or rec.deleted:
            raise _not_found("File", file_id)
        return rec

    def get_file(self, file_id: str) -> dict[str, Any]:
        self.refresh_all()
        return self._file(file_id).to_api()

    def file_content(self, file_id: str) -> Iterator[bytes]:
        self._file(file_id)
        self.counters["files_downloaded"] += 1
        return self.store.iter_blob(file_id, 256 * 1024)

    def delete_file(self, file_id: str) -> dict[str, Any]:
        rec = self._file(file_id)
        if any(b.input_file_id == file_id and b.final_status is None for b in self.store.batches.values()):
            rec.deleted = True  # keep the bytes until the batch reading them has ended
            self.store.save_file(rec)
        else:
            self.store.drop_file(file_id)
        return {"id": file_id, "object": "file", "deleted": True}

    def list_files(self, *, purpose: str | None, limit: int, order: str, after: str | None) -> dict[str, Any]:
        if not 1 <= limit <= 10_000:
            raise ApiError(400, "limit must be between 1 and 10000", param="limit")
        if order not in ("asc", "desc"):
            raise ApiError(400, "order must be 'asc' or 'desc'", param="order")
        self.refresh_all()
        files = [
            f
            for f in self.store.files.values()
            if not f.deleted and (purpose is None or f.purpose == purpose)
        ]
        files = by_creation(files, list(self.store.files), newest_first=order == "desc")
        page, has_more = paginate(files, after, limit)
        return {
            "object": "list",
            "data": [f.to_api() for f in page],
            "first_id": page[0].id if page else "",
            "last_id": page[-1].id if page else "",
            "has_more": has_more,
        }

    # --- batches ---------------------------------------------------------------------------

    def create_batch(self, payload: dict[str, Any]) -> dict[str, Any]:
        input_file_id = payload.get("input_file_id")
        endpoint = payload.get("endpoint")
        window = payload.get("completion_window")
        metadata = payload.get("metadata")
        if not isinstance(input_file_id, str) or not input_file_id:
            raise ApiError(400, "Missing required parameter: 'input_file_id'.", param="input_file_id")
        if endpoint not in KNOWN_ENDPOINTS:
            raise ApiError(400, f"Invalid value for 'endpoint': {endpoint!r}.", param="endpoint")
        if endpoint not in SUPPORTED_ENDPOINTS:
            raise ApiError(
                400, f"The emulator only serves {sorted(SUPPORTED_ENDPOINTS)} batches.", param="endpoint"
            )
        if window != "24h":
            raise ApiError(
                400,
                f"Invalid value for 'completion_window': {window!r}. Supported: '24h'.",
                param="completion_window",
            )
        _check_metadata(metadata)
        source = self.store.files.get(input_file_id)
        if source is None or source.deleted or source.race_lookups_left > 0:
            if source is not None and source.race_lookups_left > 0:
                source.race_lookups_left -= 1
                self.counters["upload_race"] += 1
            raise ApiError(404, f"Cannot find file {input_file_id}.", param="input_file_id")
        if source.purpose != "batch":
            raise ApiError(
                400,
                f"File {input_file_id} has purpose '{source.purpose}'; batch input files "
                "must be uploaded with purpose 'batch'.",
                param="input_file_id",
            )

        parsed = validate_input(
            self.store.read_blob(input_file_id),
            endpoint=endpoint,
            max_requests=self.config.max_requests_per_file,
            max_bytes=self.config.max_file_bytes,
        )
        seq = self.store.next_number("batch")
        now = self.now()
        rec = BatchRecord(
            id=f"batch_{secrets.token_hex(16)}",
            seq=seq,
            input_file_id=input_file_id,
            endpoint=endpoint,
            completion_window=window,
            metadata=metadata,
            created_at=now,
            expires_at=now + self.config.window_s,
            plan="run",
            model=parsed.model,
            custom_ids=parsed.custom_ids,
            prompt_tokens=parsed.prompt_tokens,
        )
        self._plan(rec, parsed)
        self.store.save_batch(rec)
        self.counters["batches_created"] += 1
        return batch_object(rec, phase_at(rec, now, self.config.stage_s))

    def _plan(self, rec: BatchRecord, parsed: ParsedInput) -> None:
        """Decide at creation how the batch ends; the lifecycle then only replays the decision."""
        fault = self.faults.batch_fault()
        limit = self.config.enqueued_token_limit
        enqueued = sum(
            b.prompt_tokens
            for b in self.store.batches.values()
            if b.model == rec.model and b.final_status is None and b.plan != "fail"
        )
        if parsed.errors:
            rec.plan, rec.errors = "fail", parsed.errors
        elif fault == "validation_fail":
            rec.plan = "fail"
            rec.errors = [
                {
                    "code": "invalid_request",
                    "line": None,
                    "param": None,
                    "message": "Injected validation failure (emulator fault validation_fail_batches).",
                }
            ]
        elif fault == "token_limit" or (limit is not None and enqueued + parsed.prompt_tokens > limit):
            shown = limit if limit is not None else 2_000_000
            rec.plan = "fail"
            rec.errors = [
                {
                    "code": "token_limit_exceeded",
                    "line": None,
                    "param": None,
                    "message": f"Enqueued token limit reached for {rec.model} in organization "
                    f"org-emulator. Limit: {shown:,} enqueued tokens. Please try submitting a "
                    "smaller batch or retry later.",
                }
            ]
        if rec.plan == "fail":
            return
        rec.outcomes, rec.order = self.faults.line_plan(rec.seq, rec.total)
        if fault == "expire":
            rec.plan = "expire"
            rec.expire_fraction = self.faults.config.expire_partial_fraction

    def _batch(self, batch_id: str) -> BatchRecord:
        rec = self.store.batches.get(batch_id)
        if rec is None:
            raise _not_found("Batch", batch_id, "batch_id")
        return rec

    def get_batch(self, batch_id: str) -> dict[str, Any]:
        rec = self._batch(batch_id)
        return batch_object(rec, self.refresh(rec))

    def cancel_batch(self, batch_id: str) -> dict[str, Any]:
        rec = self._batch(batch_id)
        phase = self.refresh(rec)
        if phase.status in CANCELLABLE:
            rec.cancel_at = self.now()
            self.store.save_batch(rec)
            self.counters["batches_cancel_requested"] += 1
            phase = self.refresh(rec)
        elif phase.status not in ("cancelling", "cancelled"):
            raise ApiError(400, f"Cannot cancel a batch with status '{phase.status}'.", param="batch_id")
        return batch_object(rec, phase)

    def list_batches(self, *, after: str | None, limit: int) -> dict[str, Any]:
        if not 1 <= limit <= 100:
            raise ApiError(400, "limit must be between 1 and 100", param="limit")
        batches = sorted(self.store.batches.values(), key=lambda b: b.seq, reverse=True)
        page, has_more = paginate(batches, after, limit)
        data = [batch_object(b, self.refresh(b)) for b in page]
        out: dict[str, Any] = {"object": "list", "data": data, "has_more": has_more}
        if data:
            out["first_id"], out["last_id"] = data[0]["id"], data[-1]["id"]
        return out

    # --- lifecycle -------------------------------------------------------------------------

    def refresh(self, rec: BatchRecord) -> Phase:
        """The batch's phase now; the first time it is terminal, write its result files."""
        phase = phase_at(rec, self.now(), self.config.stage_s)
        if phase.terminal and rec.final_status is None:
            self._finish(rec, phase)
        return phase

    def refresh_all(self) -> None:
        for rec in list(self.store.batches.values()):
            if rec.final_status is None:
                self.refresh(rec)

    def _finish(self, rec: BatchRecord, phase: Phase) -> None:
        rec.final_status = phase.status
        if phase.status != "failed" and phase.in_progress_at is not None:
            res = build_results(
                rec,
                self.store.read_blob(rec.input_file_id),
                done=phase.done,
                status=phase.status,
                created=int(phase.in_progress_at),
            )
            ended = int(phase.ended_at or self.now())
            if res.output_lines:
                rec.output_file_id = self._result_file(rec, "output", res.output_lines, ended)
            if res.error_lines:
                rec.error_file_id = self._result_file(rec, "error", res.error_lines, ended)
            rec.usage, rec.results = res.usage(), res.results
        else:
            status = "failed" if phase.status == "failed" else phase.status
            rec.results = dict.fromkeys(rec.custom_ids, status)
        self.store.save_batch(rec)
        self.counters[f"batches_{phase.status}"] += 1
        source = self.store.files.get(rec.input_file_id)
        if source is not None and source.deleted:
            self.store.drop_file(source.id)

    def _result_file(self, rec: BatchRecord, kind: str, lines: list[bytes], created: int) -> str:
        file_id = _file_id()
        size = self.store.put_blob(file_id, (line + b"\n" for line in lines))
        self.store.save_file(
            FileRecord(
                id=file_id,
                bytes=size,
                created_at=created,
                filename=f"{rec.id}_{kind}.jsonl",
                purpose="batch_output",
                expires_at=created + BATCH_FILE_TTL_S,
            )
        )
        return file_id

    def stats(self, *, include_requests: bool = True) -> dict[str, Any]:
        self.refresh_all()
        batches = [
            stats_entry(rec, self.refresh(rec), include_requests=include_requests)
            for rec in sorted(self.store.batches.values(), key=lambda b: b.seq)
        ]
        return {
            "now": self.now(),
            "counters": dict(self.counters) | {f"fault_{k}": v for k, v in self.faults.counters.items()},
            "faults": self.faults.config.model_dump(),
            "files": len([f for f in self.store.files.values() if not f.deleted]),
            "batches": batches,
        }

    def reset(self) -> None:
        """Forget every file and batch, zero the counters and restore the configured faults."""
        self.store.clear()
        self.counters.clear()
        self.faults.reset()


def _check_metadata(metadata: Any) -> None:
    if metadata is None:
        return
    if not isinstance(metadata, dict) or len(metadata) > 16:
        raise ApiError(400, "metadata must be an object of at most 16 string pairs", param="metadata")
    for key, value in metadata.items():
        if not isinstance(value, str) or len(key) > 64 or len(value) > 512:
            raise ApiError(
                400,
                "metadata keys are at most 64 and values at most 512 characters, and values must be strings",
                param="metadata",
            )
