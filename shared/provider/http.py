"""HTTP plumbing of the provider adapter: auth, error mapping and the retry policy.

Kept apart from :mod:`shared.provider.openai` so the rules that decide *whether* a call is tried
again (status classes, ``Retry-After``, the total budget) can be read and tested on their own.

Retries use tenacity rather than a home-made loop. The wait honours ``Retry-After`` /
``retry-after-ms`` when the server sends them and otherwise backs off exponentially with jitter;
``stop_before_delay`` guarantees a call never sleeps past its total budget (it gives up early
instead of sleeping into the deadline).

The API key lives in a :class:`pydantic.SecretStr` inside :class:`ApiKeyAuth` and is unwrapped
only while a request's headers are built. Messages of every error raised here are built from the
method, the path and the server's error text, with the key scrubbed out of the latter.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Generator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import httpx
import orjson
import structlog
from pydantic import SecretStr
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_before_delay,
    wait_exponential_jitter,
)
from tenacity.stop import stop_base

from shared.provider.base import (
    ConfigurationFault,
    PermanentProviderError,
    ProviderError,
    ProviderNotFound,
    RetryableProviderError,
)

log = structlog.get_logger("batchline.provider")

#: Status codes that mean "try again later". Every other 4xx is the request's own fault.
RETRYABLE_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
#: Statuses that are about our credentials or permissions, whatever the body says.
CONFIGURATION_STATUSES = frozenset({401, 403})
#: Error codes that blame our account or settings rather than the batch (OpenAI and Azure spellings).
#: ``insufficient_quota`` arrives as a 429 but is a billing fault: waiting does not fix it.
CONFIGURATION_CODES = frozenset(
    {
        "invalid_api_key",
        "invalid_organization",
        "insufficient_quota",
        "billing_hard_limit_reached",
        "billing_not_active",
        "account_deactivated",
        "model_not_found",
        "invalid_model",
        "unsupported_model",
        "DeploymentNotFound",
        "invalid_completion_window",
        "invalid_endpoint",
        "unsupported_endpoint",
        "file_storage_limit_exceeded",
        "storage_limit_exceeded",
        "quota_exceeded",
        "permission_denied",
    }
)
#: The phrase OpenAI answers for a file it has accepted but not yet made visible to batches.
FILE_RACE_PHRASE = "cannot find file"
_MAX_MESSAGE_CHARS = 300


class ProviderFileNotReady(ProviderNotFound):
    """``Cannot find file``: usually a freshly uploaded file not yet visible; retried briefly."""


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How hard one provider call tries before it raises.

    ``max_total_s`` bounds the whole call including sleeps; ``file_race_s`` bounds how long a
    ``Cannot find file`` answer is treated as the upload race rather than a real 404.
    """

    max_total_s: float = 300.0
    initial_wait_s: float = 0.5
    max_wait_s: float = 30.0
    jitter_s: float = 0.5
    file_race_s: float = 20.0


class ApiKeyAuth(httpx.Auth):
    """Adds the key per request, so it never sits in a client's default headers or in a repr.

    ``header="authorization"`` sends ``Authorization: Bearer <key>`` (OpenAI and compatible
    servers); ``header="api-key"`` sends ``api-key: <key>`` (Azure OpenAI deployments) and
    ``header="x-api-key"`` sends ``x-api-key: <key>`` (Anthropic).

    When ``key_file`` is given (a mounted secret), the key is read from it and read again whenever the
    file changes, so an operator rotates a revoked key by rewriting the file: no restart, no lost work.
    An unreadable or empty file keeps the last key that was read (the next 401 says so in the logs).
    """

    def __init__(
        self,
        key: SecretStr,
        header: Literal["authorization", "api-key", "x-api-key"] = "authorization",
        *,
        key_file: Path | None = None,
    ) -> None:
        self._key = key
        self._header = header
        self._key_file = key_file
        self._file_stamp: tuple[int, int] | None = None
        #: Every key this process has used, so a server echoing an old one is still redacted.
        self._seen: set[str] = {key.get_secret_value()}
        self._refresh()

    def _refresh(self) -> None:
        if self._key_file is None:
            return
        try:
            stat = self._key_file.stat()
            stamp = (stat.st_mtime_ns, stat.st_size)
            if stamp == self._file_stamp:
                return
            value = self._key_file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            log.warning("provider.key_file_unreadable", path=str(self._key_file), error=type(exc).__name__)
            return
        self._file_stamp = stamp
        if value and value != self._key.get_secret_value():
            self._key = SecretStr(value)
            self._seen.add(value)
            log.info("provider.key_reloaded", path=str(self._key_file))

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        self._refresh()
        secret = self._key.get_secret_value()
        if self._header == "authorization":
            request.headers["Authorization"] = f"Bearer {secret}"
        else:
            request.headers[self._header] = secret
        yield request

    def redact(self, text: str) -> str:
        """``text`` with every occurrence of a key replaced; servers sometimes echo it back."""
        for secret in self._seen:
            if secret:
                text = text.replace(secret, "[REDACTED]")
        return text

    def __repr__(self) -> str:
        return f"ApiKeyAuth(header={self._header!r}, key=**********)"


