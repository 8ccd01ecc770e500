"""Token admission: which requests a claim may take without passing the model's enqueued-token limit.

The provider caps the input tokens of every unfinished batch per organisation and model; a batch that
would pass the cap fails at validation (``token_limit_exceeded``) and its requests come back. So the
submitter admits work against a budget it keeps itself, in the database, under a lock per
(provider, model) taken inside the claim's transaction (two submitters cannot both spend the last of
it). This module holds the rules, pure; the stores read the figures and apply the verdict.

The rules, in the order a claim applies them (the README's "Token admission" says the same):

- **Estimate.** A request's input tokens are ``TokenRate.estimate(approx_bytes)`` at its model's
  calibrated rate (``shared.tokens``): the producer's size estimate of its JSONL line, known for every
  pending request, so the estimate is made in the claim, set-based, and stored on the request
  (``est_tokens``) and summed on the batch (``estimated_tokens``). The rate is calibrated on the same
  measure (``prompt_tokens`` over ``approx_bytes`` of recent first-attempt completions), so the
  producer's overhead allowance is learned away instead of being counted as tokens.
- **Budget.** ``limit`` = the configured limit of the model (``BATCHLINE_ENQUEUED_TOKEN_LIMITS``;
  unknown models: ``BATCHLINE_ENQUEUED_TOKEN_LIMIT_DEFAULT``, unset = unlimited), or the learned limit
  when that is lower. ``enqueued`` = the estimated tokens of the model's batches still PENDING_SUBMISSION
  or in flight. ``available = limit - enqueued``.
- **Fair share.** The limit is split across companies by max-min water-filling
  (``fair_shares(limit, demands)``), where a company's demand is what it holds enqueued plus the
  estimated tokens of its claimable requests; the claim of company *c* may take its share minus what
  it already holds, and never more than ``available``. A company with 10 requests is thus served in
  full beside a backlog of 100,000, whichever of the two claims first; with no other holder this is
  ``fair_shares(available, demands)[c]``.
- **Sizing.** Requests are taken in claim order while their running estimate fits the allowance (and
  the count and byte limits). The first one may go over a positive allowance when it fits
  ``available`` (an allowance smaller than one request must not starve a company; a company is then
  over its share by less than one request, and its next claim waits), and is admitted alone when
  nothing of the model is enqueued (a request larger than the learned limit would otherwise wait for
  ever).
- **Never.** A request estimated above the configured limit can never be submitted: it fails at once
  with ``token_limit: ...`` instead of blocking its group.
- **Learning.** Each finished batch is read back once (:func:`feed_back`): a refusal lowers the learned
  limit below where it happened (``learned_limit_after_rejection``), a success admitted since the
  last change lets it recover one step per ``RECOVERY_INTERVAL_S`` (``learned_limit_after_success``).
"""

from __future__ import annotations

import math
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from shared.admission import (
    RECOVERY_INTERVAL_S,
    fair_shares,
    learned_limit_after_rejection,
    learned_limit_after_success,
)
from shared.tokens import TokenRate, calibrated_rate

#: The provider of every batch the submitter creates today (the budget is per provider and model).
PROVIDER = "openai"
#: Stands for "no limit" in SQL comparisons (a bound integer, never NULL, keeps the statement typed).
UNLIMITED = 2**62


@dataclass(frozen=True, slots=True)
class ModelBudget:
    """What a claim knows of its model before its transaction: the configured limit and the rate."""

    model: str
    configured_limit: int | None
    rate: TokenRate
    recovery_interval_s: float = RECOVERY_INTERVAL_S
    provider: str = PROVIDER


@dataclass(frozen=True, slots=True)
class Learned:
    """A model's learned limit as stored (``model_token_limits``)."""

    limit: int
    #: The rate its figure is expressed at: rescaled when calibration moves the rate.
    tokens_per_byte: float
    lowered_at: datetime
    updated_at: datetime
    #: Admission time of the newest batch that succeeded after ``updated_at`` (evidence for a step up).
    succeeded_at: datetime | None = None

    def at_rate(self, tokens_per_byte: float) -> Learned:
        if tokens_per_byte == self.tokens_per_byte or self.tokens_per_byte <= 0:
            return self
        scaled = max(1, round(self.limit * tokens_per_byte / self.tokens_per_byte))
        return replace(self, limit=scaled, tokens_per_byte=tokens_per_byte)


@dataclass(frozen=True, slots=True)
class Outcome:
    """A finished batch of the model that the learned limit has not taken in yet."""

    rejected: bool
    estimated_tokens: int
    admitted_enqueued: int
    token_rate: float
    request_count: int
    created_at: datetime


