"""The sample-session generator, the malformed payloads and the shipped data/sample_sessions.jsonl."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from pathlib import Path

import orjson
import pytest

from devtools.dataset.generator import (
    LONG_MAX_MESSAGES,
    LONG_MIN_CHARS,
    LONG_MIN_MESSAGES,
    SAMPLE_COMPANIES,
    SAMPLE_PATH,
    SHORT_MAX_MESSAGES,
    generate_events,
    generate_labelled,
    malformed_events,
    write_sample,
)
from devtools.dataset.phrases import PHRASES
from shared.analysis import CATEGORIES, LANGUAGES
from shared.events import DecodeError, SessionEvent, decode

COMPANIES = ("acme-retail", "nordlicht-logistik", "soleil-hotels")
MODELS = ("gpt-4o-mini", "gpt-4.1-mini")


def _chars(event: dict[str, object]) -> int:
    messages = event["messages"]
    assert isinstance(messages, list)
    return sum(len(m["content"]) for m in messages)


def test_same_seed_same_output_and_different_seed_differs() -> None:
    first = list(generate_events(120, companies=COMPANIES, models=MODELS, seed=3))
    again = list(generate_events(120, companies=COMPANIES, models=MODELS, seed=3))
    other = list(generate_events(120, companies=COMPANIES, models=MODELS, seed=4))
    assert orjson.dumps(first) == orjson.dumps(again)
    assert orjson.dumps(first) != orjson.dumps(other)
    assert {e["event_id"] for e in first}.isdisjoint(e["event_id"] for e in other)


def test_a_longer_run_extends_a_shorter_one() -> None:
    short = list(generate_events(30, companies=COMPANIES, seed=5))
    long = list(generate_events(90, companies=COMPANIES, seed=5))
    assert long[:30] == short


def test_every_event_validates_and_ids_are_unique() -> None:
    events = list(generate_events(400, companies=COMPANIES, models=MODELS, seed=11, long_fraction=0.01))
    parsed = [SessionEvent.model_validate(e) for e in events]
    assert len({e.event_id for e in parsed}) == len(parsed)
    assert len({e.session_id for e in parsed}) == len(parsed)
    for raw, event in zip(events, parsed, strict=True):
        assert decode(SessionEvent, orjson.dumps(raw)) == event
        assert raw["schema_version"] == 1
        assert isinstance(raw["started_at"], str)
        assert isinstance(raw["ended_at"], str)
        assert event.ended_at is not None
        assert event.ended_at >= event.started_at
        roles = [m.role for m in event.messages]
        assert roles == ["user" if i % 2 == 0 else "assistant" for i in range(len(roles))]
        assert [m.order for m in event.messages] == list(range(len(roles)))


def test_short_conversations_have_2_to_12_messages() -> None:
    sizes = Counter(
        len(e["messages"]) for e, labels in generate_labelled(600, companies=COMPANIES) if not labels.long
    )
    assert min(sizes) == 2
    assert max(sizes) == SHORT_MAX_MESSAGES


def test_processing_types_mostly_full_analysis_some_with_extras() -> None:
    events = list(generate_events(2_000, companies=COMPANIES, seed=2))
    extras = [e for e in events if e["processing_types"] != ["full_analysis"]]
    assert all(e["processing_types"][0] == "full_analysis" for e in extras)
    assert 0.05 < len(extras) / len(events) < 0.15
    seen = {t for e in extras for t in e["processing_types"]}
    assert seen == {"full_analysis", "sentiment_analysis", "categorization", "summary"}


def test_all_24_languages_appear_in_240_events() -> None:
    for seed in (0, 1, 7, 42):
        labels = [lab for _, lab in generate_labelled(240, companies=COMPANIES, seed=seed)]
        counts = Counter(lab.language for lab in labels)
        assert set(counts) == set(LANGUAGES)
        assert counts.most_common(1)[0][0] == "en"
        assert sum(counts[lang] for lang in ("en", "de", "fr", "es", "nl", "it")) > 0.6 * len(labels)


def test_any_200_consecutive_events_hold_all_languages() -> None:
    labels = [lab.language for _, lab in generate_labelled(700, companies=COMPANIES, seed=9)]
    for begin in range(0, 500, 37):
        assert set(labels[begin : begin + 200]) == set(LANGUAGES)


def test_text_is_in_the_labelled_language_and_topic() -> None:
    for event, labels in generate_labelled(300, companies=COMPANIES, seed=13, long_fraction=0.0):
        phrases = PHRASES[labels.language]
        first = event["messages"][0]["content"]
        assert any(first.endswith(q) for q in phrases.user[labels.category]), (labels, first)
        assert event["messages"][1]["content"] in phrases.assistant[labels.category]
    categories = {lab.category for _, lab in generate_labelled(300, companies=COMPANIES, seed=13)}
    assert categories == set(CATEGORIES)


def test_sentiment_shows_in_the_employees_closing_words() -> None:
    for event, labels in generate_labelled(300, companies=COMPANIES, seed=21, long_fraction=0.0):
        user_texts = [m["content"] for m in event["messages"] if m["role"] == "user"]
        phrases = PHRASES[labels.language].user
        if labels.sentiment == "POSITIVE":
            assert user_texts[-1] in phrases["positive"]
        elif labels.sentiment == "NEGATIVE":
            assert user_texts[-1] in phrases["negative"]


def test_english_topics_use_keywords() -> None:
    keywords = {
        "SCHEDULE_HOURS": ("shift", "schedule"),
        "LEAVE_VACATION": ("vacation", "holiday"),
        "SICK_LEAVE_RECOVERY": ("sick",),
        "SALARY_COMPENSATION": ("salary", "payslip"),
        "CONTRACT_HOURS": ("contract",),
        "ONBOARDING": ("first day", "onboarding"),
        "OFFBOARDING": ("last day",),
        "WORKWEAR_STAFF_PASS": ("uniform", "badge"),
        "TEAM_CONTACTS": ("manager",),
        "PERSONAL_QUESTIONS": ("address", "bank account"),
        "ACCESS_LOGIN": ("password", "login", "log in"),
        "SOCIAL_QUESTIONS": ("team event", "party"),
    }
    for category, words in keywords.items():
        for question in PHRASES["en"].user[category]:
            assert any(w in question.lower() for w in words), (category, question)


def test_every_company_model_pair_occurs() -> None:
    events = list(generate_events(len(COMPANIES) * len(MODELS), companies=COMPANIES, models=MODELS, seed=8))
    pairs = {(e["company_id"], e["models"][0]) for e in events}
    assert pairs == {(c, m) for c in COMPANIES for m in MODELS}
    assert all(len(e["models"]) == 1 for e in events)


def test_without_models_the_field_is_omitted() -> None:
    events = list(generate_events(50, companies=COMPANIES, seed=8))
    assert all("models" not in e for e in events)
    assert all(SessionEvent.model_validate(e).models is None for e in events)


def test_long_sessions_exceed_60000_characters() -> None:
    events = list(generate_labelled(6, companies=COMPANIES, seed=1, long_fraction=1.0))
    assert all(labels.long for _, labels in events)
    for event, _ in events:
        assert LONG_MIN_MESSAGES <= len(event["messages"]) <= LONG_MAX_MESSAGES
        assert _chars(event) > LONG_MIN_CHARS
        SessionEvent.model_validate(event)


def test_long_fraction_is_honoured_exactly() -> None:
    labels = [lab for _, lab in generate_labelled(1_000, companies=COMPANIES, seed=4, long_fraction=0.03)]
    assert sum(lab.long for lab in labels) in (30, 31)
    assert not any(lab.long for _, lab in generate_labelled(200, companies=COMPANIES, long_fraction=0.0))


def test_start_sets_the_clock() -> None:
    start = datetime(2024, 12, 24, 9, 0)
    event = next(generate_events(1, companies=COMPANIES, start=start))
    parsed = SessionEvent.model_validate(event)
    assert parsed.started_at.date().isoformat() == "2024-12-24"
    assert parsed.started_at.tzinfo is not None


@pytest.mark.parametrize(
    "kwargs",
    [
        {"count": -1, "companies": COMPANIES},
        {"count": 1, "companies": ()},
        {"count": 1, "companies": COMPANIES, "models": []},
        {"count": 1, "companies": COMPANIES, "long_fraction": 1.5},
    ],
)
def test_bad_arguments_are_refused_eagerly(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        generate_events(**kwargs)  # type: ignore[arg-type]


def test_ten_thousand_events_with_distinct_ids() -> None:
    """Generation speed is a figure printed by ``bench/dataset_generate.py``, not a bound here."""
    events = list(generate_events(10_000, companies=COMPANIES, models=MODELS, seed=99))
    assert len(events) == 10_000
    assert len({e["event_id"] for e in events}) == 10_000
    assert len({e["session_id"] for e in events}) == 10_000


def test_malformed_payloads_all_fail_to_decode() -> None:
    payloads = malformed_events()
    assert len(payloads) >= 6
    assert payloads == malformed_events(0)
    reasons = []
    for raw in payloads:
        assert b"\n" not in raw
        with pytest.raises(DecodeError) as info:
            decode(SessionEvent, raw)
        reasons.append(str(info.value))
    joined = " | ".join(reasons)
    for expected in (
        "not valid JSON",
        "expected a JSON object",
        "company_id",
        "messages",
        "processing_types",
        "started_at",
        "UTF-8",
    ):
        assert expected in joined, expected
    with pytest.raises(UnicodeDecodeError):
        b"".join(payloads).decode("utf-8")


def test_write_sample_layout(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "sample.jsonl"
    valid, malformed = write_sample(path, count=50, seed=3)
    lines = path.read_bytes().split(b"\n")
    assert lines[-1] == b""
    lines = lines[:-1]
    assert (valid, malformed) == (50, len(malformed_events(3)))
    assert len(lines) == valid + malformed
    assert lines[0] != malformed_events(3)[0]  # malformed lines are interleaved, not up front


def test_shipped_sample_matches_the_generator(tmp_path: Path) -> None:
    regenerated = tmp_path / "sample.jsonl"
    write_sample(regenerated)
    assert regenerated.read_bytes() == SAMPLE_PATH.read_bytes(), "run: python -m devtools.dataset.generator"


def test_shipped_sample_has_valid_and_malformed_lines() -> None:
    assert SAMPLE_PATH.stat().st_size < 2_000_000
    good: list[SessionEvent] = []
    bad = 0
    for line in SAMPLE_PATH.read_bytes().splitlines():
        try:
            good.append(decode(SessionEvent, line))
        except DecodeError:
            bad += 1
    assert len(good) >= 200
    assert bad >= 5
    assert len({e.company_id for e in good}) >= 5
    assert {e.company_id for e in good} <= set(SAMPLE_COMPANIES)
    assert all(e.models is None for e in good)
    long_sessions = [e for e in good if sum(len(m.content) for m in e.messages) > LONG_MIN_CHARS]
    assert 3 <= len(long_sessions) <= 5