def parse_retry_after(headers: httpx.Headers, now: float | None = None) -> float | None:
    """Seconds to wait from ``retry-after-ms``, ``Retry-After`` (seconds or HTTP date), or None."""
    raw_ms = headers.get("retry-after-ms")
    if raw_ms is not None:
        try:
            return max(float(raw_ms) / 1000.0, 0.0)
        except ValueError:
            pass
    raw = headers.get("retry-after")
    if raw is None:
        return None
    try:
        return max(float(raw), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - (time.time() if now is None else now), 0.0)


def _error_fields(body: bytes) -> tuple[str | None, str | None]:
    """``(message, code)`` from an OpenAI-style ``{"error": {...}}`` body, tolerant of anything."""
    try:
        data: Any = orjson.loads(body)
    except orjson.JSONDecodeError:
        text = body.decode("utf-8", "replace").strip()
        return (text or None), None
    err = data.get("error") if isinstance(data, dict) else None
    if isinstance(err, dict):
        message = err.get("message")
        code = err.get("code") or err.get("type")
        return (str(message) if message is not None else None), (str(code) if code is not None else None)
    if isinstance(err, str):
        return err, None
    return None, None


def error_for_response(method: str, path: str, response: httpx.Response, auth: ApiKeyAuth) -> ProviderError:
    """The typed error for a non-2xx response whose body has been read."""
    status = response.status_code
    message, code = _error_fields(response.content)
    detail = auth.redact(message or response.reason_phrase or "")[:_MAX_MESSAGE_CHARS]
    text = f"{method} {path} failed: HTTP {status}" + (f" ({code})" if code else "") + f": {detail}"
    if status in CONFIGURATION_STATUSES or code in CONFIGURATION_CODES:
        return ConfigurationFault(text, status=status, code=code)
    if status in RETRYABLE_STATUSES:
        err = RetryableProviderError(text, status=status, code=code)
        err.retry_after = parse_retry_after(response.headers)
        return err
    if FILE_RACE_PHRASE in (message or "").lower() and status in (400, 404):
        return ProviderFileNotReady(text, status=status, code=code)
    if status == 404:
        return ProviderNotFound(text, status=status, code=code)
    return PermanentProviderError(text, status=status, code=code)


def error_for_transport(method: str, path: str, exc: httpx.TransportError) -> ProviderError:
    """Timeouts and connection failures are transient; a malformed request (our bug) is not."""
    kind = type(exc).__name__
    text = f"{method} {path} failed: {kind}"
    if isinstance(exc, httpx.UnsupportedProtocol | httpx.LocalProtocolError):
        return PermanentProviderError(text, code=kind)
    return RetryableProviderError(text, code=kind)


class WaitRetryAfter:
    """tenacity wait: the server's ``Retry-After`` when given, else exponential backoff with jitter."""

    def __init__(self, policy: RetryPolicy) -> None:
        self._backoff = wait_exponential_jitter(
            multiplier=policy.initial_wait_s, max=policy.max_wait_s, jitter=policy.jitter_s
        )

    def __call__(self, retry_state: RetryCallState) -> float:
        outcome = retry_state.outcome
        exc = outcome.exception() if outcome is not None else None
        if isinstance(exc, RetryableProviderError) and exc.retry_after is not None:
            return exc.retry_after
        return float(self._backoff(retry_state))


def _is_retryable(exc: BaseException) -> bool:
    return isinstance(exc, RetryableProviderError | ProviderFileNotReady)


class _StopFileRace(stop_base):
    """Give up on ``Cannot find file`` once the race window is over: then the file is really gone."""

    def __init__(self, window_s: float) -> None:
        self._window_s = window_s

    def __call__(self, retry_state: RetryCallState) -> bool:
        outcome = retry_state.outcome
        exc = outcome.exception() if outcome is not None else None
        since = retry_state.seconds_since_start or 0.0
        return isinstance(exc, ProviderFileNotReady) and since + retry_state.upcoming_sleep >= self._window_s


def _log_retry(retry_state: RetryCallState) -> None:
    outcome = retry_state.outcome
    exc = outcome.exception() if outcome is not None else None
    log.warning(
        "provider.retry",
        attempt=retry_state.attempt_number,
        wait_s=round(retry_state.upcoming_sleep, 3),
        error=str(exc),
        status=getattr(exc, "status", None),
    )


def retrying(policy: RetryPolicy) -> AsyncRetrying:
    """A fresh tenacity controller for one call (they hold per-call state)."""
    return AsyncRetrying(
        retry=retry_if_exception(_is_retryable),
        wait=WaitRetryAfter(policy),
        stop=stop_before_delay(policy.max_total_s) | _StopFileRace(policy.file_race_s),
        before_sleep=_log_retry,
        reraise=True,
    )