def feed_back(
    learned: Learned | None, outcomes: Sequence[Outcome], budget: ModelBudget, now: datetime
) -> Learned | None:
    """The learned limit after ``outcomes``; None when none is learned (the configured limit rules).

    A refusal says the provider's limit lies below ``enqueued + batch`` as estimated when that batch
    was admitted; taken at today's rate, the lowest of them sets the limit (never raising it). Without
    refusals, one recovery step is taken when the interval since the last change has passed and a
    batch admitted after that change succeeded; a limit recovered up to the configured one is dropped.
    """
    rate = budget.rate.tokens_per_byte
    current = learned.at_rate(rate) if learned is not None else None
    configured = budget.configured_limit
    limit_now = min(x for x in (configured, current.limit if current else None, UNLIMITED) if x is not None)
    rejections = [o for o in outcomes if o.rejected]
    if rejections:
        lowest = min(_after_rejection(o, rate, limit_now) for o in rejections)
        return Learned(lowest, rate, lowered_at=now, updated_at=now)
    if current is None:
        return None
    evidence = [o.created_at for o in outcomes if o.created_at > current.updated_at]
    if current.succeeded_at is not None:
        evidence.append(current.succeeded_at)
    succeeded_at = max(evidence) if evidence else None
    if succeeded_at is not None and (now - current.updated_at).total_seconds() >= budget.recovery_interval_s:
        raised = learned_limit_after_success(learned=current.limit, configured=configured)
        if configured is not None and raised >= configured:
            return None
        return replace(current, limit=raised, updated_at=now, succeeded_at=None)
    return replace(current, succeeded_at=succeeded_at)


def _after_rejection(outcome: Outcome, rate: float, limit_now: int) -> int:
    scale = rate / outcome.token_rate if outcome.token_rate > 0 else 1.0
    enqueued = math.ceil(outcome.admitted_enqueued * scale)
    batch = math.ceil(outcome.estimated_tokens * scale)
    floor = max(1, math.ceil(batch / max(1, outcome.request_count)))  # about one request's worth
    limit = limit_now if limit_now < UNLIMITED else enqueued + batch
    return learned_limit_after_rejection(limit=limit, enqueued=enqueued, batch_tokens=batch, floor=floor)


@dataclass(frozen=True, slots=True)
class Allowance:
    """The verdict a claim applies in SQL (all in estimated tokens at the budget's rate)."""

    #: What this company's claim may take (its fair share minus what it holds).
    share: int
    #: The model's free budget: the first request may go over a positive share up to this.
    available: int
    #: Nothing of the model is enqueued: the first request is admitted even above ``available``.
    empty: bool
    #: Requests estimated above this can never be submitted (the configured limit).
    never_above: int
    #: The limit in force (configured or learned), for logs.
    limit: int
    #: The model's enqueued tokens this verdict was made against (kept on the batch it admits).
    enqueued: int

    @staticmethod
    def unlimited(*, enqueued: int, never_above: int = UNLIMITED) -> Allowance:
        return Allowance(UNLIMITED, UNLIMITED, enqueued == 0, never_above, UNLIMITED, enqueued)


def allowance(
    budget: ModelBudget,
    learned: Learned | None,
    *,
    held: Mapping[str, int],
    demands: Mapping[str, int],
    company: str,
) -> Allowance:
    """What ``company`` may claim: its fair share of the limit minus what it holds (module docstring).

    ``held`` are the estimated tokens each company has enqueued for the model, ``demands`` the summed
    estimates of each company's claimable requests (at the budget's rate).
    """
    enqueued = sum(held.values())
    configured = budget.configured_limit
    learned_limit = learned.at_rate(budget.rate.tokens_per_byte).limit if learned is not None else None
    limits = [x for x in (configured, learned_limit) if x is not None]
    if not limits:
        return Allowance.unlimited(enqueued=enqueued)
    limit = min(limits)
    available = max(0, limit - enqueued)
    wanted = {c: held.get(c, 0) + demands.get(c, 0) for c in {*held, *demands, company}}
    share = fair_shares(limit, wanted)[company] - held.get(company, 0)
    never_above = configured if configured is not None else UNLIMITED
    return Allowance(max(0, min(share, available)), available, enqueued == 0, never_above, limit, enqueued)


class RateBook:
    """The calibrated rate per model, read from recent usage at most once per ``refresh_s``.

    ``observed(model)`` returns (prompt tokens, bytes) of the model's recent completions: one
    set-based aggregate per model and period, never a query per request.
    """

    def __init__(
        self,
        observed: Callable[[str], Awaitable[tuple[int, int]]],
        *,
        refresh_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._observed = observed
        self._refresh_s = refresh_s
        self._clock = clock
        self._rates: dict[str, tuple[float, TokenRate]] = {}

    async def rate(self, model: str) -> TokenRate:
        now = self._clock()
        cached = self._rates.get(model)
        if cached is not None and now - cached[0] < self._refresh_s:
            return cached[1]
        tokens, size = await self._observed(model)
        rate = calibrated_rate(tokens, size)
        self._rates[model] = (now, rate)
        return rate


def too_large_reason(model: str, limit: int) -> str:
    """Why a request failed at admission: it alone is estimated above the model's whole limit."""
    return (
        f"token_limit: its estimated input tokens exceed the enqueued-token limit of {model} "
        f"({limit:,}); it can never be submitted"
    )
