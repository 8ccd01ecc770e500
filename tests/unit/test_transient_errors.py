"""Which failures the consumer loop waits out (retries) instead of dead-lettering the record.

The database errors are built the way SQLAlchemy's asyncpg dialect builds them at run time: asyncpg's
exception, adapted by the dialect's DBAPI module (which copies ``sqlstate``), wrapped in the
``DBAPIError`` SQLAlchemy raises. No database is needed to tell the classes apart.
"""

from __future__ import annotations

import asyncpg
import pytest
from sqlalchemy.dialects.postgresql.asyncpg import AsyncAdapt_asyncpg_dbapi
from sqlalchemy.exc import DBAPIError, IntegrityError

from shared.db.sqlstate import is_transaction_conflict, sqlstates_of
from shared.kafka.consumer import default_is_transient

DBAPI = AsyncAdapt_asyncpg_dbapi(asyncpg)


def as_raised(error: asyncpg.PostgresError, adapted: type[Exception] = DBAPI.Error) -> DBAPIError:
    """``error`` as application code sees it: a DBAPIError whose ``orig`` carries the SQLSTATE."""
    dbapi_error = adapted(str(error), error)
    dbapi_error.__cause__ = error
    wrapped = DBAPIError.instance("UPDATE sessions SET summary = $1", [], dbapi_error, DBAPI.Error)
    wrapped.__cause__ = dbapi_error
    return wrapped


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (asyncpg.exceptions.DeadlockDetectedError("deadlock detected"), "40P01"),
        (asyncpg.exceptions.SerializationError("could not serialize access"), "40001"),
    ],
)
def test_deadlock_and_serialization_failure_are_transient(error: asyncpg.PostgresError, code: str) -> None:
    raised = as_raised(error)
    assert type(raised) is DBAPIError  # not an OperationalError: the old check did not see these
    assert code in sqlstates_of(raised)
    assert is_transaction_conflict(raised)
    assert default_is_transient(raised)
    assert default_is_transient(error)  # asyncpg's own exception, if it ever surfaces unwrapped


def test_a_statement_error_stays_the_records_fault() -> None:
    unique = as_raised(asyncpg.exceptions.UniqueViolationError("duplicate key"), DBAPI.IntegrityError)
    assert isinstance(unique, IntegrityError)
    assert sqlstates_of(unique) == {"23505"}
    assert not default_is_transient(unique)
    bad_text = as_raised(asyncpg.exceptions.CharacterNotInRepertoireError("invalid byte sequence"))
    assert sqlstates_of(bad_text) == {"22021"}
    assert not default_is_transient(bad_text)


def test_an_error_without_a_sqlstate_is_not_transient_by_that_rule() -> None:
    assert sqlstates_of(ValueError("bad record")) == set()
    assert not default_is_transient(ValueError("bad record"))
