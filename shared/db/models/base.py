"""What every table shares: one declarative base, the constraint naming and the status predicate.

The naming convention is what gives migrations and models the same constraint names, so it lives
with the base every table derives from.
"""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import DateTime, MetaData, column
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.sql.elements import ColumnElement

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

Timestamp = DateTime(timezone=True)


def status_in(*statuses: StrEnum) -> ColumnElement[bool]:
    """A CHECK or partial-index predicate built from the enums: DDL renders the values, no SQL spells them."""
    return column("status").in_(sorted(s.value for s in statuses))


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
