"""`make run` on the embedded defaults comes up, answers /readyz, and Ctrl-C stops it."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from shared.devbroker import port_open

RUNNER = Path(__file__).resolve().parents[1] / "run.py"
# The suite's ports: the services' and the broker's.
PORTS = (8000, 8001, 8002, 8003, 9092)


def _free_offset() -> int:
    """An offset that puts every port where nothing listens now, and below the range the
    system hands out to outgoing connections (32768 and up on Linux), where one of them
    could take a port between this check and the runner binding it."""
    while True:
        offset = random.randint(1000, 23000)
        if not any(port_open("127.0.0.1", port + offset) for port in PORTS):
            return offset


def _runner(var: Path, offset: int) -> subprocess.Popen[str]:
    """``make run`` in a process group of its own, as in a terminal."""
    return subprocess.Popen(
        [sys.executable, str(RUNNER), "--offset", str(offset), "--var", str(var)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def test_make_run_comes_up_ready_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    offset = _free_offset()
    process = _runner(tmp_path, offset)
    output: list[str] = []
    try:
        assert process.stdout is not None
        for line in process.stdout:
            output.append(line)
            if "Ctrl-C stops everything" in line:
                break
        else:
            raise AssertionError("the runner exited early:\n" + "".join(output))
        ready_url = f"http://127.0.0.1:{8003 + offset}/readyz"
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(ready_url, timeout=2) as response:
                    body = json.loads(response.read())
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        assert body["status"] == "ready"
        assert "http://localhost:" in "".join(output)
    finally:
        # Ctrl-C in a terminal signals the whole foreground process group.
        os.killpg(process.pid, signal.SIGINT)
        rest, _ = process.communicate(timeout=60)
    assert process.returncode == 0, "".join(output) + rest
    # Every service stopped cleanly, the broker after them.
    assert "Traceback" not in rest, rest
    assert "KafkaConnectionError" not in rest, rest


def test_ctrl_c_during_start_up_stops_what_has_started(tmp_path: Path) -> None:
    offset = _free_offset()
    process = _runner(tmp_path, offset)
    output: list[str] = []
    assert process.stdout is not None
    for line in process.stdout:
        output.append(line)
        if "Kafka-compatible broker" in line:
            break
    os.killpg(process.pid, signal.SIGINT)
    rest, _ = process.communicate(timeout=60)
    assert process.returncode == 0, "".join(output) + rest
    assert "stopped while starting" in rest
    assert "The suite is up" not in rest
    assert not port_open("127.0.0.1", 9092 + offset), "the broker was stopped too"
