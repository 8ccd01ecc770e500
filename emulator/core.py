"""The emulated Batch API behind the HTTP layer: files, batches, their rules, walls and ends.

Handlers in :mod:`.app` only translate HTTP to these calls; everything an OpenAI server decides
(validation, limits, lifecycle, result files) is here and in :mod:`.files` (the Files endpoints)
and :mod:`.walls` (keys, enqueued tokens, expiry, storage), so it can be driven without a socket.
Errors are :class:`ApiError` carrying the real API's status and ``{"error": {...}}`` body.

The runtime state that is not a file or a batch (accepted keys, walls, token peaks, clock offset)
is saved with them in ``state_dir``, so a restarted emulator carries on behind the same walls.
"""

from __future__ import annotations

import random
import secrets
import time
from collections import Counter, deque
from collections.abc import Callable
from typing import Any

from emulator import azure
from emulator.api_errors import ApiError
from emulator.batch_clock import CANCELLABLE, Phase, phase_at
from emulator.config import EmulatorConfig, WallConfig
from emulator.faults import FaultInjector
from emulator.file_store import FileOps, not_found
from emulator.objects import batch_object, paginate, stats_entry
from emulator.output_files import build_results
from emulator.state import BatchRecord, Store
from emulator.validation import ParsedInput, reject_lines, validate_input
from emulator.walls import EnqueuedCount, KeyRing, TokenLedger, output_expiry, token_limit_error

__all__ = ["ApiError", "Emulator"]

#: Retrievals of one batch kept in :attr:`Emulator.retrievals` (the latest; older ones are dropped).
RETRIEVALS_KEPT = 64

SUPPORTED_ENDPOINTS = frozenset({"/v1/chat/completions", "/v1/responses"})
KNOWN_ENDPOINTS = frozenset(
    {"/v1/responses", "/v1/chat/completions", "/v1/embeddings", "/v1/completions", "/v1/moderations"}
)


