"""Forged and misused tokens presented to /verify (and to an endpoint that needs one).

Each forgery starts from the claims of a real, live access token, so the attack is the
only thing wrong with it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from typing import Any
from uuid import UUID

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from jose import jwt

from auth_service.config import Settings
from shared.auth.tokens import SigningKey, issue_token
from shared.testing.auth_service import AuthUser, register_and_login
from tests.helpers import bearer


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned(header: dict[str, Any], claims: dict[str, Any]) -> str:
    return b64(json.dumps(header).encode()) + "." + b64(json.dumps(claims).encode())


def public_pem(key: SigningKey) -> bytes:
    private = serialization.load_pem_private_key(key.private_pem, password=None)
    return private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


@pytest.fixture
async def victim(client: httpx.AsyncClient) -> AuthUser:
    return await register_and_login(str(client.base_url))


def claims_of(user: AuthUser) -> dict[str, Any]:
    claims: dict[str, Any] = jwt.get_unverified_claims(user.access_token)
    return claims


def hs256_with_public_key(key: SigningKey, claims: dict[str, Any], _: Settings) -> str:
    body = unsigned({"alg": "HS256", "typ": "JWT", "kid": key.kid}, claims)
    signature = hmac.new(public_pem(key), body.encode(), hashlib.sha256).digest()
    return body + "." + b64(signature)


def alg_none(key: SigningKey, claims: dict[str, Any], _: Settings) -> str:
    return unsigned({"alg": "none", "typ": "JWT", "kid": key.kid}, claims) + "."


def wrong_signature(key: SigningKey, claims: dict[str, Any], _: Settings) -> str:
    other = SigningKey.generate()
    return str(jwt.encode(claims, other.private_pem.decode(), "RS256", headers={"kid": key.kid}))


def tampered_payload(key: SigningKey, claims: dict[str, Any], _: Settings) -> str:
    genuine = jwt.encode(claims, key.private_pem.decode(), "RS256", headers={"kid": key.kid})
    header, _payload, signature = genuine.split(".")
    forged = b64(json.dumps({**claims, "su": True}).encode())
    return f"{header}.{forged}.{signature}"


def wrong_kid(key: SigningKey, claims: dict[str, Any], _: Settings) -> str:
    return str(jwt.encode(claims, key.private_pem.decode(), "RS256", headers={"kid": "other"}))


def _reissued(key: SigningKey, claims: dict[str, Any], **changes: Any) -> str:
    values: dict[str, Any] = {
        "token_type": "access",
        "subject": UUID(claims["sub"]),
        "session_id": UUID(claims["sid"]),
        "issuer": claims["iss"],
        "audience": claims["aud"],
        "ttl_seconds": 600,
        "extra": {"email": claims["email"], "name": claims["name"], "su": claims["su"]},
        **changes,
    }
    return issue_token(key, **values)[0]


def wrong_issuer(key: SigningKey, claims: dict[str, Any], _: Settings) -> str:
    return _reissued(key, claims, issuer="someone-else")


def wrong_audience(key: SigningKey, claims: dict[str, Any], _: Settings) -> str:
    return _reissued(key, claims, audience="another-suite")


def expired(key: SigningKey, claims: dict[str, Any], _: Settings) -> str:
    return _reissued(key, claims, ttl_seconds=60, now=time.time() - 3600)


def no_type(key: SigningKey, claims: dict[str, Any], _: Settings) -> str:
    stripped = {k: v for k, v in claims.items() if k != "typ"}
    return str(jwt.encode(stripped, key.private_pem.decode(), "RS256", headers={"kid": key.kid}))


Forgery = Callable[[SigningKey, dict[str, Any], Settings], str]

ATTACKS: list[tuple[Forgery, str]] = [
    (hs256_with_public_key, "token algorithm not accepted"),
    (alg_none, "token algorithm not accepted"),
    (wrong_signature, "invalid token"),
    (tampered_payload, "invalid token"),
    (wrong_kid, "unknown signing key"),
    (wrong_issuer, "invalid token"),
    (wrong_audience, "invalid token"),
    (expired, "token expired"),
    (no_type, "not an access token"),
]


class TestForgedTokens:
    async def test_the_genuine_token_passes(
        self, client: httpx.AsyncClient, victim: AuthUser
    ) -> None:
        # The control: without the attack, the same claims are accepted.
        response = await client.get("/api/v1/auth/verify", headers=bearer(victim.access_token))
        assert response.status_code == 200

    @pytest.mark.parametrize(("forge", "reason"), ATTACKS, ids=[a[0].__name__ for a in ATTACKS])
    async def test_refused(
        self,
        client: httpx.AsyncClient,
        victim: AuthUser,
        signing_key: SigningKey,
        settings: Settings,
        forge: Forgery,
        reason: str,
    ) -> None:
        token = forge(signing_key, claims_of(victim), settings)

        verified = await client.get("/api/v1/auth/verify", headers=bearer(token))
        me = await client.get("/api/v1/users/me", headers=bearer(token))

        assert verified.status_code == 401
        assert verified.json() == {"error": "InvalidToken", "detail": reason}
        assert me.status_code == 401


class TestMisusedTokens:
    async def test_a_refresh_token_is_no_access_token(
        self, client: httpx.AsyncClient, victim: AuthUser
    ) -> None:
        verified = await client.get("/api/v1/auth/verify", headers=bearer(victim.refresh_token))
        me = await client.get("/api/v1/users/me", headers=bearer(victim.refresh_token))
        assert verified.status_code == 401
        assert verified.json()["detail"] == "not an access token"
        assert me.status_code == 401

    @pytest.mark.parametrize("token", ["", "abc", "a.b.c", "Bearer", "e30.e30.e30"])
    async def test_garbage(self, client: httpx.AsyncClient, token: str) -> None:
        response = await client.get("/api/v1/auth/verify", params={"token": token})
        assert response.status_code == 401
