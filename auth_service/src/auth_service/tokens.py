"""Issuing this service's tokens and checking them against its own key."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID, uuid4

from auth_service.config import Settings
from shared.auth.tokens import (
    SigningKey,
    TokenClaims,
    TokenError,
    TokenVerifier,
    issue_token,
    jwks,
)
from shared.errors import InvalidToken


class Tokens:
    """Signs with ``key``; verifies with it and with ``previous`` keys (rotation)."""

    def __init__(
        self, key: SigningKey, settings: Settings, *, previous: Sequence[SigningKey] = ()
    ) -> None:
        self.key = key
        self._published = [key, *(k for k in previous if k.kid != key.kid)]
        self._settings = settings
        self._verifier = TokenVerifier(
            jwks(*self._published), issuer=settings.jwt_issuer, audience=settings.jwt_audience
        )

    @property
    def access_ttl(self) -> int:
        return self._settings.access_token_ttl_seconds

    @property
    def refresh_ttl(self) -> int:
        return self._settings.refresh_token_ttl_seconds

    def jwks(self) -> dict[str, list[dict[str, str]]]:
        return jwks(*self._published)

    def access_token(
        self,
        *,
        user_id: UUID,
        session_id: UUID,
        email: str,
        display_name: str,
        is_superuser: bool,
    ) -> str:
        token, _ = issue_token(
            self.key,
            token_type="access",
            subject=user_id,
            session_id=session_id,
            issuer=self._settings.jwt_issuer,
            audience=self._settings.jwt_audience,
            ttl_seconds=self.access_ttl,
            extra={"email": email, "name": display_name, "su": is_superuser},
        )
        return token

    def refresh_token(self, *, user_id: UUID, session_id: UUID, token_id: UUID) -> str:
        token, _ = issue_token(
            self.key,
            token_type="refresh",
            subject=user_id,
            session_id=session_id,
            issuer=self._settings.jwt_issuer,
            audience=self._settings.jwt_audience,
            ttl_seconds=self.refresh_ttl,
            token_id=token_id,
        )
        return token

    def verify_access(self, token: str) -> TokenClaims:
        try:
            return self._verifier.verify(token)
        except TokenError as exc:
            raise InvalidToken(str(exc)) from exc

    def decode_refresh(self, token: str) -> dict[str, Any]:
        try:
            return self._verifier.decode(token, token_type="refresh")
        except TokenError as exc:
            raise InvalidToken(str(exc)) from exc


def new_token_id() -> UUID:
    return uuid4()
