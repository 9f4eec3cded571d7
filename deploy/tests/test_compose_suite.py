"""The root docker-compose.yml: the whole suite in production mode on one host."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml
from deploycheck import (
    COMPOSE_DIR,
    REPO,
    SERVICES,
    MissingVariable,
    Service,
    check_env_against_settings,
    dockerfile_env,
    environment,
    instantiate,
    interpolate,
    interpolated_environment,
    load_yaml,
    settings_class,
    variables,
)

from shared.events.topics import ALL_TOPICS, dead_letter

COMPOSE = REPO / "docker-compose.yml"
SECRET_NAME = re.compile(r"PASSWORD|SECRET|SIGNING_KEY|TOKEN")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return load_yaml(COMPOSE)  # type: ignore[no-any-return]


def _migrate_name(service: Service) -> str:
    return f"{service.package}-migrate"


class TestLayout:
    def test_runs_every_piece_on_one_named_network(self, compose: dict[str, Any]) -> None:
        expected = {"postgres", "redis", "kafka-0", "kafka-topics"}
        for service in SERVICES:
            expected |= {service.package, _migrate_name(service)}
        assert set(compose["services"]) == expected
        assert compose["networks"] == {"suite": {"name": "suite-network"}}
        for name, entry in compose["services"].items():
            assert entry["networks"] == ["suite"], name

    @pytest.mark.parametrize("service", SERVICES, ids=lambda s: s.package)
    def test_publishes_the_design_port(self, compose: dict[str, Any], service: Service) -> None:
        entry = compose["services"][service.package]
        assert entry["ports"] == [f"{service.port}:{service.port}"]

    def test_only_the_services_are_published_to_the_world(self, compose: dict[str, Any]) -> None:
        for name, entry in compose["services"].items():
            for port in entry.get("ports", []):
                if name not in {s.package for s in SERVICES}:
                    assert port.startswith("127.0.0.1:"), (
                        f"{name} publishes {port} on every address"
                    )

    @pytest.mark.parametrize("service", SERVICES, ids=lambda s: s.package)
    def test_builds_its_own_dockerfile(self, compose: dict[str, Any], service: Service) -> None:
        for name in (service.package, _migrate_name(service)):
            entry = compose["services"][name]
            context = (COMPOSE.parent / entry["build"]["context"]).resolve()
            dockerfile = context / entry["build"]["dockerfile"]
            assert context == REPO
            assert dockerfile == REPO / service.package / "Dockerfile"
            assert dockerfile.is_file()
            assert entry["image"].startswith(f"messaging-suite/{service.package}:")


class TestStartOrder:
    @pytest.mark.parametrize("service", SERVICES, ids=lambda s: s.package)
    def test_migrations_run_once_before_the_service(
        self, compose: dict[str, Any], service: Service
    ) -> None:
        migrate = compose["services"][_migrate_name(service)]
        assert migrate["command"] == ["python", "-m", service.package, "migrate"]
        assert migrate["restart"] == "no"
        assert migrate["healthcheck"] == {"disable": True}  # the image's check is the server's
        assert migrate["depends_on"] == {"postgres": {"condition": "service_healthy"}}
        entry = compose["services"][service.package]
        assert "command" not in entry  # the image's CMD: python -m <svc> serve
        depends = entry["depends_on"]
        assert depends[_migrate_name(service)] == {"condition": "service_completed_successfully"}
        assert depends["redis"] == {"condition": "service_healthy"}
        assert depends["kafka-topics"] == {"condition": "service_completed_successfully"}
        if service.package != "auth_service":
            assert depends["auth_service"] == {"condition": "service_healthy"}

    def test_topics_are_created_once_kafka_is_healthy(self, compose: dict[str, Any]) -> None:
        job = compose["services"]["kafka-topics"]
        assert job["depends_on"] == {"kafka-0": {"condition": "service_healthy"}}
        assert job["restart"] == "no"

    @pytest.mark.parametrize("service", SERVICES, ids=lambda s: s.package)
    def test_health_check_asks_readyz_on_the_service_port(
        self, compose: dict[str, Any], service: Service
    ) -> None:
        check = " ".join(compose["services"][service.package]["healthcheck"]["test"])
        assert f"http://127.0.0.1:{service.port}/readyz" in check

    def test_backing_services_have_health_checks(self, compose: dict[str, Any]) -> None:
        for name in ("postgres", "redis", "kafka-0"):
            assert compose["services"][name]["healthcheck"]["test"], name
        # Over TCP: during first-start init PostgreSQL answers on its socket only, before
        # the init script has created the databases.
        assert (
            "pg_isready -h 127.0.0.1" in compose["services"]["postgres"]["healthcheck"]["test"][1]
        )


class TestKafka:
    def test_kraft_broker_named_as_in_the_seed(self, compose: dict[str, Any]) -> None:
        kafka = compose["services"]["kafka-0"]
        env = environment(kafka)
        assert kafka["image"].startswith("apache/kafka:")
        assert kafka["hostname"] == "kafka-0"
        assert set(env["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}
        assert env["KAFKA_CONTROLLER_QUORUM_VOTERS"] == f"{env['KAFKA_NODE_ID']}@kafka-0:9093"
        # The seed's producer: --bootstrap-server kafka-0:9092 from inside the container.
        assert "PLAINTEXT://:9092" in env["KAFKA_LISTENERS"].split(",")
        assert "PLAINTEXT://kafka-0:9092" in env["KAFKA_ADVERTISED_LISTENERS"].split(",")
        assert env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"
        assert env["KAFKA_LOG_DIRS"] == "/var/lib/kafka/data"
        assert "kafka-data:/var/lib/kafka/data" in kafka["volumes"]

    def test_topic_job_runs_the_script_with_the_broker_image(self, compose: dict[str, Any]) -> None:
        job = compose["services"]["kafka-topics"]
        assert job["image"] == compose["services"]["kafka-0"]["image"]
        source, target, mode = job["volumes"][0].split(":")
        assert (COMPOSE.parent / source).resolve() == COMPOSE_DIR / "kafka" / "create-topics.sh"
        assert job["entrypoint"] == ["sh", target]
        assert mode == "ro"

    def test_topic_script_creates_every_topic_and_its_dead_letter_topic(
        self, tmp_path: Path
    ) -> None:
        calls = tmp_path / "calls"
        fake = tmp_path / "kafka-topics.sh"
        fake.write_text(f'#!/bin/sh\necho "$*" >> {calls}\n')
        fake.chmod(0o755)
        script = (COMPOSE_DIR / "kafka" / "create-topics.sh").read_text()
        runnable = tmp_path / "create-topics.sh"
        runnable.write_text(script.replace("/opt/kafka/bin/kafka-topics.sh", str(fake)))
        env = {"PATH": os.environ["PATH"], "KAFKA_BOOTSTRAP": "kafka-0:9092"}
        subprocess.run(["sh", str(runnable)], env=env, check=True, timeout=30)
        created = set()
        for line in calls.read_text().splitlines():
            if "--create" in line:
                args = line.split()
                assert "--if-not-exists" in args
                assert args[args.index("--bootstrap-server") + 1] == "kafka-0:9092"
                created.add(args[args.index("--topic") + 1])
        assert created == {*ALL_TOPICS, *(dead_letter(t) for t in ALL_TOPICS)}


class TestPostgres:
    def test_one_database_per_service(self, compose: dict[str, Any]) -> None:
        databases = environment(compose["services"]["postgres"])["POSTGRES_DATABASES"].split()
        assert sorted(databases) == sorted(s.package for s in SERVICES)
        for service in SERVICES:
            url = environment(compose["services"][service.package])[f"{service.prefix}DATABASE_URL"]
            assert url.startswith("postgresql+asyncpg://")
            assert url.endswith(f"@postgres:5432/{service.package}")

    def test_init_script_is_mounted_where_the_image_runs_it(self, compose: dict[str, Any]) -> None:
        mounts = compose["services"]["postgres"]["volumes"]
        script = next(m for m in mounts if "init-databases.sh" in m)
        source, target, _ = script.split(":")
        assert (COMPOSE.parent / source).resolve() == COMPOSE_DIR / "postgres" / "init-databases.sh"
        assert target.startswith("/docker-entrypoint-initdb.d/")

    def test_init_script_creates_the_databases_and_can_run_again(self) -> None:
        """Runs the script against the local PostgreSQL, as the image would on first start."""
        names = [f"deploy_init_{uuid.uuid4().hex[:10]}" for _ in range(2)]
        env = {
            "PATH": os.environ["PATH"],
            "PGHOST": os.environ.get("PGHOST", "127.0.0.1"),
            "PGPORT": os.environ.get("PGPORT", "5432"),
            "POSTGRES_USER": "postgres",
            "POSTGRES_DATABASES": " ".join(names),
        }
        script = str(COMPOSE_DIR / "postgres" / "init-databases.sh")

        def existing() -> set[str]:
            listed = subprocess.run(
                [
                    "psql",
                    "-U",
                    "postgres",
                    "-d",
                    "postgres",
                    "-Atc",
                    "SELECT datname FROM pg_database",
                ],
                env=env,
                capture_output=True,
                text=True,
                check=True,
            )
            return set(listed.stdout.split())

        try:
            for _ in range(2):
                subprocess.run(["sh", script], env=env, check=True, capture_output=True, timeout=60)
                assert set(names) <= existing()
        finally:
            for name in names:
                subprocess.run(
                    [
                        "psql",
                        "-U",
                        "postgres",
                        "-d",
                        "postgres",
                        "-c",
                        f'DROP DATABASE IF EXISTS "{name}"',
                    ],
                    env=env,
                    capture_output=True,
                )


class TestSecrets:
    def test_secrets_have_no_defaults(self) -> None:
        for path in [COMPOSE, *COMPOSE_DIR.glob("*.yml")]:
            for name, op, message in variables(path.read_text()):
                if SECRET_NAME.search(name):
                    assert op == ":?", f"{path.name}: ${{{name}}} must fail when unset"
                    assert message.strip(), f"{path.name}: ${{{name}}} needs a message"

    @pytest.mark.parametrize(
        "missing", ["POSTGRES_PASSWORD", "REDIS_PASSWORD", "AUTH_SIGNING_KEY_PEM"]
    )
    def test_a_missing_secret_stops_compose_with_its_message(
        self, compose_secrets: dict[str, str], missing: str
    ) -> None:
        env = {k: v for k, v in compose_secrets.items() if k != missing}
        with pytest.raises(MissingVariable) as error:
            interpolate(COMPOSE.read_text(), env)
        assert error.value.name == missing
        assert "set " + missing in error.value.message

    def test_an_empty_secret_counts_as_missing(self, compose_secrets: dict[str, str]) -> None:
        with pytest.raises(MissingVariable):
            interpolate(COMPOSE.read_text(), {**compose_secrets, "REDIS_PASSWORD": ""})

    def test_env_example_lists_every_variable(self) -> None:
        example = (COMPOSE_DIR / ".env.example").read_text()
        required = set(re.findall(r"^([A-Z_][A-Z0-9_]*)=", example, re.MULTILINE))
        optional = set(re.findall(r"^# ([A-Z_][A-Z0-9_]*)=", example, re.MULTILINE))
        for path in [COMPOSE, *COMPOSE_DIR.glob("*.yml")]:
            for name, op, _ in variables(path.read_text()):
                if op == ":?":
                    assert name in required, f"{name} is required by {path.name}"
                else:
                    assert name in required | optional, f"{name} ({path.name}) is undocumented"

    def test_generated_env_file_holds_every_secret(self, tmp_path: Path) -> None:
        from dotenv import dotenv_values

        from shared.auth.tokens import SigningKey

        target = tmp_path / ".env"
        subprocess.run(
            ["sh", str(COMPOSE_DIR / "generate-env.sh"), str(target)],
            check=True,
            capture_output=True,
        )
        assert target.stat().st_mode & 0o077 == 0
        values = {k: v for k, v in dotenv_values(target).items() if v is not None}
        interpolate(COMPOSE.read_text(), values)  # nothing missing
        SigningKey.from_pem(values["AUTH_SIGNING_KEY_PEM"].encode())
        again = subprocess.run(
            ["sh", str(COMPOSE_DIR / "generate-env.sh"), str(target)], capture_output=True
        )
        assert again.returncode != 0  # never overwrites


class TestServiceSettings:
    @pytest.mark.parametrize("service", SERVICES, ids=lambda s: s.package)
    def test_environment_is_read_by_the_service_and_accepted_in_production(
        self,
        compose: dict[str, Any],
        compose_secrets: dict[str, str],
        service: Service,
        monkeypatch: pytest.MonkeyPatch,
        tmp_path: Path,
    ) -> None:
        image_env = {
            k: v
            for k, v in dockerfile_env(REPO / service.package / "Dockerfile").items()
            if k.startswith(service.prefix)
        }
        for name in (service.package, _migrate_name(service)):
            env = {
                **image_env,
                **interpolated_environment(compose["services"][name], compose_secrets),
            }
            assert all(k.startswith(service.prefix) for k in env), name
            settings = check_env_against_settings(service, env, monkeypatch, tmp_path)
            assert settings.kafka_bootstrap_servers == "kafka-0:9092"
            assert settings.auth_url == "http://auth_service:8003"
            assert settings.redis_url.startswith("redis://:")

    @pytest.mark.parametrize("service", SERVICES, ids=lambda s: s.package)
    def test_production_refuses_to_start_without_a_required_setting(
        self,
        compose: dict[str, Any],
        compose_secrets: dict[str, str],
        service: Service,
        monkeypatch: pytest.MonkeyPatch,
        tmp_path: Path,
    ) -> None:
        """Dropping what compose sets for production is a clear error at start."""
        cls = settings_class(service)
        image_env = dockerfile_env(REPO / service.package / "Dockerfile")
        env = {
            **{k: v for k, v in image_env.items() if k.startswith(service.prefix)},
            **interpolated_environment(compose["services"][service.package], compose_secrets),
        }
        required = ["DATABASE_URL", "REDIS_URL"]
        if service.package == "auth_service":
            required.append("SIGNING_KEY_PEM")
        for name in required:
            reduced = {k: v for k, v in env.items() if k != service.prefix + name}
            with pytest.raises(ValueError, match="refusing to start in production") as error:
                instantiate(cls, reduced, monkeypatch, tmp_path)
            assert name in str(error.value)
            monkeypatch.undo()

    # DESIGN section 2: seed 000's users (auth) and their chats (chat) are demo data.
    @pytest.mark.parametrize(
        "service",
        [s for s in SERVICES if s.package in ("auth_service", "chat_service")],
        ids=lambda s: s.package,
    )
    def test_demo_data_is_refused_in_production(
        self, compose: dict[str, Any], compose_secrets: dict[str, str], service: Service
    ) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith(service.prefix)}
        env.update(dockerfile_env(REPO / service.package / "Dockerfile"))
        env.update(interpolated_environment(compose["services"][service.package], compose_secrets))
        refused = subprocess.run(
            [sys.executable, "-m", service.package, "seed-demo"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert refused.returncode != 0
        assert "production" in refused.stderr


class _ComposeLoader(yaml.SafeLoader):
    """PyYAML plus compose's merge tags (!reset, !override)."""


