"""The synchronous chat completions API (``POST /v1/chat/completions``): the sync fallback's one call.

A batch that expired or was cancelled leaves requests the provider never ran. With
``BATCHLINE_FALLBACK_MODE=sync`` the ingester's fallback worker sends each of them here, one call per
request, at the full (non-batch) price. The body is the one the request's batch line carried
(``shared.analysis.chat_body``), so the answer is parsed and validated by the same code as a batch
line's. Plumbing is the batch adapter's (:mod:`shared.provider.http`): the same base URL, key and
auth header, error mapping and retry budget, so a 429 or 5xx is retried within the budget and a
revoked key is a ``ConfigurationFault`` here as there.
"""

from __future__ import annotations

from typing import Any

import httpx
import orjson
from pydantic import SecretStr

from shared.provider.base import PermanentProviderError
from shared.provider.http import ApiKeyAuth, RetryPolicy, error_for_response, error_for_transport, retrying
from shared.settings import Settings

PATH = "/chat/completions"


class SyncChatClient:
    """``POST {base}/chat/completions`` with retries; returns the ``chat.completion`` object."""

    def __init__(
        self,
        *,
        base_url: str,
        api_key: SecretStr,
        timeout_s: float = 60.0,
        retry: RetryPolicy | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._base = base_url.rstrip("/")
        self._auth = ApiKeyAuth(api_key)
        self._retry = retry or RetryPolicy()
        self._client = httpx.AsyncClient(timeout=httpx.Timeout(timeout_s), transport=transport)

    @classmethod
    def from_settings(
        cls, settings: Settings, *, transport: httpx.AsyncBaseTransport | None = None
    ) -> SyncChatClient:
        return cls(
            base_url=settings.openai_base_url,
            api_key=settings.openai_api_key,
            timeout_s=settings.provider_timeout_s,
            retry=RetryPolicy(max_total_s=settings.provider_retry_max_s),
            transport=transport,
        )

    def __repr__(self) -> str:
        return f"SyncChatClient(base_url={self._base!r})"

    async def aclose(self) -> None:
        await self._client.aclose()

    async def complete(self, body: dict[str, Any]) -> dict[str, Any]:
        """One completion of ``body``; a non-2xx answer after the retries raises the typed error."""

        async def attempt() -> dict[str, Any]:
            try:
                response = await self._client.post(
                    self._base + PATH,
                    content=orjson.dumps(body),
                    headers={"Content-Type": "application/json"},
                    auth=self._auth,
                )
            except httpx.TransportError as exc:
                raise error_for_transport("POST", PATH, exc) from None
            if not response.is_success:
                raise error_for_response("POST", PATH, response, self._auth)
            try:
                data = orjson.loads(response.content)
            except orjson.JSONDecodeError:
                raise PermanentProviderError(f"POST {PATH} failed: the answer is not JSON") from None
            if not isinstance(data, dict):
                raise PermanentProviderError(f"POST {PATH} failed: the answer is not a JSON object")
            return data

        async for state in retrying(self._retry):
            with state:
                return await attempt()
        raise AssertionError("unreachable: tenacity reraises the last error")  # pragma: no cover
