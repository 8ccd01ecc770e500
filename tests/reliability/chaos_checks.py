"""What a chaos run with provider faults (emulator restarts, a revoked key) must leave behind, beyond
the e2e invariants: failures only where the provider was told to break an answer, every charged
attempt explained by a provider batch that did not answer the request, and no configuration circuit
left open.

Why the attempt check proves "the revocation charged nothing": a refused key (401) never creates a
provider batch. If a refusal were charged to requests (a batch failed for our key instead of waiting
for the circuit's probe), those requests would have more attempts than provider batches that failed
them, and this check names them.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from devtools.stack import Stack
from tests.pipeline import rows, scalar

#: Reasons the chaos faults put on a request's answer (``http_500`` per-line errors, ``invalid_answer``
#: malformed content) or on its whole batch (``batch_expired``, the injected expiry): the provider's
#: doing, so a request that met them on every attempt may fail. Anything else is our fault.
CONTENT_REASONS: tuple[str, ...] = ("http_500", "invalid_answer", "batch_expired")


async def assert_failures_only_content(engine: AsyncEngine, max_attempts: int) -> dict[str, int]:
    """Every PROCESSING_FAILED request failed for an injected content reason, on its last attempt."""
    failed = await rows(
        engine,
        "SELECT id, attempt, error_message FROM ai_processing_requests WHERE status = 'PROCESSING_FAILED'",
    )
    ours = [
        (str(r.id), r.attempt, (r.error_message or "")[:200])
        for r in failed
        if r.attempt != max_attempts or not (r.error_message or "").startswith(CONTENT_REASONS)
    ]
    assert not ours, f"{len(ours)} requests failed for our fault, e.g. {ours[:5]}"
    return {"requests_failed": len(failed), "requests_failed_for_our_fault": len(ours)}


async def assert_attempts_explained(engine: AsyncEngine, stack: Stack) -> dict[str, int]:
    """No request was charged more attempts than provider batches failed to answer it (emulator's records)."""
    unanswered: Counter[str] = Counter()
    for batch in stack.emulator_stats(include_requests=True)["batches"]:
        for cid, result in (batch.get("results") or {}).items():
            if result != "succeeded":
                unanswered[cid] += 1
    charged = await rows(engine, "SELECT id, attempt FROM ai_processing_requests WHERE attempt > 1")
    unexplained = [
        (str(r.id), r.attempt - 1, unanswered[str(r.id)])
        for r in charged
        if r.attempt - 1 > unanswered[str(r.id)]
    ]
    assert not unexplained, (
        f"{len(unexplained)} requests charged attempts no provider batch explains "
        f"(id, charged, unanswered): {unexplained[:5]}"
    )
    return {"attempts_charged": sum(r.attempt - 1 for r in charged), "attempts_unexplained": 0}


async def assert_circuits_closed(engine: AsyncEngine, stack: Stack) -> dict[str, Any]:
    """The revocation opened a configuration circuit, and it closed again: none is left at the end."""
    left = await scalar(engine, "SELECT count(*) FROM provider_circuits")
    opened = closed = 0
    for path in stack.log_dir.glob("submitter-*.log"):
        text = path.read_text(errors="replace")
        opened += text.count("circuit.opened")
        closed += text.count("circuit.closed")
    assert left == 0, f"{left} configuration circuits still open at the end"
    return {"circuits_opened": opened, "circuits_closed": closed, "circuits_open_at_end": left}
