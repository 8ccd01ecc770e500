"""How much of a model's enqueued-token budget each company may take. Pure: no I/O, no clock.

The provider's enqueued-token limit is shared by every company we serve. Handing it out in arrival
order would let one company's backlog of 100,000 requests hold the budget for hours while a company
with ten requests waits; so the free budget is split by max-min fairness (water-filling): every
company with pending work gets an equal share, a company that needs less than its share gets what it
needs, and what it leaves is split again among the others. The result is deterministic (ties go by
company id), so two submitters computing it from the same snapshot agree.

When the provider refuses a batch for the limit anyway (our configured limit is above the real one,
or the organisation's key is shared with someone else), the limit to respect is *learned*: it drops
below where the refusal happened (:func:`learned_limit_after_rejection`) and climbs back slowly, one
step per :data:`RECOVERY_INTERVAL_S` in which batches admitted under it succeeded
(:func:`learned_limit_after_success`): additive increase, multiplicative decrease, so a wrong
configuration costs a refusal or two, not one per batch.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

#: After a ``token_limit_exceeded``, the learned limit drops to this share of what had been accepted
#: (the provider's real limit is below what we tried, and our count of what it holds errs high).
BACKOFF_SHARE = 0.9
#: A recovery step closes this share of the gap between the learned and the configured limit.
RECOVERY_SHARE = 0.1
#: A learned limit this close to the configured one (share of it) is the configured one again.
RECOVERED_WITHIN = 0.01
#: At most one recovery step per this many seconds, and only after a batch admitted since the last
#: change succeeded: a limit learned from a refusal is trusted for a while before it is probed again.
RECOVERY_INTERVAL_S = 600.0


def fair_shares(available: int, demands: Mapping[str, int]) -> dict[str, int]:
    """Split ``available`` tokens across companies; no company gets more than it asked for."""
    if available <= 0:
        return {company: 0 for company in demands}
    shares = {company: 0 for company in demands}
    left = available
    open_ = sorted((d, c) for c, d in demands.items() if d > 0)
    while open_ and left > 0:
        each, extra = divmod(left, len(open_))
        smallest, company = open_[0]
        if smallest <= each:
            # Fully served: take what it needs, and split the rest among the others next round.
            shares[company] = smallest
            left -= smallest
            open_.pop(0)
            continue
        # Nobody left can be fully served: equal shares, the remainder one token each by id.
        for i, (_, name) in enumerate(sorted(open_, key=lambda pair: pair[1])):
            shares[name] = each + (1 if i < extra else 0)
        left = 0
    return shares


def learned_limit_after_rejection(*, limit: int, enqueued: int, batch_tokens: int, floor: int) -> int:
    """The limit to respect after the provider refused a batch of ``batch_tokens`` on top of ``enqueued``.

    The refusal proves the real limit is below ``enqueued + batch_tokens``, and the ``enqueued`` part
    had been accepted, so the limit lies about between the two. The learned limit is
    :data:`BACKOFF_SHARE` of what was accepted (of half the batch when less was: a bisection): our
    count of what the provider held errs high (a batch it finished may not be polled yet), so the
    share keeps one refusal from being followed by another. Taking 90% of the refused total instead
    would need several refusals when one batch overshoots by much. Never above ``limit``, never below
    ``floor`` (one request's worth must always fit).
    """
    accepted = min(enqueued + batch_tokens, max(enqueued, batch_tokens // 2))
    return max(floor, min(limit, int(accepted * BACKOFF_SHARE)))


def learned_limit_after_success(*, learned: int, configured: int | None) -> int:
    """One recovery step of a learned limit towards the configured one (never past it).

    A step closes :data:`RECOVERY_SHARE` of the gap; within :data:`RECOVERED_WITHIN` of the configured
    limit it is the configured limit (closing a share of the gap would never get there). A model
    without a configured limit has no target: each step adds :data:`RECOVERY_SHARE` of the learned
    limit itself, so the limit still probes upwards at the same pace.
    """
    if configured is None:
        return learned + max(1, math.ceil(learned * RECOVERY_SHARE))
    raised = learned + max(1, math.ceil((configured - learned) * RECOVERY_SHARE))
    if raised >= configured * (1 - RECOVERED_WITHIN):
        return configured
    return raised
