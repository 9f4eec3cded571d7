"""deploy/compose/*.yml: one compose project per service on seed 004's shared network."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from deploycheck import (
    COMPOSE_DIR,
    REPO,
    SERVICES,
    Service,
    check_env_against_settings,
    dockerfile_env,
    environment,
    interpolated_environment,
    load_yaml,
)

SHARED = "tv-shared-network"


def _project(service: Service) -> dict[str, Any]:
    return load_yaml(COMPOSE_DIR / f"{service.package}.yml")  # type: ignore[no-any-return]


@pytest.mark.parametrize("service", SERVICES, ids=lambda s: s.package)
class TestProjectPerService:
    def test_is_its_own_project_with_the_seed_container_name(self, service: Service) -> None:
        project = _project(service)
        assert project["name"] == service.package
        api = project["services"]["api"]
        assert api["container_name"] == f"{service.package}_api"
        assert api["ports"] == [f"{service.port}:{service.port}"]

    def test_joins_the_external_shared_network(self, service: Service) -> None:
        project = _project(service)
        assert project["networks"][SHARED] == {"external": True}
        private = next(n for n in project["networks"] if n != SHARED)
        assert project["networks"][private] == {"driver": "bridge"}
        assert set(project["services"]["api"]["networks"]) == {private, SHARED}
        # The database and Redis are reachable by this project alone.
        for name in ("postgres", "redis", "migrate"):
            assert project["services"][name]["networks"] == [private], name

    def test_builds_its_dockerfile_from_the_repository_root(self, service: Service) -> None:
        project = _project(service)
        for name in ("api", "migrate"):
            build = project["services"][name]["build"]
            assert (COMPOSE_DIR / build["context"]).resolve() == REPO
            assert (REPO / build["dockerfile"]) == REPO / service.package / "Dockerfile"
            assert (REPO / build["dockerfile"]).is_file()
        mounts = project["services"]["postgres"]["volumes"]
        for mount in mounts:
            source = mount.split(":")[0]
            if source.startswith("."):
                assert (COMPOSE_DIR / source).is_file(), mount

    def test_migrates_before_serving(self, service: Service) -> None:
        project = _project(service)
        migrate = project["services"]["migrate"]
        assert migrate["command"] == ["python", "-m", service.package, "migrate"]
        assert project["services"]["api"]["depends_on"]["migrate"] == {
            "condition": "service_completed_successfully"
        }
        databases = environment(project["services"]["postgres"])["POSTGRES_DATABASES"]
        assert databases == service.package

    def test_environment_is_read_by_the_service_and_accepted_in_production(
        self,
        service: Service,
        compose_secrets: dict[str, str],
        monkeypatch: pytest.MonkeyPatch,
        tmp_path: Path,
    ) -> None:
        project = _project(service)
        image_env = {
            k: v
            for k, v in dockerfile_env(REPO / service.package / "Dockerfile").items()
            if k.startswith(service.prefix)
        }
        for name in ("api", "migrate"):
            env = {
                **image_env,
                **interpolated_environment(project["services"][name], compose_secrets),
            }
            settings = check_env_against_settings(service, env, monkeypatch, tmp_path)
            # Across projects, services find each other by the seed's names.
            assert settings.auth_url == "http://auth_service_api:8003"
            assert settings.kafka_bootstrap_servers == "kafka-0:9092"


def test_the_broker_lives_with_the_gateway_and_is_shared() -> None:
    """As in the seed: `docker compose exec kafka-0 ...` in the gateway's project."""
    projects = {s.package: _project(s) for s in SERVICES}
    owners = [name for name, p in projects.items() if "kafka-0" in p["services"]]
    assert owners == ["notify_ws_service"]
    gateway = projects["notify_ws_service"]["services"]
    assert SHARED in gateway["kafka-0"]["networks"]
    assert gateway["kafka-0"]["hostname"] == "kafka-0"
    assert gateway["api"]["depends_on"]["kafka-topics"] == {
        "condition": "service_completed_successfully"
    }


def test_each_project_has_its_own_volumes_and_names() -> None:
    names = [_project(s)["name"] for s in SERVICES]
    assert len(set(names)) == len(names)
    containers = [_project(s)["services"]["api"]["container_name"] for s in SERVICES]
    assert len(set(containers)) == len(containers)
