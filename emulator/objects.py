"""The emulator's records rendered as OpenAI API objects, and the admin view of them.

Kept apart from :mod:`.core` (which decides *what happens*) because this module only decides
*how it looks*: the spec's field names, which fields are left out while unset, and the counters.
"""

from __future__ import annotations

from typing import Any

from emulator.batch_clock import Phase
from emulator.state import BatchRecord, FileRecord

_TIMESTAMPS = (
    "in_progress_at",
    "finalizing_at",
    "completed_at",
    "failed_at",
    "expired_at",
    "cancelling_at",
    "cancelled_at",
)


def batch_object(rec: BatchRecord, phase: Phase) -> dict[str, Any]:
    """The batch object. Unset optional fields are left out: the spec types them non-null."""
    out: dict[str, Any] = {
        "id": rec.id,
        "object": "batch",
        "endpoint": rec.endpoint,
        "input_file_id": rec.input_file_id,
        "completion_window": rec.completion_window,
        "status": phase.status,
        "created_at": int(rec.created_at),
        "expires_at": int(rec.expires_at),
        "request_counts": request_counts(rec, phase),
        "metadata": rec.metadata,
    }
    if rec.model:
        out["model"] = rec.model
    if phase.status == "failed":
        out["errors"] = {"object": "list", "data": rec.errors}
    for name in _TIMESTAMPS:
        if (value := getattr(phase, name)) is not None:
            out[name] = int(value)
    if phase.terminal:
        if rec.output_file_id:
            out["output_file_id"] = rec.output_file_id
        if rec.error_file_id:
            out["error_file_id"] = rec.error_file_id
        if rec.usage:
            out["usage"] = rec.usage
    return out


def request_counts(rec: BatchRecord, phase: Phase) -> dict[str, int]:
    if phase.status in ("validating", "failed") or (phase.in_progress_at is None and phase.done == 0):
        return {"total": 0, "completed": 0, "failed": 0}
    failed = sum(1 for i in rec.order[: phase.done] if rec.outcomes[i] == "error")
    completed = phase.done - failed
    if phase.status in ("expired", "cancelled"):
        failed += rec.total - phase.done
    return {"total": rec.total, "completed": completed, "failed": failed}


# --- admin -----------------------------------------------------------------------------


def stats_entry(rec: BatchRecord, phase: Phase, *, include_requests: bool) -> dict[str, Any]:
    """One batch as the emulator recorded it: what reliability tests count requests by."""
    item: dict[str, Any] = {
        "id": rec.id,
        "seq": rec.seq,
        "status": phase.status,
        "plan": rec.plan,
        "created_at": rec.created_at,
        "input_file_id": rec.input_file_id,
        "model": rec.model,
        "endpoint": rec.endpoint,
        "flavour": rec.flavour,
        "metadata": rec.metadata or {},
        "request_counts": request_counts(rec, phase),
        "output_file_id": rec.output_file_id,
        "error_file_id": rec.error_file_id,
        "errors": rec.errors,
    }
    if include_requests:
        item["custom_ids"] = rec.custom_ids
        item["results"] = rec.results
    return item


def by_creation(files: list[FileRecord], insertion: list[str], *, newest_first: bool) -> list[FileRecord]:
    """Ordered by ``created_at``; ties (same second) broken by upload order, never arbitrarily."""
    rank = {file_id: i for i, file_id in enumerate(insertion)}
    return sorted(files, key=lambda f: (f.created_at, rank[f.id]), reverse=newest_first)


def paginate(items: list[Any], after: str | None, limit: int) -> tuple[list[Any], bool]:
    start = 0
    if after is not None:
        ids = [item.id for item in items]
        start = ids.index(after) + 1 if after in ids else len(items)
    page = items[start : start + limit]
    return page, start + limit < len(items)
