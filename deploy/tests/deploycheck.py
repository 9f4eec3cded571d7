"""What the deployment checks share: the services, their settings, compose interpolation,
and a kustomize build (the real one when installed, else a reader of the same files)."""

from __future__ import annotations

import base64
import importlib
import importlib.util
import os
import re
import shutil
import subprocess
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
K8S = REPO / "deploy" / "k8s"
COMPOSE_DIR = REPO / "deploy" / "compose"
RUNTIME_UID = 10001


@dataclass(frozen=True)
class Service:
    package: str  # python package and folder
    dist: str  # distribution name in uv.lock
    prefix: str  # env prefix of its settings
    port: int  # DESIGN section 1

    @property
    def k8s_name(self) -> str:
        return self.package.replace("_", "-")


SERVICES = (
    Service("auth_service", "auth-service", "AUTH_", 8003),
    Service("notify_ws_service", "notify-ws-service", "NOTIFY_", 8001),
    Service("chat_service", "chat-service", "CHAT_", 8002),
    Service("orders_service", "orders-service", "ORDERS_", 8000),
)
BY_PACKAGE = {s.package: s for s in SERVICES}
BY_K8S_NAME = {s.k8s_name: s for s in SERVICES}


def load_yaml(path: Path) -> Any:
    with path.open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)


# --- settings --------------------------------------------------------------------------


def settings_class(service: Service) -> Any:
    """The service's Settings class; skips while its config module does not exist yet."""
    module_name = f"{service.package}.config"
    if importlib.util.find_spec(module_name) is None:
        pytest.skip(f"{module_name} does not exist yet")
    module = importlib.import_module(module_name)
    return module.Settings


def settings_env_names(cls: Any) -> dict[str, str]:
    """Env name (upper case) -> field name, as pydantic-settings reads them."""
    prefix = str(cls.model_config.get("env_prefix", ""))
    names: dict[str, str] = {}
    for field_name, field in cls.model_fields.items():
        alias = field.validation_alias
        choices: list[str] = []
        if isinstance(alias, str):
            choices = [alias]
        elif alias is not None and hasattr(alias, "choices"):
            choices = [c for c in alias.choices if isinstance(c, str)]
        for env_name in choices or [prefix + field_name]:
            names[env_name.upper()] = field_name
    return names


def instantiate(
    cls: Any, env: Mapping[str, str], monkeypatch: pytest.MonkeyPatch, tmp: Path
) -> Any:
    """Build the settings from exactly ``env`` (no .env file, no stray variables)."""
    prefix = str(cls.model_config.get("env_prefix", "")).upper()
    for name in list(os.environ):
        if prefix and name.upper().startswith(prefix):
            monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp)
    return cls()


def check_env_against_settings(
    service: Service, env: Mapping[str, str], monkeypatch: pytest.MonkeyPatch, tmp: Path
) -> Any:
    """Every name is a setting the service reads, and production accepts the whole set."""
    cls = settings_class(service)
    known = settings_env_names(cls)
    unknown = sorted(name for name in env if name.upper() not in known)
    assert not unknown, f"{service.package} reads no setting named {unknown}"
    missing = sorted(
        env_name
        for env_name, field_name in known.items()
        if cls.model_fields[field_name].is_required() and env_name not in {n.upper() for n in env}
    )
    assert not missing, f"{service.package} requires {missing}, which is not set"
    settings = instantiate(cls, env, monkeypatch, tmp)
    assert settings.is_production
    assert settings.log_json is True
    assert settings.kafka_enable_idempotence is True
    assert settings.port == service.port
    assert settings.host == "0.0.0.0"
    return settings


# --- compose ---------------------------------------------------------------------------

_VARIABLE = re.compile(
    r"\$(?:(?P<escaped>\$)|\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}"
    r"|(?P<bare>[A-Za-z_][A-Za-z0-9_]*))"
)


class MissingVariable(ValueError):
    def __init__(self, name: str, message: str) -> None:
        super().__init__(f"{name}: {message}")
        self.name = name
        self.message = message


def interpolate(text: str, env: Mapping[str, str]) -> str:
    """Compose's ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?err}, ${VAR?err}, $$."""

    def replace(match: re.Match[str]) -> str:
        if match.group("escaped"):
            return "$"
        name = match.group("braced") or match.group("bare")
        op, arg = match.group("op"), match.group("arg") or ""
        value = env.get(name)
        unset_or_empty = value is None or (op is not None and op.startswith(":") and value == "")
        if op in ("-", ":-"):
            return arg if unset_or_empty else str(value)
        if op in ("?", ":?"):
            if unset_or_empty:
                raise MissingVariable(name, arg)
            return str(value)
        return "" if value is None else value

    return _VARIABLE.sub(replace, text)


