"""docker-compose.yml cannot run here (no Docker engine); this keeps it honest with the code."""

from __future__ import annotations

from pathlib import Path

import yaml

from shared.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def test_compose_only_sets_real_settings_and_runs_real_commands() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    env = compose["x-batchline-env"]
    fields = {f"BATCHLINE_{name.upper()}" for name in Settings.model_fields}
    assert set(env) <= fields, set(env) - fields
    Settings(**{k.removeprefix("BATCHLINE_").lower(): v for k, v in env.items()})  # values validate
    services = compose["services"]
    assert {"producer", "submitter", "poller", "ingester", "kafka", "postgres", "emulator", "setup"} <= set(services)
    for name in ("producer", "submitter", "poller", "ingester"):
        assert services[name]["command"] == ["run", name]
    assert services["kafka"]["image"].startswith("apache/kafka:4.")
    kafka_env = services["kafka"]["environment"]
    assert kafka_env["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert env["BATCHLINE_KAFKA_BOOTSTRAP_SERVERS"] == kafka_env["KAFKA_ADVERTISED_LISTENERS"].split("//")[1]


def test_dockerfile_copies_what_the_package_needs() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    for path in ("shared", "services", "migrations", "pyproject.toml", "README.md"):
        assert f" {path}" in dockerfile


def test_compose_services_scale_without_collisions() -> None:
    """`docker compose up --scale submitter=3`: replicas need no fixed name or host port, and share a group."""
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    fields = {f"BATCHLINE_{name.upper()}" for name in Settings.model_fields}
    for name in ("producer", "submitter", "poller", "ingester"):
        service = compose["services"][name]
        assert "container_name" not in service, name
        assert "ports" not in service, name  # the metrics port stays inside the container
        env = service["environment"]
        assert set(env) <= fields, set(env) - fields
        # the group id comes from the prefix only, so every replica joins the same consumer group
        assert "BATCHLINE_TOPIC_PREFIX" not in env or env["BATCHLINE_TOPIC_PREFIX"] == compose["x-batchline-env"].get(
            "BATCHLINE_TOPIC_PREFIX", ""
        )
        assert env.get("BATCHLINE_METRICS_PORT"), name
