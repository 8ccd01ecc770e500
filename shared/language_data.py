"""The one line format of the hand-written language data, and its one reader.

Two tools keep per-language text files in it: the sample generator's phrases
(``devtools/dataset/phrases_data/<lang>.txt``, read by ``devtools.dataset.phrases``) and the stand-in
model's lexicons (``emulator/lexicons/<lang>.txt``, read by ``emulator.lexicon``). Neither tool may
import the other, so the format lives here in the core, next to the category codes it is keyed by
(:data:`shared.analysis.CATEGORY_CODES`). The services never read it.

* An entry is a line ``<key><marker> <text>``: the key a category code or another word the file's
  reader knows (``[A-Za-z0-9_]``), the marker one of :data:`MARKERS`, then at least one space and text;
* an indented line continues the previous entry (its text is appended after one space);
* blank lines and lines whose first non-blank character is ``#`` are skipped.

What the keys and the text mean, and which markers a file may use, is the reader's business.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

#: Marker -> who the text is for.
MARKERS: Final = MappingProxyType({"?": "employee line", "!": "assistant line", ":": "stand-in model tokens"})
_ENTRY = re.compile(r"([A-Za-z0-9_]+)([?!:])\s+(\S.*)")


@dataclass(frozen=True, slots=True)
class Entry:
    """One entry; ``line`` is where it starts (1-based), for error messages."""

    key: str
    marker: str
    text: str
    line: int


def parse_entries(text: str, source: str) -> list[Entry]:
    """The entries of one file, in order; ``source`` names the file in errors (``ValueError``)."""
    entries: list[Entry] = []
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if raw[0].isspace():
            if not entries:
                raise ValueError(f"{source}:{lineno}: continuation line before any entry")
            last = entries[-1]
            entries[-1] = Entry(last.key, last.marker, f"{last.text} {line}", last.line)
            continue
        m = _ENTRY.fullmatch(line)
        if m is None:
            raise ValueError(f"{source}:{lineno}: expected '<key><marker> <text>', marker one of ?!:")
        entries.append(Entry(m.group(1), m.group(2), m.group(3), lineno))
    return entries
