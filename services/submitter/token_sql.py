"""SQL of token admission: the model's lock, its enqueued tokens, the demands, the learned limit.

Everything here runs inside the claim's transaction, after :func:`lock_model`: the budget is read,
decided (``token_budget``) and spent by the claim before the lock is released at commit, so two
submitters admitting work for the same model take turns and the second one sees the first one's batch.
No SQL here spells a status: the sets are the lifecycle's, bound as parameters.
"""

from __future__ import annotations

from datetime import datetime

import structlog
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from services.submitter.accumulator import GroupKey
from services.submitter.token_budget import (
    UNLIMITED,
    Allowance,
    Learned,
    ModelBudget,
    Outcome,
    allowance,
    feed_back,
    too_large_reason,
)
from shared.lifecycle import (
    BATCH_TERMINAL,
    HOLDING_TOKENS,
    BatchStatus,
    RequestStatus,
    request_move,
    values,
)
from shared.tokens import TokenRate

log = structlog.get_logger(__name__)
#: A pending request that can never be admitted fails without entering a batch.
FAIL_UNADMITTABLE = request_move(RequestStatus.PROCESSING_FAILED, RequestStatus.PENDING_BATCHING)
PENDING = RequestStatus.PENDING_BATCHING.value
COMPLETE = RequestStatus.PROCESSING_COMPLETE.value
#: Batches whose outcome is known: provider-terminal, or already processed by the ingester.
FINISHED = values(BATCH_TERMINAL | {BatchStatus.PROCESSED})
HOLDING = values(HOLDING_TOKENS)
REJECTION_CODE = "token_limit_exceeded"
#: Recent first-attempt completions a model's rate is calibrated on.
CALIBRATION_SAMPLE = 5_000
# ``TokenRate.estimate`` in SQL, written out in each statement (statements are constant strings):
# ``ceil(approx_bytes * :rate - 1e-9)``, the same epsilon against float noise.


async def lock_model(conn: AsyncConnection, provider: str, model: str) -> None:
    """The model's admission lock, held until this transaction ends (a crash releases it too)."""
    await conn.execute(
        text("SELECT pg_advisory_xact_lock(hashtextextended(:k, 1))"), {"k": f"tokens|{provider}|{model}"}
    )


async def take_outcomes(conn: AsyncConnection, provider: str, model: str) -> list[Outcome]:
    """Mark the model's finished batches as read back and return the refusals and successes among them.

    Batches that never reached the provider, or failed for another reason, say nothing about the
    limit: they are marked (so the partial index stays small) but not returned.
    """
    rows = await conn.execute(
        text(
            "UPDATE provider_batches SET limit_feedback_at = now() "
            "WHERE provider = :p AND model = :m AND limit_feedback_at IS NULL "
            "AND estimated_tokens IS NOT NULL AND status = ANY(:finished) "
            "RETURNING submitted_at IS NOT NULL AS submitted, coalesce(error_codes, '{}') AS codes, "
            "estimated_tokens, coalesce(admitted_enqueued, 0) AS admitted_enqueued, "
            "coalesce(token_rate, 0) AS token_rate, request_count, created_at"
        ),
        {"p": provider, "m": model, "finished": FINISHED},
    )
    out = []
    for r in rows:
        rejected = REJECTION_CODE in r.codes
        if r.submitted and (rejected or not r.codes):
            out.append(
                Outcome(
                    rejected,
                    int(r.estimated_tokens),
                    int(r.admitted_enqueued),
                    float(r.token_rate),
                    int(r.request_count),
                    r.created_at,
                )
            )
    return out


async def read_learned(conn: AsyncConnection, provider: str, model: str) -> Learned | None:
    row = (
        await conn.execute(
            text(
                "SELECT learned_limit, tokens_per_byte, lowered_at, updated_at, succeeded_at "
                "FROM model_token_limits WHERE provider = :p AND model = :m"
            ),
            {"p": provider, "m": model},
        )
    ).first()
    if row is None:
        return None
    return Learned(int(row.learned_limit), float(row.tokens_per_byte), row.lowered_at, row.updated_at,
                   row.succeeded_at)  # fmt: skip


async def store_learned(conn: AsyncConnection, provider: str, model: str, learned: Learned | None) -> None:
    """Write the learned limit (None: forget it, the configured limit applies again)."""
    if learned is None:
        await conn.execute(
            text("DELETE FROM model_token_limits WHERE provider = :p AND model = :m"),
            {"p": provider, "m": model},
        )
        return
    await conn.execute(
        text(
            "INSERT INTO model_token_limits (provider, model, learned_limit, tokens_per_byte, lowered_at, "
            "updated_at, succeeded_at) VALUES (:p, :m, :l, :r, :lo, :up, :ok) "
            "ON CONFLICT (provider, model) DO UPDATE SET learned_limit = excluded.learned_limit, "
            "tokens_per_byte = excluded.tokens_per_byte, lowered_at = excluded.lowered_at, "
            "updated_at = excluded.updated_at, succeeded_at = excluded.succeeded_at"
        ),
        {
            "p": provider,
            "m": model,
            "l": learned.limit,
            "r": learned.tokens_per_byte,
            "lo": learned.lowered_at,
            "up": learned.updated_at,
            "ok": learned.succeeded_at,
        },
    )


