"""docker-compose.yml, the Dockerfile and the README agree with the code (Docker cannot run here)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from r3edge_streams.catalogue import CATALOGUE, markdown_table
from r3edge_streams.config import load_settings

PROJECT = Path(__file__).resolve().parents[2]
COMPOSE: dict[str, Any] = yaml.safe_load((PROJECT / "docker-compose.yml").read_text())
SERVICES: dict[str, Any] = COMPOSE["services"]


def test_services_are_kafka_workers_and_traefik() -> None:
    assert set(SERVICES) == {"kafka", "worker", "traefik"}


def test_worker_runs_the_faust_worker_command() -> None:
    assert SERVICES["worker"]["command"][:4] == ["faust", "-A", "r3edge_streams", "worker"]
    dockerfile = (PROJECT / "Dockerfile").read_text()
    assert 'CMD ["faust", "-A", "r3edge_streams", "worker"' in dockerfile
    assert SERVICES["worker"]["build"] == "."


def test_worker_environment_is_valid_settings() -> None:
    env = {key: str(value) for key, value in SERVICES["worker"]["environment"].items()}
    assert all(key.startswith("R3EDGE_") for key in env)
    assert env["R3EDGE_API_TOKENS"].startswith("${R3EDGE_API_TOKENS:?")  # required from the operator, never in the file
    env["R3EDGE_API_TOKENS"] = "trader:" + "x" * 32  # what compose substitutes
    assert env["R3EDGE_SEAL_KEY"] == "${R3EDGE_SEAL_KEY:-}"  # the operator's, or none: compose substitutes ""
    env["R3EDGE_SEAL_KEY"] = ""
    settings = load_settings(env)  # raises on any unknown or invalid variable
    assert settings.store == "rocksdb://"
    assert settings.web_host == "0.0.0.0" and "0.0.0.0" not in settings.canonical_url
    assert "{hostname}" not in str(settings.data_dir)
    # without a key every replica reads the one key file on the shared volume, not its own folder
    mounts = [volume.split(":")[1] for volume in SERVICES["worker"]["volumes"]]
    assert str(settings.seal_key_file.parent) in mounts and settings.seal_key_file.name == "seal.key"


def test_worker_scales_without_fixed_host_ports_or_shared_state_folders() -> None:
    worker = SERVICES["worker"]
    assert "ports" not in worker and "container_name" not in worker
    env = worker["environment"]
    assert "{hostname}" in env["R3EDGE_DATA_DIR"]
    mounts = [volume.split(":")[1] for volume in worker["volumes"]]
    assert any(env["R3EDGE_DATA_DIR"].startswith(mount) for mount in mounts)


def test_worker_reaches_the_kafka_service_on_its_advertised_listener() -> None:
    broker = SERVICES["worker"]["environment"]["R3EDGE_BROKER"]
    kafka_env = SERVICES["kafka"]["environment"]
    assert broker == kafka_env["KAFKA_ADVERTISED_LISTENERS"].replace("PLAINTEXT://", "kafka://")
    assert broker.startswith("kafka://kafka:")
    assert kafka_env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"
    assert kafka_env["KAFKA_LOG_DIRS"] in [v.split(":")[1] for v in SERVICES["kafka"]["volumes"]]
    assert SERVICES["worker"]["depends_on"]["kafka"]["condition"] == "service_healthy"


def test_traefik_forwards_to_the_worker_web_port_and_checks_health() -> None:
    labels = SERVICES["worker"]["labels"]
    port = SERVICES["worker"]["environment"]["R3EDGE_WEB_PORT"]
    assert labels["traefik.enable"] == "true"
    assert labels["traefik.http.services.r3edge.loadbalancer.server.port"] == port
    assert labels["traefik.http.services.r3edge.loadbalancer.healthcheck.path"] == "/health"
    entrypoint = labels["traefik.http.routers.r3edge.entrypoints"]
    command = " ".join(SERVICES["traefik"]["command"])
    address = re.search(rf"--entrypoints\.{entrypoint}\.address=:(\d+)", command)
    assert address is not None
    assert f"{address.group(1)}:{address.group(1)}" in SERVICES["traefik"]["ports"]


def test_readme_topic_table_is_the_catalogue() -> None:
    readme = (PROJECT / "README.md").read_text()
    assert markdown_table() in readme
    for spec in CATALOGUE:
        assert f"`{spec.name}`" in readme


def test_readme_names_the_two_commands_and_ci_runs_the_test_command() -> None:
    readme = (PROJECT / "README.md").read_text()
    assert "scripts/run" in readme and "scripts/test" in readme
    ci = (PROJECT / ".ci" / "run").read_text()
    assert "exec bash scripts/test" in ci
