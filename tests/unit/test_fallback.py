"""The pure rules of the fallback for the remainder: settings, which lines it takes, reasons, answers."""

from __future__ import annotations

import orjson
import pytest
from pydantic import ValidationError

from services.ingester.fallback import HandedOver, answer_outcome, capped_reason, never_ran
from services.ingester.fallback_sql import HAND_OVER, IN_CALL, REROUTE, SYNC_COMPLETE, SYNC_FAIL, SYNC_RETRY
from services.ingester.results import LineOutcome, Usage
from shared.analysis import ProcessingType
from shared.settings import Settings


def one_line_error(**values: object) -> str:
    with pytest.raises(ValidationError) as caught:
        Settings(**values)  # type: ignore[arg-type]
    (error,) = caught.value.errors()
    return str(error["msg"])


def test_fallback_is_off_by_default_and_sync_needs_nothing_else() -> None:
    assert Settings().fallback_mode == "off"
    assert Settings(fallback_mode="sync").fallback_sync_daily_cap == 1_000


def test_the_provider_fallback_is_checked_at_start() -> None:
    assert "needs BATCHLINE_FALLBACK_PROVIDER" in one_line_error(fallback_mode="provider")
    assert "needs BATCHLINE_FALLBACK_MODEL_MAP" in one_line_error(
        fallback_mode="provider", fallback_provider="anthropic"
    )
    # The mapped model must run on the fallback provider, or the remainder would go back where it expired.
    unrouted = one_line_error(
        fallback_mode="provider",
        fallback_provider="anthropic",
        fallback_model_map={"gpt-4o-mini": "claude-x"},
    )
    assert "routes to openai, not anthropic" in unrouted
    same = one_line_error(
        fallback_mode="provider",
        fallback_provider="anthropic",
        fallback_model_map={"claude-y": "claude-x"},
        model_providers={"claude-x": "anthropic", "claude-y": "anthropic"},
    )
    assert "claude-y already runs on anthropic" in same
    ok = Settings(
        fallback_mode="provider",
        fallback_provider="anthropic",
        fallback_model_map={"gpt-4o-mini": "claude-x"},
        model_providers={"claude-x": "anthropic"},
    )
    assert ok.fallback_model_map == {"gpt-4o-mini": "claude-x"}
    with pytest.raises(ValidationError, match="fallback_mode"):
        Settings(fallback_mode="later")  # type: ignore[arg-type]


def test_only_lines_the_batch_never_ran_are_left_to_the_fallback() -> None:
    def failed(reason: str) -> LineOutcome:
        return LineOutcome("r", None, reason, Usage())

    assert never_ran(failed("batch_expired: This request could not be executed before the window expired."))
    assert never_ran(failed("batch_cancelled: cancelled"))
    assert not never_ran(failed("invalid_answer: sentiment: Input should be 'POSITIVE'"))
    assert not never_ran(failed("server_error: batch_expired: quoted"))
    assert not never_ran(LineOutcome("r", {"summary": "ok"}, None, Usage()))


def test_requests_beyond_the_cap_carry_the_cap_in_their_reason() -> None:
    base = "batch_expired: the batch expired before this request ran"
    assert capped_reason(base, HandedOver(sent=3), "acme") == base
    reason = capped_reason(base, HandedOver(sent=2, capped=3, cap=2), "acme")
    assert reason.startswith(base + "; fallback_capped: company acme used its 2 synchronous fallback")


def test_a_sync_answer_is_judged_like_a_batch_line() -> None:
    good = {
        "choices": [{"message": {"content": orjson.dumps({"summary": "Shift change."}).decode()},
                     "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 40, "completion_tokens": 6, "total_tokens": 46,
                  "prompt_tokens_details": {"cached_tokens": 8}},
    }  # fmt: skip
    outcome = answer_outcome("r-1", ProcessingType.SUMMARY, good)
    assert outcome.ok and outcome.fields == {"summary": "Shift change."}
    assert outcome.usage == Usage(40, 6, 46, 8)
    off_schema = {"choices": [{"message": {"content": '{"sentiment": "MAYBE"}'}, "finish_reason": "stop"}]}
    bad = answer_outcome("r-1", ProcessingType.SENTIMENT_ANALYSIS, off_schema)
    assert not bad.ok and (bad.reason or "").startswith("invalid_answer")


def test_the_fallback_moves_come_from_the_lifecycle() -> None:
    assert HAND_OVER.params() == {"to": "FALLBACK_IN_PROGRESS", "from": ["BATCHING_IN_PROGRESS"]}
    assert IN_CALL == ["FALLBACK_IN_PROGRESS"]
    assert (SYNC_COMPLETE.target, SYNC_RETRY.target, SYNC_FAIL.target) == (
        "PROCESSING_COMPLETE",
        "PENDING_BATCHING",
        "PROCESSING_FAILED",
    )
    assert REROUTE.params() == {"to": "PENDING_BATCHING", "from": ["BATCHING_IN_PROGRESS"]}
