"""The Files endpoints of the emulated API, with their walls: expiry and the organisation's storage.

A mixin of :class:`emulator.core.Emulator`, which supplies the store, the clock and the walls; kept
apart so the batch rules in :mod:`.core` and the file rules here each stay readable.

* Expiry: ``expires_after`` on upload, ``output_expires_after`` of the batch for its result files
  (anchored at the file's creation, as the spec says), the 30-day default of batch files, and the
  emulator-wide ``output_file_ttl_s`` (result files expire that long after their batch *ended*,
  on the emulator clock). An expired file is gone: 404 on read, absent from the list, its room
  freed; its bytes are kept only while a running batch still reads it, as for a deleted file.
* Storage: uploads over ``max_files`` / ``max_storage_bytes`` are refused; deleting frees room.
  Result files are written whatever the cap (the service does not fail a batch over it).
"""

from __future__ import annotations

import secrets
from collections import Counter
from collections.abc import Iterable, Iterator
from typing import Any

from emulator.api_errors import ApiError
from emulator.config import EmulatorConfig, WallConfig
from emulator.faults import FaultInjector
from emulator.objects import by_creation, paginate
from emulator.state import BatchRecord, FileRecord, Store
from emulator.walls import expiry_seconds, storage_error

FILE_PURPOSES = frozenset({"assistants", "batch", "fine-tune", "vision", "user_data", "evals"})
#: Files with purpose batch (and batch results) expire after 30 days unless told otherwise.
BATCH_FILE_TTL_S = 30 * 86_400
_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def file_id() -> str:
    return "file-" + "".join(secrets.choice(_ALPHABET) for _ in range(22))


def not_found(kind: str, object_id: str, param: str = "id") -> ApiError:
    return ApiError(404, f"No such {kind} object: {object_id}", param=param)


class FileOps:
    store: Store
    config: EmulatorConfig
    walls: WallConfig
    faults: FaultInjector
    counters: Counter[str]

    def now(self) -> float:
        raise NotImplementedError

    def refresh_all(self) -> None:
        raise NotImplementedError

    def upload(
        self,
        *,
        filename: str,
        purpose: str,
        chunks: Iterable[bytes],
        expires_after: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        if purpose not in FILE_PURPOSES:
            raise ApiError(
                400, f"'{purpose}' is not one of {sorted(FILE_PURPOSES)} - 'purpose'", param="purpose"
            )
        if purpose == "batch" and not filename.endswith(".jsonl"):
            raise ApiError(400, "Invalid file format for Batch API. Must be .jsonl", param="file")
        ttl: int | None = BATCH_FILE_TTL_S if purpose == "batch" else None
        if expires_after is not None:
            ttl = expiry_seconds(expires_after.get("anchor"), expires_after.get("seconds"), "expires_after")
        self.purge_expired()
        new_id = file_id()
        size = self.store.put_blob(new_id, chunks)
        if size > self.config.max_upload_bytes:
            self.store.drop_file(new_id)
            raise ApiError(
                413, f"File is too large: {size} bytes, the limit is {self.config.max_upload_bytes}."
            )
        files, used = self.storage_used()
        refused = storage_error(
            files=files, used=used, size=size, max_files=self.walls.max_files,
            max_bytes=self.walls.max_storage_bytes,
        )  # fmt: skip
        if refused is not None:
            self.store.drop_file(new_id)
            self.counters["uploads_refused_storage"] += 1
            raise refused
        created = int(self.now())
        rec = FileRecord(
            id=new_id,
            bytes=size,
            created_at=created,
            filename=filename,
            purpose=purpose,
            expires_at=created + ttl if ttl is not None else None,
            race_lookups_left=self.faults.take_upload_race(),
            expiry=float(created + ttl) if ttl is not None else None,
        )
        self.store.save_file(rec)
        self.counters["files_uploaded"] += 1
        return rec.to_api()

    def storage_used(self) -> tuple[int, int]:
        """Files and bytes the organisation holds (deleted and expired files no longer count)."""
        held = [f for f in self.store.files.values() if not f.deleted]
        return len(held), sum(f.bytes for f in held)

    def purge_expired(self) -> None:
        now = self.now()
        for rec in list(self.store.files.values()):
            if not rec.deleted and rec.expired(now):
                self._remove(rec)
                self.counters["files_expired"] += 1

    def _file(self, file_id: str) -> FileRecord:
        rec = self.store.files.get(file_id)
        if rec is not None and not rec.deleted and rec.expired(self.now()):
            self._remove(rec)
            self.counters["files_expired"] += 1
            rec = None
        if rec is None or rec.deleted:
            raise not_found("File", file_id)
        return rec

    def _remove(self, rec: FileRecord) -> None:
        if any(b.input_file_id == rec.id and b.final_status is None for b in self.store.batches.values()):
            rec.deleted = True  # keep the bytes until the batch reading them has ended
            self.store.save_file(rec)
        else:
            self.store.drop_file(rec.id)

    def get_file(self, file_id: str) -> dict[str, Any]:
        self.refresh_all()
        return self._file(file_id).to_api()

    def file_content(self, file_id: str) -> Iterator[bytes]:
        self._file(file_id)
        self.counters["files_downloaded"] += 1
        return self.store.iter_blob(file_id, 256 * 1024)

    def delete_file(self, file_id: str) -> dict[str, Any]:
        self._remove(self._file(file_id))
        return {"id": file_id, "object": "file", "deleted": True}

    def list_files(self, *, purpose: str | None, limit: int, order: str, after: str | None) -> dict[str, Any]:
        if not 1 <= limit <= 10_000:
            raise ApiError(400, "limit must be between 1 and 10000", param="limit")
        if order not in ("asc", "desc"):
            raise ApiError(400, "order must be 'asc' or 'desc'", param="order")
        self.refresh_all()
        self.purge_expired()
        files = [
            f
            for f in self.store.files.values()
            if not f.deleted and (purpose is None or f.purpose == purpose)
        ]
        files = by_creation(files, list(self.store.files), newest_first=order == "desc")
        page, has_more = paginate(files, after, limit)
        return {
            "object": "list",
            "data": [f.to_api() for f in page],
            "first_id": page[0].id if page else "",
            "last_id": page[-1].id if page else "",
            "has_more": has_more,
        }

    def result_file(self, rec: BatchRecord, kind: str, lines: list[bytes], ended: float) -> str:
        """Write an output or error file of ``rec``, which ended at ``ended``; returns its id.

        It expires at the earliest of: creation + ``output_expires_after`` (default 30 days), and
        ``ended`` + ``output_file_ttl_s`` when that wall is on.
        """
        new_id = file_id()
        created = int(ended)
        size = self.store.put_blob(new_id, (line + b"\n" for line in lines))
        expiry = float(created + (rec.output_expires_s or BATCH_FILE_TTL_S))
        if self.walls.output_file_ttl_s is not None:
            expiry = min(expiry, ended + self.walls.output_file_ttl_s)
        self.store.save_file(
            FileRecord(
                id=new_id,
                bytes=size,
                created_at=created,
                filename=f"{rec.id}_{kind}.jsonl",
                purpose="batch_output",
                expires_at=int(expiry),
                expiry=expiry,
            )
        )
        return new_id
