"""Every hot query can use the index meant for it, on representative data.

The statements are the ones the repositories really send (captured while calling them, see
``plan_capture``), EXPLAINed with ``enable_seqscan = off``: a scan the planner could only do
sequentially stays sequential under that setting, so a missing or unusable index shows up whatever
the table sizes. A test fails with every query that lost its index, and the plans to read.
"""

from __future__ import annotations

import uuid

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from cli.stats import collect_stats
from services.ingester import repository as ingester
from services.poller import repository as poller
from services.producer import repository as producer
from services.producer.sessions import PlannedRequest
from services.submitter import repository as submitter
from services.submitter.accumulator import GroupKey
from services.submitter.batch_file import _ROWS, CLAIMED
from shared.analysis import ProcessingType
from shared.db.models import Base
from shared.outbox import _CLAIM
from shared.settings import Settings
from tests.integration.plan_capture import Call, batch_uuid, captured_plan, explain, seed_plan_data

LIVE = uuid.UUID(batch_uuid(255))  # an IN_PROGRESS batch of the seeded data, with claimed requests


def planned() -> list[PlannedRequest]:
    return [
        PlannedRequest(
            uuid.uuid4(), "s7", "c1", ProcessingType.SENTIMENT_ANALYSIS, "gpt-4o-mini", "initial", 10, False
        )
    ]


#: (what, the call, a fragment naming its statement, indexes the plan must use)
CASES: list[tuple[str, Call, str, tuple[str, ...]]] = [
    (
        "submitter claim",
        lambda c: submitter.claim(
            c, uuid.uuid4(), GroupKey("c1", "gpt-4o-mini"), max_requests=1000, max_bytes=10**9
        ),
        "WITH candidates",
        ("ix_requests_pending",),
    ),
    (
        "submitter sweep of pending groups",
        lambda c: submitter.pending_groups(c, min_wait_s=60),
        "GROUP BY company_id, model",
        ("ix_requests_pending",),
    ),
    (
        "submitter sweep of unsubmitted batches",
        lambda c: submitter.due_unsubmitted(c, min_age_s=60),
        "ORDER BY created_at LIMIT",
        ("ix_batches_unsubmitted",),
    ),
    (
        "poller claim of due batches",
        lambda c: poller.claim_due(c, limit=50, lease_s=60),
        "next_poll_at <= now()",
        ("ix_batches_due",),
    ),
    (
        "poller track",
        lambda c: poller.track(c, [LIVE], first_delay_s=60.0),
        "next_poll_at IS NULL",
        ("pk_provider_batches",),
    ),
    (
        "ingester sweep of finished batches",
        lambda c: ingester.overdue_unprocessed(c, older_than_s=60),
        "ingest_quarantined_at IS NULL",
        ("ix_batches_unprocessed",),
    ),
    (
        "ingester batch members",
        lambda c: ingester.batch_members(c, LIVE),
        "UNION SELECT",
        ("pk_ai_batch_items", "ix_requests_batch", "pk_ai_processing_requests"),
    ),
    (
        "ingester open attempts",
        lambda c: ingester.open_attempts(c, LIVE),
        "SELECT id, attempt",
        ("ix_requests_batch",),
    ),
    (
        "ingester resolved counts",
        lambda c: ingester.resolved_counts(c, LIVE),
        "FILTER",
        ("ix_requests_batch",),
    ),
    (
        "producer request creation",
        lambda c: producer.insert_requests(c, planned()),
        "INSERT INTO ai_processing_requests",
        # The unique key (company, session, type, model, revision), its name cut to PostgreSQL's 63 bytes.
        ("uq_ai_processing_requests_company_id_session_id_process_2714",),
    ),
    (
        "producer session lock",
        lambda c: producer.lock_sessions(c, [("c1", "s7"), ("c2", "s8")]),
        "FROM sessions s",
        ("pk_sessions",),
    ),
    (
        "producer prune of processed events",
        lambda c: producer.prune_processed(c, older_than_s=15 * 86_400, limit=5_000),
        "DELETE FROM processed_events",
        ("ix_processed_events_processed_at",),
    ),
    (
        "stats of one company: batches",
        lambda c: collect_stats(c, Settings(), "c1"),
        "count(*) AS n FROM provider_batches",
        ("ix_batches_company",),
    ),
    (
        "stats of one company: sessions",
        lambda c: collect_stats(c, Settings(), "c1"),
        "FROM sessions",
        ("pk_sessions",),  # it leads with the company (0008r dropped the company's own index)
    ),
]


async def seeded(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await seed_plan_data(conn)


def missing(plan: str, indexes: tuple[str, ...]) -> list[str]:
    return [i for i in indexes if f" {i} " not in f"{plan} ".replace("\n", " ")]


async def test_every_hot_query_uses_its_index(engine: AsyncEngine) -> None:
    await seeded(engine)
    failures = []
    async with engine.connect() as conn:
        for what, call, marker, indexes in CASES:
            plan = await captured_plan(conn, call, marker)
            if lost := missing(plan, indexes):
                failures.append(f"{what}: no {', '.join(lost)} in\n{plan}")
    assert not failures, "\n\n".join(failures)


async def constant_plan(conn: AsyncConnection, statement: object, params: dict[str, object]) -> str:
    compiled = statement.compile(dialect=conn.dialect)  # type: ignore[attr-defined]
    values = compiled.construct_params(params)
    return await explain(conn, str(compiled), tuple(values[k] for k in compiled.positiontup))


async def test_module_level_statements_use_their_index(engine: AsyncEngine) -> None:
    await seeded(engine)
    async with engine.connect() as conn:
        rows = await constant_plan(conn, _ROWS, {"bid": LIVE, "claimed": CLAIMED})
        outbox = await constant_plan(conn, _CLAIM, {"limit": 100})
    assert not missing(rows, ("ix_requests_batch", "pk_session_messages")), rows
    assert not missing(outbox, ("pk_outbox",)), outbox


async def test_the_index_check_sees_a_sequential_scan(engine: AsyncEngine) -> None:
    # Guards the check above: a query no index serves is reported, it does not pass by accident.
    await seeded(engine)
    async with engine.connect() as conn:
        plan = await captured_plan(
            conn,
            lambda c: c.execute(text("SELECT count(*) FROM ai_processing_requests WHERE attempt = 2")),
            "attempt = 2",
        )
    assert "Seq Scan on ai_processing_requests" in plan
    assert missing(plan, ("ix_requests_batch",)) == ["ix_requests_batch"]


async def test_every_index_of_the_models_exists_after_the_migrations(engine: AsyncEngine) -> None:
    """shared/db/models/ mirrors the migrations: an index declared there is one the database has."""
    declared = {index.name for table in Base.metadata.tables.values() for index in table.indexes}
    async with engine.connect() as conn:
        present = {r.indexname for r in await conn.execute(text("SELECT indexname FROM pg_indexes"))}
    assert {"ix_batches_unprocessed", "ix_processed_events_processed_at"} <= declared
    assert declared - present == set()
