"""deploy/k8s cannot be applied here (no cluster): these checks keep the manifests honest with the code.

Every expected value comes from the code (settings fields, health paths, registry groups and topics,
the CLI's commands), never from a copy of the manifests.
"""

from __future__ import annotations

import asyncio
import copy
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from services.registry import SERVICES
from shared.health import HealthServer
from shared.settings import Settings
from tests.unit.test_deploy_static import production_uid

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
SETTING_NAMES = {f"BATCHLINE_{name.upper()}" for name in Settings.model_fields}


def load_documents() -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = []
    for path in sorted(K8S.glob("*.yaml")):
        docs.extend(d for d in yaml.safe_load_all(path.read_text()) if d is not None)
    return docs


def of_kind(docs: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [d for d in docs if d["kind"] == kind]


def config_map(docs: list[dict[str, Any]]) -> dict[str, str]:
    (cm,) = of_kind(docs, "ConfigMap")
    data: dict[str, str] = cm["data"]
    return data


def served_paths() -> set[str]:
    """Paths HealthServer answers with something other than 404 (asked, not copied)."""

    class Ready:
        async def current(self) -> Any:
            class R:
                ready = True

                def body(self) -> bytes:
                    return b"{}"

            return R()

    class Metrics:
        def render(self) -> bytes:
            return b""

    server = HealthServer(Metrics(), Ready())  # type: ignore[arg-type]
    candidates = ("/healthz", "/readyz", "/metrics", "/health", "/ready", "/livez")
    return {p for p in candidates if asyncio.run(server.answer(p))[0] != 404}


def container_port(deployment: dict[str, Any], cm: dict[str, str]) -> int:
    """The metrics port the container's environment sets (its own env first, then the ConfigMap)."""
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    own = {e["name"]: e.get("value") for e in container.get("env", [])}
    return int(own.get("BATCHLINE_METRICS_PORT") or cm["BATCHLINE_METRICS_PORT"])


def probe_errors(docs: list[dict[str, Any]]) -> list[str]:
    cm = config_map(docs)
    paths = served_paths()
    errors = []
    for dep in of_kind(docs, "Deployment"):
        (container,) = dep["spec"]["template"]["spec"]["containers"]
        port = container_port(dep, cm)
        for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
            get = container[probe]["httpGet"]
            if get["path"] not in paths or get["path"] != path:
                errors.append(f"{dep['metadata']['name']} {probe} path {get['path']}")
            if get["port"] != port:
                errors.append(f"{dep['metadata']['name']} {probe} port {get['port']} != {port}")
    return errors


def test_every_manifest_parses_and_kustomization_lists_them_all() -> None:
    docs = load_documents()
    assert {d["kind"] for d in docs} >= {
        "Namespace",
        "ConfigMap",
        "Secret",
        "Deployment",
        "Service",
        "Job",
        "ScaledObject",
        "Kustomization",
    }
    (kustomization,) = of_kind(docs, "Kustomization")
    files = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert set(kustomization["resources"]) == files


def test_one_deployment_service_and_scaled_object_per_service() -> None:
    docs = load_documents()
    for kind in ("Deployment", "Service", "ScaledObject"):
        components = {
            d["metadata"]["labels"]["app.kubernetes.io/component"]
            if kind != "ScaledObject"
            else d["spec"]["scaleTargetRef"]["name"].removeprefix("batchline-")
            for d in of_kind(docs, kind)
        }
        assert components == set(SERVICES), kind
    for dep in of_kind(docs, "Deployment"):
        (container,) = dep["spec"]["template"]["spec"]["containers"]
        name = dep["metadata"]["labels"]["app.kubernetes.io/component"]
        assert container["args"] == ["run", name]


def test_probes_point_at_served_paths_on_the_configured_port() -> None:
    assert probe_errors(load_documents()) == []


def test_a_wrong_probe_path_or_port_is_caught() -> None:
    docs = load_documents()
    wrong = copy.deepcopy(docs)
    container = of_kind(wrong, "Deployment")[0]["spec"]["template"]["spec"]["containers"][0]
    container["livenessProbe"]["httpGet"]["path"] = "/health"
    container["readinessProbe"]["httpGet"]["port"] = 8080
    errors = probe_errors(wrong)
    assert len(errors) == 2, errors


def test_every_env_name_is_a_setting_and_the_config_map_validates() -> None:
    docs = load_documents()
    names: set[str] = set(config_map(docs))
    for doc in of_kind(docs, "Deployment") + of_kind(docs, "Job"):
        for container in doc["spec"]["template"]["spec"]["containers"]:
            names |= {e["name"] for e in container.get("env", [])}
    (secret,) = of_kind(docs, "Secret")
    names |= {k for k in secret["stringData"] if k.startswith("BATCHLINE_")}
    assert names <= SETTING_NAMES, names - SETTING_NAMES
    Settings(**{k.removeprefix("BATCHLINE_").lower(): v for k, v in config_map(docs).items()})


def test_security_context_resources_and_one_image_everywhere() -> None:
    docs = load_documents()
    images = set()
    uid = production_uid()
    assert uid != 0
    for doc in of_kind(docs, "Deployment") + of_kind(docs, "Job"):
        pod = doc["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["runAsUser"] == uid  # the image's own non-root user
        for container in pod["containers"]:
            images.add(container["image"])
            assert container["resources"]["requests"] and container["resources"]["limits"]
            assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert len(images) == 1, images
    (image,) = images
    # The production stage runs `batchline` as its entrypoint; the emulator stage's image is never used.
    assert "emulator" not in image
    last_stage = (ROOT / "Dockerfile").read_text().split("\nFROM ")[-1]
    assert 'ENTRYPOINT ["batchline"]' in last_stage


def test_services_expose_the_metrics_port_for_scraping() -> None:
    docs = load_documents()
    port = int(config_map(docs)["BATCHLINE_METRICS_PORT"])
    for svc in of_kind(docs, "Service"):
        (p,) = svc["spec"]["ports"]
        assert p["port"] == port and p["targetPort"] == "metrics"
        component = svc["metadata"]["labels"]["app.kubernetes.io/component"]
        assert svc["spec"]["selector"]["app.kubernetes.io/component"] == component


def test_scaled_objects_follow_each_services_group_and_topic_capped_at_partitions() -> None:
    docs = load_documents()
    cm = config_map(docs)
    settings = Settings(**{k.removeprefix("BATCHLINE_").lower(): v for k, v in cm.items()})
    deployments = {d["metadata"]["name"] for d in of_kind(docs, "Deployment")}
    for scaled in of_kind(docs, "ScaledObject"):
        target = scaled["spec"]["scaleTargetRef"]["name"]
        assert target in deployments
        service = SERVICES[target.removeprefix("batchline-")]
        (trigger,) = scaled["spec"]["triggers"]
        assert trigger["type"] == "kafka"
        meta = trigger["metadata"]
        assert meta["consumerGroup"] == settings.group_id(service.name)
        (topic,) = service.topics(settings.topics)
        assert meta["topic"] == topic
        assert meta["bootstrapServers"] == cm["BATCHLINE_KAFKA_BOOTSTRAP_SERVERS"]
        assert scaled["spec"]["maxReplicaCount"] == settings.topic_partitions


@pytest.fixture(scope="module")
def cli_app() -> Any:
    from cli.main import _register, app

    _register()
    return app


@pytest.mark.parametrize("job_index", [0, 1])
def test_jobs_run_real_cli_commands(cli_app: Any, job_index: int) -> None:
    jobs = of_kind(load_documents(), "Job")
    (container,) = jobs[job_index]["spec"]["template"]["spec"]["containers"]
    program, *args = container["command"]
    assert program == "batchline"
    result = CliRunner().invoke(cli_app, [*args, "--help"])  # an unknown command exits 2
    assert result.exit_code == 0, result.output
    assert "Usage: " in result.output


def test_the_migration_job_runs_migrate() -> None:
    commands = [
        j["spec"]["template"]["spec"]["containers"][0]["command"] for j in of_kind(load_documents(), "Job")
    ]
    assert ["batchline", "migrate"] in commands
