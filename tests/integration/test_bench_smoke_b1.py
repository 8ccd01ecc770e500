"""The B1 ingest benchmark in small: its three paths run and each resolves every request of its batch.

Correctness only (every request completed, every session analysed, each batch PROCESSED, the counts
the ingester reports): speed is what ``make bench`` reports, never what a test asserts.
"""

from __future__ import annotations

from bench.b1_ingest import measure
from emulator.server import EmulatorServer

LINES = 2_000
SEED_LINES = 200


async def test_the_quick_b1_resolves_every_request_on_each_path(
    database_url: str, emulator: EmulatorServer
) -> None:
    result = await measure(database_url, emulator.base_url, lines=LINES, seed_lines=SEED_LINES, chunk=500)

    for run, n in ((result.real, LINES), (result.seed, SEED_LINES), (result.copy, LINES)):
        assert run.lines == n
        assert run.outcome == {"total": n, "completed": n, "open": 0, "analysed": n, "batch_processed": 1}
    report = result.report
    assert (report.completed, report.retried, report.failed, report.unreadable_lines) == (LINES, 0, 0, 0)
    assert not report.skipped
    assert [row.bench for row in result.rows()] == ["B1 ingest", "B1 seed path", "B1 COPY limit"]
