"""A batch the provider refused for errors on named input lines charges only the requests on them.

Validation at the provider fails the whole batch when any line is bad, and reports each bad line in
``errors.data[]`` with its 1-based ``line``. The other requests were never run: charging them an
attempt (as a batch-wide failure does) would fail good requests for a neighbour's fault after a few
such batches. So, when every error of a failed batch names a line and every named line is a request
of the batch, the requests on those lines fail like a failed line (attempt + 1, or failed for good at
the limit) with the line's code and message, and the others go back to pending at the same attempt
(``lifecycle.OutcomeKind.UNTRIED``).

Where the lines come from: each request's line is stored with the uploaded file's id, in the same
transaction, from the list the file writer wrote (``services.submitter.repository.record_lines``), so
it describes the file the provider read, whatever later happens to the ordering query. Anything that
leaves a doubt keeps the old rule, charging every request: an error without a line (token limits and
other batch-wide errors), a named line no request of the batch was on (a file written before lines
were recorded, or a provider answer that does not match ours). Pure: unit-tested without a database.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from services.ingester.ports import LineError, Member
from services.ingester.results import MAX_REASON_CHARS
from shared.lifecycle import BatchStatus, OutcomeKind


def named_requests(
    status: BatchStatus, errors: Sequence[LineError], members: Mapping[str, Member]
) -> dict[str, str] | None:
    """custom_id -> reason of every request the errors name; None when the old rule must apply."""
    if status is not BatchStatus.FAILED or not errors:
        return None
    on_line = {m.line: cid for cid, m in members.items() if m.line is not None}
    reasons: dict[str, list[str]] = {}
    for error in errors:
        if error.line is None:
            return None  # a batch-wide error: it is the whole batch's, whatever else is listed
        cid = on_line.get(error.line)
        if cid is None:
            return None
        reasons.setdefault(cid, []).append(f"{error.code or 'invalid_line'}: {error.message or 'no detail'}")
    return {cid: "; ".join(texts)[:MAX_REASON_CHARS] for cid, texts in reasons.items()}


def untried_outcome(named: Mapping[str, str]) -> tuple[OutcomeKind, str]:
    """How the requests the errors did not name are decided: back, uncharged, with why they return."""
    count = len(named)
    return OutcomeKind.UNTRIED, (
        f"batch_failed: not run; the provider refused the batch for {count} other "
        f"{'line' if count == 1 else 'lines'}"
    )
