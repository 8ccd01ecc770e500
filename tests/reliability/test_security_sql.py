"""All SQL is parameterised: statements are constant strings, values travel as bound parameters.

Static: every ``text(...)`` (and any raw-driver call) in ``services/`` and ``shared/`` takes a string
literal, and no f-string, ``%``, ``+`` or ``.format`` builds a string that contains SQL anywhere in
that code. Two statements interpolate *identifiers* (which cannot be bound) and are allow-listed
explicitly, each with a check that what they interpolate is not a value from outside.

Functional: ids full of SQL (``'; DROP TABLE sessions; --``, quotes, backslashes, ``:name``, ``%s``,
``$1`` placeholders) go through the whole pipeline and the report, are stored verbatim, and every
table still exists.
"""

from __future__ import annotations

import ast
import re
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from cli.report import company_reports
from devtools.infra.postgres import ensure_database
from emulator.server import EmulatorServer
from shared.kafka.topics import ensure_topics
from shared.settings import Settings
from tests.infra import Infra
from tests.pipeline import publish, rows, running_services, scalar, wait_until_terminal

pytestmark = pytest.mark.reliability

ROOT = Path(__file__).resolve().parents[2]
SQL_WORDS = re.compile(
    r"\b(SELECT|INSERT\s+INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM|CREATE|DROP|ALTER|TRUNCATE|GRANT|WHERE|VALUES)\b"
)
#: (file, start of the statement's literal text) -> why interpolating there is safe.
ALLOWED = {
    # Fixed column names from a literal tuple in the same function (checked below); no value.
    ("cli/report.py", "SELECT company_id, "): "column names from a constant tuple",
    # DDL cannot bind an identifier; the database name is quoted with "" doubling (checked below).
    ("devtools/infra/postgres.py", "CREATE DATABASE "): "quoted identifier",
}
RAW_SQL_CALLS = {"text", "exec_driver_sql", "literal_column", "fetch", "fetchval", "fetchrow", "executemany"}


def literal_text(node: ast.AST) -> str:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(literal_text(v) for v in node.values)
    if isinstance(node, ast.BinOp):
        return literal_text(node.left) + literal_text(node.right)
    return ""


def dynamic_strings(tree: ast.AST) -> list[ast.AST]:
    """String expressions built at run time: f-strings with fields, ``%``/``+`` on literals, ``.format``."""
    found: list[ast.AST] = []
    for node in ast.walk(tree):
        built = (
            isinstance(node, ast.JoinedStr) and any(isinstance(v, ast.FormattedValue) for v in node.values)
        ) or (
            isinstance(node, ast.BinOp)
            and isinstance(node.op, ast.Mod | ast.Add)
            and bool(literal_text(node))
        )
        if built:
            found.append(node)
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "format"
            and literal_text(node.func.value)
        ):
            found.append(node.func.value)
    return found


def sources() -> list[tuple[str, ast.AST]]:
    out = []
    for package in ("services", "shared", "cli", "devtools", "emulator"):
        for path in sorted((ROOT / package).rglob("*.py")):
            out.append((str(path.relative_to(ROOT)), ast.parse(path.read_text(), filename=str(path))))
    assert len(out) > 40
    return out


def allowed(path: str, node: ast.AST) -> bool:
    return any(path == p and literal_text(node).startswith(start) for p, start in ALLOWED)


def test_sql_is_never_built_from_values() -> None:
    problems = []
    statements = 0
    used_allowances = set()
    for path, tree in sources():
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                func = node.func
                name = (
                    func.id
                    if isinstance(func, ast.Name)
                    else func.attr
                    if isinstance(func, ast.Attribute)
                    else ""
                )
                if name in RAW_SQL_CALLS and node.args:
                    statements += 1
                    arg = node.args[0]
                    if not (isinstance(arg, ast.Constant) and isinstance(arg.value, str)):
                        if allowed(path, arg):
                            used_allowances.add(path)
                        else:
                            problems.append(f"{path}:{node.lineno}: {name}() of a non-constant string")
        for node in dynamic_strings(tree):
            if SQL_WORDS.search(literal_text(node)) and not allowed(path, node):
                problems.append(f"{path}:{node.lineno}: SQL built at run time: {literal_text(node)[:60]!r}")
    assert not problems, "\n".join(problems)
    assert statements > 40  # the scan does see the repositories' statements
    assert used_allowances == {p for p, _ in ALLOWED}, "an allowance is stale: remove it"


