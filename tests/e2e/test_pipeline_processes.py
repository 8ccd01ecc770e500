"""The four services as separate OS processes against real Kafka, PostgreSQL and the emulator process.

Figures (durations, batch counts) are printed, not asserted: speed lives in bench/.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from devtools.dataset.generator import generate_events, malformed_events
from shared.kafka.replay import reset_to_earliest
from shared.kafka.topics import ensure_topics
from shared.settings import Settings, Topics
from tests.e2e.harness import (
    EMPTY_WHEN_HEALTHY,
    assert_pipeline_invariants,
    dead_letters,
    logs_of,
    pipeline_stack,
    snapshot,
    snapshot_differences,
    wait_caught_up,
    wait_terminal,
)
from tests.pipeline import publish, rows, scalar

COMPANIES = ["acme-retail", "nordlicht-logistik", "soleil-hotels", "vistula-foods", "baltic-tech"]
MODELS = ["gpt-4o-mini", "gpt-4.1-mini"]
#: A model routed to Anthropic's Message Batches (``BATCHLINE_MODEL_PROVIDERS``).
CLAUDE = "claude-3-5-haiku-latest"
#: The reason each of ``malformed_events()`` is dead-lettered for, in its order (written by hand
#: from the defects its docstring lists).
MALFORMED_REASONS = [
    "not valid JSON",  # truncated mid-object
    "expected a JSON object, got list",
    "company_id: Field required",
    "messages: List should have at least 1 item",
    "processing_types.1: Input should be 'full_analysis'",  # the unknown type "translation"
    "started_at: Input should be a valid datetime",
    "not valid JSON: str is not valid UTF-8",  # Latin-1 bytes
    "unsupported schema_version 2",
    "ended_at is before started_at",
]


def expected_requests(events: list[dict[str, object]]) -> int:
    return sum(len(e.get("processing_types") or ["full_analysis"]) for e in events)  # type: ignore[arg-type]


async def e2e_settings(make_settings: Callable[..., Settings], **overrides: object) -> Settings:
    settings = make_settings(topic_partitions=6, batch_linger_s=1.0, **overrides)
    await ensure_topics(settings)
    return settings


async def test_2000_sessions_5_companies_2_models(
    make_settings: Callable[..., Settings], engine: AsyncEngine, tmp_path: Path
) -> None:
    settings = await e2e_settings(make_settings)
    events = list(generate_events(2000, companies=COMPANIES, models=MODELS, seed=21))
    malformed = malformed_events()
    started = time.monotonic()
    with pipeline_stack(settings, tmp_path / "logs") as stack:
        await publish(settings, [*events, *malformed])
        counts = await wait_terminal(engine, stack, expected_requests(events), timeout_s=300)
        figures = await assert_pipeline_invariants(engine, stack)
        await wait_caught_up(settings)  # the producer committed past every malformed event ...
        letters = await dead_letters(settings)  # ... so each one's letter is on the DLQ by now
        logs = logs_of(stack)
    assert counts.get("PROCESSING_COMPLETE", 0) == expected_requests(events)
    # Without faults nothing may fail along the way, not even a retried handler or a crashed component.
    for sign in ("handler failed", "component failed", "Traceback", "flush failed", "poll failed"):
        assert sign not in logs, f"{sign!r} in service logs"

    # Dead letters, read from Kafka: one per malformed event, all on session.events.dlq, each naming
    # its defect; nothing on the other topics' DLQs.
    session_dlq = Topics.dlq(settings.topics.session_events)
    assert {topic: len(found) for topic, found in letters.items()} == {
        Topics.dlq(t): (len(malformed) if Topics.dlq(t) == session_dlq else 0) for t in settings.topics.all()
    }
    assert len(MALFORMED_REASONS) == len(malformed) == 9
    by_original = {base64.b64decode(letter.value or ""): letter for letter in letters[session_dlq]}
    assert set(by_original) == set(malformed), "a letter does not carry the original bytes of its event"
    for raw, reason in zip(malformed, MALFORMED_REASONS, strict=True):
        letter = by_original[raw]
        assert reason in letter.error, (reason, letter.error)
        assert letter.topic == settings.topics.session_events
        assert letter.consumer_group == settings.group_id("producer")
        assert not letter.truncated
        assert letter.value_sha256 == hashlib.sha256(raw).hexdigest()
    assert await scalar(engine, "SELECT count(*) FROM sessions") == 2000
    pairs = await scalar(engine, "SELECT count(DISTINCT (company_id, model)) FROM provider_batches")
    assert pairs == len(COMPANIES) * len(MODELS)
    print(f"\n2000 sessions: {counts}, {figures}, {time.monotonic() - started:.1f}s")


async def test_two_instances_of_every_service(
    make_settings: Callable[..., Settings], engine: AsyncEngine, tmp_path: Path
) -> None:
    settings = await e2e_settings(make_settings, batch_max_requests=100)
    events = list(generate_events(1200, companies=COMPANIES, models=MODELS, seed=22))
    with pipeline_stack(settings, tmp_path / "logs", instances=2) as stack:
        await publish(settings, events)
        counts = await wait_terminal(engine, stack, expected_requests(events), timeout_s=300)
        await assert_pipeline_invariants(engine, stack)
        poll_logs = [stack.service(f"poller-{i}").log_path.read_text() for i in (0, 1)]
        submit_logs = [stack.service(f"submitter-{i}").log_path.read_text() for i in (0, 1)]
    assert counts == {"PROCESSING_COMPLETE": expected_requests(events)}
    # Each request went into exactly one batch.
    assert await scalar(engine, "SELECT count(*) FROM ai_batch_items") == expected_requests(events)
    # Both pollers finished batches and both submitters submitted: the work was shared.
    assert all("batch finished" in log for log in poll_logs), "one poller never finished a batch"
    assert all("batch submitted" in log for log in submit_logs), "one submitter never submitted a batch"


async def test_faults_retries_and_capped_attempts(
    make_settings: Callable[..., Settings], engine: AsyncEngine, tmp_path: Path
) -> None:
    settings = await e2e_settings(make_settings, batch_max_requests=150, max_attempts=3)
    events = list(generate_events(900, companies=COMPANIES[:3], models=MODELS, seed=23))
    faults = (
        "--line-error-rate",
        "0.05",
        "--malformed-rate",
        "0.05",
        "--expire-batches",
        "1",
        "--token-limit-batches",
        "1",
        "--http-429-rate",
        "0.05",
        "--retry-after-seconds",
        "0.2",
    )
    with pipeline_stack(settings, tmp_path / "logs", emulator_args=faults) as stack:
        await publish(settings, events)
        counts = await wait_terminal(engine, stack, expected_requests(events), timeout_s=400)
        await assert_pipeline_invariants(engine, stack, max_attempts=3)
        stats = stack.emulator_stats()
    statuses = {b["status"] for b in stats["batches"]}
    assert {"expired", "failed", "completed"} <= statuses, statuses
    retried_ok = await scalar(
        engine,
        "SELECT count(*) FROM ai_processing_requests WHERE status = 'PROCESSING_COMPLETE' AND attempt > 1",
    )
    assert retried_ok > 0
    requeued = await scalar(
        engine, "SELECT count(*) FROM provider_batches WHERE 'token_limit_exceeded' = ANY(error_codes)"
    )
    assert requeued >= 1
    assert stats["counters"].get("fault_http_429", 0) > 0 or any("429" in k for k in stats["counters"])
    print(f"\nfaults: {counts}, retried and completed: {retried_ok}, batches: {len(stats['batches'])}")


async def test_duplicates_and_replay_of_every_topic_change_nothing(
    make_settings: Callable[..., Settings], engine: AsyncEngine, tmp_path: Path
) -> None:
    settings = await e2e_settings(make_settings, batch_max_requests=200)
    events = list(generate_events(400, companies=COMPANIES[:2], models=MODELS, seed=24))
    with pipeline_stack(settings, tmp_path / "logs") as stack:
        await publish(settings, events)
        await wait_terminal(engine, stack, expected_requests(events), timeout_s=300)
        await wait_caught_up(settings)
        before = await snapshot(engine, stack)

        await publish(settings, events[:100])  # upstream retries: the same events again
        stack.group.stop_all()
        for service, topic in (
            ("producer", settings.topics.session_events),
            ("submitter", settings.topics.request_pending),
            ("poller", settings.topics.batch_created),
            ("ingester", settings.topics.batch_completed),
        ):
            assert await reset_to_earliest(settings, settings.group_id(service), [topic]) > 0
        stack.group.start_all()
        await wait_caught_up(settings, timeout_s=120)
        await asyncio.sleep(3 * settings.batch_linger_s)  # give any (wrong) re-batching the chance to happen
        await wait_terminal(engine, stack, expected_requests(events), timeout_s=60)
        after = await snapshot(engine, stack)
    # Every table the pipeline writes was filled, so the comparison below is not of empty tables.
    assert before.tables, "no table in the snapshot"
    empty = [name for name, found in before.tables.items() if not found and name not in EMPTY_WHEN_HEALTHY]
    assert empty == [], f"tables the pipeline should have written are empty: {empty}"
    assert after.tables == before.tables, "\n".join(snapshot_differences(before, after))
    assert after.provider_batches == before.provider_batches


@pytest.mark.parametrize("model", [MODELS[0], CLAUDE], ids=["openai", "anthropic"])
async def test_submitter_killed_between_upload_and_recording_makes_one_provider_batch(
    make_settings: Callable[..., Settings], engine: AsyncEngine, tmp_path: Path, model: str
) -> None:
    # Anthropic batches carry no metadata: the restarted submitter finds its batch by the adapter's
    # link in the spool under BATCHLINE_HOME (same machine), written right after the create.
    settings = await e2e_settings(
        make_settings, batch_max_requests=1000, model_providers={CLAUDE: "anthropic"}, home=tmp_path / "home"
    )
    events = list(generate_events(120, companies=COMPANIES[:1], models=[model], seed=25))
    with pipeline_stack(settings, tmp_path / "logs") as stack:
        submitter = stack.service("submitter-0")
        submitter.stop()
        submitter.env = {**submitter.env, "BATCHLINE_TEST_CRASH_POINT": "after_create"}
        submitter.start()
        await publish(settings, events)
        deadline = time.monotonic() + 60
        while submitter.alive() and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
        assert submitter.proc is not None
        assert submitter.proc.returncode == 86, logs_of(stack)[-2000:]
        # The provider batch exists, the database does not know its id yet.
        assert len(stack.emulator_stats()["batches"]) == 1
        assert (
            await scalar(engine, "SELECT count(*) FROM provider_batches WHERE provider_batch_id IS NULL") == 1
        )

        submitter.env = {k: v for k, v in submitter.env.items() if k != "BATCHLINE_TEST_CRASH_POINT"}
        submitter.start()
        await wait_terminal(engine, stack, expected_requests(events), timeout_s=120)
        await assert_pipeline_invariants(engine, stack)
        batches = stack.emulator_stats()["batches"]
        log = submitter.log_path.read_text()
    assert len(batches) == 1, "a second provider batch was created for the same requests"
    assert "reconciled: provider batch already existed" in log
    completed = await scalar(
        engine, "SELECT count(*) FROM ai_processing_requests WHERE status = 'PROCESSING_COMPLETE'"
    )
    assert completed == expected_requests(events)


async def test_a_model_routed_to_anthropic_resolves_every_request(
    make_settings: Callable[..., Settings], engine: AsyncEngine, tmp_path: Path
) -> None:
    """One company's requests on two providers: OpenAI for one model, Anthropic for the other."""
    settings = await e2e_settings(
        make_settings, batch_max_requests=150, model_providers={CLAUDE: "anthropic"}, home=tmp_path / "home"
    )
    events = list(generate_events(600, companies=COMPANIES[:2], models=["gpt-4o-mini", CLAUDE], seed=25))
    with pipeline_stack(settings, tmp_path / "logs") as stack:
        await publish(settings, events)
        counts = await wait_terminal(engine, stack, expected_requests(events), timeout_s=300)
        figures = await assert_pipeline_invariants(engine, stack)
        stats = stack.emulator_stats()
        logs = logs_of(stack)
    assert counts == {"PROCESSING_COMPLETE": expected_requests(events)}
    for sign in ("handler failed", "component failed", "Traceback"):
        assert sign not in logs, f"{sign!r} in service logs"
    by_provider = {
        (r.model, r.provider): r.n
        for r in await rows(
            engine, "SELECT model, provider, count(*) AS n FROM provider_batches GROUP BY 1, 2"
        )
    }
    assert set(by_provider) == {("gpt-4o-mini", "openai"), (CLAUDE, "anthropic")}
    # The Claude batches really ran as Message Batches at the emulator, and only those.
    claude_ids = {
        r.provider_batch_id
        for r in await rows(
            engine, "SELECT provider_batch_id FROM provider_batches WHERE model = :m", m=CLAUDE
        )
    }
    assert claude_ids and all(i.startswith("msgbatch_") for i in claude_ids)
    assert {b["id"] for b in stats["batches"] if b["model"] == CLAUDE} == claude_ids
    # Their answers were validated into the sessions like any other.
    claude_complete = await scalar(
        engine,
        "SELECT count(*) FROM ai_processing_requests r JOIN sessions s "
        "ON s.company_id = r.company_id AND s.id = r.session_id "
        "WHERE r.model = :m AND r.status = 'PROCESSING_COMPLETE' AND s.summary IS NOT NULL",
        m=CLAUDE,
    )
    assert claude_complete > 0
    print(f"\nanthropic-routed: {counts}, {figures}, batches per (model, provider): {by_provider}")


