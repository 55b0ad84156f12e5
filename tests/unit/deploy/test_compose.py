"""Structural checks of the production stack (``docker-compose.yml``): no Docker engine here.

- the file is valid against the Compose Specification's JSON schema;
- every long-running service has a healthcheck, and every dependency waits for
  ``service_healthy`` (or ``service_completed_successfully`` for one-shot init jobs);
- every ``${VAR}`` is required (``${VAR:?}``) and declared in ``.env.example``;
- every file it mounts or builds from exists, or is produced by ``ledger-node besu-network``
  (the ``make stack`` step), which is run here into a temporary directory;
- ``docker compose config`` accepts it, where the compose plugin is installed.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from typer.testing import CliRunner

from ledger_node.cli import app as ledger_cli

ROOT = Path(__file__).resolve().parents[3]
COMPOSE = ROOT / "docker-compose.yml"
# A copy of schema/compose-spec.json of https://github.com/compose-spec/compose-spec at
# commit 170098ba07d9f53c383a41bfd4c5166b0a4529a6 (2026-06-23).
SCHEMA = Path(__file__).with_name("compose-spec.json")
# ``$${X}`` is escaped: the container's shell expands it, not compose
_VARIABLE = re.compile(r"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)([^}]*)\}")
_NETWORK_DIR_VAR = "${BESU_NETWORK_DIR:?}"


def _compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE.read_text())
    assert isinstance(data, dict)
    return data


def _services() -> dict[str, dict[str, Any]]:
    return dict(_compose()["services"])


def _one_shot(service: dict[str, Any]) -> bool:
    return service.get("restart") == "no"


def _env_example() -> set[str]:
    names = set()
    for line in (ROOT / ".env.example").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            names.add(line.split("=", 1)[0].strip())
    return names


def test_valid_against_the_compose_specification() -> None:
    schema = json.loads(SCHEMA.read_text())
    jsonschema.Draft7Validator.check_schema(schema)
    errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(_compose()), key=str)
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors)


def test_the_schema_check_catches_a_misspelt_key() -> None:
    broken = _compose()
    broken["services"]["api-1"]["healthchek"] = broken["services"]["api-1"].pop("healthcheck")
    validator = jsonschema.Draft7Validator(json.loads(SCHEMA.read_text()))
    assert any("healthchek" in e.message for e in validator.iter_errors(broken))


def test_the_topology_is_all_there() -> None:
    services = _services()
    images = {name: str(s.get("image", "")) for name, s in services.items()}
    assert images["minio"].startswith("minio/minio:") and "minio-init" in services
    assert images["postgres"].startswith("postgres:") and images["redis"].startswith("redis:")
    besu = [n for n, i in images.items() if i.startswith("hyperledger/besu:")]
    assert sorted(besu) == ["besu-1", "besu-2", "besu-3", "besu-4"]
    apis = [n for n, s in services.items() if "serve" in s.get("command", [])]
    workers = [n for n, s in services.items() if "evidence worker" in " ".join(
        s.get("command", []))]
    assert len(apis) >= 2 and len(workers) >= 2
    gateway = services["gateway"]
    assert {d for d in gateway["depends_on"]} >= set(apis)
    nginx = (ROOT / "deploy" / "nginx.conf").read_text()
    assert all(f"server {api}:8000" in nginx for api in apis)
    assert "ledger-node" in services["ledger-init"]["command"]
    for name in (*apis, *workers):  # the service runs with Celery workers, not in-process
        env = services[name]["environment"]
        assert env["EVIDENCE_JOBS__BACKEND"] == "celery"
        assert env["EVIDENCE_MODE"] == "production"


def test_every_image_is_pinned() -> None:
    for name, service in _services().items():
        image = str(service["image"])
        repository, _, tag = image.rpartition(":")
        assert repository and tag and tag != "latest", f"{name}: {image} is not pinned"


def test_healthchecks_and_dependencies() -> None:
    services = _services()
    for name, service in services.items():
        if _one_shot(service):
            assert any(name in other.get("depends_on", {}) for other in services.values()), (
                f"{name} is a one-shot job nothing waits for")
        else:
            check = service.get("healthcheck")
            assert check and check.get("test") and not check.get("disable"), (
                f"{name} has no healthcheck")
        depends = service.get("depends_on", {})
        assert isinstance(depends, dict), f"{name}: depends_on must name its conditions"
        for dependency, spec in depends.items():
            expected = ("service_completed_successfully" if _one_shot(services[dependency])
                        else "service_healthy")
            assert spec.get("condition") == expected, f"{name} -> {dependency}: {spec}"


def test_every_variable_is_required_and_declared() -> None:
    text = "\n".join(line for line in COMPOSE.read_text().splitlines()
                     if not line.lstrip().startswith("#"))
    used = _VARIABLE.findall(text)
    assert {name for name, _ in used} >= {"POSTGRES_PASSWORD", "MINIO_ROOT_PASSWORD",
                                          "REDIS_PASSWORD", "EVIDENCE_JWT_SECRET"}
    declared = _env_example()
    for name, modifier in used:
        assert modifier == ":?", f"${{{name}{modifier}}} must be written ${{{name}:?}}"
        assert name in declared, f"{name} is not declared in .env.example"


def _host_path(volume: str) -> str:
    """The host side of a short-syntax bind mount (which may start with ``${VAR:?}``)."""
    if volume.startswith(_NETWORK_DIR_VAR):
        rest = volume[len(_NETWORK_DIR_VAR):]
        return _NETWORK_DIR_VAR + rest.split(":", 1)[0]
    return volume.split(":", 1)[0]


def test_every_referenced_file_exists_or_is_generated(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    network_dir = tmp_path / "besu-network"
    monkeypatch.setenv("LEDGER_KEYSTORE_PASSWORD", "stack keystores")
    made = CliRunner().invoke(ledger_cli, [
        "besu-network", "--out", str(network_dir), "--validators", "4", "--keystore-dir",
        str(network_dir / "keystores"), "--scrypt-n", str(2**12)])
    assert made.exit_code == 0, made.output

    services = _services()
    for name, service in services.items():
        if "build" in service:
            assert (ROOT / service["build"] / "Dockerfile").is_file(), name
        for volume in service.get("volumes", []):
            host = _host_path(str(volume))
            if host.startswith(_NETWORK_DIR_VAR):
                path = network_dir / host[len(_NETWORK_DIR_VAR):].lstrip("/")
            elif host.startswith(("./", "/")):
                path = ROOT / host
            else:
                continue  # a named volume
            assert path.exists(), f"{name} mounts {host}, which neither exists nor is made"

    # the addresses the compose network gives the validators are those in their configs
    for n in range(1, 5):
        config = tomllib.loads((network_dir / f"validator-{n}" / "config.toml").read_text())
        address = services[f"besu-{n}"]["networks"]["chain"]["ipv4_address"]
        assert config["p2p-host"] == address
        assert config["genesis-file"] == "/besu/genesis.json"
        assert config["node-private-key-file"] == "/besu/key"


def test_dockerfile_copies_only_what_exists() -> None:
    for line in (ROOT / "Dockerfile").read_text().splitlines():
        if line.startswith("COPY "):
            for source in line.split()[1:-1]:
                assert (ROOT / source).exists(), f"Dockerfile copies missing {source}"


def test_docker_compose_config_accepts_it(tmp_path: Path) -> None:
    docker = shutil.which("docker")
    probe = subprocess.run([docker, "compose", "version"], capture_output=True,
                           check=False) if docker else None
    if probe is None or probe.returncode != 0:
        pytest.skip("docker compose is not installed here (no compose plugin); the schema "
                    "test above stands in for it")
    env_file = tmp_path / ".env"
    env_file.write_text("\n".join(f"{name}=x" for name in sorted(_env_example())) + "\n")
    done = subprocess.run([str(docker), "compose", "--env-file", str(env_file), "-f",
                           str(COMPOSE), "config", "--quiet"], capture_output=True, text=True,
                          check=False)
    assert done.returncode == 0, done.stderr
