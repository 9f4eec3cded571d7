"""`make run`: the whole suite on one machine with embedded defaults.

Starts a local Kafka-compatible broker (unless one already listens), then every service:
migrations, demo data, server. SQLite files and the dev signing key live under var/.
Ctrl-C stops everything this started.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from shared.devbroker import port_open, start_broker


@dataclass(frozen=True)
class Service:
    package: str
    prefix: str
    port: int
    title: str
    extra_urls: tuple[str, ...] = ()
    has_demo: bool = False


SERVICES = (
    Service("auth_service", "AUTH_", 8003, "auth", has_demo=True),
    Service(
        "notify_ws_service",
        "NOTIFY_",
        8001,
        "notifications",
        ("ws://localhost:{port}/api/v1/notify/ws?token=<access token>",),
    ),
    Service(
        "chat_service",
        "CHAT_",
        8002,
        "chat",
        (
            "ws://localhost:{port}/ws?token=<access token>",
            "ws://localhost:{port}/ws/chat/<chat_id>?token=<access token>",
            "http://localhost:{port}/asyncapi",
        ),
        has_demo=True,
    ),
    Service("orders_service", "ORDERS_", 8000, "orders", ("ws://localhost:{port}/ws/orders",)),
)


def installed(service: Service) -> bool:
    return importlib.util.find_spec(f"{service.package}.__main__") is not None


def service_env(service: Service, *, var: Path, offset: int, kafka: str) -> dict[str, str]:
    env = dict(os.environ)
    defaults = {
        "ENVIRONMENT": "development",
        "PORT": str(service.port + offset),
        "DATABASE_URL": f"sqlite+aiosqlite:///{var / service.package}.db",
        "KAFKA_BOOTSTRAP_SERVERS": kafka,
        "AUTH_URL": f"http://127.0.0.1:{8003 + offset}",
        "SIGNING_KEY_PATH": str(var / "auth_signing_key.pem"),
    }
    for name, value in defaults.items():
        env.setdefault(service.prefix + name, value)
    return env


def wait_healthy(url: str, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url} exited with code {process.returncode}")
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not become healthy in {timeout:.0f}s")


def run_step(service: Service, command: str, env: dict[str, str]) -> None:
    result = subprocess.run([sys.executable, "-m", service.package, command], env=env)
    if result.returncode != 0:
        raise RuntimeError(f"{service.package} {command} failed with code {result.returncode}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--offset", type=int, default=0, help="add N to every port")
    parser.add_argument("--var", type=Path, default=Path("var"), help="data directory")
    parser.add_argument("--no-demo", action="store_true", help="skip the demo data")
    args = parser.parse_args()
    var: Path = args.var.resolve()
    var.mkdir(parents=True, exist_ok=True)

    children: list[subprocess.Popen[bytes]] = []
    starting, stopping = True, False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True
        if starting:
            # Leave the start-up at once; the finally block stops what has started.
            raise KeyboardInterrupt

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, stop)
    try:
        kafka_port = 9092 + args.offset
        kafka = f"127.0.0.1:{kafka_port}"
        if port_open("127.0.0.1", kafka_port):
            print(f"using the Kafka broker already listening on {kafka}", flush=True)
        else:
            children.append(start_broker(kafka_port, log_path=var / "broker.log", own_session=True))
            print(f"started a local Kafka-compatible broker on {kafka}", flush=True)

        lines = [f"  Kafka bootstrap      {kafka}"]
        for service in SERVICES:
            if not installed(service):
                continue
            env = service_env(service, var=var, offset=args.offset, kafka=kafka)
            run_step(service, "migrate", env)
            if service.has_demo and not args.no_demo:
                run_step(service, "seed-demo", env)
            process = subprocess.Popen(
                [sys.executable, "-m", service.package, "serve"], env=env, start_new_session=True
            )
            children.append(process)
            port = service.port + args.offset
            wait_healthy(f"http://127.0.0.1:{port}", process)
            lines.append(f"  {service.title:<20} http://localhost:{port}/docs")
            lines.extend(f"  {'':<20} {url.format(port=port)}" for url in service.extra_urls)
        print("\nThe suite is up:\n" + "\n".join(lines), flush=True)
        print("\nDemo login: TestUser1@TestUser1.com / TestUser1 (admin@admin.com / admin)")
        print("Ctrl-C stops everything.", flush=True)
        starting = False
        while not stopping and all(c.poll() is None for c in children):
            time.sleep(0.2)
        return 0 if stopping else 1
    except KeyboardInterrupt:
        print("stopped while starting", flush=True)
        return 0
    finally:
        starting = False  # a second Ctrl-C must not cut this short
        # One at a time, the broker last: each service finishes and commits what it has in
        # hand while the broker is still there. The children run in sessions of their own,
        # so a Ctrl-C in the terminal reaches this process alone and this order holds.
        for child in reversed(children):
            if child.poll() is None:
                child.send_signal(signal.SIGINT)
            try:
                child.wait(timeout=15)
            except subprocess.TimeoutExpired:
                child.kill()


if __name__ == "__main__":
    sys.exit(main())
