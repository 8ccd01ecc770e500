"""The batch file's line encoder writes exactly the line the whole-document encoding gives."""

from __future__ import annotations

import uuid

import orjson
import pytest

from services.submitter.batch_file import LineEncoder, encode_line
from shared.analysis import ProcessingType, chat_body
from shared.provider.base import BATCH_ENDPOINT

CONVERSATIONS = [
    "",
    "user: hello\nassistant: hi",
    'user: a "quoted" word, a \\ backslash and a tab\there',
    "user: zażółć gęślą jaźń 日本語 😀",
    "user: \x00batchline-conversation\x00 looks like the stand-in",
    "user: \x00batchline-custom-id\x00 too",
]


@pytest.mark.parametrize("ptype", list(ProcessingType))
@pytest.mark.parametrize("conversation", CONVERSATIONS)
def test_lines_are_the_bytes_of_the_whole_document(ptype: ProcessingType, conversation: str) -> None:
    encoder = LineEncoder()
    request_id = uuid.UUID("12345678-1234-5678-1234-567812345678")
    line = encoder.encode(request_id, ptype, "gpt-4o-mini", conversation)
    assert line == encode_line(request_id, ptype, "gpt-4o-mini", conversation)
    assert orjson.loads(line) == {
        "custom_id": "12345678-1234-5678-1234-567812345678",
        "method": "POST",
        "url": BATCH_ENDPOINT,
        "body": chat_body(ptype, "gpt-4o-mini", conversation),
    }
    assert line.endswith(b"}\n") and line.count(b"\n") == 1


def test_one_encoder_keeps_models_and_types_apart() -> None:
    encoder = LineEncoder()
    first = uuid.uuid4()
    a = orjson.loads(encoder.encode(first, ProcessingType.SUMMARY, "gpt-4o", "user: x"))
    b = orjson.loads(encoder.encode(first, ProcessingType.FULL_ANALYSIS, "gpt-4o-mini", "user: y"))
    assert (a["body"]["model"], b["body"]["model"]) == ("gpt-4o", "gpt-4o-mini")
    assert a["body"]["response_format"] == chat_body(ProcessingType.SUMMARY, "m", "")["response_format"]
    assert b["body"]["messages"][1] == {"role": "user", "content": "user: y"}
