"""Optional callers: a token, when given, is verified locally against auth_service's keys."""

from __future__ import annotations

from orders_service.errors import AuthUnavailable, InvalidToken
from shared.auth.jwks import JwksVerifier
from shared.auth.tokens import TokenClaims, TokenError

# JwksVerifier's wording when it could never fetch a key.
_KEYS_UNAVAILABLE = "signing keys unavailable"


async def identify(verifier: JwksVerifier, token: str | None) -> TokenClaims | None:
    """None for an anonymous caller; raises for a token that is present but not good."""
    if token is None:
        return None
    try:
        return await verifier.verify(token)
    except TokenError as exc:
        if str(exc) == _KEYS_UNAVAILABLE:
            raise AuthUnavailable() from exc
        raise InvalidToken(str(exc)) from exc