def variables(text: str) -> Iterator[tuple[str, str | None, str]]:
    """(name, operator, argument) of every ${...} reference in ``text``."""
    for match in _VARIABLE.finditer(text):
        name = match.group("braced") or match.group("bare")
        if name:
            yield name, match.group("op"), match.group("arg") or ""


def environment(service: Mapping[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        return dict(item.split("=", 1) for item in env)
    return {str(k): "" if v is None else str(v) for k, v in env.items()}


def interpolated_environment(service: Mapping[str, Any], env: Mapping[str, str]) -> dict[str, str]:
    return {name: interpolate(value, env) for name, value in environment(service).items()}


# --- Dockerfiles -----------------------------------------------------------------------


def dockerfile_instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    lines: list[tuple[str, str]] = []
    pending = ""
    for raw in path.read_text(encoding="utf-8").splitlines():
        stripped = raw.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        full = pending + stripped
        pending = ""
        keyword, _, rest = full.partition(" ")
        lines.append((keyword.upper(), rest.strip()))
    return lines


def dockerfile_env(path: Path) -> dict[str, str]:
    """ENV values of the final stage."""
    stages: list[dict[str, str]] = []
    for keyword, rest in dockerfile_instructions(path):
        if keyword == "FROM":
            stages.append({})
        elif keyword == "ENV" and stages:
            for match in re.finditer(r"([A-Za-z_][A-Za-z0-9_]*)=(\"[^\"]*\"|\S+)", rest):
                stages[-1][match.group(1)] = match.group(2).strip('"')
    return stages[-1] if stages else {}


# --- kustomize -------------------------------------------------------------------------


def kustomize_command() -> list[str] | None:
    """kustomize, else kubectl's built-in one; DEPLOY_TESTS_NO_KUSTOMIZE=1 forces the reader."""
    if os.environ.get("DEPLOY_TESTS_NO_KUSTOMIZE") == "1":
        return None
    if shutil.which("kustomize"):
        return ["kustomize", "build"]
    if shutil.which("kubectl"):
        return ["kubectl", "kustomize"]
    return None


def materialize_secrets(root: Path, signing_key_pem: str) -> None:
    """Give every overlay the secret files its generators read, made from the examples."""
    for example in root.glob("overlays/*/secrets/*.example"):
        target = example.with_suffix("")
        if target.name.endswith(".pem"):
            target.write_text(signing_key_pem, encoding="utf-8")
        else:
            target.write_text(example.read_text(encoding="utf-8"), encoding="utf-8")


def build(directory: Path) -> list[dict[str, Any]]:
    """Rendered objects of a kustomization: kustomize itself when installed."""
    command = kustomize_command()
    if command is not None:
        result = subprocess.run(
            [*command, str(directory)], capture_output=True, text=True, timeout=120
        )
        assert result.returncode == 0, result.stderr
        return [doc for doc in yaml.safe_load_all(result.stdout) if doc]
    return read_kustomization(directory)


def read_kustomization(directory: Path) -> list[dict[str, Any]]:
    """The subset of kustomize this suite uses: resources, generators (create, merge,
    replace), namespace, images and replicas. Every referenced file must exist and parse."""
    kustomization = load_yaml(directory / "kustomization.yaml")
    objects: list[dict[str, Any]] = []
    for resource in kustomization.get("resources", []):
        path = (directory / resource).resolve()
        assert path.exists(), f"{directory}: resource {resource} does not exist"
        if path.is_dir():
            objects.extend(read_kustomization(path))
        else:
            objects.extend(doc for doc in yaml.safe_load_all(path.read_text()) if doc)
    for kind, key in (("ConfigMap", "configMapGenerator"), ("Secret", "secretGenerator")):
        for generator in kustomization.get(key, []):
            data: dict[str, str] = {}
            for env_file in generator.get("envs", []):
                data.update(_read_env_file(directory / env_file))
            for literal in generator.get("literals", []):
                name, _, value = literal.partition("=")
                data[name] = value
            for spec in generator.get("files", []):
                name, _, file_name = spec.rpartition("=")
                source = directory / file_name
                assert source.exists(), f"{directory}: {file_name} does not exist"
                data[name or source.name] = source.read_text(encoding="utf-8")
            behavior = generator.get("behavior", "create")
            existing = [
                o
                for o in objects
                if o["kind"] == kind and o["metadata"]["name"] == generator["name"]
            ]
            if behavior == "create":
                assert not existing, f"{generator['name']} is generated twice"
                body: dict[str, Any] = {
                    "apiVersion": "v1",
                    "kind": kind,
                    "metadata": {"name": generator["name"]},
                }
                if kind == "Secret":
                    body["type"] = "Opaque"
                    body["data"] = {k: _b64(v) for k, v in data.items()}
                else:
                    body["data"] = data
                objects.append(body)
            else:
                assert existing, f"{generator['name']}: nothing to {behavior}"
                encoded = {k: _b64(v) for k, v in data.items()} if kind == "Secret" else data
                if behavior == "replace":
                    existing[0]["data"] = encoded
                else:
                    existing[0].setdefault("data", {}).update(encoded)
    for patch in kustomization.get("patches", []):
        if "path" in patch:
            assert (directory / patch["path"]).exists(), f"patch {patch['path']} does not exist"
            continue
        target = patch["target"]
        matched = [
            o
            for o in objects
            if o["kind"] == target["kind"] and o["metadata"]["name"] == target["name"]
        ]
        assert matched, f"patch target {target} matches nothing"
        for obj in matched:
            _json6902(obj, yaml.safe_load(patch["patch"]))
    for group in kustomization.get("labels", []):
        for obj in objects:
            obj["metadata"].setdefault("labels", {}).update(group.get("pairs", {}))
    namespace = kustomization.get("namespace")
    images = {i["name"]: i for i in kustomization.get("images", [])}
    replicas = {r["name"]: r["count"] for r in kustomization.get("replicas", [])}
    for obj in objects:
        if namespace and obj["kind"] != "Namespace":
            obj["metadata"]["namespace"] = namespace
        if obj["kind"] == "Deployment" and obj["metadata"]["name"] in replicas:
            obj["spec"]["replicas"] = replicas[obj["metadata"]["name"]]
        for container in pod_containers(obj):
            name = container["image"].rsplit(":", 1)[0]
            if name in images:
                new = images[name]
                container["image"] = f"{new.get('newName', name)}:{new.get('newTag', 'latest')}"
    return objects


def _json6902(obj: dict[str, Any], operations: list[dict[str, Any]]) -> None:
    """add, replace and remove on plain /a/b/c paths: what the overlays use."""
    for operation in operations:
        *parents, last = operation["path"].strip("/").split("/")
        node: Any = obj
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        if operation["op"] == "remove":
            assert last in node, f"nothing to remove at {operation['path']}"
            del node[last]
        else:
            assert operation["op"] in ("add", "replace"), operation
            node[last] = operation["value"]


def _b64(value: str) -> str:
    return base64.b64encode(value.encode()).decode()


def _read_env_file(path: Path) -> dict[str, str]:
    assert path.exists(), f"{path} does not exist"
    data: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, _, value = line.partition("=")
            data[name.strip()] = value
    return data


def pod_containers(obj: Mapping[str, Any]) -> list[dict[str, Any]]:
    if obj.get("kind") not in ("Deployment", "Job", "StatefulSet", "DaemonSet"):
        return []
    spec = obj["spec"]["template"]["spec"]
    return [*spec.get("initContainers", []), *spec.get("containers", [])]


def container_env(container: Mapping[str, Any], objects: list[dict[str, Any]]) -> dict[str, str]:
    """The environment a container gets: envFrom sources (with their prefix), then env."""
    by_name = {(o["kind"], o["metadata"]["name"]): o for o in objects}
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        prefix = source.get("prefix", "")
        if "configMapRef" in source:
            config_map = by_name[("ConfigMap", source["configMapRef"]["name"])]
            data = dict(config_map.get("data", {}))
        else:
            secret = by_name.get(("Secret", source["secretRef"]["name"]))
            if secret is None:
                continue  # created out of band (base has no Secrets)
            data = {k: base64.b64decode(v).decode() for k, v in secret.get("data", {}).items()}
            data.update(secret.get("stringData", {}))
        env.update({prefix + key: str(value) for key, value in data.items()})
    for item in container.get("env", []):
        if "value" in item:
            env[item["name"]] = str(item["value"])
    return env