async def test_anthropic_line_errors_bad_answers_and_an_expiry_are_retried_to_the_cap(
    make_settings: Callable[..., Settings], engine: AsyncEngine, tmp_path: Path
) -> None:
    """Errored results, off-schema tool answers and an expired Message Batch resolve as on OpenAI."""
    settings = await e2e_settings(
        make_settings,
        batch_max_requests=150,
        max_attempts=3,
        model_providers={CLAUDE: "anthropic"},
        home=tmp_path / "home",
    )
    events = list(generate_events(500, companies=COMPANIES[:2], models=[CLAUDE], seed=26))
    faults = ("--line-error-rate", "0.05", "--malformed-rate", "0.05", "--expire-batches", "1")
    with pipeline_stack(settings, tmp_path / "logs", emulator_args=faults) as stack:
        await publish(settings, events)
        counts = await wait_terminal(engine, stack, expected_requests(events), timeout_s=300)
        await assert_pipeline_invariants(engine, stack, max_attempts=3)
        stats = stack.emulator_stats(include_requests=True)
    assert {b["status"] for b in stats["batches"]} >= {"expired", "completed"}
    assert all(b["id"].startswith("msgbatch_") for b in stats["batches"])
    retried_ok = await scalar(
        engine,
        "SELECT count(*) FROM ai_processing_requests WHERE status = 'PROCESSING_COMPLETE' AND attempt > 1",
    )
    assert retried_ok > 0
    # The emulator's own record: each fault really reached a request (an errored result, a malformed
    # tool answer, an expired request), and the retries above resolved them.
    results = {r for b in stats["batches"] for r in (b.get("results") or {}).values()}
    assert {"failed", "malformed", "expired", "succeeded"} <= results, results
    print(
        f"\nanthropic faults: {counts}, retried and completed: {retried_ok}, batches: {len(stats['batches'])}"
    )


