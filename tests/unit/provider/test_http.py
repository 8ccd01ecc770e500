"""Error mapping, Retry-After parsing and the wait strategy of the provider adapter."""

from __future__ import annotations

import email.utils
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from tenacity import RetryCallState

from shared.provider.base import (
    ConfigurationFault,
    FaultOwner,
    PermanentProviderError,
    ProviderNotFound,
    RetryableProviderError,
)
from shared.provider.http import (
    ApiKeyAuth,
    ProviderFileNotReady,
    RetryPolicy,
    WaitRetryAfter,
    error_for_response,
    error_for_transport,
    parse_retry_after,
)

AUTH = ApiKeyAuth(SecretStr("sk-unit-secret"))


def _response(status: int, body: Any = None, headers: dict[str, str] | None = None) -> httpx.Response:
    if body is None:
        body = {"error": {"message": "nope", "type": "invalid_request_error", "param": None, "code": None}}
    return httpx.Response(status, json=body, headers=headers)


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504])
def test_transient_statuses_are_retryable(status: int) -> None:
    err = error_for_response("GET", "/batches/b", _response(status), AUTH)
    assert type(err) is RetryableProviderError
    assert err.status == status


@pytest.mark.parametrize(
    ("status", "cls"),
    [(400, PermanentProviderError), (401, ConfigurationFault), (403, ConfigurationFault),
     (409, PermanentProviderError), (422, PermanentProviderError), (404, ProviderNotFound)],
)  # fmt: skip
def test_other_4xx_are_permanent(status: int, cls: type[Exception]) -> None:
    err = error_for_response("POST", "/batches", _response(status), AUTH)
    assert type(err) is cls
    assert str(err) == f"POST /batches failed: HTTP {status} (invalid_request_error): nope"


@pytest.mark.parametrize(
    ("status", "code", "owner"),
    [
        (401, "invalid_api_key", "configuration"),
        (403, None, "configuration"),
        (429, "insufficient_quota", "configuration"),
        (429, "rate_limit_exceeded", "transient"),
        (400, "model_not_found", "configuration"),
        (400, "invalid_completion_window", "configuration"),
        (400, "file_storage_limit_exceeded", "configuration"),
        (400, "invalid_request_error", "content"),
        (404, None, "content"),
        (500, None, "transient"),
    ],
)
def test_every_error_says_who_must_act(status: int, code: str | None, owner: str) -> None:
    body = {"error": {"message": "m", "type": "invalid_request_error", "param": None, "code": code}}
    err = error_for_response("POST", "/batches", _response(status, body), AUTH)
    assert err.owner == FaultOwner(owner)
    # A quota fault is not retried by the adapter: waiting seconds does not refill a billing limit.
    assert isinstance(err, RetryableProviderError) is (owner == "transient")


def test_transport_errors_are_transient() -> None:
    err = error_for_transport("GET", "/batches", httpx.ConnectTimeout("slow"))
    assert err.owner is FaultOwner.TRANSIENT


@pytest.mark.parametrize("status", [400, 404])
def test_cannot_find_file_is_the_upload_race(status: int) -> None:
    body = {"error": {"message": "Cannot find file file-abc.", "type": "invalid_request_error"}}
    err = error_for_response("POST", "/batches", _response(status, body), AUTH)
    assert isinstance(err, ProviderFileNotReady)
    assert isinstance(err, ProviderNotFound)


def test_error_text_is_redacted_and_bounded() -> None:
    body = {"error": {"message": "bad key sk-unit-secret " + "x" * 1000, "code": "invalid_api_key"}}
    err = error_for_response("GET", "/files", _response(401, body), AUTH)
    assert "sk-unit-secret" not in str(err)
    assert "[REDACTED]" in str(err)
    assert len(str(err)) < 400
    assert err.code == "invalid_api_key"


def test_non_json_error_body() -> None:
    err = error_for_response("GET", "/files", httpx.Response(502, text="<html>bad gateway</html>"), AUTH)
    assert isinstance(err, RetryableProviderError)
    assert "bad gateway" in str(err)


