"""HTTP surface of the emulated Anthropic Message Batches API (``/v1/messages/batches``).

Served by the same app as the OpenAI endpoints so one emulator stands in for both providers. The
gate follows Anthropic's conventions instead of OpenAI's: the key comes in ``x-api-key`` (or, as
newer SDKs send it, ``Authorization: Bearer``), checked against the same key ring, so revoking keys
affects both sides (a test that revokes only one provider's key removes that key instead);
``anthropic-version`` is required; and every error is ``{"type": "error", "error": {"type": ...,
"message": ...}}`` with Anthropic's error types.
Injected HTTP faults (latency, 429 with ``retry-after``, 500, a lost response) apply as on the
OpenAI side, plus Anthropic's own 529 ``overloaded_error``; the walls (processing-queue limit, size,
results expiry) are in :mod:`emulator.anthropic_walls`.
"""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from emulator.anthropic_batches import MessageBatches
from emulator.anthropic_walls import size_refusal
from emulator.api_errors import ApiError
from emulator.core import Emulator

#: Anthropic's error ``type`` per HTTP status.
ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    502: "api_error",
    529: "overloaded_error",
}


def error_response(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    body = {"type": "error", "error": {"type": ERROR_TYPES.get(status, "api_error"), "message": message}}
    return Response(orjson.dumps(body), status_code=status, media_type="application/json", headers=headers)


def _json(data: Any) -> Response:
    return Response(orjson.dumps(data), media_type="application/json")


class AnthropicApi:
    def __init__(self, emulator: Emulator) -> None:
        self.emu = emulator
        self.batches = MessageBatches(emulator)

    def _denied(self, request: Request) -> Response | None:
        key = request.headers.get("x-api-key", "").strip()
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if not key and scheme.lower() == "bearer":
            key = token.strip()  # newer SDKs send the API key as a bearer token
        if not key:
            return error_response(401, "x-api-key header is required")
        if self.emu.keys.check(key) is not None:
            return error_response(401, "invalid x-api-key")
        if not request.headers.get("anthropic-version"):
            return error_response(400, "anthropic-version: header is required")
        return None

    async def _gated(self, request: Request) -> Response:
        self.emu.counters[f"http {request.method} messages/batches"] += 1
        if (denied := self._denied(request)) is not None:
            self.emu.counters["http_401"] += denied.status_code == 401
            return denied
        fault = self.emu.faults.http_fault()
        if fault.delay_s:
            await asyncio.sleep(fault.delay_s)
        if fault.status == 429:
            after = fault.retry_after_s or 0.0
            return error_response(429, "Number of request tokens has exceeded your rate limit.",
                                  {"retry-after": f"{after:g}"})  # fmt: skip
        if fault.status is not None:
            return error_response(500, "Internal server error")
        if self.emu.faults.overloaded():
            after = self.emu.faults.config.retry_after_s
            return error_response(529, "Overloaded", {"retry-after": f"{after:g}"})
        try:
            response = await self._dispatch(request)
        except ApiError as err:
            return error_response(err.status, str(err), err.headers or None)
        if fault.lose_response:
            return error_response(502, "Bad gateway.")
        return response

    async def _dispatch(self, request: Request) -> Response:
        base = str(request.base_url).rstrip("/")
        batch_id = request.path_params.get("batch_id")
        method, tail = request.method, request.url.path.rsplit("/", 1)[-1]
        if batch_id is None and method == "POST":
            declared = request.headers.get("content-length", "")
            limit = self.emu.walls.anthropic_max_batch_bytes
            if declared.isdigit() and (too_large := size_refusal(int(declared), limit)) is not None:
                async for _ in request.stream():  # drained unkept, so the client reads the answer
                    pass
                raise too_large
            raw = await request.body()
            try:
                payload = orjson.loads(raw)
            except orjson.JSONDecodeError:
                raise ApiError(400, "The request body is not valid JSON.") from None
            if not isinstance(payload, dict):
                raise ApiError(400, "The request body must be a JSON object.")
            return _json(self.batches.create(payload, len(raw), base))
        if batch_id is None:
            q = request.query_params
            try:
                limit = int(q.get("limit", "20"))
            except ValueError:
                raise ApiError(400, "limit: Input should be a valid integer") from None
            return _json(
                self.batches.page(
                    before_id=q.get("before_id"), after_id=q.get("after_id"), limit=limit, base_url=base
                )
            )
        if tail == "cancel":
            return _json(self.batches.cancel(batch_id, base))
        if tail == "results":
            lines = self.batches.results(batch_id)
            return StreamingResponse(lines, media_type="application/binary")
        if method == "DELETE":
            return _json(self.batches.delete(batch_id))
        return _json(self.batches.retrieve(batch_id, base))


def anthropic_routes(emulator: Emulator) -> list[Route]:
    api = AnthropicApi(emulator)
    g = api._gated
    return [
        Route("/v1/messages/batches", g, methods=["GET", "POST"]),
        Route("/v1/messages/batches/{batch_id}", g, methods=["GET", "DELETE"]),
        Route("/v1/messages/batches/{batch_id}/cancel", g, methods=["POST"]),
        Route("/v1/messages/batches/{batch_id}/results", g, methods=["GET"]),
    ]
