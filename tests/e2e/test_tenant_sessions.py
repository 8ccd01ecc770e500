"""Two companies, the same session ids: stored and analysed apart, end to end.

Session ids are each company's own (a helpdesk numbers its chats "1", "2", "3", and so does the next
customer's). Two companies publish sessions "1", "2" and "3" through a plain aiokafka producer, using
only the event schema the README documents (no batchline helper encodes or keys them), while the
four services run as separate processes. Each company's sessions must be stored with its own
conversation and analysed from it (German chats come back German, French ones French, each with its
own category and summary), and ``batchline stats --company X`` must count only that company's.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiokafka import AIOKafkaProducer
from sqlalchemy.ext.asyncio import AsyncEngine

from cli.report import company_reports
from shared.kafka.topics import ensure_topics
from shared.settings import Settings
from tests.e2e.harness import assert_pipeline_invariants, logs_of, pipeline_stack, wait_terminal
from tests.pipeline import rows

#: company -> session id -> (the conversation, employee first, then the analysis expected of it:
#: language, category, and the summary — the emulator's stand-in model summarises by the first
#: sentence). Written by hand; the same three ids in both companies on purpose.
CONVERSATIONS: dict[str, dict[str, tuple[list[str], str, str, str]]] = {
    "acme-de": {
        "1": (
            [
                "Hallo, ich möchte meinen Urlaub im August beantragen. Wie viele Urlaubstage habe ich noch?",
                "Sie haben noch zwölf Urlaubstage, ich bereite den Antrag gerne vor.",
                "Danke, das ist super!",
            ],
            "de",
            "LEAVE_VACATION",
            "Hallo, ich möchte meinen Urlaub im August beantragen.",
        ),
        "2": (
            [
                "Ich bin seit gestern krank und habe Fieber. Wohin schicke ich das ärztliche Attest?",
                "Bitte laden Sie die Bescheinigung im Portal hoch, gute Besserung.",
                "Danke für die Hilfe.",
            ],
            "de",
            "SICK_LEAVE_RECOVERY",
            "Ich bin seit gestern krank und habe Fieber.",
        ),
        "3": (
            [
                "Meine Gehaltsabrechnung für März ist falsch, die Überstunden fehlen. Das ist wirklich ärgerlich.",
                "Das tut mir leid, ich prüfe die Abrechnung sofort.",
                "Bitte schnell, ich bin sehr unzufrieden.",
            ],
            "de",
            "SALARY_COMPENSATION",
            "Meine Gehaltsabrechnung für März ist falsch, die Überstunden fehlen.",
        ),
    },
    "globex-fr": {
        "1": (
            [
                "Bonjour, mon bulletin de salaire de ce mois est faux, il manque les heures supplémentaires.",
                "Je vérifie votre fiche de paie et je transmets la demande.",
                "Merci beaucoup.",
            ],
            "fr",
            "SALARY_COMPENSATION",
            "Bonjour, mon bulletin de salaire de ce mois est faux, il manque les heures supplémentaires.",
        ),
        "2": (
            [
                "Je voudrais poser mes congés pour les vacances de juillet. Combien de jours me reste-t-il?",
                "Il vous reste quinze jours de congés payés.",
                "Parfait, merci!",
            ],
            "fr",
            "LEAVE_VACATION",
            "Je voudrais poser mes congés pour les vacances de juillet.",
        ),
        "3": (
            [
                "Je suis malade depuis lundi avec de la fièvre. Où dois-je envoyer mon arrêt maladie?",
                "Envoyez l'arrêt de travail au service RH, bon rétablissement.",
                "Merci pour votre aide.",
            ],
            "fr",
            "SICK_LEAVE_RECOVERY",
            "Je suis malade depuis lundi avec de la fièvre.",
        ),
    },
}


def documented_event(company: str, session: str, messages: list[str]) -> dict[str, Any]:
    """A ``session.events`` record exactly as the README's example spells it."""
    return {
        "schema_version": 1,
        "event_id": f"{company}-{session}",
        "company_id": company,
        "session_id": session,
        "started_at": "2026-05-01T10:00:00Z",
        "ended_at": None,
        "messages": [
            {"role": "user" if i % 2 == 0 else "assistant", "content": text, "order": i}
            for i, text in enumerate(messages)
        ],
        "processing_types": ["full_analysis"],
        "models": ["gpt-4o-mini"],
        "reanalyze": False,
    }


