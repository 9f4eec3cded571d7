"""A process holding many gateway sockets, driven by JSON lines on stdin.

``python -m bench.gateway_clients``; each command line gets one JSON reply line:

- ``{"cmd": "connect", "group": g, "url": u, "tokens": [...], "rcvbuf": n|null}``: one
  socket per token (``u?token=``), with a small receive buffer and Ethernet-sized
  segments when ``rcvbuf`` is given; replies how many were upgraded and refused.
- ``{"cmd": "status", "group": g}``: open and closed sockets, close codes seen.
- ``{"cmd": "pause"|"resume", "group": g}``: stop or restart reading those sockets.
- ``{"cmd": "collect", "phase": p, "samples": bool}``: frames of that phase, first and
  last arrival, and ``[seq, latency µs]`` per frame; forgets the phase.
- ``{"cmd": "count", "phase": p}``: frames of that phase so far.
- ``{"cmd": "total"}``: text frames received so far, all phases.
- ``{"cmd": "close"}``: closes every socket and exits.

A measured notification's title is ``~phase~seq~intended µs~`` (``bench.gateway_marks``):
latency is arrival minus the intended send time, both on the system's monotonic clock.
"""

from __future__ import annotations

import asyncio
import json
import resource
import socket
import sys
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import uvloop

from bench.gateway_marks import read_mark
from bench.gateway_socket import ClientSocket


@dataclass
class Phase:
    frames: int = 0
    first: float | None = None
    last: float = 0.0
    samples: list[tuple[int, int]] = field(default_factory=list)


class Clients:
    def __init__(self) -> None:
        self.groups: dict[str, list[ClientSocket]] = {}
        self.phases: dict[int, Phase] = {}
        self.total = 0

    def on_text(self, payload: bytes, now: float) -> None:
        self.total += 1
        mark = read_mark(payload)
        if mark is None:
            return
        phase_id, seq, intended_us = mark
        phase = self.phases.get(phase_id)
        if phase is None:
            phase = self.phases[phase_id] = Phase()
        phase.frames += 1
        if phase.first is None:
            phase.first = now
        phase.last = now
        phase.samples.append((seq, int(now * 1_000_000) - intended_us))

    async def connect(
        self, group: str, url: str, tokens: list[str], rcvbuf: int | None
    ) -> dict[str, Any]:
        parts = urlsplit(url)
        address = (parts.hostname or "127.0.0.1", parts.port or 80)
        limit = asyncio.Semaphore(100)
        refused: Counter[str] = Counter()
        sockets = self.groups.setdefault(group, [])

        async def one(token: str) -> None:
            async with limit:
                try:
                    client = await self._open(address, f"{url}?token={token}", rcvbuf)
                except (OSError, TimeoutError) as exc:
                    refused[type(exc).__name__] += 1
                    return
                sockets.append(client)
                try:
                    upgraded = await asyncio.wait_for(client.upgraded, 60)
                except TimeoutError:
                    upgraded = False
                if not upgraded:
                    refused["not upgraded"] += 1

        await asyncio.gather(*(one(t) for t in tokens))
        return {"upgraded": len(tokens) - sum(refused.values()), "refused": dict(refused)}

    async def _open(self, address: tuple[str, int], url: str, rcvbuf: int | None) -> ClientSocket:
        loop = asyncio.get_running_loop()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.setblocking(False)
            if rcvbuf is not None:
                # Before connecting, so the window is small from the start, and with an
                # Ethernet-sized segment: loopback's 64 KiB segments would let the
                # server's kernel buffer megabytes for a socket that never reads.
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG, 1448)
            await asyncio.wait_for(loop.sock_connect(sock, address), 30)
            _, client = await loop.create_connection(
                lambda: ClientSocket(url, self.on_text), sock=sock
            )
        except BaseException:
            sock.close()
            raise
        return client

    def status(self, group: str) -> dict[str, Any]:
        sockets = self.groups.get(group, [])
        codes = Counter(str(s.close_code) for s in sockets if s.closed and s.close_code)
        closed = sum(s.closed for s in sockets)
        return {"open": len(sockets) - closed, "closed": closed, "codes": dict(codes)}

    def collect(self, phase_id: int, samples: bool) -> dict[str, Any]:
        phase = self.phases.pop(phase_id, Phase())
        return {
            "frames": phase.frames,
            "first": phase.first,
            "last": phase.last if phase.first is not None else None,
            "samples": phase.samples if samples else [],
        }

    def handle(self, command: dict[str, Any]) -> dict[str, Any] | None:
        kind = command["cmd"]
        group = command.get("group", "")
        if kind == "status":
            return self.status(group)
        if kind in ("pause", "resume"):
            for client in self.groups.get(group, []):
                if kind == "pause":
                    client.pause()
                else:
                    client.resume()
            return {}
        if kind == "collect":
            return self.collect(int(command["phase"]), bool(command.get("samples", True)))
        if kind == "count":
            phase = self.phases.get(int(command["phase"]))
            return {"frames": phase.frames if phase is not None else 0}
        if kind == "total":
            return {"frames": self.total}
        if kind == "close":
            for sockets in self.groups.values():
                for client in sockets:
                    client.close()
            return {}
        return None


def _raise_fd_limit() -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


async def main() -> None:
    _raise_fd_limit()
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=2**26)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    clients = Clients()
    while line := await reader.readline():
        command = json.loads(line)
        if command["cmd"] == "connect":
            reply: dict[str, Any] | None = await clients.connect(
                command["group"], command["url"], command["tokens"], command.get("rcvbuf")
            )
        else:
            reply = clients.handle(command)
        sys.stdout.write(json.dumps(reply if reply is not None else {"error": "unknown"}) + "\n")
        sys.stdout.flush()
        if command["cmd"] == "close":
            return


if __name__ == "__main__":
    uvloop.run(main())