class Emulator(FileOps):
    def __init__(self, config: EmulatorConfig, *, clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self.store = Store(config.state_dir)
        self.faults = FaultInjector(config.faults(), config.seed)
        self.counters: Counter[str] = Counter()
        #: Per batch id, when it was retrieved (clock seconds): the provider's own record of how often a
        #: client polls, checked against the client's minimum interval (``GET /_emulator/polls``).
        self.retrievals: dict[str, deque[float]] = {}
        self._clock = clock
        #: Called once per batch when it first shows terminal (the webhook sender, when configured).
        self.on_finish: Callable[[BatchRecord, Phase], None] | None = None
        self._restore_walls()
        self._enqueued = EnqueuedCount(config.stage_s)
        self._enqueued.rebuild(self.store.batches.values(), self.now())

    def _restore_walls(self) -> None:
        """The configured walls, or those a previous run in the same ``state_dir`` left."""
        saved = self.store.meta.get("walls")
        if saved is None:
            self.walls = self.config.walls()
            self.keys = KeyRing(self.config.keys(), revoked=self.config.keys_revoked)
            self.ledger = TokenLedger()
            self.clock_offset = 0.0
            return
        self.walls = WallConfig.model_validate(saved["walls"])
        self.keys = KeyRing(saved["keys"]["keys"], revoked=saved["keys"]["revoked"])
        self.ledger = TokenLedger(saved["peaks"])
        self.clock_offset = float(saved["clock_offset"])

    def save_walls(self) -> None:
        self.store.save_meta(
            "walls",
            {
                "walls": self.walls.model_dump(),
                "keys": self.keys.dump(),
                "peaks": self.ledger.peaks,
                "clock_offset": self.clock_offset,
            },
        )

    def now(self) -> float:
        return self._clock() + self.clock_offset

    # --- admin: walls, keys, clock -----------------------------------------------------------

    def update_walls(self, changes: dict[str, Any]) -> WallConfig:
        """Partial change, validated as a whole; applies to what happens from now on."""
        self.walls = WallConfig.model_validate({**self.walls.model_dump(), **changes})
        self.save_walls()
        return self.walls

    def update_keys(self, body: dict[str, Any]) -> dict[str, Any]:
        self.keys.update(body)
        self.save_walls()
        return self.keys.view()

    def advance_clock(self, seconds: float) -> None:
        self.clock_offset += seconds
        self.save_walls()

    def enqueued(self) -> dict[str, int]:
        return self._enqueued.current(self.now(), self.store.batches.values())

    # --- batches ---------------------------------------------------------------------------

    def create_batch(self, payload: dict[str, Any], *, flavour: str = "openai") -> dict[str, Any]:
        """``flavour="azure"``: Azure OpenAI global batch's rules (:mod:`emulator.azure`)."""
        input_file_id = payload.get("input_file_id")
        endpoint = payload.get("endpoint")
        window = payload.get("completion_window")
        metadata = payload.get("metadata")
        is_azure = flavour == azure.FLAVOUR
        if not isinstance(input_file_id, str) or not input_file_id:
            raise ApiError(400, "Missing required parameter: 'input_file_id'.", param="input_file_id")
        known = {azure.AZURE_ENDPOINT} if is_azure else KNOWN_ENDPOINTS
        if not isinstance(endpoint, str) or endpoint not in known:
            raise ApiError(400, f"Invalid value for 'endpoint': {endpoint!r}.", param="endpoint")
        if not is_azure and endpoint not in SUPPORTED_ENDPOINTS:
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
        output_expires_s = output_expiry(payload.get("output_expires_after"))
        source = self.store.files.get(input_file_id)
        if source is not None and not source.deleted and source.expired(self.now()):
            self._remove(source)
            source = None
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
            max_requests=azure.MAX_REQUESTS_PER_FILE if is_azure else self.config.max_requests_per_file,
            max_bytes=self.config.max_file_bytes,
            codes=azure.LINE_CODES if is_azure else None,
        )
        seq = self.store.next_number("batch")
        cfg = self.faults.config
        if cfg.invalid_lines or cfg.invalid_line_rate:
            rng = random.Random(f"{self.config.seed}:invalid:{seq}")
            rejected = reject_lines(parsed, lines=cfg.invalid_lines, rate=cfg.invalid_line_rate, rng=rng)
            self.faults.counters["invalid_lines"] += rejected
        now = self.now()
        rec = BatchRecord(
            id=f"batch_{secrets.token_hex(16)}",
            seq=seq,
            input_file_id=input_file_id,
            endpoint=endpoint,
            completion_window=window,
            metadata=metadata,
            created_at=now,
            expires_at=now + (azure.NO_EXPIRY_S if is_azure else self.config.window_s),
            plan="run",
            model=parsed.model,
            custom_ids=parsed.custom_ids,
            prompt_tokens=parsed.prompt_tokens,
            output_expires_s=output_expires_s,
            flavour=flavour,
        )
        self._plan(rec, parsed)
        if is_azure and rec.errors and rec.errors[0].get("code") == "token_limit_exceeded":
            raise azure.token_limit_refusal(rec.errors[0])  # Azure refuses at create: no batch
        self.store.save_batch(rec)
        self._enqueued.add(rec)
        self.counters["batches_created"] += 1
        return batch_object(rec, phase_at(rec, now, self.config.stage_s))

    def _plan(self, rec: BatchRecord, parsed: ParsedInput) -> None:
        """Decide at creation how the batch ends; the lifecycle then only replays the decision.

        The enqueued-token check is made here, against the batches enqueued at this moment, and
        shows as the real one does: the batch sits in ``validating`` for a stage, then ``failed``.
        """
        fault = self.faults.batch_fault()
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
        elif rec.model is not None:
            limit = self.walls.token_limit(rec.model)
            enqueued = self.enqueued().get(rec.model, 0) + rec.prompt_tokens
            if fault == "token_limit" or (limit is not None and enqueued > limit):
                rec.plan, rec.errors = "fail", [token_limit_error(rec.model, limit)]
                self.counters["batches_token_limited"] += 1
            else:
                self.ledger.admitted(rec.model, enqueued)
                self.save_walls()
        if rec.plan == "fail":
            return
        rec.outcomes, rec.order = self.faults.line_plan(rec.seq, rec.total)
        if fault == "expire":
            rec.plan = "expire"
            rec.expire_fraction = self.faults.config.expire_partial_fraction

    def _batch(self, batch_id: str) -> BatchRecord:
        rec = self.store.batches.get(batch_id)
        if rec is None:
            raise not_found("Batch", batch_id, "batch_id")
        return rec

    def get_batch(self, batch_id: str) -> dict[str, Any]:
        rec = self._batch(batch_id)
        self.retrievals.setdefault(batch_id, deque(maxlen=RETRIEVALS_KEPT)).append(self.now())
        return batch_object(rec, self.refresh(rec))

    def cancel_batch(self, batch_id: str) -> dict[str, Any]:
        rec = self._batch(batch_id)
        phase = self.refresh(rec)
        if phase.status in CANCELLABLE:
            rec.cancel_at = self.now()
            self.store.save_batch(rec)
            self._enqueued.changed(rec)
            self.counters["batches_cancel_requested"] += 1
            phase = self.refresh(rec)
        elif phase.status not in ("cancelling", "cancelled"):
            raise ApiError(400, f"Cannot cancel a batch with status '{phase.status}'.", param="batch_id")
        return batch_object(rec, phase)

    def list_batches(self, *, after: str | None, limit: int, flavour: str = "openai") -> dict[str, Any]:
        if not 1 <= limit <= 100:
            raise ApiError(400, "limit must be between 1 and 100", param="limit")
        # Anthropic's Message Batches live in the same store but are not OpenAI batches; Azure's jobs
        # are another resource's, listed only through /openai (and OpenAI's only through /v1).
        ours = (
            b for b in self.store.batches.values() if b.endpoint != "/v1/messages" and b.flavour == flavour
        )
        batches = sorted(ours, key=lambda b: b.seq, reverse=True)
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
                fast=self.config.answer_mode == "fast",
            )
            ended = phase.ended_at or self.now()
            if res.output_lines:
                rec.output_file_id = self.result_file(rec, "output", res.output_lines, ended)
            if res.error_lines or rec.flavour == azure.FLAVOUR:  # Azure: an empty one on success
                rec.error_file_id = self.result_file(rec, "error", res.error_lines, ended)
            rec.usage, rec.results = res.usage(), res.results
        else:
            status = "failed" if phase.status == "failed" else phase.status
            rec.results = dict.fromkeys(rec.custom_ids, status)
        self.store.save_batch(rec)
        self.counters[f"batches_{phase.status}"] += 1
        if self.on_finish is not None:
            self.on_finish(rec, phase)
        source = self.store.files.get(rec.input_file_id)
        if source is not None and source.deleted:
            self.store.drop_file(source.id)

    def stats(self, *, include_requests: bool = True) -> dict[str, Any]:
        self.refresh_all()
        self.purge_expired()
        batches = [
            stats_entry(rec, self.refresh(rec), include_requests=include_requests)
            for rec in sorted(self.store.batches.values(), key=lambda b: b.seq)
        ]
        files, used = self.storage_used()
        return {
            "now": self.now(),
            "counters": dict(self.counters) | {f"fault_{k}": v for k, v in self.faults.counters.items()},
            "faults": self.faults.config.model_dump(),
            "walls": self.walls.model_dump(),
            "keys": self.keys.view(),
            "files": files,
            "storage": {"files": files, "bytes": used},
            "enqueued_tokens": self._enqueued_view(),
            "batches": batches,
        }

    def polls(self) -> dict[str, list[float]]:
        """Per batch id, the clock times it was retrieved (the latest :data:`RETRIEVALS_KEPT`)."""
        return {batch_id: list(times) for batch_id, times in self.retrievals.items()}

    def _enqueued_view(self) -> dict[str, dict[str, int | None]]:
        """Per model: tokens enqueued now, the peak since start (or reset) and the limit."""
        current = self.enqueued()
        models = sorted(set(current) | set(self.ledger.peaks) | set(self.walls.enqueued_token_limits))
        return {
            m: {
                "current": current.get(m, 0),
                "peak": self.ledger.peaks.get(m, 0),
                "limit": self.walls.token_limit(m),
            }
            for m in models
        }

    def reset(self) -> None:
        """Forget every file and batch, zero the counters, restore the configured faults and walls."""
        self.store.clear()
        self._enqueued.rebuild((), self.now())
        self.counters.clear()
        self.retrievals.clear()
        self.faults.reset()
        self.walls = self.config.walls()
        self.keys = KeyRing(self.config.keys(), revoked=self.config.keys_revoked)
        self.ledger = TokenLedger()
        self.save_walls()


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
