"""The OpenAI Batch API adapter: :class:`BatchProvider` over httpx, with retries and streaming.

Works against api.openai.com, Azure OpenAI global batch and any OpenAI-compatible server (the
emulator included): ``base_url`` is the API root including its version segment
(``https://api.openai.com/v1``). The Azure flavour (:meth:`OpenAIBatchProvider.from_settings` with
``flavour="azure"``) is the same adapter with Azure's differences as data: the ``api-key`` header,
the ``api-version`` query parameter, the ``https://{resource}.openai.azure.com/openai`` root, the
``/chat/completions`` endpoint, a required file expiry, and ids marked ``azure:`` (Azure's ids look
like OpenAI's, and the router must send a poll or a download back to the API that made the id,
also in a process that never saw the upload).

A batch whose lines go to another endpoint says so in its metadata (``shared.provider.lines``), so
the port's ``create_batch`` stays the same for every provider.

Every call is one tenacity-controlled retry loop (see :mod:`shared.provider.http`): 429, 5xx and
transport failures are retried within ``RetryPolicy.max_total_s``; other 4xx raise at once.
Streaming calls retry only until the response starts; a failure mid-stream raises
:class:`RetryableProviderError` and the caller starts the download again.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any, Literal, TypeVar

import httpx
import orjson
from pydantic import SecretStr

from shared.provider.base import (
    BATCH_ENDPOINT,
    LOCAL_BATCH_ID_KEY,
    PermanentProviderError,
    ProviderBatch,
    ProviderError,
    ProviderFile,
    RetryableProviderError,
)
from shared.provider.http import (
    ApiKeyAuth,
    RetryPolicy,
    error_for_response,
    error_for_transport,
    retrying,
)
from shared.provider.lines import AZURE_ENDPOINT, ENDPOINT_KEY
from shared.provider.multipart import MultipartUpload, file_chunks
from shared.provider.parse import parse_batch, parse_file
from shared.settings import Settings

T = TypeVar("T")

#: The mark of Azure's ids in our records (``azure:batch_...``, ``azure:file-...``).
AZURE_ID_PREFIX = "azure:"
#: A single line longer than this is treated as a broken file rather than buffered forever.
MAX_LINE_BYTES = 64 * 1024 * 1024


class OpenAIBatchProvider:
    """:class:`~shared.provider.base.BatchProvider` for OpenAI-compatible batch APIs.

    Pass ``client`` to share a connection pool (the provider then never closes it) or
    ``transport`` to route requests elsewhere (tests); otherwise the provider owns its client.
    """

    def __init__(
        self,
        *,
        base_url: str,
        api_key: SecretStr,
        timeout_s: float = 60.0,
        retry: RetryPolicy | None = None,
        completion_window: str = "24h",
        client: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        auth_header: Literal["authorization", "api-key"] = "authorization",
        query_params: dict[str, str] | None = None,
        api_key_file: Path | None = None,
        file_ttl_s: int | None = None,
        output_ttl_s: int | None = None,
        id_prefix: str = "",
        endpoint: str = BATCH_ENDPOINT,
    ) -> None:
        self._base = base_url.rstrip("/")
        self._auth = ApiKeyAuth(api_key, auth_header, key_file=api_key_file)
        self._retry = retry or RetryPolicy()
        self._window = completion_window
        # Without expiries the provider keeps batch files 30 days against the organisation's storage cap.
        self._file_ttl_s = file_ttl_s
        self._output_ttl_s = output_ttl_s
        self._params = dict(query_params or {})
        self._prefix = id_prefix
        self._endpoint = endpoint
        self._owns_client = client is None
        self._client = client or httpx.AsyncClient(
            timeout=httpx.Timeout(timeout_s), transport=transport, follow_redirects=True
        )

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        retry: RetryPolicy | None = None,
        client: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        flavour: Literal["openai", "azure"] = "openai",
    ) -> OpenAIBatchProvider:
        if flavour == "azure":
            if not settings.azure_base_url:
                raise ValueError("BATCHLINE_AZURE_BASE_URL is not set")
            return cls(
                base_url=settings.azure_base_url,
                api_key=settings.azure_api_key,
                api_key_file=settings.azure_api_key_file,
                auth_header="api-key",
                query_params={"api-version": settings.azure_api_version},
                file_ttl_s=settings.azure_file_ttl_s,
                output_ttl_s=settings.provider_output_file_ttl_s,
                timeout_s=settings.provider_timeout_s,
                retry=retry or RetryPolicy(max_total_s=settings.provider_retry_max_s),
                completion_window=settings.completion_window,
                client=client,
                transport=transport,
                id_prefix=AZURE_ID_PREFIX,
                endpoint=AZURE_ENDPOINT,
            )
        return cls(
            base_url=settings.openai_base_url,
            api_key=settings.openai_api_key,
            api_key_file=settings.openai_api_key_file,
            file_ttl_s=settings.provider_input_file_ttl_s,
            output_ttl_s=settings.provider_output_file_ttl_s,
            timeout_s=settings.provider_timeout_s,
            retry=retry or RetryPolicy(max_total_s=settings.provider_retry_max_s),
            completion_window=settings.completion_window,
            client=client,
            transport=transport,
        )

    def __repr__(self) -> str:
        return f"OpenAIBatchProvider(base_url={self._base!r})"

    # --- ids: the flavour's mark on the way out, taken off on the way in ---------------------------

    def _bare(self, object_id: str) -> str:
        return object_id.removeprefix(self._prefix) if self._prefix else object_id

    def _mark(self, object_id: str | None) -> str | None:
        return f"{self._prefix}{object_id}" if self._prefix and object_id else object_id

    def _file(self, data: dict[str, Any]) -> ProviderFile:
        parsed = parse_file(data)
        return dataclasses.replace(parsed, id=self._mark(parsed.id) or parsed.id) if self._prefix else parsed

    def _batch(self, data: dict[str, Any]) -> ProviderBatch:
        parsed = parse_batch(data)
        if not self._prefix:
            return parsed
        return dataclasses.replace(
            parsed,
            id=self._mark(parsed.id) or parsed.id,
            input_file_id=self._mark(parsed.input_file_id) or parsed.input_file_id,
            output_file_id=self._mark(parsed.output_file_id),
            error_file_id=self._mark(parsed.error_file_id),
        )

    async def __aenter__(self) -> OpenAIBatchProvider:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.aclose()

    # --- transport -------------------------------------------------------------------------

    async def _send_once(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        json: dict[str, Any] | None = None,
        content: AsyncIterable[bytes] | None = None,
        headers: dict[str, str] | None = None,
        stream: bool = False,
    ) -> httpx.Response:
        """One attempt; a non-2xx answer or transport failure becomes a typed error."""
        request = self._client.build_request(
            method,
            self._base + path,
            params={**self._params, **(params or {})},
            content=orjson.dumps(json) if json is not None else content,
            headers={**(headers or {}), **({"Content-Type": "application/json"} if json is not None else {})},
        )
        try:
            response = await self._client.send(request, auth=self._auth, stream=stream)
        except httpx.TransportError as exc:
            raise error_for_transport(method, path, exc) from None
        if response.is_success:
            return response
        try:
            await response.aread()
        except httpx.TransportError as exc:
            raise error_for_transport(method, path, exc) from None
        finally:
            await response.aclose()
        raise error_for_response(method, path, response, self._auth)

    async def _call(self, attempt: Callable[[], Awaitable[T]]) -> T:
        async for state in retrying(self._retry):
            with state:
                return await attempt()
        raise AssertionError("unreachable: tenacity reraises the last error")  # pragma: no cover

    async def _json(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        async def attempt() -> dict[str, Any]:
            response = await self._send_once(method, path, **kwargs)
            return _decode(method, path, response.content)

        return await self._call(attempt)

    # --- files -----------------------------------------------------------------------------

    async def upload_file(self, path: Path, *, filename: str | None = None) -> ProviderFile:
        """Stream ``path`` to ``POST /files`` with ``purpose=batch``; re-read from disk per attempt."""
        size = os.stat(path).st_size
        return await self.upload_stream(file_chunks(path), filename=filename or path.name, size=size)

    async def upload_stream(
        self, open_chunks: Callable[[], AsyncIterable[bytes]], *, filename: str, size: int | None
    ) -> ProviderFile:
        """Upload from a re-openable chunk source (called once per attempt).

        ``size`` (exact bytes) gives the request a Content-Length; ``None`` sends it chunked.
        """
        fields = {"purpose": "batch"}
        if self._file_ttl_s is not None:
            # The form encoding the official SDK uses for ``expires_after={"anchor", "seconds"}``.
            fields |= {"expires_after[anchor]": "created_at", "expires_after[seconds]": str(self._file_ttl_s)}
        body = MultipartUpload(open_chunks, filename=filename, size=size, fields=fields)

        async def attempt() -> dict[str, Any]:
            try:
                response = await self._send_once("POST", "/files", content=body, headers=body.headers())
            except ValueError as exc:
                raise PermanentProviderError(f"POST /files failed: {exc}") from None
            return _decode("POST", "/files", response.content)

        return self._file(await self._call(attempt))

    async def retrieve_file(self, file_id: str) -> ProviderFile:
        return self._file(await self._json("GET", f"/files/{self._bare(file_id)}"))

    async def delete_file(self, file_id: str) -> bool:
        return bool((await self._json("DELETE", f"/files/{self._bare(file_id)}")).get("deleted"))

    async def list_files(
        self, *, purpose: str | None = None, page_size: int = 1000
    ) -> AsyncIterator[ProviderFile]:
        """All files, newest first, following ``after`` cursors."""
        params = {"limit": str(page_size), "order": "desc", **({"purpose": purpose} if purpose else {})}
        async for item in self._paged("/files", params):
            yield self._file(item)

    async def iter_file_lines(self, file_id: str) -> AsyncIterator[bytes]:
        """The file's non-empty lines without their newline, holding at most one chunk and one line."""
        path = f"/files/{self._bare(file_id)}/content"

        async def attempt() -> httpx.Response:
            return await self._send_once("GET", path, stream=True)

        response = await self._call(attempt)
        try:
            buffer = bytearray()
            async for chunk in response.aiter_bytes():
                buffer += chunk
                start = 0
                while (end := buffer.find(b"\n", start)) >= 0:
                    line = bytes(buffer[start:end]).rstrip(b"\r")
                    start = end + 1
                    if line.strip():
                        yield line
                del buffer[:start]
                if len(buffer) > MAX_LINE_BYTES:
                    raise PermanentProviderError(f"GET {path} failed: a line exceeds {MAX_LINE_BYTES} bytes")
            if buffer.strip():
                yield bytes(buffer).rstrip(b"\r")
        except httpx.TransportError as exc:
            raise error_for_transport("GET", path, exc) from None
        finally:
            await response.aclose()

    # --- batches ---------------------------------------------------------------------------

    async def create_batch(
        self, input_file_id: str, *, metadata: dict[str, str], endpoint: str | None = None
    ) -> ProviderBatch:
        """``POST /batches``; after an ambiguous failure, look for the batch before creating again.

        A timeout or 5xx may hide a batch that *was* created. When ``metadata`` carries our local
        batch id, the retry first searches the newest batches for one with the same id and input
        file and returns it, so a retried create does not submit (and pay for) the work twice.
        ``endpoint``: the argument, else the one the metadata names, else the flavour's default.
        """
        input_file_id = self._bare(input_file_id)
        payload = {
            "input_file_id": input_file_id,
            "endpoint": endpoint or metadata.get(ENDPOINT_KEY) or self._endpoint,
            "completion_window": self._window,
            "metadata": metadata,
        }
        if self._output_ttl_s is not None:
            payload["output_expires_after"] = {"anchor": "created_at", "seconds": self._output_ttl_s}
        local_id = metadata.get(LOCAL_BATCH_ID_KEY)
        ambiguous = False

        async def attempt() -> dict[str, Any]:
            nonlocal ambiguous
            if ambiguous and local_id is not None:
                found = await self._find_created(input_file_id, local_id)
                if found is not None:
                    return found
            try:
                response = await self._send_once("POST", "/batches", json=payload)
            except RetryableProviderError as exc:
                ambiguous = ambiguous or exc.status != 429
                raise
            return _decode("POST", "/batches", response.content)

        return self._batch(await self._call(attempt))

    async def _find_created(self, input_file_id: str, local_id: str) -> dict[str, Any] | None:
        response = await self._send_once("GET", "/batches", params={"limit": "100"})
        for item in _decode("GET", "/batches", response.content).get("data", []):
            meta = item.get("metadata") or {}
            if item.get("input_file_id") == input_file_id and meta.get(LOCAL_BATCH_ID_KEY) == local_id:
                return dict(item)
        return None

    async def retrieve_batch(self, batch_id: str) -> ProviderBatch:
        return self._batch(await self._json("GET", f"/batches/{self._bare(batch_id)}"))

    async def cancel_batch(self, batch_id: str) -> ProviderBatch:
        return self._batch(await self._json("POST", f"/batches/{self._bare(batch_id)}/cancel"))

    async def list_batches(
        self, *, page_size: int = 100, model: str | None = None
    ) -> AsyncIterator[ProviderBatch]:
        """All batches, newest first; each page is its own retried call."""
        async for item in self._paged("/batches", {"limit": str(page_size)}):
            yield self._batch(item)

    async def _paged(self, path: str, params: dict[str, str]) -> AsyncIterator[dict[str, Any]]:
        after: str | None = None
        while True:
            page = await self._json("GET", path, params={**params, **({"after": after} if after else {})})
            data = page.get("data") or []
            for item in data:
                yield item
            if not data or not page.get("has_more"):
                return
            after = page.get("last_id") or data[-1].get("id")


def _decode(method: str, path: str, body: bytes) -> dict[str, Any]:
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise RetryableProviderError(f"{method} {path} failed: response is not JSON") from None
    if not isinstance(data, dict):
        raise RetryableProviderError(f"{method} {path} failed: response is not a JSON object")
    return data


def build_provider(
    settings: Settings,
    *,
    retry: RetryPolicy | None = None,
    client: httpx.AsyncClient | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> OpenAIBatchProvider:
    """The provider every service uses, configured from settings (base URL, key, timeouts)."""
    return OpenAIBatchProvider.from_settings(settings, retry=retry, client=client, transport=transport)


__all__ = ["OpenAIBatchProvider", "ProviderError", "RetryPolicy", "build_provider"]
