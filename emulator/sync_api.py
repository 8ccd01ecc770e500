"""The emulated synchronous chat completions endpoint (``POST /v1/chat/completions``).

batchline's sync fallback finishes the remainder of an expired or cancelled batch here, one request
per call. The answer is the stand-in model's, built by the same function as a batch output line's body
(``model.chat_completion``), so an answer and its usage do not depend on which path asked. The route
sits behind the OpenAI gate (key ring, injected HTTP faults), and the official ``openai`` SDK's
``client.chat.completions.create`` drives it (contract test). Every call is counted
(``sync_completions`` in ``/_emulator/stats``), so a test can tell the fallback's calls from batches.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Awaitable, Callable

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from emulator.api_errors import ApiError
from emulator.core import Emulator
from emulator.model import chat_completion

Handler = Callable[[Request], Awaitable[Response]]


async def _create(emu: Emulator, request: Request) -> Response:
    try:
        body = orjson.loads(await request.body())
    except orjson.JSONDecodeError:
        raise ApiError(400, "We could not parse the JSON body of your request.") from None
    if not isinstance(body, dict):
        raise ApiError(400, "The request body must be a JSON object.")
    if not isinstance(body.get("model"), str) or not body["model"]:
        raise ApiError(400, "you must provide a model parameter", param="model")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise ApiError(400, "Missing required parameter: 'messages'.", param="messages")
    emu.counters["sync_completions"] += 1
    completion = chat_completion(
        body,
        completion_id=f"chatcmpl-{uuid.uuid4().hex[:24]}",
        created=int(time.time()),
        fast=emu.config.answer_mode == "fast",
    )
    return Response(orjson.dumps(completion), media_type="application/json")


def sync_routes(emu: Emulator, gate: Callable[[Handler], Handler]) -> list[Route]:
    """The endpoint, wrapped in the OpenAI gate of the app (``Api.gate``)."""

    async def create(request: Request) -> Response:
        return await _create(emu, request)

    return [Route("/v1/chat/completions", gate(create), methods=["POST"])]
