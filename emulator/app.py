"""The emulator's HTTP surface: OpenAI's Files and Batch endpoints plus a small admin API.

Anthropic's Message Batches (``/v1/messages/batches``) are served beside them, with their own
gate and error shape (:mod:`emulator.anthropic_api`), and Azure OpenAI global batch under
``/openai/files`` and ``/openai/batches`` (``api-key`` header, ``api-version``; :mod:`emulator.azure`).

Every ``/v1`` request goes through the same gate, in the real API's order: bearer-token check
(401 ``invalid_api_key``), then injected faults (latency, stalls, 429 with ``Retry-After``, 500),
then the handler. Admin endpoints under ``/_emulator`` skip both, so a test can always reach them:

* ``GET  /_emulator/health``  → ``{"ok": true}``
* ``GET  /_emulator/faults``  → the current :class:`FaultConfig`
* ``POST /_emulator/faults``  → partial update, e.g. ``{"http_429_next": 2}``; returns the result
* ``GET  /_emulator/walls``   → the current :class:`WallConfig` (token limits, file TTL, storage cap,
  Anthropic's queue limits, results TTL and size limit)
* ``POST /_emulator/walls``   → partial update, e.g. ``{"enqueued_token_limits": {"gpt-4o": 90000}}``
* ``GET  /_emulator/keys``    → ``{"mode": "any" | "listed" | "revoked", "keys": [masked, ...]}``
* ``POST /_emulator/keys``    → ``{"keys": [...]}`` (null = any), ``{"add"|"remove": [...]}``,
  ``{"revoked": true | false}``; effective for the very next request
* ``GET  /_emulator/stats``   → counters, storage, enqueued tokens (current and peak per model) and
  every batch with its custom_ids and their results (``?requests=false`` leaves those lists out)
* ``GET  /_emulator/polls``   → ``{"batches": {batch_id: [clock time of each retrieval, ...]}}``, the
  provider-side record of how often each batch was polled (the latest 64 per batch)
* ``POST /_emulator/clock``   → ``{"advance_s": 60}`` moves the emulated clock forward
* ``POST /_emulator/reset``   → forget every file and batch; configured faults, walls and keys again
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from emulator import azure
from emulator.anthropic_api import anthropic_routes
from emulator.config import EmulatorConfig
from emulator.core import ApiError, Emulator
from emulator.sync_api import sync_routes

Handler = Callable[[Request], Awaitable[Response]]
UPLOAD_CHUNK = 1024 * 1024


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(data), status_code=status, media_type="application/json", headers=headers)


def _error(err: ApiError) -> Response:
    return json_response(err.body, err.status, err.headers)


async def _http_exception(request: Request, exc: Exception) -> Response:
    """Unknown paths, wrong methods, unparseable forms: still OpenAI's error shape."""
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    detail = exc.detail if isinstance(exc, HTTPException) else "Internal error"
    message = f"Invalid URL ({request.method} {request.url.path})" if status in (404, 405) else str(detail)
    return _error(ApiError(status, message))


def _int_param(request: Request, name: str, default: int) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ApiError(400, f"Invalid value for '{name}': expected an integer.", param=name) from None


async def _json_body(request: Request) -> dict[str, Any]:
    try:
        data = orjson.loads(await request.body())
    except orjson.JSONDecodeError:
        raise ApiError(400, "We could not parse the JSON body of your request.") from None
    if not isinstance(data, dict):
        raise ApiError(400, "The request body must be a JSON object.")
    return data


