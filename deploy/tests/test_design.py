"""Ports and paths the deployment relies on are the ones DESIGN fixes and the apps serve."""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from deploycheck import REPO, SERVICES, Service

DESIGN = REPO.parent / "shared" / "DESIGN.md"

COMMON = [("http", p) for p in ("/healthz", "/readyz", "/docs", "/openapi.json", "/metrics")]
PATHS = {
    "auth_service": [
        ("http", "/api/v1/auth/login"),
        ("http", "/api/v1/auth/verify"),
        ("http", "/api/v1/users/me"),
        ("http", "/.well-known/jwks.json"),
    ],
    "notify_ws_service": [("websocket", "/api/v1/notify/ws")],
    "chat_service": [("websocket", "/ws"), ("http", "/api/v1/chats")],
    "orders_service": [("websocket", "/ws/orders"), ("http", "/api/v1/orders")],
}

# Runs in its own process: each service maps its own `outbox` table on shared metadata.
PROBE = """
import json, sys
from starlette.routing import Match
from {package}.main import create_app

app = create_app()
found = {{}}
for kind, path in json.loads(sys.argv[1]):
    scope = {{"type": kind, "path": path, "root_path": "", "method": "GET",
             "headers": [], "query_string": b""}}
    # PARTIAL: the path is served, with another method (POST for login).
    found[path] = any(r.matches(scope)[0] != Match.NONE for r in app.router.routes)
print(json.dumps(found))
"""


def test_design_table_gives_the_ports_the_deployment_uses() -> None:
    if not DESIGN.exists():
        pytest.skip("DESIGN.md is not next to the repository")
    rows = re.findall(r"^\| (\w+_service) \| (\d+) \|", DESIGN.read_text(), re.MULTILINE)
    assert {name: int(port) for name, port in rows} == {s.package: s.port for s in SERVICES}
    assert "`/healthz` (alive) and `/readyz`" in DESIGN.read_text()


@pytest.mark.parametrize("service", SERVICES, ids=lambda s: s.package)
def test_app_serves_the_paths_deployment_and_clients_use(service: Service, tmp_path: Path) -> None:
    if importlib.util.find_spec(f"{service.package}.main") is None:
        pytest.skip(f"{service.package}.main does not exist yet")
    wanted = COMMON + PATHS[service.package]
    probe = subprocess.run(
        [sys.executable, "-c", PROBE.format(package=service.package), json.dumps(wanted)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert probe.returncode == 0, probe.stderr[-2000:]
    found = json.loads(probe.stdout.strip().splitlines()[-1])
    missing = [path for path, present in found.items() if not present]
    assert not missing, f"{service.package} serves none of {missing}"
