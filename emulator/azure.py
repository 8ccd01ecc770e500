"""Azure OpenAI global batch on the emulator: the same files and batches under ``/openai``, Azure's walls.

A request reaches the Azure flavour by its path (``/openai/files``, ``/openai/batches``: what the
official ``AzureOpenAI`` client calls) and must carry ``api-version`` and the ``api-key`` header.
What differs from OpenAI (Azure's how-to and limits pages; see ``/work/shared/notes`` for sources):

* line ``url`` and batch ``endpoint`` ``/chat/completions``; ``model`` is a deployment name, one per
  file; violations are ``url_mismatch`` / ``model_mismatch`` (``duplicate_custom_id`` as at OpenAI);
* up to 100,000 requests per file (``too_many_tasks`` beyond);
* an input file *must* expire, 1,209,600-2,592,000 s after creation (400 otherwise);
* jobs do not expire at 24 h: they run until they end or are cancelled;
* a successful job still has an error file, empty;
* the enqueued-token quota is checked at create: 400 ``token_limit_exceeded``, no batch made.

The 400 bodies for a missing ``api-version`` and a missing expiry follow Azure's error shape;
their exact wording is *unverified*.
"""

from __future__ import annotations

from typing import Any

from emulator.api_errors import ApiError

FLAVOUR = "azure"
AZURE_ENDPOINT = "/chat/completions"
MAX_REQUESTS_PER_FILE = 100_000
MIN_FILE_TTL_S, MAX_FILE_TTL_S = 1_209_600, 2_592_000
#: "Does not expire": a job's expiry is put this far out, past any test's clock.
NO_EXPIRY_S = 10 * 365 * 86_400.0
#: Azure's spelling of the line rules OpenAI names ``invalid_url`` / ``mismatched_model``.
LINE_CODES = {"invalid_url": "url_mismatch", "mismatched_model": "model_mismatch"}


def check_api_version(version: str | None) -> None:
    if not version:
        raise ApiError(
            404, "Resource not found: the api-version query parameter is required.", code="404"
        )


def check_file_expiry(expires_after: dict[str, Any] | None) -> None:
    """Azure batch files must expire (``expires_after``), within its range."""
    seconds = (expires_after or {}).get("seconds")
    try:
        value = int(seconds) if seconds is not None else None
    except (TypeError, ValueError):
        value = None
    if value is None or not MIN_FILE_TTL_S <= value <= MAX_FILE_TTL_S:
        raise ApiError(
            400,
            f"Batch input files require expires_after with seconds between {MIN_FILE_TTL_S} and "
            f"{MAX_FILE_TTL_S}.",
            param="expires_after",
            code="invalidPayload",
        )


def token_limit_refusal(error: dict[str, Any]) -> ApiError:
    """The create-time refusal carrying what OpenAI would have put in the failed batch's errors."""
    return ApiError(400, str(error["message"]), param=None, code="token_limit_exceeded")
