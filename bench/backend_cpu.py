"""Server CPU of one bench run, by statement: the PostgreSQL backends serving a process tree.

The machine is shared, so wall time swings with the other runs; the CPU the database spent for this
run is the steadier figure, and knowing which statement spent it is what finds a plan gone wrong.
Every ``--tick`` seconds the backends whose client ports belong to ``--pid`` or its children (read
with psutil, a dev dependency) are looked up in ``pg_stat_activity``; each one's CPU growth since the
last sample (``/proc/<pid>/stat``, so only on the database's own host) is charged to the statement it
was running. Also kept: the oldest open transaction of the scratch database (a snapshot held long
keeps dead rows visible to every scan). Run beside a bench:
``python -m bench.b2_intake & python -m bench.backend_cpu --pid $! --out cpu.txt``.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import os
from pathlib import Path

import asyncpg
import psutil
from sqlalchemy.engine import make_url

from bench.scratch import asyncpg_dsn
from shared.settings import Settings

_ACTIVITY = (
    "SELECT pid, datname, state, left(regexp_replace(query, '\\s+', ' ', 'g'), 160) AS q "
    "FROM pg_stat_activity WHERE client_port = ANY($1::int[])"
)
_OLDEST = (
    "SELECT extract(epoch FROM now() - xact_start)::float8 AS age, "
    "left(regexp_replace(query, '\\s+', ' ', 'g'), 120) || ' (' || state || ')' AS q "
    "FROM pg_stat_activity WHERE datname = $1 AND xact_start IS NOT NULL ORDER BY xact_start LIMIT 1"
)


def client_ports(root: int, server_port: int) -> set[int] | None:
    """Local ports of the tree's connections to the server; None once the root has exited."""
    try:
        top = psutil.Process(root)
        if top.status() == psutil.STATUS_ZOMBIE:
            return None
        tree = [top, *top.children(recursive=True)]
    except psutil.NoSuchProcess:
        return None
    ports: set[int] = set()
    for proc in tree:
        try:
            ports |= {c.laddr.port for c in proc.net_connections(kind="tcp") if c.raddr and c.raddr.port == server_port}
        except psutil.Error:
            continue
    return ports


def cpu_seconds(pid: int) -> float | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def sample(root: int, dsn: str, server_port: int, tick: float) -> list[str]:
    conn = await asyncpg.connect(dsn)
    seen: dict[int, float] = {}
    by_statement: collections.defaultdict[str, float] = collections.defaultdict(float)
    oldest = (0.0, "")
    try:
        while (ports := client_ports(root, server_port)) is not None:
            rows = await conn.fetch(_ACTIVITY, list(ports))
            for row in rows:
                now = cpu_seconds(row["pid"])
                if now is None:
                    continue
                label = row["q"] if row["state"] == "active" else f"(idle) {row['q']}"
                by_statement[label] += now - seen.get(row["pid"], now)
                seen[row["pid"]] = now
            scratch = {r["datname"] for r in rows if r["datname"] and r["datname"].startswith("bench")}
            for name in scratch:
                old = await conn.fetchrow(_OLDEST, name)
                if old is not None and float(old["age"]) > oldest[0]:
                    oldest = (float(old["age"]), str(old["q"]))
            await asyncio.sleep(tick)
    finally:
        await conn.close()
    lines = [f"backends {len(seen)}, their CPU since they started {sum(seen.values()):.2f} s"]
    lines.append(f"oldest open transaction {oldest[0]:.1f} s: {oldest[1]}")
    lines += [f"{s:8.2f} s  {q}" for q, s in sorted(by_statement.items(), key=lambda kv: -kv[1])[:15]]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pid", type=int, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--tick", type=float, default=0.2)
    args = parser.parse_args()
    url = Settings().database_url
    if not url:
        parser.error("BATCHLINE_DATABASE_URL names the server")
    lines = asyncio.run(sample(args.pid, asyncpg_dsn(url), make_url(url).port or 5432, args.tick))
    args.out.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
