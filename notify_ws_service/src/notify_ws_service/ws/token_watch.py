"""A socket's token, watched: the socket closes at the token's expiry plus a grace unless
the client refreshed it, and revocation is re-checked every ``revalidate_interval``.

A timer per socket, not a task: tens of thousands of sockets wait here at once. A task
runs only for a re-check.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from notify_ws_service.auth.verifier import AuthUnavailable, AuthVerifier, Identity
from notify_ws_service.ws.connection import Connection
from shared.errors import InvalidToken
from shared.logging import get_logger
from shared.ws.close_codes import CloseCode

log = get_logger(__name__)


@dataclass
class TokenState:
    token: str
    identity: Identity


class TokenWatch:
    def __init__(
        self,
        connection: Connection,
        state: TokenState,
        verifier: AuthVerifier,
        *,
        revalidate_interval: float,
        expiry_grace: float,
    ) -> None:
        self._connection = connection
        self._state = state
        self._verifier = verifier
        self._interval = revalidate_interval
        self._grace = expiry_grace
        self._next_check = time.time() + revalidate_interval
        self._timer: asyncio.TimerHandle | None = None
        self._checking: asyncio.Task[None] | None = None
        self._arm()

    def refreshed(self, token: str, identity: Identity) -> None:
        self._state.token, self._state.identity = token, identity
        self._connection.session_id = identity.session_id
        self._arm()

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        if self._checking is not None:
            self._checking.cancel()

    def _arm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        wake = min(self._state.identity.exp + self._grace, self._next_check)
        self._timer = asyncio.get_running_loop().call_later(
            max(0.0, wake - time.time()), self._wake
        )

    def _wake(self) -> None:
        now = time.time()
        exp = self._state.identity.exp
        if now >= exp + self._grace:
            self._connection.close(CloseCode.UNAUTHORIZED, "token expired")
            return
        if now >= self._next_check:
            self._next_check = now + self._interval
            # In the grace period only a refresh helps: nothing to re-check.
            if now < exp and self._checking is None:
                self._checking = asyncio.create_task(self._revalidate(self._state.token))
        self._arm()

    async def _revalidate(self, token: str) -> None:
        try:
            await self._verifier.verify(token)
        except InvalidToken as exc:
            # A refresh meanwhile replaced the token: its verdict is the one that counts.
            if token == self._state.token:
                self._connection.close(CloseCode.UNAUTHORIZED, str(exc))
        except AuthUnavailable:
            log.warning("ws.revalidation_skipped", connection=self._connection.id)
        finally:
            self._checking = None
