"""Which (company, model) groups are due for a batch. Pure: the clock is passed in.

``request.pending`` events are wake-ups; the database holds the truth (which requests are pending).
The accumulator only decides *when* to claim: when a group reached the count or byte limit, or its
oldest pending request has waited the linger time.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True, order=True)
class GroupKey:
    company_id: str
    model: str


@dataclass(slots=True)
class _Pending:
    count: int = 0
    bytes: int = 0
    first_seen: float = 0.0
    request_ids: set[str] = field(default_factory=set)


class Accumulator:
    def __init__(self, *, max_requests: int, max_bytes: int, linger_s: float) -> None:
        self._max_requests = max_requests
        self._max_bytes = max_bytes
        self._linger_s = linger_s
        self._groups: dict[GroupKey, _Pending] = {}

    def add(self, key: GroupKey, request_id: str, approx_bytes: int, now: float) -> None:
        group = self._groups.get(key)
        if group is None:
            group = self._groups[key] = _Pending(first_seen=now)
        if request_id in group.request_ids:
            return  # a duplicate delivery must not make a group look fuller than it is
        group.request_ids.add(request_id)
        group.count += 1
        group.bytes += approx_bytes

    def due(self, now: float) -> list[GroupKey]:
        return sorted(
            key
            for key, g in self._groups.items()
            if g.count >= self._max_requests
            or g.bytes >= self._max_bytes
            or now - g.first_seen >= self._linger_s
        )

    def mark_due(self, key: GroupKey) -> None:
        """Make a group due at once (its flush failed and must be tried again on the next tick)."""
        group = self._groups.setdefault(key, _Pending())
        group.first_seen = float("-inf")

    def take(self, key: GroupKey) -> None:
        """Forget a group once a flush claimed what is pending in the database."""
        self._groups.pop(key, None)

    def next_deadline(self) -> float | None:
        if not self._groups:
            return None
        return min(g.first_seen for g in self._groups.values()) + self._linger_s

    def __len__(self) -> int:
        return len(self._groups)
