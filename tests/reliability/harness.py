"""What the reliability runs share: a pipeline on a private (restartable) Kafka + PostgreSQL, a
paced publisher that survives broker restarts, and the checks and figures of a run's outcome.

The e2e checks (``tests.e2e.harness.assert_pipeline_invariants``) are reused as they are; this
module adds what only a long faulty run needs: "nothing lost" per generated session, no provider
batch mixing companies or models (from the emulator's own records), and the run's figures.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import structlog
from sqlalchemy.ext.asyncio import AsyncEngine

from devtools.infra import kafka, postgres
from devtools.stack import Stack, free_port
from shared.db.engine import make_engine
from shared.db.migrate import upgrade
from shared.kafka.producer import make_producer
from shared.kafka.topics import ensure_topics
from shared.settings import Settings
from tests.infra import private_stack
from tests.pipeline import rows, scalar

log = structlog.get_logger(__name__)

#: Faults of every chaos run: bad lines, off-schema answers, an expired and a token-limited batch,
#: rate limits / server errors on a share of all API calls, and 20 ms of latency on each.
CHAOS_FAULTS: tuple[str, ...] = (
    "--line-error-rate", "0.02",
    "--malformed-rate", "0.02",
    "--expire-batches", "1",
    "--token-limit-batches", "1",
    "--http-429-rate", "0.02",
    "--http-500-rate", "0.01",
    "--retry-after-seconds", "0.2",
    "--latency-ms", "20",  # every API call takes a moment, so kills can land in the middle of one
)  # fmt: skip


def run_settings(**overrides: Any) -> Settings:
    """Fast clocks (1 s linger, 0.3 s polls, short backoffs) so a run takes minutes, not days."""
    values: dict[str, Any] = {
        "topic_prefix": f"rel{uuid.uuid4().hex[:8]}.",
        "topic_partitions": 6,
        "openai_api_key": "sk-test-" + "r" * 24,
        "batch_linger_s": 1.0,
        "batch_max_requests": 200,
        "poll_interval_s": 0.3,
        "poll_max_interval_s": 1.0,
        "retry_backoff_s": 0.5,
        "max_attempts": 4,
        "provider_timeout_s": 10.0,
        "provider_retry_max_s": 20.0,
        "log_level": "INFO",
    }
    values.update(overrides)
    return Settings(**values)


@dataclass
class Env:
    settings: Settings
    stack: Stack
    engine: AsyncEngine
    pg: postgres.PostgresNode
    kafka: kafka.KafkaNode
    log_dir: Path


@asynccontextmanager
async def private_pipeline(
    tmp_path: Path,
    *,
    instances: int = 2,
    emulator_args: Sequence[str] = (),
    emulator_seed: int = 5,
    **overrides: Any,
) -> AsyncIterator[Env]:
    """The emulator and ``instances`` processes of each service, on this test's own Kafka + PostgreSQL."""
    async with private_stack() as (pg, kf):
        port = free_port()
        settings = run_settings(
            database_url=pg.url,
            kafka_bootstrap_servers=kf.bootstrap,
            openai_base_url=f"http://127.0.0.1:{port}/v1",
            home=tmp_path / "home",
            **overrides,
        )
        await asyncio.to_thread(upgrade, pg.url)
        await ensure_topics(settings)
        log_dir = tmp_path / "logs"
        stack = Stack(settings, log_dir, instances=instances)
        engine = make_engine(pg.url, pool_size=3, application_name="reliability-test")
        try:
            stack.start_emulator(port, "--stage-seconds", "0.2", "--seed", str(emulator_seed), *emulator_args)
            stack.start_services()
            yield Env(settings, stack, engine, pg, kf, log_dir)
        finally:
            stack.stop()
            await engine.dispose()


