"""Shutdown: the consumer stops and commits before any socket is closed."""

from __future__ import annotations

from shared.testing.auth_service import register_and_login
from tests.conftest import SettingsFactory
from tests.support import close_code, connect, serve_gateway


async def test_consumers_stop_before_sockets_close(
    auth_service_url: str, make_settings: SettingsFactory
) -> None:
    user = await register_and_login(auth_service_url)
    seen: list[tuple[int, bool]] = []
    async with serve_gateway(make_settings()) as served:
        gateway = served.gateway
        drain = gateway.drain

        async def observed_drain() -> None:
            seen.append((gateway.registry.open, bool(gateway.consumers)))
            await drain()
            seen.append((gateway.registry.open, bool(gateway.consumers)))

        gateway.drain = observed_drain  # type: ignore[method-assign]
        async with connect(served.ws_url(user.access_token)) as ws:
            served.server.should_exit = True
            code, _ = await close_code(ws)
    assert code == 1012
    # When draining began and ended the socket was still open, and the consumers were
    # gone by the end (the app's own shutdown drains again, a no-op, after the sockets).
    assert seen[:2] == [(1, True), (1, False)]
