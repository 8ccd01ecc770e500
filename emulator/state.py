"""The emulator's records (files, batches) and where they live: memory, or a directory.

With ``state_dir`` set every record is written through as one JSON file and every file's bytes as
one blob, so a restarted emulator serves the same files and carries on with the same batches (the
lifecycle is derived from timestamps, so a batch that "ran" while the emulator was down is simply
further along). The emulator's other runtime state (accepted keys, walls, token peaks, clock
offset) is one more JSON file, ``walls.json``, written by :meth:`Store.save_meta`; it holds the
accepted keys in clear, as a test double's state may. Without it nothing touches the disk.

Writes are small and synchronous: the emulator is a test double on one event loop, and a plain
write-then-rename keeps every file readable after a crash at any point.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

READ_CHUNK = 64 * 1024


@dataclass(slots=True)
class FileRecord:
    id: str
    bytes: int
    created_at: int
    filename: str
    purpose: str
    expires_at: int | None = None
    #: Batch creations still to answer "Cannot find file" (upload race fault).
    race_lookups_left: int = 0
    #: Deleted (or expired) through the API but kept until the batches reading it have finished.
    deleted: bool = False
    #: When the file stops existing, to the fraction of a second (``expires_at`` is whole seconds
    #: and a compressed clock needs finer); None = never.
    expiry: float | None = None

    def expired(self, now: float) -> bool:
        return self.expiry is not None and now >= self.expiry

    def to_api(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "object": "file",
            "bytes": self.bytes,
            "created_at": self.created_at,
            "filename": self.filename,
            "purpose": self.purpose,
            "status": "processed",
        }
        if self.expires_at is not None:
            out["expires_at"] = self.expires_at
        return out


@dataclass(slots=True)
class BatchRecord:
    """A batch as created, plus what its end produced. The current status is derived, not stored."""

    id: str
    seq: int
    input_file_id: str
    endpoint: str
    completion_window: str
    metadata: dict[str, str] | None
    created_at: float
    expires_at: float
    #: "run" (process the lines), "fail" (validation errors), "expire" (fault: expire part-way).
    plan: str
    errors: list[dict[str, Any]] = field(default_factory=list)
    model: str | None = None
    custom_ids: list[str] = field(default_factory=list)
    #: Per input line: "ok", "error", "not_json" or "off_schema".
    outcomes: list[str] = field(default_factory=list)
    #: Processing order: indices into the input lines; the output file follows it.
    order: list[int] = field(default_factory=list)
    expire_fraction: float = 1.0
    prompt_tokens: int = 0
    cancel_at: float | None = None
    #: ``output_expires_after.seconds``: output/error files expire this long after their creation.
    output_expires_s: int | None = None
    # --- set once, when the batch is first seen in a terminal state -------------------------
    final_status: str | None = None
    output_file_id: str | None = None
    error_file_id: str | None = None
    usage: dict[str, Any] | None = None
    #: custom_id -> succeeded | malformed | failed | expired | cancelled.
    results: dict[str, str] | None = None
    #: Deleted through the API (Anthropic's delete of an ended batch): gone for clients, kept in the
    #: admin stats so tests still account for every batch that ran.
    deleted: bool = False
    #: "openai" or "azure" (the path it was created through: ``emulator.azure``'s rules).
    flavour: str = "openai"

    @property
    def total(self) -> int:
        return len(self.custom_ids)


class Store:
    """Files, blobs and batches, optionally mirrored to ``state_dir``."""

    def __init__(self, state_dir: Path | None = None) -> None:
        self.files: dict[str, FileRecord] = {}
        self.batches: dict[str, BatchRecord] = {}
        self.counters: dict[str, int] = {"file": 0, "batch": 0, "request": 0}
        self.meta: dict[str, dict[str, Any]] = {}
        self._blobs: dict[str, bytes] = {}
        self._dir = state_dir
        if state_dir is not None:
            for sub in ("files", "blobs", "batches"):
                (state_dir / sub).mkdir(parents=True, exist_ok=True)
            self._load(state_dir)

    # --- persistence -----------------------------------------------------------------------

    def _load(self, root: Path) -> None:
        if (meta := root / "counters.json").exists():
            self.counters.update(orjson.loads(meta.read_bytes()))
        if (walls := root / "walls.json").exists():
            self.meta["walls"] = orjson.loads(walls.read_bytes())
        files = [FileRecord(**orjson.loads(p.read_bytes())) for p in (root / "files").glob("*.json")]
        for file_rec in sorted(files, key=lambda f: (f.created_at, f.id)):
            self.files[file_rec.id] = file_rec
        batches = [BatchRecord(**orjson.loads(p.read_bytes())) for p in (root / "batches").glob("*.json")]
        for rec in sorted(batches, key=lambda b: b.seq):
            self.batches[rec.id] = rec

    @staticmethod
    def _write(path: Path, data: bytes) -> None:
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_bytes(data)
        os.replace(tmp, path)

    def save_file(self, rec: FileRecord) -> None:
        self.files[rec.id] = rec
        if self._dir is not None:
            self._write(self._dir / "files" / f"{rec.id}.json", orjson.dumps(dataclasses.asdict(rec)))

    def save_batch(self, rec: BatchRecord) -> None:
        self.batches[rec.id] = rec
        if self._dir is not None:
            self._write(self._dir / "batches" / f"{rec.id}.json", orjson.dumps(dataclasses.asdict(rec)))

    def save_meta(self, name: str, data: dict[str, Any]) -> None:
        """State of the emulator beside the records (keys, walls, peaks, clock), one JSON file."""
        self.meta[name] = data
        if self._dir is not None:
            self._write(self._dir / f"{name}.json", orjson.dumps(data))

    def next_number(self, kind: str) -> int:
        self.counters[kind] = self.counters.get(kind, 0) + 1
        if self._dir is not None:
            self._write(self._dir / "counters.json", orjson.dumps(self.counters))
        return self.counters[kind]

    # --- blobs -----------------------------------------------------------------------------

    def put_blob(self, file_id: str, chunks: Iterable[bytes]) -> int:
        """Store a file's bytes; returns their count."""
        if self._dir is None:
            data = b"".join(chunks)
            self._blobs[file_id] = data
            return len(data)
        size = 0
        path = self._dir / "blobs" / file_id
        tmp = path.with_suffix(".tmp")
        with tmp.open("wb") as fh:
            for chunk in chunks:
                fh.write(chunk)
                size += len(chunk)
        os.replace(tmp, path)
        return size

    def read_blob(self, file_id: str) -> bytes:
        if self._dir is None:
            return self._blobs[file_id]
        return (self._dir / "blobs" / file_id).read_bytes()

    def iter_blob(self, file_id: str, chunk: int = READ_CHUNK) -> Iterator[bytes]:
        """A file's bytes in chunks, never the whole file at once (beyond what memory holds anyway)."""
        if self._dir is None:
            view = memoryview(self._blobs[file_id])
            for start in range(0, len(view), chunk):
                yield bytes(view[start : start + chunk])
            return
        with (self._dir / "blobs" / file_id).open("rb") as fh:
            while data := fh.read(chunk):
                yield data

    def drop_file(self, file_id: str) -> None:
        self.files.pop(file_id, None)
        self._blobs.pop(file_id, None)
        if self._dir is not None:
            (self._dir / "files" / f"{file_id}.json").unlink(missing_ok=True)
            (self._dir / "blobs" / file_id).unlink(missing_ok=True)

    def clear(self) -> None:
        for file_id in list(self.files):
            self.drop_file(file_id)
        for batch_id in list(self.batches):
            self.batches.pop(batch_id)
            if self._dir is not None:
                (self._dir / "batches" / f"{batch_id}.json").unlink(missing_ok=True)