async def test_a_model_on_azure_and_one_on_the_responses_endpoint_resolve_every_request(
    make_settings: Callable[..., Settings], engine: AsyncEngine, tmp_path: Path
) -> None:
    """One company's requests through Azure's global batch (a deployment) and OpenAI's /v1/responses."""
    deployment = "gb-4o-mini-e2e"
    settings = await e2e_settings(
        make_settings,
        batch_max_requests=150,
        model_providers={"gpt-4o-mini": "azure"},
        azure_deployments={"gpt-4o-mini": deployment},
        azure_base_url="http://placeholder.invalid/openai",  # the harness points it at the emulator
        model_endpoints={"gpt-4.1-mini": "responses"},
        home=tmp_path / "home",
    )
    events = list(generate_events(600, companies=COMPANIES[:2], models=MODELS, seed=31))
    with pipeline_stack(settings, tmp_path / "logs") as stack:
        await publish(settings, events)
        counts = await wait_terminal(engine, stack, expected_requests(events), timeout_s=300)
        figures = await assert_pipeline_invariants(engine, stack)
        stats = stack.emulator_stats()
        logs = logs_of(stack)
    assert counts == {"PROCESSING_COMPLETE": expected_requests(events)}
    for sign in ("handler failed", "component failed", "Traceback"):
        assert sign not in logs, f"{sign!r} in service logs"
    recorded = await rows(engine, "SELECT model, provider, provider_batch_id FROM provider_batches")
    assert {(r.model, r.provider) for r in recorded} == {("gpt-4o-mini", "azure"), ("gpt-4.1-mini", "openai")}
    azure_ids = {r.provider_batch_id for r in recorded if r.model == "gpt-4o-mini"}
    assert all(i.startswith("azure:batch_") for i in azure_ids)
    at_emulator = {b["id"]: b for b in stats["batches"]}
    # The Azure jobs ran under Azure's rules, with the deployment as the line's model.
    for provider_id in azure_ids:
        job = at_emulator[provider_id.removeprefix("azure:")]
        assert (job["flavour"], job["endpoint"], job["model"]) == ("azure", "/chat/completions", deployment)
    responses_ids = {r.provider_batch_id for r in recorded if r.model == "gpt-4.1-mini"}
    assert responses_ids and {at_emulator[i]["endpoint"] for i in responses_ids} == {"/v1/responses"}
    # Both kinds of answers were validated into the sessions, their tokens recorded.
    for model in MODELS:
        complete = await scalar(
            engine,
            "SELECT count(*) FROM ai_processing_requests r JOIN sessions s "
            "ON s.company_id = r.company_id AND s.id = r.session_id "
            "WHERE r.model = :m AND r.status = 'PROCESSING_COMPLETE' AND s.summary IS NOT NULL",
            m=model,
        )
        assert complete > 0, model
    print(f"\nazure + responses: {counts}, {figures}, batches: {len(recorded)}")

