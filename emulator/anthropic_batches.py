"""Anthropic Message Batches on the emulator's batch machinery: same clock, same model, same faults.

Anthropic takes the requests inline (``{custom_id, params}``, no file upload) and reports three
statuses. Rather than a second lifecycle, a Messages batch is stored as the emulator's ordinary
:class:`~emulator.state.BatchRecord` (endpoint ``/v1/messages``): its requests are translated once,
at creation, into the chat-completions lines the stand-in model already answers, kept as the
record's input blob. Phases, faults (expiry, line errors), restarts and the admin stats then behave
exactly as on the OpenAI side, and only the rendering differs:

* status: validating/in_progress/finalizing -> ``in_progress``, cancelling -> ``canceling``,
  completed/expired/cancelled -> ``ended``;
* ``request_counts`` {processing, succeeded, errored, canceled, expired}: everything is processing
  until the batch ends (as Anthropic documents), then each request counts once;
* results: the record's output and error files, each line re-rendered as Anthropic's
  ``{custom_id, result: {type: succeeded|errored|canceled|expired, ...}}``. A request that forced a
  tool (``tool_choice: {type: tool}``) is answered with a ``tool_use`` block whose ``input`` is the
  model's JSON; a malformed (not JSON) answer stays a text block, as a real model's failure would.

Creation rules are checked at once, as Anthropic does (400 ``invalid_request_error``): 1-100,000
requests, at most 256 MB, ``custom_id`` ``^[a-zA-Z0-9_-]{1,64}$`` and unique, ``params`` with
``model``, ``max_tokens`` and ``messages``.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import orjson

from emulator.anthropic_walls import expired_results, queue_refusal, results_expired, size_refusal
from emulator.api_errors import ApiError
from emulator.batch_clock import Phase
from emulator.model import estimate_prompt_tokens
from emulator.state import BatchRecord
from emulator.validation import iter_lines, parse_request

if TYPE_CHECKING:
    from emulator.core import Emulator

MESSAGES_ENDPOINT = "/v1/messages"
MAX_REQUESTS = 100_000
MAX_BYTES = 256 * 1024 * 1024
CUSTOM_ID = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
#: Key of the translated body that remembers the forced tool (the model ignores unknown keys).
TOOL_MARK = "_anthropic_tool"
_STATUS = {"cancelling": "canceling", "completed": "ended", "expired": "ended", "cancelled": "ended"}
_UNFINISHED = {"batch_expired": "expired", "batch_cancelled": "canceled"}


def _iso(ts: float | None) -> str | None:
    return None if ts is None else datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(str(b.get("text", "")) for b in content if isinstance(b, dict))
    return ""


def to_chat_body(params: dict[str, Any]) -> dict[str, Any]:
    """Anthropic ``params`` as the chat-completions body the stand-in model answers."""
    messages: list[dict[str, Any]] = []
    if params.get("system"):
        messages.append({"role": "system", "content": _text_of(params["system"])})
    for m in params.get("messages") or []:
        if isinstance(m, dict):
            messages.append({"role": str(m.get("role", "user")), "content": _text_of(m.get("content"))})
    body: dict[str, Any] = {"model": params["model"], "messages": messages}
    choice = params.get("tool_choice")
    if isinstance(choice, dict) and choice.get("type") == "tool":
        tool = next((t for t in params.get("tools") or [] if t.get("name") == choice.get("name")), None)
        if tool is not None:
            body["response_format"] = {
                "type": "json_schema",
                "json_schema": {
                    "name": tool["name"],
                    "schema": tool.get("input_schema") or {},
                    "strict": True,
                },
            }
            body[TOOL_MARK] = tool["name"]
    return body


def _bad(message: str) -> ApiError:
    return ApiError(400, message)


def translate(
    payload: dict[str, Any], size: int, max_bytes: int = MAX_BYTES
) -> tuple[list[str], bytes, str, int]:
    """(custom_ids, chat-completions JSONL, model, prompt tokens) of a create body, or 400/413."""
    if (too_large := size_refusal(size, max_bytes)) is not None:
        raise too_large
    requests = payload.get("requests")
    if not isinstance(requests, list) or not 1 <= len(requests) <= MAX_REQUESTS:
        raise _bad(f"requests: must be a list of 1 to {MAX_REQUESTS} items")
    ids: list[str] = []
    seen: set[str] = set()
    lines: list[bytes] = []
    model, tokens = "", 0
    for i, item in enumerate(requests):
        custom_id = item.get("custom_id") if isinstance(item, dict) else None
        if not isinstance(custom_id, str) or not CUSTOM_ID.match(custom_id):
            raise _bad(f"requests.{i}.custom_id: String should match pattern '^[a-zA-Z0-9_-]{{1,64}}$'")
        if custom_id in seen:
            raise _bad(
                f"requests.{i}.custom_id: duplicate custom_id {custom_id!r}; custom_ids must be unique"
            )
        params = item.get("params")
        if not isinstance(params, dict) or not isinstance(params.get("model"), str):
            raise _bad(f"requests.{i}.params.model: Field required")
        if not isinstance(params.get("max_tokens"), int) or params["max_tokens"] < 1:
            raise _bad(f"requests.{i}.params.max_tokens: Field required")
        if not isinstance(params.get("messages"), list) or not params["messages"]:
            raise _bad(f"requests.{i}.params.messages: Field required")
        seen.add(custom_id)
        ids.append(custom_id)
        body = to_chat_body(params)
        model = model or params["model"]
        tokens += estimate_prompt_tokens(body)
        line = {"custom_id": custom_id, "method": "POST", "url": "/v1/chat/completions", "body": body}
        lines.append(orjson.dumps(line))
    return ids, b"\n".join(lines) + b"\n", model, tokens


def status_of(phase: Phase) -> str:
    return _STATUS.get(phase.status, "in_progress")


def counts_of(rec: BatchRecord, phase: Phase) -> dict[str, int]:
    counts = {"processing": rec.total, "succeeded": 0, "errored": 0, "canceled": 0, "expired": 0}
    if status_of(phase) != "ended":
        return counts
    errored = sum(1 for i in rec.order[: phase.done] if rec.outcomes[i] == "error")
    rest = "expired" if phase.status == "expired" else "canceled"
    counts |= {
        "processing": 0,
        "succeeded": phase.done - errored,
        "errored": errored,
        rest: rec.total - phase.done,
    }
    return counts


def batch_object(rec: BatchRecord, phase: Phase, base_url: str) -> dict[str, Any]:
    ended = status_of(phase) == "ended"
    return {
        "id": rec.id,
        "type": "message_batch",
        "processing_status": status_of(phase),
        "request_counts": counts_of(rec, phase),
        "created_at": _iso(rec.created_at),
        "expires_at": _iso(rec.expires_at),
        "ended_at": _iso(phase.ended_at) if ended else None,
        "cancel_initiated_at": _iso(rec.cancel_at),
        "archived_at": None,
        "results_url": f"{base_url}/v1/messages/batches/{rec.id}/results" if ended else None,
    }


def _message(body: dict[str, Any], tool: str | None) -> dict[str, Any]:
    """An OpenAI ``chat.completion`` as an Anthropic ``message``."""
    text = body["choices"][0]["message"]["content"]
    usage = body.get("usage") or {}
    cached = (usage.get("prompt_tokens_details") or {}).get("cached_tokens", 0)
    content: list[dict[str, Any]] = [{"type": "text", "text": text}]
    stop = "end_turn"
    if tool is not None:
        try:
            parsed = orjson.loads(text)
        except orjson.JSONDecodeError:
            parsed = None
        if isinstance(parsed, dict):
            content = [
                {"type": "tool_use", "id": f"toolu_{secrets.token_hex(12)}", "name": tool, "input": parsed}
            ]
            stop = "tool_use"
    return {
        "id": f"msg_{secrets.token_hex(12)}",
        "type": "message",
        "role": "assistant",
        "model": body.get("model", ""),
        "content": content,
        "stop_reason": stop,
        "stop_sequence": None,
        "usage": {
            "input_tokens": usage.get("prompt_tokens", 0) - cached,
            "output_tokens": usage.get("completion_tokens", 0),
            "cache_read_input_tokens": cached,
            "cache_creation_input_tokens": 0,
        },
    }


def result_line(line: dict[str, Any], tools: dict[str, str]) -> dict[str, Any]:
    """One line of an output or error file as Anthropic's individual result."""
    custom_id = line["custom_id"]
    response, error = line.get("response"), line.get("error")
    if response is None:
        kind = _UNFINISHED.get((error or {}).get("code", ""), "expired")
        return {"custom_id": custom_id, "result": {"type": kind}}
    if response.get("status_code") == 200:
        message = _message(response["body"], tools.get(custom_id))
        return {"custom_id": custom_id, "result": {"type": "succeeded", "message": message}}
    detail = (response.get("body") or {}).get("error") or {}
    err = {"type": "api_error", "message": detail.get("message") or "Internal server error"}
    return {"custom_id": custom_id, "result": {"type": "errored", "error": {"type": "error", "error": err}}}


