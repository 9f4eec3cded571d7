"""The gateway benchmark's helper processes, seen from the benchmark.

:class:`Worker` is a child process spoken to in JSON lines (one reply per command);
:class:`ClientPool` spreads sockets over several ``bench.gateway_clients`` processes and
adds up what they saw.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from bench.suite import taskset


class Worker:
    def __init__(self, process: asyncio.subprocess.Process, name: str) -> None:
        self._process = process
        self.name = name
        self._lock = asyncio.Lock()

    @property
    def pid(self) -> int:
        return self._process.pid

    @classmethod
    async def start(cls, module: str, *args: str, core: int | None, log: Path) -> Worker:
        with log.open("ab") as errors:
            process = await asyncio.create_subprocess_exec(
                *taskset(core),
                sys.executable,
                "-m",
                module,
                *args,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=errors,
                limit=2**28,
            )
        return cls(process, f"{module}[{process.pid}]")

    async def call(self, command: dict[str, Any], timeout: float = 600) -> dict[str, Any]:
        assert self._process.stdin is not None
        assert self._process.stdout is not None
        async with self._lock:
            self._process.stdin.write(json.dumps(command).encode() + b"\n")
            await self._process.stdin.drain()
            line = await asyncio.wait_for(self._process.stdout.readline(), timeout)
        if not line:
            raise RuntimeError(f"{self.name} exited ({self._process.returncode})")
        reply: dict[str, Any] = json.loads(line)
        return reply

    async def stop(self) -> None:
        if self._process.returncode is None:
            try:
                await self.call({"cmd": "close"}, timeout=10)
                await asyncio.wait_for(self._process.wait(), 10)
            except (TimeoutError, RuntimeError, ConnectionError):
                self._process.kill()
                await self._process.wait()


class ClientPool:
    def __init__(self, workers: list[Worker]) -> None:
        self.workers = workers

    @classmethod
    async def start(cls, processes: int, *, core: int | None, log: Path) -> ClientPool:
        workers = [
            await Worker.start("bench.gateway_clients", core=core, log=log)
            for _ in range(processes)
        ]
        return cls(workers)

    @property
    def pids(self) -> list[int]:
        return [w.pid for w in self.workers]

    async def stop(self) -> None:
        await asyncio.gather(*(w.stop() for w in self.workers))

    async def _all(self, command: dict[str, Any]) -> list[dict[str, Any]]:
        return list(await asyncio.gather(*(w.call(command) for w in self.workers)))

    async def connect(
        self, group: str, url: str, tokens: list[str], *, rcvbuf: int | None = None
    ) -> dict[str, Any]:
        """One socket per token, dealt round-robin over the processes."""
        shares = [tokens[i :: len(self.workers)] for i in range(len(self.workers))]
        replies = await asyncio.gather(
            *(
                w.call(
                    {
                        "cmd": "connect",
                        "group": group,
                        "url": url,
                        "tokens": share,
                        "rcvbuf": rcvbuf,
                    }
                )
                for w, share in zip(self.workers, shares, strict=True)
            )
        )
        refused: Counter[str] = Counter()
        for reply in replies:
            refused.update(reply["refused"])
        return {"upgraded": sum(r["upgraded"] for r in replies), "refused": dict(refused)}

    async def status(self, group: str) -> dict[str, Any]:
        replies = await self._all({"cmd": "status", "group": group})
        codes: Counter[str] = Counter()
        for reply in replies:
            codes.update(reply["codes"])
        return {
            "open": sum(r["open"] for r in replies),
            "closed": sum(r["closed"] for r in replies),
            "codes": dict(codes),
        }

    async def pause(self, group: str) -> None:
        await self._all({"cmd": "pause", "group": group})

    async def resume(self, group: str) -> None:
        await self._all({"cmd": "resume", "group": group})

    async def total(self) -> int:
        return sum(r["frames"] for r in await self._all({"cmd": "total"}))

    async def count(self, phase: int) -> int:
        return sum(r["frames"] for r in await self._all({"cmd": "count", "phase": phase}))

    async def collect(self, phase: int, *, samples: bool = True) -> dict[str, Any]:
        """Frames of ``phase`` from every process; forgets the phase."""
        replies = await self._all({"cmd": "collect", "phase": phase, "samples": samples})
        firsts = [r["first"] for r in replies if r["first"] is not None]
        lasts = [r["last"] for r in replies if r["last"] is not None]
        return {
            "frames": sum(r["frames"] for r in replies),
            "first": min(firsts) if firsts else None,
            "last": max(lasts) if lasts else None,
            "samples": [s for r in replies for s in r["samples"]],
        }