def test_the_allowed_interpolations_carry_no_values() -> None:
    trees = dict(sources())
    # report.py: the f-string's only field is the loop variable of a for over a literal tuple.
    report = trees["cli/report.py"]
    loops = [
        n
        for n in ast.walk(report)
        if isinstance(n, ast.For)
        and any(isinstance(s, ast.JoinedStr) and allowed("cli/report.py", s) for s in ast.walk(n))
    ]
    (loop,) = loops
    assert isinstance(loop.iter, ast.Tuple)
    assert all(
        isinstance(item, ast.Tuple)
        and all(isinstance(e, ast.Constant) and re.fullmatch(r"[a-z_]+", e.value) for e in item.elts)
        for item in loop.iter.elts
    )
    fields = {
        v.value.id
        for n in ast.walk(loop)
        if isinstance(n, ast.JoinedStr)
        for v in n.values
        if isinstance(v, ast.FormattedValue) and isinstance(v.value, ast.Name)
    }
    targets = {e.id for e in loop.target.elts} if isinstance(loop.target, ast.Tuple) else set()  # type: ignore[attr-defined]
    assert fields and fields <= targets
    # postgres.py: the interpolated identifier is quoted with "" doubling right before the statement.
    source = (ROOT / "devtools/infra/postgres.py").read_text()
    assert "quoted = '\"' + name.replace('\"', '\"\"') + '\"'" in source


async def test_a_database_name_full_of_sql_is_created_verbatim(infra: Infra) -> None:
    name = f'bl q"; DROP DATABASE postgres; --{uuid.uuid4().hex[:6]}'
    from tests.support import _admin

    await ensure_database(infra.database_admin_url, name)
    try:
        import asyncpg

        from tests.support import _plain

        conn = await asyncpg.connect(_plain(infra.database_admin_url))
        try:
            assert await conn.fetchval("SELECT count(*) FROM pg_database WHERE datname = $1", name) == 1
            assert await conn.fetchval("SELECT count(*) FROM pg_database WHERE datname = 'postgres'") == 1
        finally:
            await conn.close()
    finally:
        await _admin(infra, 'DROP DATABASE IF EXISTS "' + name.replace('"', '""') + '" WITH (FORCE)')


NASTY = [
    "acme'; DROP TABLE sessions; --",
    'q"uote\\back; DELETE FROM ai_processing_requests WHERE true; --',
    "pct %s %(x)s $1 :ids ?",
]


async def test_ids_full_of_sql_go_through_the_pipeline_verbatim(
    make_settings: Callable[..., Settings], engine: AsyncEngine, emulator: EmulatorServer
) -> None:
    settings = make_settings()
    await ensure_topics(settings)
    events = [
        {
            "event_id": f"{company}|{i}",
            "company_id": company,
            "session_id": f"{company}|session'); DROP TABLE session_messages; --{i}",
            "started_at": "2026-05-01T10:00:00Z",
            "messages": [
                {"role": "user", "content": "'); UPDATE sessions SET company_id = 'evil'; --"},
                {"role": "assistant", "content": "Robert'); DROP TABLE students;--"},
            ],
        }
        for company in NASTY
        for i in range(2)
    ]
    async with running_services(settings):
        await publish(settings, events)
        counts = await wait_until_terminal(engine, len(events), timeout_s=90)
    assert counts == {"PROCESSING_COMPLETE": len(events)}
    stored = {(r.id, r.company_id) for r in await rows(engine, "SELECT id, company_id FROM sessions")}
    assert stored == {(e["session_id"], e["company_id"]) for e in events}
    contents = {r.content for r in await rows(engine, "SELECT content FROM session_messages")}
    assert contents == {m["content"] for m in events[0]["messages"]}
    for table in (
        "sessions",
        "session_messages",
        "ai_processing_requests",
        "provider_batches",
        "ai_batch_items",
        "outbox",
    ):
        assert await scalar(engine, "SELECT to_regclass(:t) IS NOT NULL", t=table), table
    assert {r.company_id for r in await rows(engine, "SELECT company_id FROM provider_batches")} == set(
        NASTY
    )
    async with engine.connect() as conn:
        reports = await company_reports(conn, settings)
    assert {r.company_id: r.sessions for r in reports} == dict.fromkeys(NASTY, 2)


@pytest.mark.parametrize(
    "snippet",
    [
        "conn.execute(text(f\"SELECT * FROM sessions WHERE id = '{sid}'\"))",
        "q = \"DELETE FROM sessions WHERE id = '%s'\" % sid",
        'q = "UPDATE sessions SET summary = \'" + summary + "\'"',
        'q = "INSERT INTO sessions VALUES ({})".format(v)',
        "conn.execute(text(query))",
    ],
)
def test_the_scan_catches_sql_built_from_values(snippet: str) -> None:
    tree = ast.parse(snippet)
    raw_calls = [
        n
        for n in ast.walk(tree)
        if isinstance(n, ast.Call)
        and isinstance(n.func, ast.Name)
        and n.func.id in RAW_SQL_CALLS
        and not isinstance(n.args[0], ast.Constant)
    ]
    built = [n for n in dynamic_strings(tree) if SQL_WORDS.search(literal_text(n))]
    assert raw_calls or built
