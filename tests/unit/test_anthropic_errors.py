"""Anthropic's error answers land in the port's error tree (no I/O: responses built in memory)."""

from __future__ import annotations

import httpx
import pytest
from pydantic import SecretStr

from shared.provider.anthropic import _error
from shared.provider.base import (
    ConfigurationFault,
    PermanentProviderError,
    ProviderError,
    ProviderNotFound,
    RetryableProviderError,
)
from shared.provider.http import ApiKeyAuth

KEY = "sk-ant-secret-key-1234"


def answer(status: int, kind: str, message: str = "nope") -> httpx.Response:
    request = httpx.Request("POST", "https://api.anthropic.com/v1/messages/batches")
    body = {"type": "error", "error": {"type": kind, "message": message}}
    return httpx.Response(status, json=body, request=request)


@pytest.mark.parametrize(
    ("status", "kind", "expected"),
    [
        (401, "authentication_error", ConfigurationFault),
        (403, "permission_error", ConfigurationFault),
        (429, "rate_limit_error", RetryableProviderError),
        (500, "api_error", RetryableProviderError),
        (529, "overloaded_error", RetryableProviderError),
        (404, "not_found_error", ProviderNotFound),
        (400, "invalid_request_error", PermanentProviderError),
    ],
)
def test_each_status_maps_to_its_class(status: int, kind: str, expected: type[ProviderError]) -> None:
    err = _error(
        "POST", "/v1/messages/batches", answer(status, kind), ApiKeyAuth(SecretStr(KEY), "x-api-key")
    )
    assert type(err) is expected
    assert (err.status, err.code) == (status, kind)


def test_an_echoed_key_is_redacted() -> None:
    response = answer(401, "authentication_error", f"invalid x-api-key {KEY}")
    err = _error("GET", "/v1/messages/batches", response, ApiKeyAuth(SecretStr(KEY), "x-api-key"))
    assert KEY not in str(err) and "[REDACTED]" in str(err)
