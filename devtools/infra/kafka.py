# ruff: noqa: S603 -- every command line here is built from resolved binaries and our own paths
"""A real Apache Kafka broker (KRaft, single node) for development and tests, without Docker.

The broker runs from Maven Central jars resolved by ``infra/kafka/pom.xml``: the same artifacts a
production image ships, so the pipeline is exercised against the real protocol and group coordinator
rather than a look-alike. The process is detached (own session) so it outlives ``batchline dev up``,
and is found again through its pid file; every lifecycle call is idempotent so scripts and test
fixtures can call ``start_kafka`` without first asking whether someone else already did.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import os
import re
import shutil
import signal
import subprocess
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from aiokafka.admin import AIOKafkaAdminClient

from devtools.infra._proc import (
    CHILDREN,
    HOST,
    alive,
    cmdline_contains,
    file_lock,
    log_tails,
    port_answers,
    port_busy,
    tail_text,
    wait_dead,
)
from devtools.infra.kafka_config import (
    DEFAULT_CONTROLLER_PORT,
    DEFAULT_PORT,
    check_running_ports,
    listener_ports,
    log4j2_properties,
    server_properties,
)
from shared.errors import CliError
from shared.settings import Settings

KAFKA_POM = Path(__file__).resolve().parents[2] / "infra" / "kafka" / "pom.xml"
MIN_JAVA_MAJOR = 17
READY_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 30.0
#: kafka-run-class.sh's GC settings; the heap is set separately (small, for 2-core CI machines).
JVM_FLAGS = [
    "-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20", "-XX:InitiatingHeapOccupancyPercent=35",
    "-XX:+ExplicitGCInvokesConcurrent",
]  # fmt: skip
@dataclass(frozen=True)
class KafkaNode:
    """Where one local broker lives. ``lib_dir`` may point at a shared jar cache (tests reuse the dev one)."""

    home: Path
    port: int = DEFAULT_PORT
    controller_port: int = DEFAULT_CONTROLLER_PORT
    lib_dir: Path | None = None
    heap: str = "512m"

    @classmethod
    def from_settings(cls, settings: Settings) -> KafkaNode:
        return cls(
            home=settings.home.expanduser().resolve(),
            port=settings.kafka_port,
            controller_port=settings.kafka_controller_port,
        )

    @property
    def dir(self) -> Path:
        return self.home / "kafka"

    @property
    def lib(self) -> Path:
        return self.lib_dir if self.lib_dir is not None else self.dir / "lib"

    @property
    def config(self) -> Path:
        return self.dir / "server.properties"

    @property
    def log4j_config(self) -> Path:
        return self.dir / "log4j2.properties"

    @property
    def data_dir(self) -> Path:
        return self.dir / "data"

    @property
    def pid_file(self) -> Path:
        return self.dir / "kafka.pid"

    @property
    def log_file(self) -> Path:
        return self.home / "logs" / "kafka.log"

    @property
    def stdout_file(self) -> Path:
        return self.home / "logs" / "kafka-stdout.log"

    @property
    def bootstrap(self) -> str:
        return f"{HOST}:{self.port}"


@dataclass(frozen=True)
class KafkaStatus:
    running: bool
    pid: int | None
    bootstrap: str
    version: str | None
    log_file: Path


# --- prerequisites -------------------------------------------------------------------------------


def check_java() -> int:
    """Return the Java major version, or explain what to install: the broker needs Java 17+."""
    java = shutil.which("java")
    if java is None:
        raise CliError(
            f"`java` not found on PATH; install a JDK/JRE {MIN_JAVA_MAJOR}+ to run the Kafka broker"
        )
    out = subprocess.run([java, "-version"], capture_output=True, text=True, check=False)
    match = re.search(r'version "(\d+)(?:\.(\d+))?', out.stderr + out.stdout)
    if match is None:
        raise CliError(f"could not parse `java -version` output: {(out.stderr or out.stdout).strip()[:200]}")
    major = int(match.group(1))
    if major == 1 and match.group(2):  # "1.8.0_x" style
        major = int(match.group(2))
    if major < MIN_JAVA_MAJOR:
        raise CliError(f"Kafka 4 needs Java {MIN_JAVA_MAJOR}+, found Java {major} at {java}")
    return major


def resolve_jars(lib: Path, pom: Path = KAFKA_POM) -> Path:
    """Copy the broker's runtime jars into ``lib`` once; a marker holding the pom's hash skips re-runs.

    Maven's own ``~/.m2`` cache makes a re-resolve cheap, but skipping it saves a JVM start per ``up``.
    The copy goes to a sibling directory first so an interrupted run never leaves a half-filled lib.
    """
    digest = hashlib.sha256(pom.read_bytes()).hexdigest()
    marker = lib / ".resolved"
    if marker.is_file() and marker.read_text().strip() == digest:
        return lib
    lib.parent.mkdir(parents=True, exist_ok=True)
    with file_lock(lib.parent / ".resolve.lock"):
        if marker.is_file() and marker.read_text().strip() == digest:
            return lib
        mvn = shutil.which("mvn")
        if mvn is None:
            raise CliError("`mvn` (Maven 3) not found on PATH; it is needed once to fetch the Kafka jars")
        check_java()
        staging = lib.with_name(lib.name + ".partial")
        shutil.rmtree(staging, ignore_errors=True)
        goal = ["dependency:copy-dependencies", "-DincludeScope=runtime", f"-DoutputDirectory={staging}"]
        cmd = [mvn, "-B", "-q", "-Dstyle.color=never", "-f", str(pom), *goal]
        out = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if out.returncode != 0 or not any(staging.glob("kafka_2.13-*.jar")):
            raise CliError(
                f"Maven could not resolve the Kafka jars (exit {out.returncode}): "
                + tail_text(re.sub(r"\x1b\[[0-9;]*m", "", out.stdout + out.stderr))
            )
        shutil.rmtree(lib, ignore_errors=True)
        staging.rename(lib)
        marker.write_text(digest + "\n")
    return lib


# --- lifecycle -----------------------------------------------------------------------------------


def running_pid(node: KafkaNode) -> int | None:
    """Pid of this node's broker if it is alive; a stale pid file (crash, reboot) reads as not running."""
    try:
        pid = int(node.pid_file.read_text().strip())
    except (FileNotFoundError, ValueError):
        return None
    return pid if alive(pid) and cmdline_contains(pid, str(node.config)) else None


