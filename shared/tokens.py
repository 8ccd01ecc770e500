"""Input-token estimates, for admission against the provider's enqueued-token limit.

The provider counts the prompt tokens of every unfinished batch per organisation and model and fails
a batch at validation once the sum would pass the limit (``token_limit_exceeded``). We must know a
batch's tokens *before* submitting it, without a tokenizer (tiktoken fetches its encodings over the
network at run time, and each provider tokenizes differently anyway).

The estimate is linear in the encoded request line: ``tokens = ceil(bytes * rate)``. The rate starts
at a deliberately high prior (:data:`PRIOR_TOKENS_PER_BYTE`: BPE tokenizers give about 0.25 tokens per
byte of English and up to about 0.45 for Greek or Cyrillic, whose letters take two bytes) and is then
calibrated per model from what the provider reports: the ``prompt_tokens`` of completed requests over
their line bytes, shrunk towards the prior while evidence is thin, and multiplied by a safety margin so
that an estimate errs on the side of admitting too little.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

PRIOR_TOKENS_PER_BYTE = 0.5
#: How many bytes of evidence the prior is worth: below this, observations move the rate only partly.
PRIOR_WEIGHT_BYTES = 200_000
#: Estimates are this much above the calibrated rate (a batch's mix can differ from the history's).
SAFETY_MARGIN = 1.1


@dataclass(frozen=True, slots=True)
class TokenRate:
    """Tokens per byte of a request line for one model."""

    tokens_per_byte: float = PRIOR_TOKENS_PER_BYTE * SAFETY_MARGIN

    def estimate(self, line_bytes: int) -> int:
        # The epsilon keeps float noise (385.00000000000006) from adding a token to exact products.
        return math.ceil(line_bytes * self.tokens_per_byte - 1e-9) if line_bytes > 0 else 0


def calibrated_rate(
    observed_tokens: int,
    observed_bytes: int,
    *,
    prior: float = PRIOR_TOKENS_PER_BYTE,
    prior_weight_bytes: int = PRIOR_WEIGHT_BYTES,
    margin: float = SAFETY_MARGIN,
) -> TokenRate:
    """The rate learned from provider usage: a weighted mean of the prior and the observations."""
    if observed_tokens < 0 or observed_bytes < 0:
        raise ValueError("observed tokens and bytes cannot be negative")
    weighted = (observed_tokens + prior * prior_weight_bytes) / (observed_bytes + prior_weight_bytes)
    return TokenRate(weighted * margin)
