"""What the providers' batch APIs accept: their documented hard limits and the names batchline routes by.

Constants, not settings: the emulator enforces the same numbers and the settings' own bounds derive
from them.
"""

from __future__ import annotations

from typing import Literal

#: Hard limits of OpenAI's Batch API (documented; the emulator enforces the same numbers).
PROVIDER_MAX_REQUESTS_PER_FILE = 50_000
#: Azure OpenAI global batch takes twice as many requests per file (``too_many_tasks`` beyond).
AZURE_MAX_REQUESTS_PER_FILE = 100_000
#: Azure requires an expiry on batch input files, within this range (seconds).
AZURE_FILE_TTL_RANGE_S = (1_209_600, 2_592_000)
#: Requests per file each provider accepts; the setting's own bound is the largest of them.
MAX_REQUESTS_PER_FILE: dict[str, int] = {
    "openai": PROVIDER_MAX_REQUESTS_PER_FILE,
    "azure": AZURE_MAX_REQUESTS_PER_FILE,
    "anthropic": 100_000,
}
ProviderName = Literal["openai", "anthropic", "azure"]
EndpointName = Literal["chat_completions", "responses"]
PROVIDER_MAX_FILE_BYTES = 200 * 1024 * 1024

#: The only completion window the OpenAI Batch API accepts, in seconds.
WINDOW_24H_S = 86_400

#: OpenAI's tier-1 batch queue limits (enqueued input tokens per model and organisation).
DEFAULT_ENQUEUED_TOKEN_LIMITS: dict[str, int] = {"gpt-4o-mini": 2_000_000, "gpt-4o": 90_000}
