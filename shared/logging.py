"""Structured logging for every batchline process, with secrets scrubbed from every line.

The provider adapter never logs the API key, but a library or an exception ``repr`` might; the
redaction processor is the last line of defence and replaces any configured secret wherever it
appears in an event dict.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable, Mapping, MutableMapping
from typing import Any

import structlog

REDACTED = "[REDACTED]"
_MAX_DEPTH = 20


class Redactor:
    """structlog processor replacing secret values in every string of an event, nested ones included."""

    def __init__(self, secrets: Iterable[str]) -> None:
        self._secrets = sorted({s for s in secrets if s and len(s) >= 6}, key=len, reverse=True)

    def scrub(self, value: str) -> str:
        for secret in self._secrets:
            if secret in value:
                value = value.replace(secret, REDACTED)
        return value

    def scrub_value(self, value: Any, depth: int = 0) -> Any:
        """``value`` with every secret replaced, inside dicts, lists, tuples and sets too."""
        if isinstance(value, str):
            return self.scrub(value)
        if isinstance(value, BaseException):
            return self.scrub(repr(value))
        if isinstance(value, Mapping | list | tuple | set | frozenset):
            if depth >= _MAX_DEPTH:  # deep (or cyclic) structures: scrub their rendering as a whole
                return self.scrub(repr(value))
            deeper = depth + 1
            if isinstance(value, Mapping):
                return {self.scrub_value(k, deeper): self.scrub_value(v, deeper) for k, v in value.items()}
            items = [self.scrub_value(v, deeper) for v in value]
            if isinstance(value, list):
                return items
            if isinstance(value, set | frozenset):
                return frozenset(items) if isinstance(value, frozenset) else set(items)
            return tuple(items)
        return value

    def __call__(self, _logger: Any, _name: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
        for key, value in list(event.items()):
            event[key] = self.scrub_value(value)
        return event


def configure(
    *, level: str = "INFO", json: bool = False, secrets: Iterable[str] = (), service: str = ""
) -> None:
    redactor = Redactor(secrets)
    processors: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
        redactor,
    ]
    if service:
        structlog.contextvars.bind_contextvars(service=service)
    renderer: Any = (
        structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[*processors, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelNamesMapping().get(level.upper(), 20)
        ),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )
    # Library loggers (aiokafka, httpx) go through stdlib logging: keep them at WARNING and scrub them too.
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(_StdlibRedactFilter(redactor))
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING)


class _StdlibRedactFilter(logging.Filter):
    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self._redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = self._redactor.scrub(record.getMessage())
        record.args = None
        return True