@pytest.fixture
async def upstream(settings: Settings) -> AsyncIterator[AIOKafkaProducer]:
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers, acks="all")
    await producer.start()
    yield producer
    await producer.stop()


@pytest.fixture
async def settings(make_settings: Callable[..., Settings]) -> Settings:
    s = make_settings(topic_partitions=3, batch_linger_s=1.0)
    await ensure_topics(s)
    return s


def stats_of(database_url: str, company: str) -> dict[str, Any]:
    """``batchline stats --company C --json``, run as an operator would."""
    result = subprocess.run(
        [sys.executable, "-m", "cli.main", "stats", "--company", company, "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "BATCHLINE_DATABASE_URL": database_url},
        check=False,
    )
    assert result.returncode == 0, result.stderr
    document: dict[str, Any] = orjson.loads(result.stdout)
    return document


async def test_two_companies_with_the_same_session_ids_are_stored_and_analysed_apart(
    settings: Settings, engine: AsyncEngine, database_url: str, upstream: AIOKafkaProducer, tmp_path: Path
) -> None:
    with pipeline_stack(settings, tmp_path / "logs") as stack:
        # Interleaved, so both companies' "1" (then "2", "3") reach the producer close together.
        for session in ("1", "2", "3"):
            for company, sessions in CONVERSATIONS.items():
                event = documented_event(company, session, sessions[session][0])
                await upstream.send_and_wait(
                    settings.topics.session_events, orjson.dumps(event), key=company.encode()
                )
        counts = await wait_terminal(engine, stack, expected=6, timeout_s=180)
        await assert_pipeline_invariants(engine, stack)
        logs = logs_of(stack)
    assert counts == {"PROCESSING_COMPLETE": 6}, counts
    assert "belongs to another company" not in logs

    stored = await rows(
        engine,
        "SELECT company_id, id, language, category, summary, message_count FROM sessions ORDER BY company_id, id",
    )
    assert [(r.company_id, r.id, r.language, r.category, r.summary, r.message_count) for r in stored] == [
        (company, session, language, category, summary, len(messages))
        for company, sessions in sorted(CONVERSATIONS.items())
        for session, (messages, language, category, summary) in sorted(sessions.items())
    ]
    # Each company's stored conversation is its own text, word for word.
    messages = await rows(
        engine,
        'SELECT company_id, session_id, content FROM session_messages ORDER BY company_id, session_id, "order"',
    )
    assert [(m.company_id, m.session_id, m.content) for m in messages] == [
        (company, session, text)
        for company, sessions in sorted(CONVERSATIONS.items())
        for session, (texts, *_) in sorted(sessions.items())
        for text in texts
    ]
    # One request per company and session, each in a batch of its own company.
    requests = await rows(
        engine,
        "SELECT r.company_id, r.session_id, b.company_id AS batch_company FROM ai_processing_requests r "
        "JOIN provider_batches b ON b.id = r.batch_id ORDER BY 1, 2",
    )
    assert [(r.company_id, r.session_id, r.batch_company) for r in requests] == [
        (company, session, company) for company in sorted(CONVERSATIONS) for session in ("1", "2", "3")
    ]

    # The operator's view: each company sees its own three sessions and requests, nothing of the other.
    for company in CONVERSATIONS:
        document = await asyncio.to_thread(stats_of, database_url, company)
        assert list(document["companies"]) == [company]
        own = document["companies"][company]
        assert (own["sessions"], own["requests"]["PROCESSING_COMPLETE"], own["requests_total"]) == (3, 3, 3)
    async with engine.connect() as conn:
        reports = {r.company_id: r for r in await company_reports(conn, settings)}
    assert {c: r.languages for c, r in reports.items()} == {"acme-de": {"de": 3}, "globex-fr": {"fr": 3}}
    assert {c: r.categories for c, r in reports.items()} == {
        company: {category: 1 for _, _, category, _ in sessions.values()}
        for company, sessions in CONVERSATIONS.items()
    }
