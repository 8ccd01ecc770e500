"""Anthropic's walls on the emulated Message Batches: what a client of the real API runs into.

The OpenAI side's walls (:mod:`emulator.walls`) answer in OpenAI's shapes; these answer as Anthropic
does, through :func:`emulator.anthropic_api.error_response` (``{"type": "error", "error": {type,
message}}``), so the adapter's error mapping is tested against the answers it will really get:

* **Keys**: the same :class:`~emulator.walls.KeyRing` (rotation, revocation through
  ``POST /_emulator/keys``), answered 401 ``authentication_error``.
* **Processing queue** (:func:`queue_refusal`): Anthropic limits, per model, the batch requests in
  the processing queue (not yet ended). A create that would take a model over it is refused at once,
  429 ``rate_limit_error`` with ``retry-after``: no batch is made (unlike OpenAI's enqueued-token
  limit, which fails the batch later). The retry-after is the time until the model's first queued
  batch ends, as that is when room appears; at least 1 s.
* **Overloaded** (:meth:`~emulator.faults.FaultInjector.overloaded`): 529 ``overloaded_error``, an
  Anthropic-only fault (``overloaded_next``/``overloaded_rate``), with ``retry-after``.
* **Size** (:func:`size_refusal`): a create body over 256 MB is 413 ``request_too_large``, refused
  from its ``content-length`` before it is read when the client sends one.
* **Results expiry** (:func:`results_expired`): results can be fetched for 29 days after the batch
  was *created*; after that the results endpoint answers 404 ``not_found_error`` while the batch
  itself can still be retrieved.

Unverified: the exact messages of the queue refusal and of expired results, and whether a real
429 of the queue carries ``retry-after`` (Anthropic documents it for rate limits in general).
Queue accounting uses a batch's first model for all of its requests; the adapter sends one model
per batch, as OpenAI's files require.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from emulator.api_errors import ApiError
from emulator.batch_clock import enqueued_until

if TYPE_CHECKING:
    from emulator.core import Emulator
    from emulator.state import BatchRecord

MESSAGES_ENDPOINT = "/v1/messages"


def queued(emu: Emulator, model: str) -> tuple[int, float | None]:
    """``model``'s requests in batches not ended yet, and the earliest moment one of those ends.

    A scan of the unfinished Message batches, made only when the model has a queue limit (the wall
    is off by default, so the ordinary create pays nothing for it).
    """
    from emulator.anthropic_batches import status_of  # a cycle at import time otherwise

    now, count, first_end = emu.now(), 0, math.inf
    for rec in list(emu.store.batches.values()):
        if rec.endpoint != MESSAGES_ENDPOINT or rec.model != model or rec.deleted or rec.final_status:
            continue
        if status_of(emu.refresh(rec)) == "ended":
            continue
        count += rec.total
        until = enqueued_until(rec, emu.config.stage_s)
        if until is not None and until > now:
            first_end = min(first_end, until)
    return count, (None if math.isinf(first_end) else first_end)


def queue_refusal(emu: Emulator, model: str, adding: int) -> ApiError | None:
    """The 429 for a create of ``adding`` requests over ``model``'s queue limit, or None."""
    limit = emu.walls.queue_limit(model)
    if limit is None:
        return None
    count, first_end = queued(emu, model)
    if count + adding <= limit:
        return None
    wait = math.ceil(first_end - emu.now()) if first_end is not None else math.ceil(emu.config.stage_s)
    emu.counters["message_batches_queue_limited"] += 1
    return ApiError(
        429,
        f"Number of batch requests in the processing queue for {model} would exceed your rate limit "
        f"of {limit:,} ({count:,} queued, {adding:,} in this batch). Please try again later.",
        type="rate_limit_error",
        headers={"retry-after": str(max(wait, 1))},
    )


def size_refusal(size: int, limit: int) -> ApiError | None:
    """The 413 for a create body of ``size`` bytes over ``limit``, or None."""
    if size <= limit:
        return None
    return ApiError(413, f"Request exceeds the maximum size of {limit} bytes.", type="request_too_large")


def results_expired(rec: BatchRecord, now: float, ttl_s: float | None) -> bool:
    """Whether ``rec``'s results are past their availability (``ttl_s`` after creation)."""
    return ttl_s is not None and now >= rec.created_at + ttl_s


def expired_results(batch_id: str, ttl_s: float | None) -> ApiError:
    """404 for results past their time (or whose files the OpenAI side's walls already removed)."""
    kept = "29 days" if ttl_s is None or ttl_s == 29 * 86_400 else f"{ttl_s:g} s"
    return ApiError(
        404,
        f"Results of batch {batch_id} are no longer available: results can be retrieved for {kept} "
        "after the batch was created.",
        type="not_found_error",
    )
