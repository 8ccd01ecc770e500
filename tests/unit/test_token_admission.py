"""Token admission in the claim, against the in-memory store: sizes, fair shares, the learned limit.

Every request here is 1,000 estimated bytes and the rate is 0.5 tokens per byte, so each request is
estimated at 500 tokens: the expected counts below are worked out by hand from that.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path

import pytest

from services.submitter.accumulator import GroupKey
from services.submitter.service import Submitter, SubmitterConfig
from services.submitter.token_budget import Learned, ModelBudget, Outcome, RateBook, feed_back
from shared.tokens import TokenRate
from tests.fake_stores import FakeSubmitterStore
from tests.fakes import START, FakeBatchProvider

MODEL = "gpt-4o-mini"
RATE = TokenRate(0.5)


def budget(limit: int | None, *, recovery_s: float = 600.0) -> ModelBudget:
    return ModelBudget(MODEL, limit, RATE, recovery_interval_s=recovery_s)


def fill(store: FakeSubmitterStore, company: str, n: int, size: int = 1_000) -> list[uuid.UUID]:
    return [store.add_request(f"{company} {i}", company_id=company, approx_bytes=size) for i in range(n)]


async def claim(store: FakeSubmitterStore, company: str, limit: int | None, *, max_requests: int = 100) -> int:
    return await store.claim(uuid.uuid4(), GroupKey(company, MODEL), max_requests=max_requests,
                             max_bytes=10**9, budget=budget(limit))  # fmt: skip


def submitted(store: FakeSubmitterStore) -> None:
    """The provider accepted every batch claimed so far (what the submission does)."""
    for b in store.batches.values():
        if b.status == "PENDING_SUBMISSION":
            b.status, b.submitted_at = "VALIDATING", store.clock.now


def enqueued(store: FakeSubmitterStore) -> int:
    return sum(b.estimated_tokens or 0 for b in store.batches.values()
               if b.status in ("PENDING_SUBMISSION", "VALIDATING"))  # fmt: skip


async def test_a_claim_stops_at_the_allowance_and_the_next_waits_for_the_budget() -> None:
    store = FakeSubmitterStore()
    fill(store, "acme", 10)
    assert await claim(store, "acme", 2_000) == 4  # 4 x 500 = 2,000 tokens
    [first] = store.batches.values()
    assert (first.estimated_tokens, first.admitted_enqueued, first.token_rate) == (2_000, 0, 0.5)
    assert {r.est_tokens for r in store.of_batch(first.id)} == {500}
    assert await claim(store, "acme", 2_000) == 0  # budget full: no batch at all
    assert len(store.batches) == 1
    store.finish(first.id)  # completed: its tokens are no longer enqueued
    assert await claim(store, "acme", 2_000) == 4
    assert enqueued(store) == 2_000


async def test_without_a_limit_the_claim_is_sized_by_count_alone_but_still_estimated() -> None:
    store = FakeSubmitterStore()
    fill(store, "acme", 7)
    assert await claim(store, "acme", None, max_requests=5) == 5
    [batch] = store.batches.values()
    assert batch.estimated_tokens == 2_500


async def test_a_company_alone_gets_all_its_requests_however_their_estimates_round() -> None:
    # 1,001 bytes -> 501 tokens each (500.5 rounded up): the demand is 1,503, not estimate(3,003) = 1,502.
    store = FakeSubmitterStore()
    fill(store, "acme", 3, size=1_001)
    assert await claim(store, "acme", 1_000_000) == 3


async def test_a_small_company_keeps_its_share_beside_a_large_backlog_whoever_claims_first() -> None:
    store = FakeSubmitterStore()
    fill(store, "big", 40)
    fill(store, "small", 2)
    # Limit 4,000: demands big 20,000, small 1,000 -> small is served in full, big gets the other 3,000.
    assert await claim(store, "big", 4_000) == 6
    assert await claim(store, "big", 4_000) == 0  # big holds its share; the rest is small's
    assert await claim(store, "small", 4_000) == 2
    assert enqueued(store) == 4_000


async def test_equal_backlogs_split_the_budget_evenly() -> None:
    store = FakeSubmitterStore()
    for company in ("a", "b", "c", "d"):
        fill(store, company, 20)
    assert [await claim(store, c, 4_000) for c in ("a", "b", "c", "d")] == [2, 2, 2, 2]


async def test_an_allowance_smaller_than_one_request_still_takes_one_if_the_budget_has_room() -> None:
    store = FakeSubmitterStore()
    fill(store, "a", 5, size=1_000)
    fill(store, "b", 5, size=1_000)
    fill(store, "c", 5, size=1_000)
    # Limit 1,200 for three equal backlogs: shares 400 each, below one 500-token request.
    assert await claim(store, "a", 1_200) == 1  # over its share by less than one request
    assert await claim(store, "a", 1_200) == 0  # and then it waits
    assert await claim(store, "b", 1_200) == 1
    assert await claim(store, "c", 1_200) == 0  # 200 left: not even one request fits
    assert enqueued(store) == 1_000


async def test_a_request_larger_than_the_whole_limit_fails_at_once_and_never_blocks_its_group() -> None:
    store = FakeSubmitterStore()
    [huge] = fill(store, "acme", 1, size=10_000)  # 5,000 tokens
    small = fill(store, "acme", 2)
    assert await claim(store, "acme", 4_000) == 2
    failed = store.requests[huge]
    assert (failed.status, failed.batch_id) == ("PROCESSING_FAILED", None)
    assert failed.error == (
        "token_limit: its estimated input tokens exceed the enqueued-token limit of gpt-4o-mini (4,000); "
        "it can never be submitted"
    )
    assert {store.requests[i].status for i in small} == {"BATCHING_IN_PROGRESS"}


async def test_a_request_above_the_learned_limit_goes_alone_once_nothing_is_enqueued() -> None:
    store = FakeSubmitterStore()
    store.learned[MODEL] = Learned(1_000, 0.5, START, START)
    [big, after] = fill(store, "acme", 2, size=3_000)  # 1,500 tokens each: over the learned 1,000
    fill(store, "other", 1)
    assert await claim(store, "other", 4_000) == 1  # 500 enqueued now
    assert await claim(store, "acme", 4_000) == 0  # does not fit the 500 left
    submitted(store)
    for b in list(store.batches.values()):
        store.finish(b.id)
    assert await claim(store, "acme", 4_000) == 1  # nothing enqueued: admitted, alone
    assert store.requests[big].status == "BATCHING_IN_PROGRESS"
    assert store.requests[after].status == "PENDING_BATCHING"


async def test_a_refusal_lowers_the_learned_limit_and_the_next_batches_are_smaller() -> None:
    store = FakeSubmitterStore()
    fill(store, "acme", 30)
    assert await claim(store, "acme", 10_000, max_requests=4) == 4  # 2,000 tokens
    submitted(store)
    assert await claim(store, "acme", 10_000, max_requests=12) == 12  # 6,000 tokens on top
    submitted(store)
    first, second = store.batches.values()
    store.finish(second.id, codes=["token_limit_exceeded"])  # refused at 2,000 + 6,000
    # Learned: 90% of max(the 2,000 accepted, half the refused 6,000) = 2,700; the first batch holds
    # 2,000, so 700 are free: 1 request.
    assert await claim(store, "acme", 10_000, max_requests=12) == 1
    learned = store.learned[MODEL]
    assert (learned.limit, learned.tokens_per_byte) == (2_700, 0.5)
    assert second.fed_back and first.fed_back is False  # each outcome is read back once
    store.finish(first.id)
    assert await claim(store, "acme", 10_000, max_requests=12) == 4  # 2,000 of the 2,200 free, not 12


async def test_the_learned_limit_recovers_one_step_per_interval_after_successes() -> None:
    store = FakeSubmitterStore()
    store.learned[MODEL] = Learned(6_000, 0.5, START, START)
    fill(store, "acme", 2)
    store.clock.advance(60)
    assert await claim(store, "acme", 10_000) == 2  # admitted after the last change
    submitted(store)
    [batch] = store.batches.values()
    store.finish(batch.id)
    store.clock.advance(100)
    fill(store, "acme", 1)
    assert await claim(store, "acme", 10_000) == 1
    assert store.learned[MODEL].limit == 6_000  # a success, but only 160 s since the change
    assert store.learned[MODEL].succeeded_at == START + timedelta(seconds=60)
    store.clock.advance(500)
    fill(store, "acme", 1)
    assert await claim(store, "acme", 10_000) == 1
    # 600 s since the change and a success since: 10% of the 4,000 gap back.
    assert store.learned[MODEL].limit == 6_400
    assert store.learned[MODEL].updated_at == START + timedelta(seconds=660)


def test_a_limit_recovered_up_to_the_configured_one_is_forgotten() -> None:
    learned = Learned(9_950, 0.5, START, START)
    success = Outcome(False, 500, 0, 0.5, 1, START + timedelta(seconds=1))
    assert feed_back(learned, [success], budget(10_000), START + timedelta(seconds=600)) is None


def test_the_learned_limit_is_rescaled_when_the_rate_is_recalibrated() -> None:
    # Learned at 0.5 tokens/byte; the rate is now 0.25: the same work is half the estimated tokens.
    learned = Learned(8_000, 0.5, START, START)
    after = feed_back(learned, [], ModelBudget(MODEL, 10_000, TokenRate(0.25)), START)
    assert after is not None and (after.limit, after.tokens_per_byte) == (4_000, 0.25)


def test_a_refusal_seen_at_a_higher_rate_is_taken_at_todays_rate() -> None:
    # Refused at 6,000 enqueued + 2,000 estimated at 0.5 t/B; today's rate 0.25 -> 3,000 + 1,000,
    # so 90% of the 3,000 accepted = 2,700.
    refusal = Outcome(True, 2_000, 6_000, 0.5, 4, START)
    after = feed_back(None, [refusal], ModelBudget(MODEL, 10_000, TokenRate(0.25)), START)
    assert after is not None and (after.limit, after.tokens_per_byte) == (2_700, 0.25)


def test_several_refusals_take_the_lowest_and_never_raise_the_limit() -> None:
    refusals = [Outcome(True, 1_000, 4_000, 0.5, 2, START), Outcome(True, 3_000, 500, 0.5, 6, START)]
    after = feed_back(Learned(5_000, 0.5, START, START), refusals, budget(10_000), START)
    assert after is not None and after.limit == 1_350  # min(90% of 4,000, 90% of max(500, 1,500))
    again = feed_back(after, [Outcome(True, 1_000, 9_000, 0.5, 2, START)], budget(10_000), START)
    assert again is not None and again.limit == 1_350  # a refusal high above it changes nothing


async def test_the_rate_is_calibrated_from_usage_once_per_period() -> None:
    calls: list[str] = []
    now = [0.0]

    async def observed(model: str) -> tuple[int, int]:
        calls.append(model)
        return 250_000, 1_000_000

    book = RateBook(observed, refresh_s=60, clock=lambda: now[0])
    first = await book.rate(MODEL)
    assert first.tokens_per_byte == pytest.approx(0.3208333, rel=1e-6)  # see test_admission
    now[0] = 59
    assert await book.rate(MODEL) is first and calls == [MODEL]
    now[0] = 60
    await book.rate(MODEL)
    assert calls == [MODEL, MODEL]


async def test_the_submitter_claims_with_the_configured_limit_and_the_calibrated_rate(tmp_path: Path) -> None:
    store, provider = FakeSubmitterStore(), FakeBatchProvider()
    store.usage[MODEL] = (0, 0)  # no evidence yet: the prior 0.55 tokens/byte
    fill(store, "acme", 10)  # 550 tokens each at the prior
    config = SubmitterConfig(max_requests=100, max_bytes=10**6, max_conversation_chars=10_000, retry_delay_s=1,
                             batch_created_topic="c", batch_completed_topic="d", work_dir=tmp_path,
                             token_limits={MODEL: 2_500})  # fmt: skip
    made = await Submitter(store, provider, config, on_commit=lambda: None).flush_group(GroupKey("acme", MODEL))
    assert made == 1
    [batch] = store.batches.values()
    assert (batch.request_count, batch.estimated_tokens, batch.status) == (4, 2_200, "VALIDATING")