def _plain(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node, deep=True)
    return loader.construct_scalar(node)  # type: ignore[arg-type]


def _reset(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    return {"!reset": _plain(loader, node)}


_ComposeLoader.add_constructor("!reset", _reset)
_ComposeLoader.add_constructor("!override", _plain)


class TestScaledGateway:
    OVERRIDE = COMPOSE_DIR / "gateway-scaled.yml"
    NGINX = COMPOSE_DIR / "nginx" / "gateway.conf"

    def _override(self) -> dict[str, Any]:
        return yaml.load(self.OVERRIDE.read_text(), Loader=_ComposeLoader)  # type: ignore[no-any-return]

    def test_replicas_give_up_the_port_to_one_balancer(self, compose: dict[str, Any]) -> None:
        override = self._override()["services"]
        assert override["notify_ws_service"]["ports"] == {"!reset": []}
        assert override["gateway-lb"]["ports"] == ["8001:8001"]
        assert override["gateway-lb"]["networks"] == ["suite"]
        assert set(override) <= set(compose["services"]) | {"gateway-lb"}
        source = override["gateway-lb"]["volumes"][0].split(":")[0]
        assert (COMPOSE.parent / source).resolve() == self.NGINX  # relative to the first file

    def test_balancer_passes_websockets_to_every_replica(self) -> None:
        conf = self.NGINX.read_text()
        alias = self._override()["services"]["notify_ws_service"]["networks"]["suite"]["aliases"]
        assert f"http://{alias[0]}:8001" in conf
        assert "proxy_set_header Upgrade $http_upgrade" in conf
        assert "proxy_http_version 1.1" in conf
        assert "resolver 127.0.0.11" in conf

    def test_balancer_never_logs_the_query_string(self) -> None:
        conf = self.NGINX.read_text()
        log_format = conf[conf.index("log_format") : conf.index(";", conf.index("log_format"))]
        for leaky in ("$request ", "$request_uri", "$args", "$query_string", '$request"'):
            assert leaky not in log_format
        assert "access_log /dev/stdout gateway;" in conf
        assert "error_log /dev/stderr crit;" in conf


def _without_extensions(node: Any, env: dict[str, str]) -> Any:
    """What compose validates: anchors and merges resolved, x- keys dropped, values
    interpolated (compose interpolates after parsing, so a PEM stays one value)."""
    if isinstance(node, dict):
        return {
            k: _without_extensions(v, env) for k, v in node.items() if not str(k).startswith("x-")
        }
    if isinstance(node, list):
        return [_without_extensions(v, env) for v in node]
    if isinstance(node, str):
        return interpolate(node, env)
    return node


@pytest.mark.parametrize(
    "path", [COMPOSE, *sorted(COMPOSE_DIR.glob("*.yml"))], ids=lambda p: p.name
)
def test_is_valid_compose(path: Path, compose_secrets: dict[str, str]) -> None:
    """The compose specification, strictly: unknown keys, bad durations and conditions fail."""
    compose_spec = pytest.importorskip("compose_spec")
    resolved = _without_extensions(
        yaml.load(path.read_text(), Loader=_ComposeLoader), compose_secrets
    )
    compose_spec.PyCompose.from_yaml(yaml.safe_dump(_unreset(resolved), sort_keys=False))


def _unreset(node: Any) -> Any:
    if isinstance(node, dict):
        if set(node) == {"!reset"}:
            return node["!reset"]
        return {k: _unreset(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_unreset(v) for v in node]
    return node
