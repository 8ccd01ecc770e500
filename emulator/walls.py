"""The real service's walls, the limits a client hits in production: keys, quotas, expiry, storage.

Each wall answers the way OpenAI does (status, ``{"error": {...}}`` body, code), so a client that
survives the emulator survives the service. Where OpenAI's exact answer is not documented the
choice is marked *unverified* below and in the README's table of walls.

* **Keys** (:class:`KeyRing`): the accepted keys can be replaced, extended, or all revoked at run
  time; a refused key gets 401 ``invalid_api_key`` at once, the key masked as the real API masks it.
* **Enqueued tokens** (:class:`TokenLedger`): per organisation and model, the input tokens of every
  batch that is ``validating``, ``in_progress`` or ``finalizing``. A new batch that would take its
  model over the limit fails validation with ``token_limit_exceeded``; the creation itself succeeds.
* **Expiry** (:func:`expiry_seconds`): ``expires_after`` / ``output_expires_after`` in the spec's
  range 3600..2592000 s; an expired file answers 404 like a deleted one.
* **Storage** (:func:`storage_error`): files and bytes the organisation may hold.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterable
from typing import Any

from emulator.api_errors import ApiError
from emulator.batch_clock import enqueued_until, phase_at
from emulator.state import BatchRecord

ORGANIZATION = "org-emulator"
#: The spec's range of ``expires_after.seconds`` and ``output_expires_after.seconds``.
MIN_EXPIRES_S, MAX_EXPIRES_S = 3_600, 2_592_000
#: A batch's tokens count against its model's limit while it is in one of these.
ENQUEUED_STATUSES = frozenset({"validating", "in_progress", "finalizing"})
#: The figure shown by an injected token_limit_exceeded when no limit is set (old tier-1 gpt-4o-mini).
DEFAULT_SHOWN_LIMIT = 2_000_000


# --- keys ----------------------------------------------------------------------------------


def mask_key(key: str) -> str:
    """A key as OpenAI's 401 shows it: the first 8 and last 4 characters, stars between.

    A key of 12 characters or fewer is starred whole (the real API would show most of it; the
    emulator never echoes a short test key).
    """
    if len(key) <= 12:
        return "*" * len(key)
    return key[:8] + "*" * (len(key) - 12) + key[-4:]


class KeyRing:
    """The accepted bearer keys. ``None`` = any non-empty key (the emulator's default)."""

    def __init__(self, keys: list[str] | None, *, revoked: bool = False) -> None:
        self.keys = list(keys) if keys is not None else None
        self.revoked = revoked

    def check(self, token: str) -> ApiError | None:
        """The 401 for a refused key, or None. Revoked and unknown keys get the same answer, as
        they do from OpenAI: a client cannot tell a rotated key from a mistyped one."""
        if not self.revoked and (self.keys is None or token in self.keys):
            return None
        return ApiError(
            401,
            f"Incorrect API key provided: {mask_key(token)}. You can find your API key at "
            "https://platform.openai.com/account/api-keys.",
            code="invalid_api_key",
        )

    def update(self, body: dict[str, Any]) -> None:
        """``{"keys": [...] | null, "add": [...], "remove": [...], "revoked": bool}``, all optional.

        ``keys`` replaces the accepted set (null = any key), ``add``/``remove`` rotate with an
        overlap, ``revoked`` refuses every key until set back to false.
        """
        unknown = set(body) - {"keys", "add", "remove", "revoked"}
        if unknown:
            raise ValueError(f"unknown fields {sorted(unknown)}")
        if "keys" in body:
            self.keys = None if body["keys"] is None else _key_list(body["keys"], "keys")
        if "add" in body:
            self.keys = [*(self.keys or []), *_key_list(body["add"], "add")]
        if "remove" in body:
            gone = set(_key_list(body["remove"], "remove"))
            self.keys = [k for k in self.keys or [] if k not in gone]
        if "revoked" in body:
            if not isinstance(body["revoked"], bool):
                raise ValueError("revoked must be true or false")
            self.revoked = body["revoked"]

    def view(self) -> dict[str, Any]:
        """What the admin API shows: never a whole key."""
        mode = "revoked" if self.revoked else "any" if self.keys is None else "listed"
        return {"mode": mode, "keys": [mask_key(k) for k in self.keys or []]}

    def dump(self) -> dict[str, Any]:
        return {"keys": self.keys, "revoked": self.revoked}


def _key_list(value: Any, name: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(k, str) and k for k in value):
        raise ValueError(f"{name} must be a list of non-empty strings")
    return value


# --- enqueued tokens -----------------------------------------------------------------------


def enqueued_tokens(batches: Iterable[BatchRecord], now: float, stage_s: float) -> dict[str, int]:
    """Per model, the input-token estimate of the batches enqueued now.

    A batch whose validation fails (plan ``fail``, a token-limit refusal included) is never
    enqueued; a cancelled one leaves the count when it starts cancelling.
    """
    out: dict[str, int] = {}
    for rec in batches:
        if rec.model is None or rec.plan == "fail":
            continue
        if phase_at(rec, now, stage_s).status in ENQUEUED_STATUSES:
            out[rec.model] = out.get(rec.model, 0) + rec.prompt_tokens
    return out


class EnqueuedCount:
    """The enqueued tokens per model as a running sum: what :func:`enqueued_tokens` computes, without
    a scan of every batch on each creation (10,000 batches made that scan quadratic: minutes).

    A batch is added when created, and leaves when the clock passes its :func:`enqueued_until` (a
    heap ordered by that moment) or when a cancel moves that moment (:meth:`changed`). The clock is
    expected to move forward; if a reading is earlier than the last one (a test's clock set back),
    the sum is rebuilt from the batches, so the answer stays that of the scan.
    """

    def __init__(self, stage_s: float) -> None:
        self._stage_s = stage_s
        self._tokens: dict[str, int] = {}
        self._batches: dict[str, int] = {}  # per model, how many batches are counted (a 0-token one counts)
        self._counted: dict[str, tuple[str, int, float]] = {}  # batch id -> (model, tokens, until)
        self._heap: list[tuple[float, int, str]] = []
        self._seen = -math.inf

    def rebuild(self, batches: Iterable[BatchRecord], now: float) -> None:
        self._tokens.clear()
        self._batches.clear()
        self._counted.clear()
        self._heap.clear()
        for rec in batches:
            self.add(rec)
        self._seen = now

    def add(self, rec: BatchRecord) -> None:
        until = enqueued_until(rec, self._stage_s)
        if until is None or rec.model is None:
            return
        self._counted[rec.id] = (rec.model, rec.prompt_tokens, until)
        self._tokens[rec.model] = self._tokens.get(rec.model, 0) + rec.prompt_tokens
        self._batches[rec.model] = self._batches.get(rec.model, 0) + 1
        heapq.heappush(self._heap, (until, rec.seq, rec.id))

    def changed(self, rec: BatchRecord) -> None:
        """``rec``'s timestamps moved (a cancel): count it again from them."""
        self._drop(rec.id)
        self.add(rec)

    def current(self, now: float, batches: Iterable[BatchRecord]) -> dict[str, int]:
        if now < self._seen:
            self.rebuild(batches, now)
        self._seen = now
        while self._heap and self._heap[0][0] <= now:
            until, _, batch_id = heapq.heappop(self._heap)
            counted = self._counted.get(batch_id)
            if counted is not None and counted[2] == until:  # else a stale entry of a changed batch
                self._drop(batch_id)
        return {m: t for m, t in self._tokens.items() if self._batches.get(m, 0) > 0}

    def _drop(self, batch_id: str) -> None:
        counted = self._counted.pop(batch_id, None)
        if counted is None:
            return
        model, tokens, _ = counted
        self._tokens[model] -= tokens
        self._batches[model] -= 1
        if self._batches[model] == 0:
            del self._batches[model], self._tokens[model]


class TokenLedger:
    """The peak of enqueued tokens per model, which tests check never passed the limit.

    Enqueued tokens only grow when a batch is admitted, so the peak is exact when recorded at each
    admission. The current figure is derived from the batches, so only the peak needs storing.
    """

    def __init__(self, peaks: dict[str, int] | None = None) -> None:
        self.peaks: dict[str, int] = dict(peaks or {})

    def admitted(self, model: str, enqueued_now: int) -> None:
        self.peaks[model] = max(self.peaks.get(model, 0), enqueued_now)


def token_limit_error(model: str | None, limit: int | None) -> dict[str, Any]:
    """The ``errors.data[]`` entry OpenAI reports (openai/openai-python#2084): line and param null."""
    shown = limit if limit is not None else DEFAULT_SHOWN_LIMIT
    return {
        "code": "token_limit_exceeded",
        "message": f"Enqueued token limit reached for {model} in organization {ORGANIZATION}. "
        f"Limit: {shown:,} enqueued tokens. Please try again once some in_progress batches have "
        "been completed.",
        "param": None,
        "line": None,
    }


# --- expiry --------------------------------------------------------------------------------


def expiry_seconds(anchor: Any, seconds: Any, param: str) -> int:
    """``{anchor, seconds}`` checked as the API checks it; OpenAI's parameter-error codes."""
    if anchor is None:
        raise ApiError(
            400, f"Missing required parameter: '{param}.anchor'.", param=f"{param}.anchor",
            code="missing_required_parameter",
        )  # fmt: skip
    if anchor != "created_at":
        raise ApiError(
            400, f"Invalid value: '{anchor}'. Supported values are: 'created_at'.",
            param=f"{param}.anchor", code="invalid_value",
        )  # fmt: skip
    if seconds is None:
        raise ApiError(
            400, f"Missing required parameter: '{param}.seconds'.", param=f"{param}.seconds",
            code="missing_required_parameter",
        )  # fmt: skip
    try:
        value = int(seconds)  # a multipart form field arrives as text
    except (TypeError, ValueError):
        value = None
    if value is None or isinstance(seconds, bool) or (isinstance(seconds, float) and seconds != value):
        raise ApiError(
            400, f"Invalid type for '{param}.seconds': expected an integer.",
            param=f"{param}.seconds", code="invalid_type",
        )  # fmt: skip
    if value < MIN_EXPIRES_S:
        raise ApiError(
            400, f"Invalid '{param}.seconds': integer below minimum value. Expected a value >= "
            f"{MIN_EXPIRES_S}, but got {value} instead.", param=f"{param}.seconds",
            code="integer_below_min_value",
        )  # fmt: skip
    if value > MAX_EXPIRES_S:
        raise ApiError(
            400, f"Invalid '{param}.seconds': integer above maximum value. Expected a value <= "
            f"{MAX_EXPIRES_S}, but got {value} instead.", param=f"{param}.seconds",
            code="integer_above_max_value",
        )  # fmt: skip
    return value


def output_expiry(payload: Any) -> int | None:
    """``output_expires_after`` of a batch creation: its seconds, or None when absent."""
    if payload is None:
        return None
    if not isinstance(payload, dict):
        raise ApiError(
            400, "Invalid type for 'output_expires_after': expected an object.",
            param="output_expires_after", code="invalid_type",
        )  # fmt: skip
    return expiry_seconds(payload.get("anchor"), payload.get("seconds"), "output_expires_after")


# --- storage -------------------------------------------------------------------------------


def storage_error(
    *, files: int, used: int, size: int, max_files: int | None, max_bytes: int | None
) -> ApiError | None:
    """The refusal of an upload of ``size`` bytes over the organisation's storage, or None.

    Unverified: OpenAI documents an organisation storage limit and Azure 500 files per resource,
    neither the answer. The emulator answers 400 ``storage_limit_exceeded``: a client error that a
    retry does not cure (it must delete files first), never a 429 that invites retrying.
    """
    if max_files is not None and files + 1 > max_files:
        what = f"{files} files stored; the limit is {max_files} files"
    elif max_bytes is not None and used + size > max_bytes:
        what = f"{used} bytes stored and {size} uploaded; the limit is {max_bytes} bytes"
    else:
        return None
    return ApiError(
        400,
        f"File storage limit reached for organization {ORGANIZATION}: {what}. "
        "Delete files you no longer need, then try again.",
        param="file",
        code="storage_limit_exceeded",
    )
