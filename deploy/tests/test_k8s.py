"""deploy/k8s: the kustomize base and overlays build, and what they run is what the
services expect (settings, ports, probes, commands, replicas)."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
from deploycheck import (
    BY_K8S_NAME,
    K8S,
    REPO,
    RUNTIME_UID,
    SERVICES,
    Service,
    build,
    check_env_against_settings,
    container_env,
    kustomize_command,
    load_yaml,
    pod_containers,
    read_kustomization,
    settings_class,
)

OVERLAYS = ("production", "staging")
TARGETS = ("base", *OVERLAYS)


@pytest.fixture(scope="module")
def built(k8s_tree: Path) -> dict[str, list[dict[str, Any]]]:
    return {
        target: build(k8s_tree / ("base" if target == "base" else f"overlays/{target}"))
        for target in TARGETS
    }


def _one(objects: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    found = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    assert len(found) == 1, f"{kind}/{name}: {len(found)} found"
    return found[0]


def _container(obj: dict[str, Any]) -> dict[str, Any]:
    containers = pod_containers(obj)
    assert len(containers) == 1
    return containers[0]


@pytest.mark.parametrize("target", TARGETS)
def test_builds_every_piece(built: dict[str, list[dict[str, Any]]], target: str) -> None:
    objects = built[target]
    for service in SERVICES:
        _one(objects, "Deployment", service.k8s_name)
        _one(objects, "Service", service.k8s_name)
        _one(objects, "Job", f"{service.k8s_name}-migrate")
    _one(objects, "PodDisruptionBudget", "notify-ws-service")
    for obj in objects:
        assert obj["metadata"]["labels"]["app.kubernetes.io/part-of"] == "messaging-suite"


def test_every_file_a_kustomization_names_exists_and_parses(k8s_tree: Path) -> None:
    """Also the whole check where no kustomize is installed."""
    for target in TARGETS:
        directory = k8s_tree / ("base" if target == "base" else f"overlays/{target}")
        assert read_kustomization(directory)


def test_real_kustomize_agrees_with_the_reader(k8s_tree: Path) -> None:
    if kustomize_command() is None:
        pytest.skip("neither kustomize nor kubectl is installed")
    for target in OVERLAYS:
        directory = k8s_tree / "overlays" / target
        # kustomize appends a content hash to generated names; the reader does not.
        real = {
            (
                o["kind"],
                _unhashed(o) if o["kind"] in ("ConfigMap", "Secret") else o["metadata"]["name"],
            )
            for o in build(directory)
        }
        read = {(o["kind"], o["metadata"]["name"]) for o in read_kustomization(directory)}
        assert real == read


def _unhashed(obj: dict[str, Any]) -> str:
    return str(obj["metadata"]["name"]).rsplit("-", 1)[0]


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("service", SERVICES, ids=lambda s: s.package)
class TestWorkloads:
    def test_serves_on_the_design_port_with_probes(
        self, built: dict[str, list[dict[str, Any]]], target: str, service: Service
    ) -> None:
        objects = built[target]
        container = _container(_one(objects, "Deployment", service.k8s_name))
        assert container["ports"] == [{"name": "http", "containerPort": service.port}]
        assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
        assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
        assert container["startupProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
        assert "command" not in container  # the image's CMD: python -m <svc> serve
        assert "args" not in container
        k8s_service = _one(objects, "Service", service.k8s_name)
        assert k8s_service["spec"]["ports"] == [
            {"name": "http", "port": service.port, "targetPort": "http"}
        ]
        deployment = _one(objects, "Deployment", service.k8s_name)
        pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert k8s_service["spec"]["selector"].items() <= pod_labels.items()

    def test_migration_job_runs_the_same_image(
        self, built: dict[str, list[dict[str, Any]]], target: str, service: Service
    ) -> None:
        objects = built[target]
        job = _container(_one(objects, "Job", f"{service.k8s_name}-migrate"))
        api = _container(_one(objects, "Deployment", service.k8s_name))
        assert job["command"] == ["python", "-m", service.package, "migrate"]
        assert job["image"] == api["image"]
        assert job["envFrom"] == api["envFrom"]

    def test_runs_unprivileged(
        self, built: dict[str, list[dict[str, Any]]], target: str, service: Service
    ) -> None:
        for kind, name in (
            ("Deployment", service.k8s_name),
            ("Job", f"{service.k8s_name}-migrate"),
        ):
            pod = _one(built[target], kind, name)["spec"]["template"]["spec"]
            assert pod["securityContext"]["runAsNonRoot"] is True
            assert pod["securityContext"]["runAsUser"] == RUNTIME_UID
            context = _container(_one(built[target], kind, name))["securityContext"]
            assert context["allowPrivilegeEscalation"] is False
            assert context["readOnlyRootFilesystem"] is True
            assert context["capabilities"] == {"drop": ["ALL"]}


@pytest.mark.parametrize("target", OVERLAYS)
@pytest.mark.parametrize("service", SERVICES, ids=lambda s: s.package)
def test_environment_is_read_by_the_service_and_accepted_in_production(
    built: dict[str, list[dict[str, Any]]],
    target: str,
    service: Service,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    objects = built[target]
    for kind, name in (("Deployment", service.k8s_name), ("Job", f"{service.k8s_name}-migrate")):
        env = container_env(_container(_one(objects, kind, name)), objects)
        settings = check_env_against_settings(service, env, monkeypatch, tmp_path)
        assert settings.auth_url == "http://auth-service:8003"


@pytest.mark.parametrize("target", OVERLAYS)
def test_kafka_bootstrap_is_set_once_for_an_existing_cluster(
    built: dict[str, list[dict[str, Any]]], target: str
) -> None:
    objects = built[target]
    base_value = _read_env(K8S / "base" / "suite.env")["KAFKA_BOOTSTRAP_SERVERS"]
    values = set()
    for service in SERVICES:
        env = container_env(_container(_one(objects, "Deployment", service.k8s_name)), objects)
        values.add(env[f"{service.prefix}KAFKA_BOOTSTRAP_SERVERS"])
        assert env[f"{service.prefix}KAFKA_ENABLE_IDEMPOTENCE"] == "true"
    assert len(values) == 1
    assert values != {base_value}, "the overlay names its own cluster"


class TestGateway:
    def test_several_replicas_behind_one_service(
        self, built: dict[str, list[dict[str, Any]]]
    ) -> None:
        for target in TARGETS:
            objects = built[target]
            deployment = _one(objects, "Deployment", "notify-ws-service")
            autoscaler = [o for o in objects if o["kind"] == "HorizontalPodAutoscaler"]
            if autoscaler:
                # The autoscaler alone sets the count; apply must not reset it.
                assert "replicas" not in deployment["spec"], target
                assert autoscaler[0]["spec"]["minReplicas"] >= 2
            else:
                assert deployment["spec"]["replicas"] >= 2, target
            service = _one(objects, "Service", "notify-ws-service")
            # Fan-out goes through Redis, so any replica may take any socket.
            assert service["spec"].get("sessionAffinity", "None") == "None"
            assert service["spec"]["type"] == "ClusterIP"

    def test_every_replica_shares_redis(self, built: dict[str, list[dict[str, Any]]]) -> None:
        for target in OVERLAYS:
            objects = built[target]
            env = container_env(
                _container(_one(objects, "Deployment", "notify-ws-service")), objects
            )
            assert env["NOTIFY_REDIS_URL"].startswith("redis://")

    def test_production_autoscales_and_drains_slowly(
        self, built: dict[str, list[dict[str, Any]]]
    ) -> None:
        hpa = _one(built["production"], "HorizontalPodAutoscaler", "notify-ws-service")
        assert hpa["spec"]["scaleTargetRef"]["name"] == "notify-ws-service"
        assert hpa["spec"]["minReplicas"] >= 2
        budget = _one(built["production"], "PodDisruptionBudget", "notify-ws-service")
        assert budget["spec"]["maxUnavailable"] == 1


class TestSecrets:
    def test_base_holds_no_secret(self, built: dict[str, list[dict[str, Any]]]) -> None:
        assert not [o for o in built["base"] if o["kind"] == "Secret"]

    def test_examples_are_placeholders_and_real_files_stay_out_of_git(self) -> None:
        for example in K8S.glob("overlays/*/secrets/*.example"):
            assert "REPLACE_ME" in example.read_text(), example.name
            real = example.with_suffix("")
            ignored = subprocess.run(
                ["git", "check-ignore", "-q", str(real.relative_to(REPO))], cwd=REPO
            )
            assert ignored.returncode == 0, f"{real.name} would be committed"

    @pytest.mark.parametrize("target", OVERLAYS)
    def test_each_service_gets_its_own_secret(
        self, built: dict[str, list[dict[str, Any]]], target: str
    ) -> None:
        objects = built[target]
        for obj in objects:
            if obj["kind"] != "Secret":
                continue
            owner = BY_K8S_NAME[obj["metadata"]["name"].rsplit("-secrets", 1)[0]]
            keys = set(obj["data"])
            assert {"DATABASE_URL", "REDIS_URL"} <= keys
            assert ("SIGNING_KEY_PEM" in keys) == (owner.package == "auth_service")

    def test_production_pins_its_images(self, built: dict[str, list[dict[str, Any]]]) -> None:
        for obj in built["production"]:
            for container in pod_containers(obj):
                assert not container["image"].endswith(":latest"), container["image"]


def _read_env(path: Path) -> dict[str, str]:
    data = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, value = line.partition("=")
            data[name] = value
    return data


def test_overlays_are_listed_in_their_directory() -> None:
    for target in OVERLAYS:
        kustomization = load_yaml(K8S / "overlays" / target / "kustomization.yaml")
        assert "../../base" in kustomization["resources"]


def test_ingress_reaches_every_service_and_logs_no_query_string(
    built: dict[str, list[dict[str, Any]]],
) -> None:
    ingresses = [o for o in built["production"] if o["kind"] == "Ingress"]
    backends = set()
    for ingress in ingresses:
        # ?token= rides in the query string; ingress-nginx would log it.
        assert (
            ingress["metadata"]["annotations"]["nginx.ingress.kubernetes.io/enable-access-log"]
            == "false"
        )
        for rule in ingress["spec"]["rules"]:
            for path in rule["http"]["paths"]:
                backend = path["backend"]["service"]
                assert backend["port"] == {"name": "http"}
                backends.add(backend["name"])
    assert backends == {s.k8s_name for s in SERVICES}


def test_chat_takes_uploads_of_its_cap_and_the_rest_stay_small(
    built: dict[str, list[dict[str, Any]]],
) -> None:
    def body_limit(ingress: dict[str, Any]) -> int:
        value = ingress["metadata"]["annotations"]["nginx.ingress.kubernetes.io/proxy-body-size"]
        assert value.endswith("m")
        return int(value[:-1]) * 1024 * 1024

    by_path = {
        (rule["host"], path["path"]): body_limit(ingress)
        for ingress in built["production"]
        if ingress["kind"] == "Ingress"
        for rule in ingress["spec"]["rules"]
        for path in rule["http"]["paths"]
    }
    cap = settings_class(BY_K8S_NAME["chat-service"])(_env_file=None).attachment_max_bytes
    assert by_path[("chat.example.com", "/api/v1/chats/[^/]+/attachments$")] > cap
    assert by_path[("chat.example.com", "/")] == 1024 * 1024


# The oldest Kubernetes the manifests claim (policy/v1, autoscaling/v2, restricted Pod
# Security labels) and the newest the schemas know.
SCHEMA_VERSIONS = ("1.29", "latest")


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("version", SCHEMA_VERSIONS)
def test_manifests_match_the_kubernetes_schemas(
    built: dict[str, list[dict[str, Any]]], target: str, version: str
) -> None:
    """Strict: a misspelt field is an error, as `kubectl apply --validate=strict` has it."""
    kubernetes_validate = pytest.importorskip("kubernetes_validate")
    wanted = kubernetes_validate.latest_version() if version == "latest" else version
    for obj in built[target]:
        kubernetes_validate.validate(obj, wanted, strict=True)