async def start_kafka(node: KafkaNode, timeout_s: float = READY_TIMEOUT_S) -> KafkaStatus:
    """Start the broker unless it already runs, then wait until it serves metadata with a live broker."""
    pid, log_offset = await asyncio.to_thread(_launch, node)
    try:
        await wait_until_ready(node.bootstrap, timeout_s, pid=pid, logs=(node.stdout_file, node.log_file))
    except CliError:
        if log_offset is not None:  # do not leave a half-started broker behind that `status` calls healthy
            await stop_kafka(node, timeout_s=5)
        raise
    if log_offset is not None:
        _record_version(node, log_offset)
    return kafka_status(node)


async def stop_kafka(node: KafkaNode, timeout_s: float = STOP_TIMEOUT_S, *, graceful: bool = True) -> bool:
    """SIGTERM (controlled shutdown), SIGKILL after ``timeout_s``; ``graceful=False`` kills at once.

    Returns whether a broker was running. Data is kept either way, so ``start_kafka`` resumes it.
    """
    pid = running_pid(node)
    if pid is None:
        node.pid_file.unlink(missing_ok=True)
        return False
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM if graceful else signal.SIGKILL)
    if not await wait_dead(pid, timeout_s):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        if not await wait_dead(pid, 10.0):
            raise CliError(f"Kafka broker pid {pid} survived SIGKILL")
    node.pid_file.unlink(missing_ok=True)
    CHILDREN.pop(pid, None)
    return True


async def restart_kafka(
    node: KafkaNode, timeout_s: float = READY_TIMEOUT_S, *, graceful: bool = True
) -> KafkaStatus:
    """Stop and start again with the same data: what a broker restart or crash looks like to clients."""
    await stop_kafka(node, graceful=graceful)
    return await start_kafka(node, timeout_s)


def kafka_status(node: KafkaNode) -> KafkaStatus:
    """Running state; the address is where the broker that runs listens, which may not be ``node.port``."""
    pid = running_pid(node)
    port = listener_ports(node.config)[0] if pid is not None else None
    return KafkaStatus(
        running=pid is not None,
        pid=pid,
        bootstrap=f"{HOST}:{port}" if port is not None else node.bootstrap,
        version=kafka_version(node),
        log_file=node.log_file,
    )


def kafka_version(node: KafkaNode) -> str | None:
    """Version of the running broker as it logged it ("Kafka version: 4.1.1"), else of the resolved jar.

    Kafka has no protocol request that returns the server version, so the broker's own start-up line
    (recorded by ``start_kafka``) is the most direct evidence of what actually runs.
    """
    recorded = node.dir / "version"
    if running_pid(node) is not None and recorded.is_file() and recorded.read_text().strip():
        return recorded.read_text().strip()
    jars = sorted(node.lib.glob("kafka_2.13-*.jar"))
    return jars[0].name.removeprefix("kafka_2.13-").removesuffix(".jar") if jars else None