class MessageBatches:
    """The Message Batches operations over one :class:`~emulator.core.Emulator`."""

    def __init__(self, emulator: Emulator) -> None:
        self.emu = emulator

    def _get(self, batch_id: str) -> BatchRecord:
        rec = self.emu.store.batches.get(batch_id)
        if rec is None or rec.endpoint != MESSAGES_ENDPOINT or rec.deleted:
            raise ApiError(404, f"No message batch with id {batch_id!r}.", type="not_found_error")
        return rec

    def create(self, payload: dict[str, Any], size: int, base_url: str) -> dict[str, Any]:
        emu = self.emu
        ids, data, model, tokens = translate(payload, size, emu.walls.anthropic_max_batch_bytes)
        if (refused := queue_refusal(emu, model, len(ids))) is not None:
            raise refused
        seq = emu.store.next_number("batch")
        blob_id = f"msgbatch-input-{secrets.token_hex(12)}"
        emu.store.put_blob(blob_id, [data])
        now = emu.now()
        rec = BatchRecord(
            id=f"msgbatch_{secrets.token_hex(12)}",
            seq=seq,
            input_file_id=blob_id,
            endpoint=MESSAGES_ENDPOINT,
            completion_window="24h",
            metadata=None,
            created_at=now,
            expires_at=now + emu.config.window_s,
            plan="run",
            model=model,
            custom_ids=ids,
            prompt_tokens=tokens,
        )
        rec.outcomes, rec.order = emu.faults.line_plan(rec.seq, rec.total)
        if emu.faults.batch_fault() == "expire":
            rec.plan, rec.expire_fraction = "expire", emu.faults.config.expire_partial_fraction
        emu.store.save_batch(rec)
        emu.counters["message_batches_created"] += 1
        return batch_object(rec, emu.refresh(rec), base_url)

    def retrieve(self, batch_id: str, base_url: str) -> dict[str, Any]:
        rec = self._get(batch_id)
        return batch_object(rec, self.emu.refresh(rec), base_url)

    def cancel(self, batch_id: str, base_url: str) -> dict[str, Any]:
        rec = self._get(batch_id)
        phase = self.emu.refresh(rec)
        if status_of(phase) == "in_progress" and phase.status != "finalizing":
            rec.cancel_at = self.emu.now()
            self.emu.store.save_batch(rec)
            phase = self.emu.refresh(rec)
        elif status_of(phase) == "ended":
            raise _bad(f"Batch {batch_id} has already ended and cannot be canceled.")
        return batch_object(rec, phase, base_url)

    def page(
        self, *, before_id: str | None, after_id: str | None, limit: int, base_url: str
    ) -> dict[str, Any]:
        if not 1 <= limit <= 1000:
            raise _bad("limit: must be between 1 and 1000")
        recs = [
            b for b in self.emu.store.batches.values() if b.endpoint == MESSAGES_ENDPOINT and not b.deleted
        ]
        recs.sort(key=lambda b: b.seq, reverse=True)
        ids = [r.id for r in recs]
        if after_id is not None:
            start = ids.index(after_id) + 1 if after_id in ids else len(recs)
            chosen, has_more = recs[start : start + limit], start + limit < len(recs)
        elif before_id is not None:
            end = ids.index(before_id) if before_id in ids else 0
            chosen, has_more = recs[max(0, end - limit) : end], end - limit > 0
        else:
            chosen, has_more = recs[:limit], limit < len(recs)
        data = [batch_object(r, self.emu.refresh(r), base_url) for r in chosen]
        return {
            "data": data,
            "has_more": has_more,
            "first_id": data[0]["id"] if data else None,
            "last_id": data[-1]["id"] if data else None,
        }

    def results(self, batch_id: str) -> Iterator[bytes]:
        rec = self._get(batch_id)
        if status_of(self.emu.refresh(rec)) != "ended":
            raise ApiError(404, f"Results of batch {batch_id} are not available yet.", type="not_found_error")
        ttl = self.emu.walls.anthropic_results_ttl_s
        files = [self.emu.store.files.get(f) for f in (rec.output_file_id, rec.error_file_id) if f]
        if results_expired(rec, self.emu.now(), ttl) or any(f is None or f.deleted for f in files):
            self.emu.counters["message_results_expired"] += 1
            raise expired_results(batch_id, ttl)
        tools: dict[str, str] = {}
        for _, raw in iter_lines(self.emu.store.read_blob(rec.input_file_id)):
            if (obj := parse_request(raw)) is not None and (tool := obj["body"].get(TOOL_MARK)):
                tools[obj["custom_id"]] = tool
        return self._lines(rec, tools)

    def _lines(self, rec: BatchRecord, tools: dict[str, str]) -> Iterator[bytes]:
        """The result files' lines, then a line for every request the batch ended before starting
        (a batch cancelled while validating has no files at all)."""
        seen: set[str] = set()
        for file_id in (rec.output_file_id, rec.error_file_id):
            for _, raw in iter_lines(self.emu.store.read_blob(file_id)) if file_id else ():
                result = result_line(orjson.loads(raw), tools)
                seen.add(result["custom_id"])
                yield orjson.dumps(result) + b"\n"
        kind = "canceled" if rec.final_status == "cancelled" else "expired"
        for custom_id in rec.custom_ids:
            if custom_id not in seen:
                yield orjson.dumps({"custom_id": custom_id, "result": {"type": kind}}) + b"\n"

    def delete(self, batch_id: str) -> dict[str, Any]:
        rec = self._get(batch_id)
        if status_of(self.emu.refresh(rec)) != "ended":
            raise _bad(f"Batch {batch_id} cannot be deleted while it is processing; cancel it first.")
        rec.deleted = True
        self.emu.store.save_batch(rec)
        for file_id in (rec.output_file_id, rec.error_file_id, rec.input_file_id):
            if file_id is not None:
                self.emu.store.drop_file(file_id)
        return {"id": rec.id, "type": "message_batch_deleted"}
