"""No answer lost for a detail, against real PostgreSQL: an over-long summary is stored cut and flagged,
a lower-case enum is stored canonical, and the flag follows the summary it describes.

Provider lines are crafted here (``tests.fakes.answer_line``): the emulator's stand-in model does not
write such answers. Expected values are written by hand.
"""

from __future__ import annotations

import uuid

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.fakes import FakeBatchProvider, answer_line
from tests.integration.test_ingester_chunks import GOOD, ingester, seed
from tests.pipeline import rows

LONG = "needs a new badge " * 70  # 18 x 70 = 1,260 characters
#: Budget 999 = 18 x 55 + 9: the cut falls inside "new" of the 56th phrase ("needs a n|ew"); it backs
#: off to the space after "a", which is dropped, and the ellipsis follows: 990 + 7 + 1 = 998 characters.
CUT = "needs a new badge " * 55 + "needs a\u2026"


async def sessions(engine: AsyncEngine) -> list[tuple[object, ...]]:
    return [tuple(r) for r in await rows(
        engine, "SELECT id, sentiment, category, language, summary, summary_truncated FROM sessions ORDER BY id")]  # fmt: skip


async def test_an_over_long_summary_and_a_positive_in_lower_case_both_complete(engine: AsyncEngine) -> None:
    bid, (long_one, lower) = await seed(engine, [1, 1])
    provider = FakeBatchProvider()
    provider.files["file-out"] = [
        answer_line(long_one, {**GOOD, "summary": LONG}),
        answer_line(lower, {**GOOD, "sentiment": "positive", "language": " FR "}),
    ]
    provider.files["file-err"] = []

    report = await ingester(engine, provider).ingest(bid)

    assert (report.completed, report.retried, report.failed) == (2, 0, 0)
    assert len(CUT) == 998
    assert await sessions(engine) == [
        ("s-00", "POSITIVE", "ONBOARDING", "fr", CUT, True),
        ("s-01", "POSITIVE", "ONBOARDING", "fr", "first day", False),
    ]
    statuses = await rows(engine, "SELECT status, error_message FROM ai_processing_requests")
    assert {tuple(r) for r in statuses} == {("PROCESSING_COMPLETE", None)}

    # A later summary of the same session that fits replaces the cut one, and clears the flag.
    again = uuid.uuid4()
    request = uuid.uuid4()
    async with engine.begin() as conn:
        await conn.execute(text(
            "INSERT INTO provider_batches (id, company_id, model, provider, status, request_count, poll_count, "
            "submit_attempts, output_file_id) VALUES (:b, 'acme', 'gpt-4o-mini', 'openai', 'COMPLETED', 1, 1, 1, "
            "'file-again')"), {"b": again})  # fmt: skip
        await conn.execute(text(
            "INSERT INTO ai_processing_requests (id, session_id, company_id, processing_type, model, revision, "
            "status, batch_id, attempt, approx_bytes) VALUES (:r, 's-00', 'acme', 'summary', 'gpt-4o-mini', "
            "'rev-2', 'BATCHING_IN_PROGRESS', :b, 1, 100)"), {"r": request, "b": again})  # fmt: skip
    provider.files["file-again"] = [answer_line(str(request), {"summary": "badge replaced"})]

    await ingester(engine, provider).ingest(again)

    assert (await sessions(engine))[0] == ("s-00", "POSITIVE", "ONBOARDING", "fr", "badge replaced", False)
