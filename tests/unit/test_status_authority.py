"""``shared.lifecycle`` is the one authority on statuses: no SQL spells a status, every write is a Move.

Static checks over the code the services and tools run (migrations are history and excluded):
- no string that reads as SQL contains a status value (requests' or batches'), quoted or bare;
- every ``SET ... status =`` in SQL binds ``:to``, the parameter a ``lifecycle.Move`` provides, so the
  target and its guard (``status = ANY(:from)``) come from the lifecycle's transition table.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from shared.lifecycle import BatchStatus, RequestStatus

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("shared", "services", "cli", "devtools")
SQL = re.compile(r"\b(SELECT|INSERT\s+INTO|UPDATE|DELETE\s+FROM|WHERE|SET)\b")
STATUS_WORDS = re.compile(
    r"\b(" + "|".join(sorted({s.value for s in (*RequestStatus, *BatchStatus)})) + r")\b"
)
SET_CLAUSE = re.compile(r"\bSET\b((?:(?!\b(?:WHERE|FROM|RETURNING)\b).)*)", re.DOTALL)
STATUS_SET = re.compile(r"(?<![\w.])status\s*=\s*(:?[\w.]+|'[^']*')")
#: ``:to`` is a Move's target; ``u.status`` a per-row target of a bound array, each row's value
#: decided by ``lifecycle.resolve_request`` (the ingester resolves thousands of requests at once).
WRITE_FORMS = {":to", "u.status"}


def sql_strings() -> list[tuple[str, int, str]]:
    found = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            rel = str(path.relative_to(ROOT))
            tree = ast.parse(path.read_text(encoding="utf-8"))
            docstrings = {
                id(node.body[0].value)
                for node in ast.walk(tree)
                if isinstance(node, ast.Module | ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
                and node.body
                and isinstance(node.body[0], ast.Expr)
                and isinstance(node.body[0].value, ast.Constant)
            }
            for node in ast.walk(tree):
                if (
                    isinstance(node, ast.Constant)
                    and isinstance(node.value, str)
                    and id(node) not in docstrings
                    and SQL.search(node.value)
                ):
                    found.append((rel, node.lineno, node.value))
    return found


def test_the_scan_sees_sql() -> None:
    # Guards the checks below against passing because they looked at nothing.
    texts = [t for _, _, t in sql_strings()]
    assert any("INSERT INTO ai_processing_requests" in t for t in texts)
    assert any("UPDATE sessions" in t or "INSERT INTO sessions" in t for t in texts)


def test_no_sql_spells_a_status() -> None:
    offenders = [
        f"{f}:{line}: {m.group(0)}" for f, line, t in sql_strings() for m in [STATUS_WORDS.search(t)] if m
    ]
    assert offenders == []


def test_every_status_write_binds_the_lifecycle_move() -> None:
    offenders = [
        f"{f}:{line}: status = {m.group(1)}"
        for f, line, t in sql_strings()
        for clause in SET_CLAUSE.findall(t)
        for m in STATUS_SET.finditer(clause)
        if m.group(1) not in WRITE_FORMS
    ]
    assert offenders == []


@pytest.mark.parametrize("value", ["PENDING_BATCHING", "'FAILED'"])
def test_the_literal_check_catches_a_status(value: str) -> None:
    assert STATUS_WORDS.search(f"UPDATE t SET x = 1 WHERE status = {value}")


def test_the_write_check_reads_only_the_set_clause() -> None:
    clauses = SET_CLAUSE.findall("UPDATE t SET a = 1, status = :failed WHERE id = :id AND status = :s")
    assert [m.group(1) for c in clauses for m in STATUS_SET.finditer(c)] == [":failed"]
