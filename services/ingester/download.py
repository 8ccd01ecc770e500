"""Reading a finished batch's output and error files into outcomes, one line at a time.

Apart from ``service`` because it changes for other reasons: how a provider's files are read (their
order, duplicates, what makes a file unreadable for good), not how outcomes become writes. It opens
no transaction and holds one line and the batch's member list, never a file.

The rules: the output file is read before the error file; the first attributable line of a request
decides it (a duplicate later, in either file, changes nothing and is not counted twice); a line of a
request already resolved (by an ingest a crash interrupted, or by a duplicate ingester) is counted in
the batch's usage but yields nothing; an unreadable line is counted. A file that cannot be read for
good is recorded as a problem (the lines read before the error count) and the next file is read; any
other failure propagates.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field

import structlog

from services.ingester.ports import BatchRow, Member
from services.ingester.results import LineOutcome, UnreadableLine, Usage, parse_line
from services.ingester.setbacks import unreadable_file_reason, unreadable_for_good
from shared.provider.base import BatchProvider

log = structlog.get_logger(__name__)


@dataclass(slots=True)
class Downloaded:
    """What reading the files found besides the outcomes it yielded."""

    #: Why a file could not be read for good, one entry per such file.
    problems: list[str] = field(default_factory=list)
    #: Usage summed over every request's deciding line, resolved requests' included (the batch's bill
    #: does not depend on which lines an earlier ingest already wrote).
    usage: Usage = field(default_factory=Usage)
    unreadable_lines: int = 0
    unreadable_files: int = 0


async def read_outcomes(
    provider: BatchProvider, batch: BatchRow, members: Mapping[str, Member], found: Downloaded
) -> AsyncIterator[LineOutcome]:
    """The deciding outcome of every open request that has a line, in file order; ``found`` is
    filled as the files are read (complete once the iterator is exhausted)."""
    types = {cid: m.processing_type for cid, m in members.items()}
    seen: set[str] = set()
    prompt = completion = total = cached = 0  # summed as ints: one Usage per line cost as much as a parse
    for role, file_id in (("output", batch.output_file_id), ("error", batch.error_file_id)):
        if not file_id:
            continue
        try:
            async for raw in provider.iter_file_lines(file_id):
                try:
                    outcome = parse_line(raw, types)
                except UnreadableLine:
                    found.unreadable_lines += 1
                    continue
                cid = outcome.custom_id
                if cid in seen:
                    continue  # a duplicated line must not count twice: the first one decides
                seen.add(cid)
                u = outcome.usage
                prompt += u.prompt_tokens
                completion += u.completion_tokens
                total += u.total_tokens
                cached += u.cached_tokens
                if members[cid].open:  # resolved before a crash or by a duplicate
                    yield outcome
        except Exception as exc:
            if not unreadable_for_good(exc):
                raise
            found.problems.append(unreadable_file_reason(role, file_id, exc))
            found.unreadable_files += 1
            log.warning("file unreadable for good", batch_id=str(batch.id), file_id=file_id, error=str(exc))
        finally:
            found.usage = Usage(prompt, completion, total, cached)
