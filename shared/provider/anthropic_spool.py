"""Local state of the Anthropic adapter: pseudo input files, and which local batch a provider batch is.

Anthropic has no file upload and no batch metadata, while the port (OpenAI's shape) has both. Two
small local records bridge that:

* **Pseudo files.** ``upload_file`` copies the submitter's JSONL into the spool directory and returns
  its name as the file id; ``create_batch`` posts it inline and deletes it. The copy only has to live
  from upload to create *in the same process*: a submitter that resumes a batch (another instance, or
  this one after a crash) always rebuilds the file from the database and uploads it again
  (``services.submitter.service``), so no other machine ever needs these bytes, and storing them in
  PostgreSQL would only double the database's write volume for nothing. A pseudo id that is missing
  on create is reported as a transient error: the retry rebuilds and re-uploads it.
* **Links.** Reconciliation finds "our" provider batches by the local batch id in their metadata
  (``services.submitter.duplicates``). Here an *intent* (local batch id, request count, time) is
  appended to ``links.jsonl`` before the create, and the *link* (provider id -> local id) after it;
  a provider batch no link names but matching an open intent (created after it, same request count)
  is attributed to it. That covers a crash between create and link, and an ambiguous create (a
  timeout that did create the batch). The file is per machine: a takeover on another machine finds
  no link and creates a second copy, which the recorded one's ``record_submitted`` race then
  cancels as a duplicate (see ``Submitter._record``) - paid for the lines run before the cancel.
"""

from __future__ import annotations

import os
import secrets
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import orjson

#: An intent older than this is not matched any more (a create never takes so long).
INTENT_TTL_S = 3_600.0
#: Entries kept in the link file: reconciliation looks for a batch while it is being submitted (minutes;
#: a paused circuit can hold a batch for hours), never a week later.
KEEP_S = 7 * 86_400.0
#: Clock skew allowed between our intent's time and the provider's ``created_at``.
SKEW_S = 120.0


@dataclass(frozen=True, slots=True)
class Intent:
    local_id: str
    requests: int
    at: float


class Spool:
    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self._links_path = root / "links.jsonl"
        self.links: dict[str, str] = {}
        self.intents: dict[str, Intent] = {}
        self._load()

    def _load(self) -> None:
        """Replay the link file, then rewrite it without entries past :data:`KEEP_S` (bounded size)."""
        if not self._links_path.exists():
            return
        kept: list[bytes] = []
        oldest = time.time() - KEEP_S
        raw_lines = self._links_path.read_bytes().splitlines()
        for raw in raw_lines:
            try:
                entry = orjson.loads(raw)
            except orjson.JSONDecodeError:
                continue  # a torn last line after a crash
            at = entry.get("at") if isinstance(entry, dict) else None
            if not isinstance(at, int | float) or at < oldest:
                continue
            self._apply(entry)
            kept.append(raw)
        if len(kept) < len(raw_lines):
            tmp = self._links_path.with_suffix(".tmp")
            tmp.write_bytes(b"".join(line + b"\n" for line in kept))
            os.replace(tmp, self._links_path)

    def _apply(self, entry: dict[str, object]) -> None:
        if "link" in entry:
            self.links[str(entry["link"])] = str(entry["local"])
            self.intents.pop(str(entry["local"]), None)
        elif "forget" in entry:
            self.intents.pop(str(entry["forget"]), None)
        elif "intent" in entry:
            at = entry.get("at")
            n = entry.get("n")
            if isinstance(at, int | float) and isinstance(n, int):
                self.intents[str(entry["intent"])] = Intent(str(entry["intent"]), n, float(at))

    def _append(self, entry: dict[str, object]) -> None:
        entry = {**entry, "at": entry.get("at", time.time())}
        self._apply(entry)
        with self._links_path.open("ab") as fh:
            fh.write(orjson.dumps(entry) + b"\n")
            fh.flush()
            os.fsync(fh.fileno())

    # --- pseudo files ------------------------------------------------------------------------

    def keep(self, path: Path) -> tuple[str, int]:
        """Copy ``path`` into the spool; returns (pseudo file id, bytes)."""
        file_id = f"msgbatch-input-{secrets.token_hex(12)}"
        target = self.root / f"{file_id}.jsonl"
        tmp = target.with_suffix(".tmp")
        shutil.copyfile(path, tmp)
        os.replace(tmp, target)
        return file_id, target.stat().st_size

    def path_of(self, file_id: str) -> Path | None:
        if not file_id.startswith("msgbatch-input-") or "/" in file_id:
            return None
        path = self.root / f"{file_id}.jsonl"
        return path if path.exists() else None

    def drop(self, file_id: str) -> bool:
        path = self.path_of(file_id)
        if path is None:
            return False
        path.unlink(missing_ok=True)
        return True

    # --- links -------------------------------------------------------------------------------

    def intend(self, local_id: str, requests: int) -> None:
        self._append({"intent": local_id, "n": requests, "at": time.time()})

    def link(self, provider_id: str, local_id: str) -> None:
        self._append({"link": provider_id, "local": local_id})

    def forget(self, local_id: str) -> None:
        """The create was refused for sure: no batch can exist for the intent."""
        self._append({"forget": local_id})

    def local_of(self, provider_id: str, *, requests: int, created_at: float) -> str | None:
        """Our local batch id of a provider batch: its link, else the open intent it matches."""
        if (local := self.links.get(provider_id)) is not None:
            return local
        now = time.time()
        for intent in self.intents.values():
            if now - intent.at > INTENT_TTL_S:
                continue
            if intent.requests == requests and created_at >= intent.at - SKEW_S:
                return intent.local_id
        return None
