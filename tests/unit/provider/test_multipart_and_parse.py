"""The streamed multipart body parses like any other, and API objects parse with nulls or absences."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import orjson
import pytest
from pydantic import SecretStr
from starlette.datastructures import Headers, UploadFile
from starlette.formparsers import MultiPartParser

from shared.provider.multipart import MultipartUpload
from shared.provider.openai import OpenAIBatchProvider
from shared.provider.parse import parse_batch, parse_file

PAYLOAD = b'{"custom_id": "a"}\n' * 5000


def _source(chunk: int = 4096) -> AsyncIterator[bytes]:
    async def gen() -> AsyncIterator[bytes]:
        for start in range(0, len(PAYLOAD), chunk):
            yield PAYLOAD[start : start + chunk]

    return gen()


async def _body(upload: MultipartUpload) -> bytes:
    return b"".join([chunk async for chunk in upload])


async def _parse(upload: MultipartUpload, body: bytes) -> tuple[str, str, bytes]:
    async def stream() -> AsyncIterator[bytes]:
        yield body

    headers = Headers({"content-type": upload.content_type})
    form = await MultiPartParser(headers, stream()).parse()
    file = form["file"]
    assert isinstance(file, UploadFile)
    return str(form["purpose"]), str(file.filename), await file.read()


async def test_body_parses_back_and_has_the_announced_length() -> None:
    upload = MultipartUpload(
        _source, filename='we"ird\r\nname.jsonl', size=len(PAYLOAD), fields={"purpose": "batch"}
    )
    body = await _body(upload)
    assert len(body) == upload.content_length
    assert upload.headers()["Content-Length"] == str(len(body))
    purpose, filename, content = await _parse(upload, body)
    assert (purpose, content) == ("batch", PAYLOAD)
    assert "\r" not in filename
    assert '"' not in filename
    assert await _body(upload) == body  # re-iterable: each retry re-opens the source


async def test_unknown_size_has_no_content_length() -> None:
    upload = MultipartUpload(_source, filename="a.jsonl", size=None, fields={"purpose": "batch"})
    assert "Content-Length" not in upload.headers()
    assert (await _parse(upload, await _body(upload)))[2] == PAYLOAD


async def test_a_source_that_changed_size_is_refused() -> None:
    upload = MultipartUpload(_source, filename="a.jsonl", size=len(PAYLOAD) + 1, fields={"purpose": "batch"})
    with pytest.raises(ValueError, match="expected"):
        await _body(upload)


def test_parse_batch_with_nulls_and_absences() -> None:
    real = {
        "id": "batch_1", "object": "batch", "status": "failed", "input_file_id": "file-1",
        "output_file_id": None, "error_file_id": None, "created_at": 10, "expires_at": None,
        "request_counts": None, "metadata": None,
        "errors": {"object": "list", "data": [{"code": "token_limit_exceeded", "message": "m", "line": None,
                                               "param": None}]},
    }  # fmt: skip
    batch = parse_batch(real)
    assert (batch.output_file_id, batch.expires_at, batch.metadata) == (None, None, {})
    assert batch.errors[0].code == "token_limit_exceeded"
    assert batch.errors[0].line is None
    assert batch.request_counts.total == 0
    assert batch.is_terminal
    minimal = parse_batch({"id": "batch_2", "status": "validating", "metadata": {"batchline_batch_id": "7"}})
    assert minimal.local_batch_id == "7"
    assert minimal.raw["id"] == "batch_2"


def test_parse_batch_reads_the_billed_usage_and_tolerates_its_absence() -> None:
    billed = parse_batch({"id": "b", "status": "cancelled", "usage": {"input_tokens": 120, "output_tokens": 30,
                                                                       "total_tokens": 150}})  # fmt: skip
    assert billed.usage is not None and (billed.usage.input_tokens, billed.usage.output_tokens) == (120, 30)
    for usage in (None, "nonsense"):  # no usage object: none reported (not a batch that used nothing)
        assert parse_batch({"id": "b", "status": "in_progress", "usage": usage}).usage is None
    odd = parse_batch({"id": "b", "status": "in_progress", "usage": {"input_tokens": "12", "output_tokens": None}})
    assert odd.usage is not None and (odd.usage.input_tokens, odd.usage.output_tokens) == (0, 0)


def test_parse_file() -> None:
    f = parse_file({"id": "file-1", "bytes": 3, "filename": "a.jsonl", "purpose": "batch", "created_at": 5})
    assert (f.id, f.bytes, f.filename, f.purpose, f.created_at) == ("file-1", 3, "a.jsonl", "batch", 5)


async def test_uploads_and_batches_carry_the_configured_expiries(tmp_path: Path) -> None:
    """Without expiries the provider keeps batch files 30 days against the storage cap."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path.endswith("/files"):
            return httpx.Response(
                200, json={"id": "file-1", "bytes": 3, "filename": "in.jsonl", "purpose": "batch", "created_at": 1}
            )
        return httpx.Response(
            200,
            json={"id": "batch_1", "status": "validating", "input_file_id": "file-1", "created_at": 1,
                  "request_counts": {"total": 0, "completed": 0, "failed": 0}},
        )  # fmt: skip

    source = tmp_path / "in.jsonl"
    source.write_bytes(b"{}\n")
    provider = OpenAIBatchProvider(
        base_url="http://provider/v1",
        api_key=SecretStr("sk-x"),
        transport=httpx.MockTransport(handler),
        file_ttl_s=172_800,
        output_ttl_s=604_800,
    )
    async with provider:
        await provider.upload_file(source)
        await provider.create_batch("file-1", metadata={})
    upload, create = seen
    form = upload.content.decode()
    assert 'name="expires_after[anchor]"\r\n\r\ncreated_at\r\n' in form
    assert 'name="expires_after[seconds]"\r\n\r\n172800\r\n' in form
    assert orjson.loads(create.content)["output_expires_after"] == {"anchor": "created_at", "seconds": 604_800}