class Api:
    """Route handlers bound to one :class:`Emulator`."""

    #: Whose rules the batches created through these routes follow (``emulator.azure``: "azure").
    flavour = "openai"

    def __init__(self, emulator: Emulator) -> None:
        self.emu = emulator

    def _upload_rule(self, expires_after: dict[str, Any] | None) -> None:
        """A flavour's extra rule on an upload's form (Azure requires an expiry)."""

    def _authorised(self, request: Request) -> ApiError | None:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return ApiError(
                401,
                "You didn't provide an API key. You need to provide your API key in an "
                "Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
            )
        return self.emu.keys.check(token.strip())

    def gate(self, handler: Handler) -> Handler:
        async def gated(request: Request) -> Response:
            self.emu.counters[f"http {request.method} {request.url.path.split('/')[2]}"] += 1
            if (denied := self._authorised(request)) is not None:
                self.emu.counters["http_401"] += 1
                return _error(denied)
            fault = self.emu.faults.http_fault()
            if fault.delay_s:
                await asyncio.sleep(fault.delay_s)
            if fault.status is not None:
                async for _ in request.stream():  # drain the upload so the client sees the answer
                    pass
                if fault.status == 429:
                    after = fault.retry_after_s or 0.0
                    return _error(
                        ApiError(
                            429,
                            "Rate limit reached for requests. Please try again later.",
                            type="requests",
                            code="rate_limit_exceeded",
                            headers={"retry-after": f"{after:g}", "retry-after-ms": str(int(after * 1000))},
                        )
                    )
                return _error(
                    ApiError(
                        500,
                        "The server had an error while processing your request. Sorry about that!",
                        type="server_error",
                    )
                )
            try:
                response = await handler(request)
            except ApiError as err:
                return _error(err)
            if fault.lose_response:
                return _error(ApiError(502, "Bad gateway.", type="server_error"))
            return response

        return gated

    # --- files -----------------------------------------------------------------------------

    async def create_file(self, request: Request) -> Response:
        async with request.form(max_files=1, max_fields=8) as form:
            purpose, upload = form.get("purpose"), form.get("file")
            if not isinstance(purpose, str):
                raise ApiError(400, "Missing required parameter: 'purpose'.", param="purpose")
            if not isinstance(upload, UploadFile):
                raise ApiError(400, "Missing required parameter: 'file'.", param="file")
            # the SDK sends the expiry as the form fields expires_after[anchor] / [seconds]
            anchor, seconds = form.get("expires_after[anchor]"), form.get("expires_after[seconds]")
            expires_after = None
            if anchor is not None or seconds is not None:
                expires_after = {"anchor": anchor, "seconds": seconds}
            self._upload_rule(expires_after)
            fh = upload.file
            chunks = iter(lambda: fh.read(UPLOAD_CHUNK), b"")
            return json_response(
                self.emu.upload(
                    filename=upload.filename or "upload",
                    purpose=purpose,
                    chunks=chunks,
                    expires_after=expires_after,
                )
            )

    async def list_files(self, request: Request) -> Response:
        q = request.query_params
        return json_response(
            self.emu.list_files(
                purpose=q.get("purpose"),
                limit=_int_param(request, "limit", 10_000),
                order=q.get("order", "desc"),
                after=q.get("after"),
            )
        )

    async def get_file(self, request: Request) -> Response:
        return json_response(self.emu.get_file(request.path_params["file_id"]))

    async def delete_file(self, request: Request) -> Response:
        return json_response(self.emu.delete_file(request.path_params["file_id"]))

    async def file_content(self, request: Request) -> Response:
        chunks = self.emu.file_content(request.path_params["file_id"])
        return StreamingResponse(chunks, media_type="application/octet-stream")

    # --- batches ---------------------------------------------------------------------------

    async def create_batch(self, request: Request) -> Response:
        return json_response(self.emu.create_batch(await _json_body(request), flavour=self.flavour))

    async def list_batches(self, request: Request) -> Response:
        after = request.query_params.get("after")
        limit = _int_param(request, "limit", 20)
        return json_response(self.emu.list_batches(after=after, limit=limit, flavour=self.flavour))

    async def get_batch(self, request: Request) -> Response:
        return json_response(self.emu.get_batch(request.path_params["batch_id"]))

    async def cancel_batch(self, request: Request) -> Response:
        return json_response(self.emu.cancel_batch(request.path_params["batch_id"]))

    # --- admin -----------------------------------------------------------------------------

    async def health(self, request: Request) -> Response:
        return json_response({"ok": True})

    async def faults(self, request: Request) -> Response:
        if request.method == "POST":
            try:
                self.emu.faults.update(orjson.loads(await request.body() or b"{}"))
            except (orjson.JSONDecodeError, ValidationError, TypeError) as exc:
                return json_response({"error": {"message": str(exc), "type": "invalid_request_error"}}, 422)
        return json_response(self.emu.faults.config.model_dump())

    async def walls(self, request: Request) -> Response:
        if request.method == "POST":
            try:
                self.emu.update_walls(orjson.loads(await request.body() or b"{}"))
            except (orjson.JSONDecodeError, ValidationError, TypeError) as exc:
                return json_response({"error": {"message": str(exc), "type": "invalid_request_error"}}, 422)
        return json_response(self.emu.walls.model_dump())

    async def keys(self, request: Request) -> Response:
        if request.method == "POST":
            try:
                body = orjson.loads(await request.body() or b"{}")
                if not isinstance(body, dict):
                    raise TypeError("the body must be a JSON object")
                self.emu.update_keys(body)
            except (orjson.JSONDecodeError, ValueError, TypeError) as exc:
                return json_response({"error": {"message": str(exc), "type": "invalid_request_error"}}, 422)
        return json_response(self.emu.keys.view())

    async def stats(self, request: Request) -> Response:
        include = request.query_params.get("requests", "true").lower() not in ("0", "false", "no")
        return json_response(self.emu.stats(include_requests=include))

    async def polls(self, request: Request) -> Response:
        return json_response({"batches": self.emu.polls()})

    async def clock(self, request: Request) -> Response:
        body = orjson.loads(await request.body() or b"{}")
        self.emu.advance_clock(float(body.get("advance_s", 0.0)))
        return json_response({"now": self.emu.now(), "offset_s": self.emu.clock_offset})

    async def reset(self, request: Request) -> Response:
        self.emu.reset()
        return json_response({"ok": True})