async def wait_until_ready(
    bootstrap: str, timeout_s: float = READY_TIMEOUT_S, *, pid: int | None = None, logs: Sequence[Path] = ()
) -> None:
    """Poll until ``bootstrap`` returns metadata listing at least one (unfenced) broker.

    An open port is not enough: a KRaft broker accepts connections before it has caught up with the
    metadata log, and creating a topic then fails. When ``pid`` is given, its death ends the wait early.
    """
    host, _, port = bootstrap.rpartition(":")
    deadline = time.monotonic() + timeout_s
    last_error = "port never opened"
    while time.monotonic() < deadline:
        if pid is not None and not alive(pid):
            raise CliError(f"Kafka broker exited during start-up; {log_tails(logs)}")
        if port_answers(host, int(port)):
            admin = AIOKafkaAdminClient(
                bootstrap_servers=bootstrap, request_timeout_ms=3_000, client_id="batchline-devinfra"
            )
            try:
                await asyncio.wait_for(admin.start(), 5)
                cluster = await asyncio.wait_for(admin.describe_cluster(), 5)
                if cluster.get("brokers"):
                    return
                last_error = "metadata lists no live broker yet"
            except Exception as exc:  # any client error just means "not yet"
                last_error = f"{type(exc).__name__}: {exc}"
            finally:
                with contextlib.suppress(Exception):
                    await admin.close()
        await asyncio.sleep(0.25)
    raise CliError(
        f"Kafka at {bootstrap} not ready after {timeout_s:.0f}s ({last_error})"
        + (f"; {log_tails(logs)}" if logs else "")
    )


# --- internals -----------------------------------------------------------------------------------


def _launch(node: KafkaNode) -> tuple[int, int | None]:
    """Spawn the broker unless it runs; returns (pid, log offset of this start or None if it already ran).

    Serialised across processes by a file lock, so concurrent `up`s cannot launch two brokers."""
    node.dir.mkdir(parents=True, exist_ok=True)
    node.log_file.parent.mkdir(parents=True, exist_ok=True)
    with file_lock(node.dir / ".lock"):
        pid = running_pid(node)
        if pid is not None:
            check_running_ports(node.config, node.port, node.controller_port, pid)
            return pid, None
        for port, what in ((node.port, "Kafka"), (node.controller_port, "Kafka controller")):
            if port_busy(port):
                raise CliError(
                    f"port {port} ({what}) is already in use on {HOST} by another process; "
                    "stop it or choose another port"
                )
        check_java()
        resolve_jars(node.lib)
        _write_configs(node)
        _format_storage(node)
        log_offset = node.log_file.stat().st_size if node.log_file.exists() else 0
        with node.stdout_file.open("wb") as out:  # only this start: its tail explains a failed start
            proc = subprocess.Popen(
                [*_java_cmd(node, broker=True), "kafka.Kafka", str(node.config)],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=node.dir,
                start_new_session=True,  # survives the CLI and its terminal's Ctrl-C
            )
        CHILDREN[proc.pid] = proc
        node.pid_file.write_text(f"{proc.pid}\n")
        (node.dir / "version").write_text("")
    return proc.pid, log_offset


def _record_version(node: KafkaNode, log_offset: int) -> None:
    """Remember the "Kafka version: X" line this start logged, for `kafka_version` and `status`."""
    with contextlib.suppress(OSError), node.log_file.open("rb") as f:
        f.seek(log_offset)
        found = re.search(rb"Kafka version: (\S+)", f.read())
        if found:
            (node.dir / "version").write_text(found.group(1).decode() + "\n")


def _java_cmd(node: KafkaNode, *, broker: bool) -> list[str]:
    """Broker: heap, GC flags and the log file. Tools (format) log to the console we capture instead,
    so the broker log holds only broker output and its tail explains a failed start."""
    cmd = ["java", "-Djava.awt.headless=true"]
    if broker:
        cmd += [f"-Xmx{node.heap}", *JVM_FLAGS, f"-Dlog4j2.configurationFile={node.log4j_config}"]
        cmd += [f"-Dkafka.logs.dir={node.log_file.parent}"]
    return [*cmd, "-cp", f"{node.lib}/*"]


def _write_configs(node: KafkaNode) -> None:
    """Rewritten on every start so a changed port or path takes effect; the data stays."""
    node.config.write_text(server_properties(node.port, node.controller_port, node.data_dir))
    node.log4j_config.write_text(log4j2_properties(node.log_file))


def _format_storage(node: KafkaNode) -> None:
    """Format the KRaft metadata log once (standalone: this node is the whole controller quorum).

    The cluster id is generated here rather than with ``StorageTool random-uuid``: it is the same
    url-safe base64 of 16 random bytes, and it saves a JVM start (about a second on 2 cores).
    """
    if (node.data_dir / "meta.properties").is_file():
        return
    cluster_id = ""
    while not cluster_id or cluster_id.startswith("-"):  # Kafka's Uuid never starts with '-'
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
    tool = ["kafka.tools.StorageTool", "format", "--standalone", "-t", cluster_id, "-c", str(node.config)]
    cmd = [*_java_cmd(node, broker=False), *tool]
    out = subprocess.run(cmd, capture_output=True, text=True, check=False, cwd=node.dir)
    if out.returncode != 0:
        raise CliError(
            f"formatting Kafka storage in {node.data_dir} failed: {tail_text(out.stdout + out.stderr)}"
        )
