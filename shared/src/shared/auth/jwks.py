"""Fetches auth_service's public keys so a service can verify tokens locally."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Container
from uuid import UUID

import httpx

from shared.auth.tokens import TokenClaims, TokenError, TokenVerifier
from shared.logging import get_logger

log = get_logger(__name__)


class JwksVerifier:
    """A :class:`TokenVerifier` over keys fetched from ``/.well-known/jwks.json``.

    Keys are fetched lazily and again when a token names an unknown kid (key rotation),
    at most once per ``min_refresh_interval`` so forged kids cannot hammer auth_service.
    A token of a session in ``ended`` (see :mod:`shared.auth.ended`) is refused.
    """

    def __init__(
        self,
        auth_url: str,
        *,
        issuer: str,
        audience: str,
        client: httpx.AsyncClient,
        min_refresh_interval: float = 30.0,
        ended: Container[UUID] = (),
    ) -> None:
        self._url = auth_url.rstrip("/") + "/.well-known/jwks.json"
        self._issuer = issuer
        self._audience = audience
        self._client = client
        self._min_refresh_interval = min_refresh_interval
        self._ended = ended
        self._verifier: TokenVerifier | None = None
        self._fetched_at = 0.0
        self._lock = asyncio.Lock()

    async def _refresh(self) -> TokenVerifier:
        async with self._lock:
            if self._verifier is not None and (
                time.monotonic() - self._fetched_at < self._min_refresh_interval
            ):
                return self._verifier
            try:
                response = await self._client.get(self._url, timeout=5.0)
                response.raise_for_status()
            except httpx.HTTPError as exc:
                log.warning("jwks.fetch_failed", error=repr(exc))
                if self._verifier is None:
                    raise TokenError("signing keys unavailable") from exc
                return self._verifier
            self._verifier = TokenVerifier(
                response.json(), issuer=self._issuer, audience=self._audience
            )
            self._fetched_at = time.monotonic()
            return self._verifier

    async def verify(self, token: str) -> TokenClaims:
        """The token's claims; TokenError if it is bad, expired or its session ended."""
        verifier = self._verifier or await self._refresh()
        try:
            claims = verifier.verify(token)
        except TokenError as exc:
            if str(exc) != "unknown signing key":
                raise
            claims = (await self._refresh()).verify(token)
        if claims.session_id in self._ended:
            raise TokenError("session ended")
        return claims
