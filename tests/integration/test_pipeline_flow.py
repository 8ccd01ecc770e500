"""The four services in one event loop against real Kafka, Postgres and the emulator."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from emulator.server import EmulatorServer
from shared.settings import Settings
from tests.pipeline import publish, rows, running_services, scalar, wait_until_terminal


def session_event(i: int, company: str, model: str | None = None, **extra: object) -> dict[str, object]:
    topics = [
        (
            "I need to change my shift schedule next week, can you help?",
            "Sure, I can help with the schedule.",
        ),
        ("Ich bin krank und kann heute nicht arbeiten.", "Gute Besserung! Bitte melde dich krank."),
        ("Quand vais-je recevoir ma fiche de paie ?", "La fiche de paie arrive le 25 du mois."),
    ]
    user, assistant = topics[i % len(topics)]
    event: dict[str, object] = {
        "event_id": f"ev-{company}-{i}",
        "company_id": company,
        "session_id": f"{company}-s{i}",
        "started_at": "2026-05-01T10:00:00Z",
        "messages": [{"role": "user", "content": user}, {"role": "assistant", "content": assistant}],
        **extra,
    }
    if model:
        event["models"] = [model]
    return event


async def test_sessions_flow_to_validated_results(
    settings: Settings, engine: AsyncEngine, emulator: EmulatorServer
) -> None:
    events = [session_event(i, f"c{i % 2}", model="gpt-4o-mini" if i % 3 else "gpt-4o") for i in range(30)]
    events.append(b"{this is not json")
    async with running_services(settings):
        await publish(settings, events)
        counts = await wait_until_terminal(engine, 30, timeout_s=60)
    assert counts == {"PROCESSING_COMPLETE": 30}
    sessions = await rows(engine, "SELECT sentiment, category, language, summary FROM sessions")
    assert len(sessions) == 30
    assert all(s.sentiment and s.category and s.language and s.summary for s in sessions)
    # Every batch holds one company and one model, and is fully processed.
    mixed = await scalar(
        engine,
        """
        SELECT count(*) FROM (SELECT i.batch_id FROM ai_batch_items i JOIN ai_processing_requests r
        ON r.id = i.request_id JOIN provider_batches b ON b.id = i.batch_id
        GROUP BY i.batch_id HAVING count(DISTINCT r.company_id) > 1 OR count(DISTINCT r.model) > 1
            OR bool_or(r.company_id <> b.company_id OR r.model <> b.model)) x""",
    )
    assert mixed == 0
    assert await scalar(engine, "SELECT count(*) FROM provider_batches WHERE status <> 'PROCESSED'") == 0
    assert await scalar(engine, "SELECT sum(total_tokens) FROM ai_processing_requests") > 0
