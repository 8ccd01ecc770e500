"""The official ``openai`` SDK's ``client.chat.completions.create`` drives the emulator's sync endpoint.

The sync fallback sends the body a batch line carries to ``POST /v1/chat/completions``; if the SDK can
create a completion with that body (structured output included), parse it into its own types, and
raises its typed errors for a bad key and a body without a model, the endpoint speaks the API well
enough for the fallback's tests to mean something. Its answer and usage are the stand-in model's, the
same as a batch output line's for the same body.
"""

from __future__ import annotations

from collections.abc import Iterator

import openai
import orjson
import pytest
from pydantic import SecretStr

from emulator.config import EmulatorConfig
from emulator.model import chat_completion
from emulator.server import EmulatorServer
from services.ingester.fallback import answer_outcome
from shared.analysis import SESSION_FIELDS, ProcessingType, chat_body

KEY = "sk-test-sync-0123456789abcdefXYZ"
CONVERSATION = "user: I need to change my shift schedule next week.\nassistant: Sure, I can help."


@pytest.fixture
def server() -> Iterator[EmulatorServer]:
    with EmulatorServer(EmulatorConfig(port=0, stage_s=0.1, seed=3, api_key=SecretStr(KEY))) as srv:
        yield srv


def sdk(server: EmulatorServer, key: str = KEY) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.base_url, api_key=key, max_retries=0, timeout=10)


def test_the_sdk_creates_a_completion_from_a_batch_lines_body(server: EmulatorServer) -> None:
    body = chat_body(ProcessingType.FULL_ANALYSIS, "gpt-4o-mini", CONVERSATION)
    completion = sdk(server).chat.completions.create(**body)

    assert completion.object == "chat.completion"
    assert completion.model == "gpt-4o-mini"
    (choice,) = completion.choices
    assert choice.finish_reason == "stop" and choice.message.role == "assistant"
    answer = orjson.loads(choice.message.content or "")
    assert set(answer) == set(SESSION_FIELDS[ProcessingType.FULL_ANALYSIS])
    # The same answer and usage as the stand-in writes into a batch output line for this body.
    line_body = chat_completion(body, completion_id="x", created=0)
    assert orjson.loads(line_body["choices"][0]["message"]["content"]) == answer
    assert completion.usage is not None
    assert completion.usage.prompt_tokens == line_body["usage"]["prompt_tokens"]
    assert completion.usage.completion_tokens == line_body["usage"]["completion_tokens"]
    # And the ingester's line parser accepts it as a good answer of that processing type.
    outcome = answer_outcome("r-1", ProcessingType.FULL_ANALYSIS, completion.model_dump())
    assert outcome.ok and outcome.fields == answer


def test_a_bad_key_and_a_body_without_a_model_raise_the_sdks_errors(server: EmulatorServer) -> None:
    with pytest.raises(openai.AuthenticationError):
        sdk(server, key="sk-wrong-key-0123456789").chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
        )
    with pytest.raises(openai.BadRequestError):
        sdk(server).chat.completions.create(model="", messages=[{"role": "user", "content": "hi"}])
