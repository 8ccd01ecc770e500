"""The local broker's files: ``server.properties`` and its log4j2 configuration.

Written on every start (so a changed port takes effect on a stopped broker: nothing else records
its ports, the KRaft data stays valid), and read back while it runs, because that file is the
only record of the ports the running broker listens on: ``dev up`` with other ports must say
where it runs instead of waiting a minute for a broker on ports nobody opened.
"""

from __future__ import annotations

import re
from pathlib import Path

from devtools.infra._proc import HOST, runs_on_other_ports

DEFAULT_PORT = 19092
DEFAULT_CONTROLLER_PORT = 19093

#: Broker logs go to one rolling file; the per-request and state-change loggers are quieted.
LOG4J2_PROPERTIES = """\
status = warn
appender.file.type = RollingFile
appender.file.name = FILE
appender.file.fileName = {log}
appender.file.filePattern = {log}.%i
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
appender.file.policies.type = Policies
appender.file.policies.size.type = SizeBasedTriggeringPolicy
appender.file.policies.size.size = 50MB
appender.file.strategy.type = DefaultRolloverStrategy
appender.file.strategy.max = 3
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = FILE
logger.request.name = kafka.request.logger
logger.request.level = WARN
logger.statechange.name = state.change.logger
logger.statechange.level = WARN
"""


def server_properties(port: int, controller_port: int, data_dir: Path) -> str:
    """A single KRaft node (broker and its own controller quorum) on loopback."""
    props = {
        "process.roles": "broker,controller",
        "node.id": "1",
        "controller.quorum.bootstrap.servers": f"{HOST}:{controller_port}",
        "listeners": f"PLAINTEXT://{HOST}:{port},CONTROLLER://{HOST}:{controller_port}",
        "advertised.listeners": f"PLAINTEXT://{HOST}:{port}",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        "log.dirs": str(data_dir),
        "num.partitions": "6",
        "auto.create.topics.enable": "false",
        "offsets.topic.replication.factor": "1",
        # 50 (default) partitions make the first consumer-group join take seconds on a 2-core machine
        "offsets.topic.num.partitions": "12",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "share.coordinator.state.topic.replication.factor": "1",
        "share.coordinator.state.topic.min.isr": "1",
        "min.insync.replicas": "1",
        "group.initial.rebalance.delay.ms": "0",
        # After a crash the restarted node waits for its old registration to expire (default 9 s)
        "broker.session.timeout.ms": "4000",
        "broker.heartbeat.interval.ms": "1000",
    }
    return "".join(f"{k}={v}\n" for k, v in props.items())


def log4j2_properties(log_file: Path) -> str:
    return LOG4J2_PROPERTIES.format(log=log_file)


def listener_ports(config: Path) -> tuple[int | None, int | None]:
    """(broker port, controller port) from a ``server.properties``; None for what it does not say."""
    try:
        text = config.read_text()
    except OSError:
        return None, None
    found = re.search(r"^listeners=(.*)$", text, re.MULTILINE)
    ports: dict[str, int] = {}
    for listener in (found.group(1) if found else "").split(","):
        name, _, address = listener.strip().partition("://")
        port = address.rpartition(":")[2]
        if port.isdigit():
            ports[name] = int(port)
    return ports.get("PLAINTEXT"), ports.get("CONTROLLER")


def check_running_ports(config: Path, port: int, controller_port: int, pid: int) -> None:
    """The broker that runs (``pid``, started with ``config``) must listen on the ports asked for.

    Raised as an error naming where it runs: otherwise ``dev up`` would wait a minute for a broker
    on ports nobody opened. Its ports are those of its config, rewritten only while it is stopped.
    """
    running, controller = listener_ports(config)
    running = running or port
    controller = controller or controller_port
    if (running, controller) == (port, controller_port):
        return
    where = f"kafka runs on port {running}"
    fixes: list[tuple[str, str | None]] = []
    if running != port:
        default = running == DEFAULT_PORT
        fixes.append(("BATCHLINE_KAFKA_PORT", None if default else str(running)))
        fixes.append(("BATCHLINE_KAFKA_BOOTSTRAP_SERVERS", None if default else f"{HOST}:{running}"))
    if controller != controller_port:
        where += f", controller port {controller}"
        default = controller == DEFAULT_CONTROLLER_PORT
        fixes.append(("BATCHLINE_KAFKA_CONTROLLER_PORT", None if default else str(controller)))
    raise runs_on_other_ports(where, pid, fixes)
