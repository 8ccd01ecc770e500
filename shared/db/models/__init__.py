"""Tables of batchline (SQLAlchemy 2, typed). The alembic migrations in ``migrations/`` create them.

One module per aggregate (sessions, requests, batches, admission, delivery), so a change to one
aggregate's tables touches one file; importing this package registers every table on ``Base.metadata``
(what alembic's ``env.py`` and the migrations test compare), and every table is importable from here.

Statuses are plain text with CHECK constraints listing ``shared.lifecycle``'s enums: readable in psql,
and a new status is a migration that widens the check rather than an ``ALTER TYPE``.
"""

from shared.db.models.admission import BudgetHold, CompanyBudget, ModelTokenLimit, ProviderCircuit
from shared.db.models.base import NAMING, Base, Timestamp, status_in
from shared.db.models.batches import Batch, BatchItem, DuplicateBatch
from shared.db.models.delivery import OutboxMessage, ProcessedEvent, WebhookEvent
from shared.db.models.requests import FallbackCall, ProcessingRequest
from shared.db.models.sessions import Session, SessionAnalysisHistory, StoredMessage

__all__ = [
    "NAMING",
    "Base",
    "Batch",
    "BatchItem",
    "BudgetHold",
    "CompanyBudget",
    "DuplicateBatch",
    "FallbackCall",
    "ModelTokenLimit",
    "OutboxMessage",
    "ProcessedEvent",
    "ProcessingRequest",
    "ProviderCircuit",
    "Session",
    "SessionAnalysisHistory",
    "StoredMessage",
    "Timestamp",
    "WebhookEvent",
    "status_in",
]