async def feed(settings: Settings, events: Sequence[dict[str, Any]], *, chunks: int, over_s: float) -> int:
    """Publish ``events`` in ``chunks`` spread over ``over_s`` seconds, like upstream traffic.

    A chunk that fails (the broker is being restarted) is published again until it goes through:
    an upstream system retries too, and the producer service deduplicates by event id.
    """
    size = max(1, -(-len(events) // chunks))
    pause = over_s / max(1, chunks - 1)
    republished = 0
    for start in range(0, len(events), size):
        chunk = events[start : start + size]
        while True:
            try:
                await asyncio.wait_for(_publish(settings, chunk), timeout=60)
                break
            except Exception as exc:
                republished += 1
                if republished == 1 or republished % 10 == 0:
                    log.warning("publish failed; retrying", error=repr(exc)[:200], failures=republished)
                await asyncio.sleep(1.0)
        if start + size < len(events):
            await asyncio.sleep(pause)
    return republished


async def _publish(settings: Settings, events: Sequence[dict[str, Any]]) -> None:
    """Like ``tests.pipeline.publish``, but closes the producer when the broker is unreachable too."""
    producer = make_producer(settings, client_id="reliability-feed")
    try:
        await producer.start()
        futures = [
            await producer.send(
                settings.topics.session_events, orjson.dumps(e), key=str(e["company_id"]).encode()
            )
            for e in events
        ]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


def expected_requests(events: Sequence[dict[str, Any]]) -> dict[str, int]:
    """Requests per session id the producer must create (processing types x models)."""
    return {
        str(e["session_id"]): len(e.get("processing_types") or ["full_analysis"])
        * len(e.get("models") or [1])
        for e in events
    }


async def assert_nothing_lost(engine: AsyncEngine, events: Sequence[dict[str, Any]]) -> dict[str, int]:
    """Every generated session is stored, with all its requests, each completed or failed with a reason."""
    expected = expected_requests(events)
    found = {
        r.session_id: r
        for r in await rows(
            engine,
            """
            SELECT s.id AS session_id, count(r.id) AS requests,
                   count(*) FILTER (WHERE r.status = 'PROCESSING_COMPLETE') AS complete,
                   count(*) FILTER (WHERE r.status = 'PROCESSING_FAILED'
                                      AND coalesce(r.error_message, '') <> '') AS failed_with_reason
            FROM sessions s
                LEFT JOIN ai_processing_requests r ON r.company_id = s.company_id AND r.session_id = s.id
            GROUP BY s.company_id, s.id""",
        )
    }
    missing_sessions = [sid for sid in expected if sid not in found]
    short = [sid for sid, n in expected.items() if sid in found and found[sid].requests != n]
    unresolved = [
        sid
        for sid in expected
        if sid in found and found[sid].complete + found[sid].failed_with_reason != found[sid].requests
    ]
    assert not missing_sessions, f"{len(missing_sessions)} sessions lost, e.g. {missing_sessions[:5]}"
    assert not short, f"{len(short)} sessions with a wrong number of requests, e.g. {short[:5]}"
    assert not unresolved, f"{len(unresolved)} sessions with unresolved requests, e.g. {unresolved[:5]}"
    lost = len(missing_sessions) + len(short) + len(unresolved)
    fully_analysed = sum(1 for sid in expected if found[sid].complete == found[sid].requests)
    return {"sessions": len(expected), "lost": lost, "sessions_fully_analysed": fully_analysed}


async def assert_provider_batches_unmixed(engine: AsyncEngine, stack: Stack) -> None:
    """From the emulator's records: every provider batch holds requests of one company and one model."""
    pair_of = {
        str(r.id): (r.company_id, r.model)
        for r in await rows(engine, "SELECT id, company_id, model FROM ai_processing_requests")
    }
    mixed = []
    for batch in stack.emulator_stats(include_requests=True)["batches"]:
        ids = batch.get("custom_ids") or list((batch.get("results") or {}).keys())
        pairs = {pair_of.get(cid, ("?", "?")) for cid in ids}
        if len(pairs) > 1:
            mixed.append((batch["id"], sorted(pairs)))
    assert not mixed, f"provider batches mixing companies or models: {mixed[:5]}"


def log_counts(stack: Stack) -> dict[str, int]:
    """How often the services logged their recovery paths (retries of every kind, reconciliations)."""
    phrases = {
        "handler_retries": "handler failed",
        "dead_lettered": "dead-lettered",
        "outbox_relay_failures": "outbox relay failed",
        "flush_failures": "flush failed",
        "poll_round_failures": "poll round failed",
        "poll_failures": "poll failed",
        "submission_retries": "submission failed, will retry",
        "provider_call_retries": "provider.retry",
        "reconciled_provider_batches": "reconciled: provider batch already existed",
        "submission_takeovers_fenced": "batch taken over by another submitter",
        "offset_commit_failures": "offset commit failed",
    }
    counts: Counter[str] = Counter()
    for path in stack.log_dir.glob("*.log"):
        if path.name.startswith("emulator"):
            continue
        text = path.read_text(errors="replace")
        for key, phrase in phrases.items():
            counts[key] += text.count(phrase)
    return {k: counts[k] for k in phrases}


async def outcome_figures(engine: AsyncEngine, stack: Stack) -> dict[str, Any]:
    stats = stack.emulator_stats()
    statuses = Counter(b["status"] for b in stats["batches"])
    by_status = {
        r.status: r.n
        for r in await rows(
            engine, "SELECT status, count(*) AS n FROM ai_processing_requests GROUP BY status"
        )
    }
    failure_reasons = {
        r.reason: r.n
        for r in await rows(
            engine,
            "SELECT split_part(error_message, ':', 1) AS reason, count(*) AS n FROM ai_processing_requests "
            "WHERE status = 'PROCESSING_FAILED' GROUP BY 1 ORDER BY 2 DESC LIMIT 10",
        )
    }
    return {
        "requests": sum(by_status.values()),
        "requests_by_status": by_status,
        "failure_reasons": failure_reasons,
        "request_retries": await scalar(
            engine, "SELECT coalesce(sum(attempt - 1), 0) FROM ai_processing_requests"
        ),
        "requests_retried": await scalar(
            engine, "SELECT count(*) FROM ai_processing_requests WHERE attempt > 1"
        ),
        "local_batches": await scalar(engine, "SELECT count(*) FROM provider_batches"),
        "batch_submit_retries": await scalar(
            engine, "SELECT coalesce(sum(greatest(submit_attempts - 1, 0)), 0) FROM provider_batches"
        ),
        "provider_batches": len(stats["batches"]),
        "provider_batches_by_status": dict(statuses),
        "emulator_fault_counters": {k: v for k, v in stats["counters"].items() if k.startswith("fault_")},
    }


#: (name, figures) of every run in this session, for the terminal summary (tests/reliability/conftest.py).
REPORTS: list[tuple[str, dict[str, Any]]] = []


def report(name: str, figures: dict[str, Any], out_dir: Path) -> Path:
    """Print the figures (visible with ``-s``) and write them as JSON next to the run's logs."""
    REPORTS.append((name, figures))
    path = out_dir / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(figures, indent=2, default=str))
    print(f"\n=== {name} ===")
    for key, value in figures.items():
        if key not in ("timeline", "crash_logs"):
            print(f"  {key}: {value}")
    print(f"  (figures written to {path})")
    return path


class Stopwatch:
    def __init__(self) -> None:
        self.started = time.monotonic()

    def __call__(self) -> float:
        return round(time.monotonic() - self.started, 1)


async def assert_secret_absent(env: Env, *, also: Sequence[str] = ()) -> int:
    """The API key (and the keys in ``also``, e.g. rotated ones) appears nowhere a chaos run leaves
    traces: logs, rows, topics (DLQs included).

    Returns how many items were scanned (printed with the run's figures).
    """
    from shared.kafka.topics import topic_names
    from tests.pipeline import read_all
    from tests.reliability.test_security_secrets import table_texts

    secrets = [env.settings.openai_api_key.get_secret_value(), *also]
    forms = [f for s in secrets for f in (s, base64.b64encode(s.encode()).decode().rstrip("="))]
    found: list[str] = []
    scanned = 0

    def check(blob: str, where: str) -> None:
        nonlocal scanned
        scanned += 1
        found.extend(f"{where}: {form[:10]}..." for form in forms if form in blob)

    for path in sorted(env.log_dir.glob("*.log")):
        check(path.read_text(errors="replace"), str(path.name))
    for table, row in await table_texts(env.engine):
        check(row, table)
    for topic in topic_names(env.settings):
        for record in await read_all(env.settings, topic, env.settings.topic_partitions):
            check((record.value or b"").decode("utf-8", "replace"), topic)
            if topic.endswith(".dlq") and record.value:
                original = orjson.loads(record.value).get("value") or ""
                check(base64.b64decode(original).decode("utf-8", "replace"), f"{topic} (original)")
    assert not found, found[:10]
    return scanned
