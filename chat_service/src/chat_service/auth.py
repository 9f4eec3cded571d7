"""Turning an access token into an :class:`Actor`, for REST and sockets alike."""

from __future__ import annotations

from typing import Any

from chat_service.context import Actor
from chat_service.state import Verifier
from shared.auth.tokens import TokenClaims, TokenError
from shared.errors import InvalidToken, ServiceUnavailable, Unauthorized

KEYS_UNAVAILABLE = "signing keys unavailable"

# What every REST call may answer before it gets to its own work.
REFUSALS: dict[int | str, dict[str, Any]] = {
    401: {
        "description": "Missing, invalid or expired token; or, looking up people to add, "
        "a session auth_service has ended"
    },
    429: {
        "description": "Too many writes (POST, PUT, PATCH, DELETE) from you in a short "
        "while; Retry-After says when to go on"
    },
    503: {
        "description": "auth_service unreachable: the token cannot be checked (signing "
        "keys), or people to add cannot be looked up"
    },
}


async def verify_token(verifier: Verifier, token: str | None) -> TokenClaims:
    """Raises Unauthorized for a missing token, InvalidToken for a bad or expired one,
    ServiceUnavailable when the keys cannot be fetched from auth_service (never lets an
    unchecked token through)."""
    if not token:
        raise Unauthorized("missing access token")
    try:
        return await verifier.verify(token)
    except TokenError as exc:
        if str(exc) == KEYS_UNAVAILABLE:
            raise ServiceUnavailable("cannot verify tokens right now; try again later") from exc
        raise InvalidToken(str(exc)) from exc


async def authenticate(verifier: Verifier, token: str | None) -> tuple[Actor, TokenClaims]:
    claims = await verify_token(verifier, token)
    return Actor.from_claims(claims, token or ""), claims
