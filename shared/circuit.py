"""The configuration circuit of one (provider, model). Pure: the clock is passed in.

A configuration fault (revoked key, missing permission, exhausted quota, unknown model, full file
store) is not the batch's fault, and every batch would hit it the same way. So the first such fault
*opens* the circuit: submissions for that provider and model pause, nothing is charged to any request,
and the reason is shown to operators. When the probe time comes, one submission is let through; if it
succeeds the circuit closes and the backlog flows again, if it fails the pause grows (bounded), so a
fault fixed at 3 a.m. is picked up within ``cap_s`` without anyone restarting anything.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from shared.periodic import backoff_delay

#: First pause after a configuration fault, and the longest pause between probes.
DEFAULT_BASE_S = 15.0
DEFAULT_CAP_S = 300.0


@dataclass(frozen=True, slots=True)
class Circuit:
    provider: str
    model: str
    reason: str
    opened_at: datetime
    #: Consecutive configuration faults since the circuit opened (the opening one included).
    faults: int
    #: Not before this time may a submission try again (the probe).
    probe_at: datetime

    def allows(self, now: datetime) -> bool:
        """Whether a submission may go now: only once the probe time has come."""
        return now >= self.probe_at


def record_fault(
    current: Circuit | None,
    *,
    provider: str,
    model: str,
    reason: str,
    now: datetime,
    base_s: float = DEFAULT_BASE_S,
    cap_s: float = DEFAULT_CAP_S,
) -> Circuit:
    """The circuit after a configuration fault: opened, or its pause extended with the new reason."""
    faults = 1 if current is None else current.faults + 1
    pause = timedelta(seconds=backoff_delay(faults, base=base_s, cap=cap_s))
    if current is None:
        return Circuit(provider, model, reason, now, faults, now + pause)
    return replace(current, reason=reason, faults=faults, probe_at=now + pause)