async def now(conn: AsyncConnection) -> datetime:
    """The transaction's clock (the learned limit's times are the database's, like every other)."""
    value = await conn.scalar(text("SELECT now()"))
    if not isinstance(value, datetime):
        raise TypeError(f"now() returned {value!r}")
    return value


async def held(conn: AsyncConnection, provider: str, model: str) -> dict[str, int]:
    """Per company, the estimated tokens of the model's batches still PENDING_SUBMISSION or in flight."""
    rows = await conn.execute(
        text(
            "SELECT company_id, coalesce(sum(estimated_tokens), 0) AS tokens FROM provider_batches "
            "WHERE provider = :p AND model = :m AND status = ANY(:holding) GROUP BY company_id"
        ),
        {"p": provider, "m": model, "holding": HOLDING},
    )
    return {r.company_id: int(r.tokens) for r in rows}


async def demands(conn: AsyncConnection, model: str, rate: TokenRate) -> dict[str, int]:
    """Per company, the estimated tokens of the model's claimable requests (what the fair share splits).

    The sum of the requests' own estimates, as the claim adds them up (the estimate of the summed
    bytes would be smaller by the rounding and leave a company's last request out of its share).
    """
    rows = await conn.execute(
        text(
            "SELECT company_id, sum(ceil(approx_bytes * CAST(:rate AS float8) - 1e-9))::bigint AS tokens "
            "FROM ai_processing_requests WHERE model = :m AND status = :pending AND batch_id IS NULL "
            "AND (not_before IS NULL OR not_before <= now()) GROUP BY company_id"
        ),
        {"m": model, "pending": PENDING, "rate": rate.tokens_per_byte},
    )
    return {r.company_id: int(r.tokens) for r in rows}


async def fail_unadmittable(
    conn: AsyncConnection, key: GroupKey, rate: TokenRate, never_above: int, reason: str
) -> int:
    """Fail the group's pending requests estimated above the whole limit: they can never be submitted."""
    result = await conn.execute(
        text(
            "UPDATE ai_processing_requests SET status = :to, success = false, error_message = :reason, "
            "est_tokens = least(ceil(approx_bytes * CAST(:rate AS float8) - 1e-9), 2147483647), "
            "completed_at = now(), updated_at = now() "
            "WHERE company_id = :c AND model = :m AND status = ANY(:from) AND batch_id IS NULL "
            "AND ceil(approx_bytes * CAST(:rate AS float8) - 1e-9) > :limit"
        ),
        {
            **FAIL_UNADMITTABLE.params(),
            "c": key.company_id,
            "m": key.model,
            "rate": rate.tokens_per_byte,
            "limit": never_above,
            "reason": reason,
        },
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def observed_usage(conn: AsyncConnection, model: str) -> tuple[int, int]:
    """(prompt tokens, approx bytes) of the model's recent first-attempt completions: the calibration.

    First attempts only: a retried request's tokens add up over its attempts.
    """
    row = (
        await conn.execute(
            text(
                "SELECT coalesce(sum(prompt_tokens), 0) AS prompt, coalesce(sum(approx_bytes), 0) AS size "
                "FROM ("
                "SELECT prompt_tokens, approx_bytes FROM ai_processing_requests "
                "WHERE model = :m AND status = :complete AND attempt = 1 AND prompt_tokens IS NOT NULL "
                "ORDER BY completed_at DESC LIMIT :n) recent"
            ),
            {"m": model, "complete": COMPLETE, "n": CALIBRATION_SAMPLE},
        )
    ).one()
    return int(row.prompt), int(row.size)


async def admit(conn: AsyncConnection, key: GroupKey, budget: ModelBudget) -> Allowance:
    """The claim's admission, in its transaction: lock the model, fail the never-admittable, learn,
    and decide the group's allowance from the enqueued tokens and every company's demand.

    A group with nothing claimable writes nothing (a replayed wake-up must leave every row alone):
    the finished batches are read back by the next claim that has work.
    """
    provider, model = budget.provider, key.model
    await lock_model(conn, provider, model)
    if budget.configured_limit is not None:
        failed = await fail_unadmittable(
            conn, key, budget.rate, budget.configured_limit, too_large_reason(model, budget.configured_limit)
        )
        if failed:
            log.error("requests larger than the whole token limit failed", company=key.company_id,
                      model=model, requests=failed)  # fmt: skip
    wanted = await demands(conn, model, budget.rate)
    if not wanted.get(key.company_id):
        return Allowance(0, 0, False, budget.configured_limit or UNLIMITED, 0, 0)
    learned = await read_learned(conn, provider, model)
    outcomes = await take_outcomes(conn, provider, model)
    updated = feed_back(learned, outcomes, budget, await now(conn))
    if updated != learned:
        await store_learned(conn, provider, model, updated)
        # Rescaling to a recalibrated rate is not news; a refusal or a recovery step is.
        if updated is None or learned is None or updated.updated_at != learned.updated_at:
            log.warning(
                "learned enqueued-token limit changed",
                model=model,
                learned_limit=None if updated is None else updated.limit,
                configured_limit=budget.configured_limit,
                refusals=sum(o.rejected for o in outcomes),
            )
    return allowance(
        budget, updated, held=await held(conn, provider, model), demands=wanted, company=key.company_id
    )
