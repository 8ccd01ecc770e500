"""``batchline files orphans``: our files nothing needs are found (and deleted); nobody else's are touched."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from cli.files import _orphans, find_orphans
from shared.provider.base import ProviderFile
from shared.provider.openai import build_provider
from shared.settings import Settings


def _file(id_: str, name: str, created_at: int = 0) -> ProviderFile:
    return ProviderFile(id=id_, bytes=10, filename=name, purpose="batch", created_at=created_at)


def test_the_rules_for_an_orphan() -> None:
    files = [
        _file("f-done", "batchline-a.jsonl"),  # named by a processed batch only
        _file("f-live", "batchline-b.jsonl"),  # named by a batch still in flight
        _file("f-lost", "batchline-c.jsonl", created_at=1_000),  # our upload, no batch, old
        _file("f-young", "batchline-d.jsonl", created_at=9_500),  # our upload, no batch, may be in flight
        _file("f-other", "someone-else.jsonl"),  # not ours
        _file("f-out", "batch_x_output.jsonl"),  # output of a processed batch of ours
    ]
    refs = {"f-done": True, "f-live": False, "f-out": True}
    found = find_orphans(files, refs, now=10_000, min_age_s=3_600)
    assert [(o.file.id, o.reason) for o in found] == [
        ("f-done", "its batch is processed"),
        ("f-lost", "uploaded by batchline, no batch names it"),
        ("f-out", "its batch is processed"),
    ]


async def test_orphans_are_deleted_at_the_provider(
    make_settings: Callable[..., Settings], engine: AsyncEngine, tmp_path: Path
) -> None:
    settings = make_settings()
    source = tmp_path / "in.jsonl"
    source.write_bytes(b"{}\n")
    async with build_provider(settings) as provider:
        done = await provider.upload_file(source, filename="batchline-done.jsonl")
        live = await provider.upload_file(source, filename="batchline-live.jsonl")
        lost = await provider.upload_file(source, filename="batchline-lost.jsonl")
        other = await provider.upload_file(source, filename="not-ours.jsonl")
    async with engine.begin() as conn:
        for file_id, status in ((done.id, "PROCESSED"), (live.id, "IN_PROGRESS")):
            await conn.execute(
                text(
                    "INSERT INTO provider_batches (id, company_id, model, provider, status, request_count, "
                    "poll_count, submit_attempts, input_file_id) VALUES (:id, 'acme', 'm', 'openai', :s, 1, 0, 1, :f)"
                ),
                {"id": uuid.uuid4(), "s": status, "f": file_id},
            )

    listed, deleted = await _orphans(settings, min_age_s=0, delete=False)
    assert sorted(o.file.id for o in listed) == sorted([done.id, lost.id])
    assert deleted == 0

    _, deleted = await _orphans(settings, min_age_s=0, delete=True)
    assert deleted == 2
    async with build_provider(settings) as provider:
        remaining = {f.id async for f in provider.list_files()}
    assert remaining == {live.id, other.id}
