"""A TCP proxy a test can cut and restore, to take a dependency "off the network"
without restarting it (the local broker's memory storage forgets topics on restart)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from shared.devbroker import free_port, start_broker


class TcpProxy:
    def __init__(self, target_host: str, target_port: int, *, port: int = 0) -> None:
        self.target_host = target_host
        self.target_port = target_port
        self.port = port
        self._server: asyncio.Server | None = None
        self._links: set[asyncio.StreamWriter] = set()
        self._open = True

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        self.cut()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    def cut(self) -> None:
        """Drop every live connection and refuse new ones until :meth:`restore`."""
        self._open = False
        for writer in list(self._links):
            writer.close()
        self._links.clear()

    def restore(self) -> None:
        self._open = True

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not self._open:
            writer.close()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(self.target_host, self.target_port)
        except OSError:
            writer.close()
            return
        self._links.update((writer, up_writer))
        await asyncio.gather(
            self._pipe(reader, up_writer), self._pipe(up_reader, writer), return_exceptions=True
        )

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while self._open and (chunk := await reader.read(65536)):
                writer.write(chunk)
                await writer.drain()
        finally:
            self._links.discard(writer)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()


@asynccontextmanager
async def tcp_proxy(target: str, *, port: int = 0) -> AsyncIterator[TcpProxy]:
    """A proxy in front of ``host:port``; yields it started."""
    host, _, target_port = target.rpartition(":")
    proxy = TcpProxy(host or "127.0.0.1", int(target_port), port=port)
    await proxy.start()
    try:
        yield proxy
    finally:
        await proxy.stop()


@asynccontextmanager
async def broker_behind_proxy() -> AsyncIterator[TcpProxy]:
    """A broker of its own that every client reaches only through the yielded proxy
    (it advertises the proxy's address), so ``proxy.cut()`` is a real broker outage.
    Bootstrap with ``proxy.address``."""
    listen_port, proxy_port = free_port(), free_port()
    process = start_broker(listen_port, advertised_port=proxy_port)
    try:
        async with tcp_proxy(f"127.0.0.1:{listen_port}", port=proxy_port) as proxy:
            yield proxy
    finally:
        process.terminate()
        await asyncio.to_thread(process.wait, 10)