class AzureApi(Api):
    """The same handlers under ``/openai``, behind Azure's gate and rules (:mod:`emulator.azure`)."""

    flavour = azure.FLAVOUR

    def _authorised(self, request: Request) -> ApiError | None:
        try:
            azure.check_api_version(request.query_params.get("api-version"))
        except ApiError as err:
            return err
        key = request.headers.get("api-key", "").strip()
        if not key:
            return ApiError(
                401,
                "Access denied due to missing subscription key. Make sure to include subscription key "
                "when making requests to an API.",
                code="401",
            )
        return self.emu.keys.check(key)

    def _upload_rule(self, expires_after: dict[str, Any] | None) -> None:
        azure.check_file_expiry(expires_after)


def _file_and_batch_routes(api: Api, root: str) -> list[Route]:
    g = api.gate
    return [
        Route(f"{root}/files", g(api.create_file), methods=["POST"]),
        Route(f"{root}/files", g(api.list_files), methods=["GET"]),
        Route(f"{root}/files/{{file_id}}", g(api.get_file), methods=["GET"]),
        Route(f"{root}/files/{{file_id}}", g(api.delete_file), methods=["DELETE"]),
        Route(f"{root}/files/{{file_id}}/content", g(api.file_content), methods=["GET"]),
        Route(f"{root}/batches", g(api.create_batch), methods=["POST"]),
        Route(f"{root}/batches", g(api.list_batches), methods=["GET"]),
        Route(f"{root}/batches/{{batch_id}}", g(api.get_batch), methods=["GET"]),
        Route(f"{root}/batches/{{batch_id}}/cancel", g(api.cancel_batch), methods=["POST"]),
    ]


def create_app(config: EmulatorConfig, *, emulator: Emulator | None = None) -> Starlette:
    """The ASGI app. ``app.state.emulator`` is the :class:`Emulator`, for in-process inspection."""
    emu = emulator or Emulator(config)
    api = Api(emu)
    routes = [
        *_file_and_batch_routes(api, "/v1"),
        *_file_and_batch_routes(AzureApi(emu), "/openai"),
        *sync_routes(emu, api.gate),
        *anthropic_routes(emu),
        Route("/_emulator/health", api.health, methods=["GET"]),
        Route("/_emulator/faults", api.faults, methods=["GET", "POST"]),
        Route("/_emulator/walls", api.walls, methods=["GET", "POST"]),
        Route("/_emulator/keys", api.keys, methods=["GET", "POST"]),
        Route("/_emulator/stats", api.stats, methods=["GET"]),
        Route("/_emulator/polls", api.polls, methods=["GET"]),
        Route("/_emulator/clock", api.clock, methods=["POST"]),
        Route("/_emulator/reset", api.reset, methods=["POST"]),
    ]
    app = Starlette(routes=routes, exception_handlers={HTTPException: _http_exception})
    app.state.emulator = emu
    return app