def test_retry_after_variants() -> None:
    assert parse_retry_after(httpx.Headers({"retry-after": "3"})) == 3
    assert parse_retry_after(httpx.Headers({"retry-after-ms": "250", "retry-after": "3"})) == 0.25
    when = email.utils.formatdate(1_000_010, usegmt=True)
    assert parse_retry_after(httpx.Headers({"retry-after": when}), now=1_000_000) == 10
    assert parse_retry_after(httpx.Headers({"retry-after": "soon"})) is None
    assert parse_retry_after(httpx.Headers()) is None
    err = error_for_response("GET", "/b", _response(429, headers={"retry-after": "7"}), AUTH)
    assert isinstance(err, RetryableProviderError)
    assert err.retry_after == 7


def _state(exc: BaseException, attempt: int) -> RetryCallState:
    state = RetryCallState(retry_object=None, fn=None, args=(), kwargs={})  # type: ignore[arg-type]
    state.attempt_number = attempt
    state.set_exception((type(exc), exc, None))
    return state


def test_wait_prefers_retry_after_and_otherwise_backs_off() -> None:
    wait = WaitRetryAfter(RetryPolicy(initial_wait_s=1, max_wait_s=8, jitter_s=0))
    told = RetryableProviderError("x", status=429)
    told.retry_after = 4.5
    assert wait(_state(told, 1)) == 4.5
    plain = RetryableProviderError("x", status=500)
    assert [wait(_state(plain, n)) for n in (1, 2, 3, 4, 5)] == [1, 2, 4, 8, 8]


def test_transport_errors() -> None:
    request = httpx.Request("GET", "http://x")
    assert isinstance(
        error_for_transport("GET", "/b", httpx.ReadTimeout("t", request=request)), RetryableProviderError
    )
    assert isinstance(
        error_for_transport("GET", "/b", httpx.ConnectError("c", request=request)), RetryableProviderError
    )
    permanent = error_for_transport("GET", "/b", httpx.UnsupportedProtocol("u", request=request))
    assert type(permanent) is PermanentProviderError


def test_auth_modes_and_repr() -> None:
    bearer = httpx.Request("GET", "http://x")
    next(AUTH.auth_flow(bearer))
    assert bearer.headers["Authorization"] == "Bearer sk-unit-secret"
    azure = httpx.Request("GET", "http://x")
    next(ApiKeyAuth(SecretStr("k2"), "api-key").auth_flow(azure))
    assert azure.headers["api-key"] == "k2"
    assert "Authorization" not in azure.headers
    assert "sk-unit-secret" not in repr(AUTH)


def test_a_rotated_key_file_is_used_by_the_next_request(tmp_path: Path) -> None:
    key_file = tmp_path / "openai-key"
    key_file.write_text("sk-old-key\n")
    auth = ApiKeyAuth(SecretStr("sk-from-env"), key_file=key_file)
    first = httpx.Request("GET", "http://x")
    next(auth.auth_flow(first))
    assert first.headers["Authorization"] == "Bearer sk-old-key"

    key_file.write_text("sk-new-key-longer\n")  # size differs: a change even within one mtime tick
    second = httpx.Request("GET", "http://x")
    next(auth.auth_flow(second))
    assert second.headers["Authorization"] == "Bearer sk-new-key-longer"
    # A server echoing either key is still redacted.
    assert auth.redact("bad sk-old-key and sk-new-key-longer") == "bad [REDACTED] and [REDACTED]"


def test_an_unreadable_key_file_keeps_the_last_key(tmp_path: Path) -> None:
    key_file = tmp_path / "openai-key"
    key_file.write_text("sk-good-key")
    auth = ApiKeyAuth(SecretStr("sk-from-env"), key_file=key_file)
    key_file.unlink()
    request = httpx.Request("GET", "http://x")
    next(auth.auth_flow(request))
    assert request.headers["Authorization"] == "Bearer sk-good-key"
