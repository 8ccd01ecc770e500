"""OpenAI JSON objects → the port's dataclasses, tolerant of absent and ``null`` optional fields.

The real API sends ``null`` for unset fields (``output_file_id``, ``errors``); the spec types them
as plain strings/objects, which the emulator honours by leaving them out. Both shapes parse the
same here. Unknown fields are ignored (kept in ``ProviderBatch.raw``) so a provider adding fields
never breaks the pipeline.
"""

from __future__ import annotations

from typing import Any

from shared.provider.base import BatchError, BatchUsage, ProviderBatch, ProviderFile, RequestCounts


def _int(value: Any, default: int = 0) -> int:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else default


def _opt_str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def parse_file(data: dict[str, Any]) -> ProviderFile:
    return ProviderFile(
        id=str(data["id"]),
        bytes=_int(data.get("bytes")),
        filename=str(data.get("filename") or ""),
        purpose=str(data.get("purpose") or ""),
        created_at=_int(data.get("created_at")),
    )


def parse_batch(data: dict[str, Any]) -> ProviderBatch:
    counts = data.get("request_counts") or {}
    errors_obj = data.get("errors") or {}
    errors = tuple(
        BatchError(
            code=_opt_str(e.get("code")),
            message=_opt_str(e.get("message")),
            line=e.get("line") if isinstance(e.get("line"), int) else None,
            param=_opt_str(e.get("param")),
        )
        for e in (errors_obj.get("data") or [])
        if isinstance(e, dict)
    )
    metadata = data.get("metadata") or {}
    usage_obj = data.get("usage")
    usage: dict[str, Any] = usage_obj if isinstance(usage_obj, dict) else {}
    expires_at = data.get("expires_at")
    return ProviderBatch(
        id=str(data["id"]),
        status=str(data.get("status") or ""),
        input_file_id=str(data.get("input_file_id") or ""),
        output_file_id=_opt_str(data.get("output_file_id")),
        error_file_id=_opt_str(data.get("error_file_id")),
        created_at=_int(data.get("created_at")),
        expires_at=_int(expires_at) if expires_at is not None else None,
        request_counts=RequestCounts(
            total=_int(counts.get("total")),
            completed=_int(counts.get("completed")),
            failed=_int(counts.get("failed")),
        ),
        errors=errors,
        metadata={str(k): str(v) for k, v in metadata.items()},
        usage=BatchUsage(
            input_tokens=_int(usage.get("input_tokens")), output_tokens=_int(usage.get("output_tokens"))
        ),
        raw=data,
    )
