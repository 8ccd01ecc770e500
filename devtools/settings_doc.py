"""Markdown table of every setting (``python -m devtools.settings_doc``); the README embeds its output."""

from __future__ import annotations

import json

from pydantic import SecretStr

from shared.settings import Settings


def _default(name: str) -> str:
    field = Settings.model_fields[name]
    value = field.get_default(call_default_factory=True)
    if value is None:
        return "unset"
    if isinstance(value, SecretStr):
        return "`sk-local-emulator` (secret)"
    if isinstance(value, dict):
        return "see below" if value else "{}"
    return f"`{json.dumps(value) if isinstance(value, bool) else value}`"


def settings_table() -> str:
    lines = ["| variable | default | meaning |", "| --- | --- | --- |"]
    for name, field in Settings.model_fields.items():
        lines.append(f"| `BATCHLINE_{name.upper()}` | {_default(name)} | {field.description or ''} |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(settings_table())
