"""The Anthropic Message Batches adapter: :class:`BatchProvider` in OpenAI's shape over Anthropic's API.

The services stay provider-blind: the submitter still "uploads" a chat-completions JSONL and creates
a batch over the file id, the poller reads OpenAI status words, the ingester reads output lines. The
adapter translates at the edge (:mod:`shared.provider.anthropic_format`) and keeps what Anthropic
has no place for - the file between upload and create, the local batch id - in a local spool
(:mod:`shared.provider.anthropic_spool`, which also says why that is enough).

* ``upload_file``  -> copy into the spool, pseudo id ``msgbatch-input-...`` (no HTTP call);
* ``create_batch`` -> ``POST /v1/messages/batches`` with the lines converted inline, streamed from
  the spool; after an ambiguous failure (timeout, 5xx) it first looks for the batch it may have
  created, as the OpenAI adapter does;
* ``retrieve_batch`` / ``cancel_batch`` / ``list_batches`` -> the batch objects, statuses mapped;
* ``iter_file_lines("msgbatch-results:<id>")`` -> the batch's ``results_url``, each line converted;
* ``delete_file`` -> drops a pseudo input file; for the results, deletes the ended batch (the
  analogue of deleting an output file once it is ingested).

Errors map into the same tree (:mod:`shared.provider.http`): 401/403 configuration faults, 429, 5xx
and Anthropic's 529 ``overloaded_error`` retryable, 404 not found, other 4xx permanent.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import httpx
import orjson
from pydantic import SecretStr

from shared.provider.anthropic_format import RESULTS_PREFIX, to_batch, to_output_line, to_request
from shared.provider.anthropic_spool import Spool
from shared.provider.base import (
    LOCAL_BATCH_ID_KEY,
    PermanentProviderError,
    ProviderBatch,
    ProviderError,
    ProviderFile,
    ProviderNotFound,
    RetryableProviderError,
)
from shared.provider.http import (
    ApiKeyAuth,
    RetryPolicy,
    error_for_response,
    error_for_transport,
    parse_retry_after,
    retrying,
)
from shared.settings import Settings

T = TypeVar("T")
BATCHES = "/v1/messages/batches"
MAX_LINE_BYTES = 64 * 1024 * 1024
_BODY_CHUNK = 256 * 1024


class AnthropicBatchProvider:
    """:class:`~shared.provider.base.BatchProvider` for Anthropic's Message Batches API."""

    def __init__(
        self,
        *,
        base_url: str,
        api_key: SecretStr,
        spool_dir: Path,
        version: str = "2023-06-01",
        default_max_tokens: int = 1024,
        timeout_s: float = 60.0,
        retry: RetryPolicy | None = None,
        api_key_file: Path | None = None,
        client: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._base = base_url.rstrip("/")
        self._auth = ApiKeyAuth(api_key, "x-api-key", key_file=api_key_file)
        self._version = version
        self._max_tokens = default_max_tokens
        self._retry = retry or RetryPolicy()
        self._spool = Spool(spool_dir)
        self._owns_client = client is None
        self._client = client or httpx.AsyncClient(
            timeout=httpx.Timeout(timeout_s), transport=transport, follow_redirects=True
        )

    @classmethod
    def from_settings(
        cls, settings: Settings, *, retry: RetryPolicy | None = None, client: httpx.AsyncClient | None = None
    ) -> AnthropicBatchProvider:
        return cls(
            base_url=settings.anthropic_base_url,
            api_key=settings.anthropic_api_key,
            api_key_file=settings.anthropic_api_key_file,
            version=settings.anthropic_version,
            default_max_tokens=settings.anthropic_max_tokens,
            spool_dir=settings.home / "spool" / "anthropic",
            timeout_s=settings.provider_timeout_s,
            retry=retry or RetryPolicy(max_total_s=settings.provider_retry_max_s),
            client=client,
        )

    def __repr__(self) -> str:
        return f"AnthropicBatchProvider(base_url={self._base!r})"

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.aclose()

    # --- transport -------------------------------------------------------------------------

    async def _send_once(
        self, method: str, path: str, *, params: dict[str, str] | None = None,
        content: AsyncIterable[bytes] | None = None, stream: bool = False, url: str | None = None,
    ) -> httpx.Response:  # fmt: skip
        headers = {"anthropic-version": self._version}
        if content is not None:
            headers["content-type"] = "application/json"
        request = self._client.build_request(
            method, url or self._base + path, params=params, content=content, headers=headers
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
        raise _error(method, path, response, self._auth)

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

    def _batch(self, data: dict[str, Any]) -> ProviderBatch:
        counts = data.get("request_counts") or {}
        total = sum(v for v in counts.values() if isinstance(v, int))
        probe = to_batch(data, metadata={})
        local = self._spool.local_of(probe.id, requests=total, created_at=probe.created_at)
        return to_batch(data, metadata={LOCAL_BATCH_ID_KEY: local} if local else {})

    # --- files -----------------------------------------------------------------------------

    async def upload_file(self, path: Path, *, filename: str | None = None) -> ProviderFile:
        """Keep the JSONL in the spool until ``create_batch`` posts it (Anthropic takes no files)."""
        file_id, size = await asyncio.to_thread(self._spool.keep, path)
        return ProviderFile(file_id, size, filename or path.name, "batch", 0)

    async def delete_file(self, file_id: str) -> bool:
        if file_id.startswith(RESULTS_PREFIX):
            path = f"{BATCHES}/{file_id.removeprefix(RESULTS_PREFIX)}"
            return bool((await self._json("DELETE", path)).get("id"))
        if self._spool.drop(file_id):
            return True
        raise ProviderNotFound(f"DELETE {file_id}: no such pseudo file", status=404)

    async def iter_file_lines(self, file_id: str) -> AsyncIterator[bytes]:
        """A batch's results as OpenAI output lines (a pseudo input file: its own lines)."""
        if not file_id.startswith(RESULTS_PREFIX):
            local = self._spool.path_of(file_id)
            if local is None:
                raise ProviderNotFound(f"GET {file_id}: no such file", status=404)
            for line in local.read_bytes().splitlines():
                if line.strip():
                    yield line
            return
        batch_id = file_id.removeprefix(RESULTS_PREFIX)
        path = f"{BATCHES}/{batch_id}/results"
        url = (await self._json("GET", f"{BATCHES}/{batch_id}")).get("results_url")
        if not isinstance(url, str) or not url:
            raise RetryableProviderError(f"GET {path} failed: the batch has no results_url yet")

        async def attempt() -> httpx.Response:
            return await self._send_once("GET", path, stream=True, url=url)

        response = await self._call(attempt)
        try:
            buffer = bytearray()
            async for chunk in response.aiter_bytes():
                buffer += chunk
                *whole, rest = bytes(buffer).split(b"\n")
                buffer = bytearray(rest)
                for line in whole:
                    if line.strip():
                        yield to_output_line(line.rstrip(b"\r"))
                if len(buffer) > MAX_LINE_BYTES:
                    raise PermanentProviderError(f"GET {path} failed: a line exceeds {MAX_LINE_BYTES} bytes")
            if buffer.strip():
                yield to_output_line(bytes(buffer).rstrip(b"\r"))
        except httpx.TransportError as exc:
            raise error_for_transport("GET", path, exc) from None
        finally:
            await response.aclose()

    # --- batches ---------------------------------------------------------------------------

    async def _body(self, path: Path) -> AsyncIterator[bytes]:
        """``{"requests": [...]}`` converted line by line from the spool, in chunks."""
        out = bytearray(b'{"requests":[')
        first = True
        with path.open("rb") as fh:
            for line in fh:
                if not line.strip():
                    continue
                if not first:
                    out += b","
                out += to_request(line, default_max_tokens=self._max_tokens)
                first = False
                if len(out) >= _BODY_CHUNK:
                    yield bytes(out)
                    out.clear()
        yield bytes(out + b"]}")

    async def create_batch(self, input_file_id: str, *, metadata: dict[str, str]) -> ProviderBatch:
        path = self._spool.path_of(input_file_id)
        if path is None:
            # Another process's (or a crashed run's) upload: the retry rebuilds and uploads it again.
            raise RetryableProviderError(
                f"POST {BATCHES} failed: pseudo file {input_file_id} is not in this spool",
                code="pseudo_file_missing",
            )
        local_id = metadata.get(LOCAL_BATCH_ID_KEY)
        with path.open("rb") as fh:
            requests = sum(1 for line in fh if line.strip())
        if local_id is not None:
            self._spool.intend(local_id, requests)
        ambiguous = False

        async def attempt() -> dict[str, Any]:
            nonlocal ambiguous
            if ambiguous and local_id is not None:
                async for found in self.list_batches(page_size=100):
                    if found.local_batch_id == local_id:
                        return found.raw
                    break  # only the newest page matters for a create just made; one page is one call
            try:
                response = await self._send_once("POST", BATCHES, content=self._body(path))
            except RetryableProviderError as exc:
                ambiguous = ambiguous or exc.status != 429
                raise
            return _decode("POST", BATCHES, response.content)

        try:
            data = await self._call(attempt)
        except ProviderError as exc:
            if local_id is not None and not ambiguous and not isinstance(exc, RetryableProviderError):
                self._spool.forget(local_id)
            raise
        if local_id is not None:
            self._spool.link(str(data["id"]), local_id)
        self._spool.drop(input_file_id)
        return to_batch(data, metadata=metadata, input_file_id=input_file_id)

    async def retrieve_batch(self, batch_id: str) -> ProviderBatch:
        return self._batch(await self._json("GET", f"{BATCHES}/{batch_id}"))

    async def cancel_batch(self, batch_id: str) -> ProviderBatch:
        return self._batch(await self._json("POST", f"{BATCHES}/{batch_id}/cancel"))

    async def list_batches(
        self, *, page_size: int = 100, model: str | None = None
    ) -> AsyncIterator[ProviderBatch]:
        """All batches, newest first, following ``after_id`` until ``has_more`` is false."""
        after: str | None = None
        while True:
            params = {"limit": str(page_size), **({"after_id": after} if after else {})}
            page = await self._json("GET", BATCHES, params=params)
            data = page.get("data") or []
            for item in data:
                yield self._batch(item)
            if not data or not page.get("has_more"):
                return
            after = page.get("last_id") or data[-1].get("id")


def _error(method: str, path: str, response: httpx.Response, auth: ApiKeyAuth) -> ProviderError:
    """The shared mapping, plus Anthropic's 529 ``overloaded_error``: capacity, so try again later
    (after its ``retry-after`` when it sends one, as for a 429)."""
    err = error_for_response(method, path, response, auth)
    if response.status_code == 529 and not isinstance(err, RetryableProviderError):
        overloaded = RetryableProviderError(str(err), status=529, code=err.code)
        overloaded.retry_after = parse_retry_after(response.headers)
        return overloaded
    return err


def _decode(method: str, path: str, body: bytes) -> dict[str, Any]:
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise RetryableProviderError(f"{method} {path} failed: response is not JSON") from None
    if not isinstance(data, dict):
        raise RetryableProviderError(f"{method} {path} failed: response is not a JSON object")
    return data
