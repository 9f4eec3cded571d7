"""Token checks against auth_service ``GET /api/v1/auth/verify``.

Results are cached briefly (never past the token's ``exp``) under a hash of the token,
and concurrent checks of one token share one call: a reconnect storm of a thousand
sockets with the same token makes one request, not a thousand.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import time
from collections import OrderedDict
from collections.abc import Callable, Container
from dataclasses import dataclass
from uuid import UUID

import httpx

from notify_ws_service.metrics import AUTH_CALLS
from shared.errors import InvalidToken
from shared.logging import get_logger

log = get_logger(__name__)

# A JWT is base64url parts joined by dots.
_JWT = re.compile(r"[A-Za-z0-9_\-.=]+")


@dataclass(frozen=True)
class Identity:
    user_id: UUID
    email: str
    display_name: str
    is_superuser: bool
    exp: int
    session_id: UUID | None = None


class AuthUnavailable(Exception):
    """auth_service could not be asked; the caller should try again later."""


@dataclass(frozen=True)
class _Entry:
    until: float
    identity: Identity | None
    reason: str = ""


class AuthVerifier:
    def __init__(
        self,
        auth_url: str,
        client: httpx.AsyncClient,
        *,
        timeout: float = 3.0,
        cache_ttl: float = 15.0,
        negative_ttl: float = 5.0,
        max_entries: int = 10_000,
        clock: Callable[[], float] = time.time,
        ended: Container[UUID] = (),
    ) -> None:
        self._url = auth_url.rstrip("/") + "/api/v1/auth/verify"
        self._client = client
        self._timeout = timeout
        self._cache_ttl = cache_ttl
        self._negative_ttl = negative_ttl
        self._max_entries = max_entries
        self._clock = clock
        # Sessions auth_service has ended (shared.auth.ended): refused at once, whatever
        # the cache says.
        self._ended = ended
        self._cache: OrderedDict[str, _Entry] = OrderedDict()
        self._inflight: dict[str, asyncio.Task[Identity]] = {}

    async def verify(self, token: str) -> Identity:
        identity = await self._verified(token)
        if identity.session_id in self._ended:
            raise InvalidToken("session ended")
        return identity

    async def _verified(self, token: str) -> Identity:
        # Not a JWT's characters (another credential, say "Basic ..."): refused here, not
        # passed on to auth_service.
        if len(token) > 8192 or not _JWT.fullmatch(token):
            raise InvalidToken("missing or malformed token")
        key = hashlib.sha256(token.encode()).hexdigest()
        entry = self._cache.get(key)
        if entry is not None:
            if entry.until > self._clock():
                self._cache.move_to_end(key)
                if entry.identity is None:
                    raise InvalidToken(entry.reason)
                return entry.identity
            del self._cache[key]
        task = self._inflight.get(key)
        if task is None:
            task = asyncio.create_task(self._check(key, token))
            self._inflight[key] = task
            task.add_done_callback(lambda _: self._inflight.pop(key, None))
        # shield: one caller giving up (its socket went away) must not cancel the others.
        return await asyncio.shield(task)

    async def _check(self, key: str, token: str) -> Identity:
        try:
            response = await self._client.get(
                self._url, headers={"Authorization": f"Bearer {token}"}, timeout=self._timeout
            )
        except httpx.HTTPError as exc:
            AUTH_CALLS.labels("unavailable").inc()
            log.warning("auth.unreachable", error=type(exc).__name__)
            raise AuthUnavailable("auth_service unreachable") from exc
        now = self._clock()
        if response.status_code in (401, 403):
            AUTH_CALLS.labels("refused").inc()
            reason = _detail(response) or "invalid token"
            self._store(key, _Entry(now + self._negative_ttl, None, reason))
            raise InvalidToken(reason)
        if response.status_code != 200:
            AUTH_CALLS.labels("unavailable").inc()
            log.warning("auth.unexpected_status", status=response.status_code)
            raise AuthUnavailable(f"auth_service answered {response.status_code}")
        try:
            body = response.json()
            identity = Identity(
                user_id=UUID(str(body["user_id"])),
                email=str(body.get("email", "")),
                display_name=str(body.get("display_name", "")),
                is_superuser=bool(body.get("is_superuser", False)),
                exp=int(body["exp"]),
                session_id=UUID(str(body["session_id"])) if body.get("session_id") else None,
            )
        except (ValueError, KeyError, TypeError) as exc:
            AUTH_CALLS.labels("unavailable").inc()
            raise AuthUnavailable("auth_service answered an unexpected body") from exc
        AUTH_CALLS.labels("accepted").inc()
        if identity.exp <= now:
            raise InvalidToken("token expired")
        self._store(key, _Entry(min(now + self._cache_ttl, identity.exp), identity))
        return identity

    def _store(self, key: str, entry: _Entry) -> None:
        self._cache[key] = entry
        self._cache.move_to_end(key)
        while len(self._cache) > self._max_entries:
            self._cache.popitem(last=False)


def _detail(response: httpx.Response) -> str:
    try:
        detail = response.json().get("detail")
    except (ValueError, AttributeError):
        return ""
    return detail[:120] if isinstance(detail, str) else ""
