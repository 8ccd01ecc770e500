"""Reading PostgreSQL's verdict out of the exceptions SQLAlchemy and asyncpg raise.

A transaction PostgreSQL aborted because it clashed with another one (a deadlock, a serialization
failure) says nothing about the work it carried: running it again is the documented cure. SQLAlchemy
reports those as a plain ``DBAPIError`` (not an ``OperationalError``), so only the SQLSTATE tells them
apart from a statement that can never succeed.
"""

from __future__ import annotations

#: SQLSTATEs PostgreSQL raises when it aborted a transaction over a clash with another one, not
#: over the statement: deadlock_detected and serialization_failure. Running the handler again is the
#: documented cure; dead-lettering the record would drop work that was never wrong.
RETRYABLE_SQLSTATES = frozenset({"40P01", "40001"})


def sqlstates_of(exc: BaseException) -> set[str]:
    """The SQLSTATEs behind ``exc``: SQLAlchemy wraps the driver's error (``.orig``), which wraps
    asyncpg's (``__cause__``); each layer exposes ``sqlstate`` or ``pgcode`` when it knows it."""
    codes: set[str] = set()
    seen: set[int] = set()
    todo: list[object] = [exc]
    while todo:
        current = todo.pop()
        if not isinstance(current, BaseException) or id(current) in seen:
            continue
        seen.add(id(current))
        for attr in ("sqlstate", "pgcode"):
            code = getattr(current, attr, None)
            if isinstance(code, str) and code:
                codes.add(code)
        todo += [getattr(current, "orig", None), current.__cause__]
    return codes


def is_transaction_conflict(exc: BaseException) -> bool:
    """True for a deadlock or a serialization failure anywhere in the wrapping of ``exc``."""
    return bool(sqlstates_of(exc) & RETRYABLE_SQLSTATES)
