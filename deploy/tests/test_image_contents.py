"""Each Dockerfile's two stages replayed without Docker: the builder's COPY and `uv sync`
lines run in a scratch /app, then the runtime stage gets only what it copies (the venv
and the listed sources). The service must then import, answer its commands and migrate
an empty PostgreSQL database from that tree alone, with no dev tool installed."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
from deploycheck import REPO, SERVICES, Service, dockerfile_instructions

from shared.testing.services import fresh_database

pytestmark = pytest.mark.timeout(300)

# RUN lines that only make sense inside an image: installing uv (already here) and
# creating the service user (needs root; checked in test_dockerfiles).
IMAGE_ONLY = ("pip install", "groupadd", "useradd")


def _replay(service: Service, root: Path) -> Path:
    """Build ``root/app`` the way the Dockerfile builds /app; returns it."""
    app = root / "app"
    stages: list[list[tuple[str, str]]] = []
    for keyword, rest in dockerfile_instructions(REPO / service.package / "Dockerfile"):
        if keyword == "FROM":
            stages.append([])
        elif stages:
            stages[-1].append((keyword, rest))
    assert len(stages) == 2
    builder, runtime = stages
    uv = shutil.which("uv")
    assert uv is not None
    env = {k: v for k, v in os.environ.items() if not k.startswith(("UV_", "VIRTUAL_ENV"))}
    for keyword, rest in builder:
        if keyword == "ENV":
            for item in shlex.split(rest):
                name, _, value = item.partition("=")
                env[name] = value.replace("/app", str(app))
        elif keyword == "WORKDIR":
            assert rest == "/app"
            app.mkdir(parents=True)
        elif keyword == "COPY":
            _copy(rest, app)
        elif keyword == "RUN":
            if rest.startswith(IMAGE_ONLY):
                continue
            assert rest.startswith("uv sync"), rest
            # Compiling bytecode and copying out of uv's cache only cost time here.
            run_env = {
                **env,
                "UV_COMPILE_BYTECODE": "0",
                "UV_LINK_MODE": "hardlink",
                "UV_PYTHON_DOWNLOADS": "never",
            }
            done = subprocess.run(
                [uv, *shlex.split(rest)[1:]], cwd=app, env=run_env, capture_output=True, text=True
            )
            assert done.returncode == 0, done.stderr[-3000:]
    # The runtime stage starts from an empty /app at the same path, as in the image.
    app.rename(root / "builder")
    for keyword, rest in runtime:
        if keyword == "WORKDIR":
            app.mkdir()
        elif keyword == "COPY" and rest.startswith("--from=builder "):
            source, target = rest.split()[1:]
            # A move: the builder is thrown away, as the image throws its stage away.
            shutil.move(
                root / "builder" / Path(source).relative_to("/app"),
                app / Path(target).relative_to("/app"),
            )
        elif keyword == "COPY":
            _copy(rest, app)
        elif keyword == "RUN":
            assert rest.startswith(IMAGE_ONLY), f"the runtime stage installs nothing: {rest}"
    shutil.rmtree(root / "builder")
    return app


CHECK = """
import importlib.util
from {package}.main import create_app

create_app()
tools = ("pytest", "mypy", "ruff", "testcontainers", "hypothesis", "httpx_ws")
print("dev-tools:", *[t for t in tools if importlib.util.find_spec(t) is not None])
"""


def _copy(rest: str, app: Path) -> None:
    *sources, target = rest.split()
    for source in sources:
        origin = REPO / source
        destination = app / target
        if target.endswith("/") or len(sources) > 1:
            destination = destination / origin.name
        destination.parent.mkdir(parents=True, exist_ok=True)
        if origin.is_dir():
            shutil.copytree(
                origin, destination, ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
            )
        else:
            shutil.copy2(origin, destination)


@pytest.mark.parametrize("service", SERVICES, ids=lambda s: s.package)
async def test_runtime_tree_runs_the_service(
    service: Service,
    tmp_path: Path,
    postgres_server_url: str,
    redis_url: str,
    signing_key_pem: str,
) -> None:
    app = _replay(service, tmp_path)
    python = app / ".venv" / "bin" / "python"
    assert not (app / "pyproject.toml").exists()  # nothing but what the runtime copies

    def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(python), *args],
            cwd=app,
            env=env or {"PATH": os.environ["PATH"]},
            capture_output=True,
            text=True,
            timeout=120,
        )

    shown = run("-m", service.package, "--help")
    assert shown.returncode == 0, shown.stderr[-2000:]
    assert "migrate" in shown.stdout
    assert "serve" in shown.stdout
    # The app builds from what the image holds, and no dev tool came along.
    checked = run("-c", CHECK.format(package=service.package))
    assert checked.returncode == 0, checked.stderr[-2000:]
    assert checked.stdout.split() == ["dev-tools:"], checked.stdout

    async with fresh_database(postgres_server_url, f"image_{service.package}") as database:
        p = service.prefix
        env = {
            "PATH": os.environ["PATH"],
            f"{p}ENVIRONMENT": "production",
            f"{p}DATABASE_URL": database,
            f"{p}REDIS_URL": redis_url,
            f"{p}LOG_JSON": "true",
        }
        if service.package == "auth_service":
            env[f"{p}SIGNING_KEY_PEM"] = signing_key_pem
        migrated = run("-m", service.package, "migrate", env=env)
        assert migrated.returncode == 0, migrated.stderr[-3000:]
