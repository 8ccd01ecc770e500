"""The shape of one batch-file line per model: which URL, which ``model`` string, which body.

The submitter writes provider-neutral requests (a processing type and a conversation); what a line
looks like depends on where the model runs (``BATCHLINE_MODEL_PROVIDERS``) and which OpenAI endpoint it
uses (``BATCHLINE_MODEL_ENDPOINTS``):

* OpenAI chat completions: url ``/v1/chat/completions``, ``model`` the model name;
* OpenAI Responses: url ``/v1/responses``, the body in the Responses shape (``input``, ``text.format``);
* Azure OpenAI global batch: url ``/chat/completions`` (no version segment) and ``model`` the
  *deployment* name, the same on every line of a file (the submitter groups per (company, model)).

The URL also tells the router, from a file's first line alone, that an upload goes to Azure.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from shared.analysis import ProcessingType, chat_body, responses_body
from shared.provider.base import BATCH_ENDPOINT
from shared.settings import EndpointName, Settings

RESPONSES_ENDPOINT = "/v1/responses"
#: Azure's line url and batch endpoint: relative to its ``/openai`` root, without ``/v1``.
AZURE_ENDPOINT = "/chat/completions"
#: Batch metadata key naming the endpoint of a batch whose lines are not chat completions. The
#: submitter recomputes it from the model on every attempt, so a resumed submission sends the same.
ENDPOINT_KEY = "batchline_endpoint"


@dataclass(frozen=True, slots=True)
class LineShape:
    url: str
    #: What the line's ``body.model`` says (the deployment name at Azure).
    model: str
    endpoint: EndpointName = "chat_completions"

    def body(self, ptype: ProcessingType, conversation: str) -> dict[str, Any]:
        if self.endpoint == "responses":
            return responses_body(ptype, self.model, conversation)
        return chat_body(ptype, self.model, conversation)


def default_shape(model: str) -> LineShape:
    """OpenAI chat completions: the shape of every model no setting says otherwise about."""
    return LineShape(BATCH_ENDPOINT, model)


def line_shape(settings: Settings, model: str) -> LineShape:
    if settings.provider_of(model) == "azure":
        return LineShape(AZURE_ENDPOINT, settings.azure_deployments[model])
    if settings.endpoint_of(model) == "responses":
        return LineShape(RESPONSES_ENDPOINT, model, "responses")
    return default_shape(model)


def shape_resolver(settings: Settings) -> Callable[[str], LineShape]:
    """``line_shape`` bound to ``settings`` (the submitter's file writer takes a function of the model)."""

    def shape_of(model: str) -> LineShape:
        return line_shape(settings, model)

    return shape_of


def batch_metadata(shape: LineShape, local_batch_id: str, local_key: str) -> dict[str, str]:
    """The metadata of a batch create: our id, and the endpoint when it is not the adapter's default."""
    meta = {local_key: local_batch_id}
    if shape.endpoint == "responses":
        meta[ENDPOINT_KEY] = shape.url
    return meta
