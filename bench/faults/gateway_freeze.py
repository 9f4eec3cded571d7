"""A broker whose clients all go through a proxy that can silence one process.

Freezing a process stops forwarding what it sends while what the broker sends keeps
flowing: the process still gets the records it already asked for, handles them, pushes
them to sockets, and then its offset commit never arrives. Killing it then leaves records
delivered to users but not committed: the next consumer gets them again.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import psutil

from shared.devbroker import free_port, start_broker


class FreezingProxy:
    def __init__(self, target_port: int, port: int) -> None:
        self.target_port = target_port
        self.port = port
        self._server: asyncio.Server | None = None
        self._frozen_pid: int | None = None
        # Client-side port of each link -> set once its sender is frozen.
        self._links: dict[int, asyncio.Event] = {}

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._server.wait_closed(), 5)

    def freeze(self, pid: int) -> int:
        """Stop forwarding what process ``pid`` sends, now and on any new link; returns
        how many of its links were live."""
        self._frozen_pid = pid
        ports = self._ports_of(pid)
        for port in ports & set(self._links):
            self._links[port].set()
        return len(ports & set(self._links))

    def _ports_of(self, pid: int) -> set[int]:
        with contextlib.suppress(psutil.Error):
            return {
                c.laddr.port
                for c in psutil.Process(pid).net_connections(kind="tcp")
                if c.raddr and c.raddr.port == self.port
            }
        return set()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer_port: int = writer.get_extra_info("peername")[1]
        frozen = asyncio.Event()
        if self._frozen_pid is not None and peer_port in self._ports_of(self._frozen_pid):
            frozen.set()
        self._links[peer_port] = frozen
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.close()
            return
        try:
            await asyncio.gather(
                self._pipe(reader, up_writer, frozen),
                self._pipe(up_reader, writer, None),
                return_exceptions=True,
            )
        finally:
            self._links.pop(peer_port, None)

    @staticmethod
    async def _pipe(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter, frozen: asyncio.Event | None
    ) -> None:
        try:
            while chunk := await reader.read(65536):
                if frozen is not None and frozen.is_set():
                    continue  # swallowed: the broker never hears it
                writer.write(chunk)
                await writer.drain()
        finally:
            writer.close()


@asynccontextmanager
async def broker_behind_freezing_proxy() -> AsyncIterator[FreezingProxy]:
    """A broker of its own that every client reaches through the yielded proxy (it
    advertises the proxy's address); bootstrap with ``proxy.address``."""
    listen_port, proxy_port = free_port(), free_port()
    process = start_broker(listen_port, advertised_port=proxy_port)
    proxy = FreezingProxy(listen_port, proxy_port)
    await proxy.start()
    try:
        yield proxy
    finally:
        await proxy.stop()
        process.terminate()
        await asyncio.to_thread(process.wait, 10)
