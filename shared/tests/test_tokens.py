"""The token verifier: RS256 pinned, kid, issuer, audience, expiry and type all checked."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any
from uuid import uuid4

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi import FastAPI
from jose import jwk as jose_jwk
from jose import jwt

from shared.auth.jwks import JwksVerifier
from shared.auth.tokens import SigningKey, TokenError, TokenVerifier, issue_token, jwks

ISSUER, AUDIENCE = "auth_service", "suite"


@pytest.fixture(scope="module")
def key() -> SigningKey:
    return SigningKey.generate()


@pytest.fixture(scope="module")
def verifier(key: SigningKey) -> TokenVerifier:
    return TokenVerifier(jwks(key), issuer=ISSUER, audience=AUDIENCE)


def token(key: SigningKey, **changes: Any) -> str:
    values: dict[str, Any] = {
        "token_type": "access",
        "subject": uuid4(),
        "session_id": uuid4(),
        "issuer": ISSUER,
        "audience": AUDIENCE,
        "ttl_seconds": 300,
        "extra": {"email": "a@example.com", "name": "A", "su": False},
        **changes,
    }
    return issue_token(key, **values)[0]


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def reheader(genuine: str, header: dict[str, Any]) -> str:
    payload = genuine.split(".")[1]
    return b64(json.dumps(header).encode()) + "." + payload


class TestVerify:
    def test_round_trip(self, key: SigningKey, verifier: TokenVerifier) -> None:
        user, session = uuid4(), uuid4()
        claims = verifier.verify(token(key, subject=user, session_id=session))
        assert claims.user_id == user
        assert claims.session_id == session
        assert claims.email == "a@example.com"
        assert claims.display_name == "A"
        assert claims.is_superuser is False
        assert claims.type == "access"

    def test_hs256_signed_with_the_public_key(
        self, key: SigningKey, verifier: TokenVerifier
    ) -> None:
        private = serialization.load_pem_private_key(key.private_pem, password=None)
        public_pem = private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        body = reheader(token(key), {"alg": "HS256", "typ": "JWT", "kid": key.kid})
        forged = body + "." + b64(hmac.new(public_pem, body.encode(), hashlib.sha256).digest())
        with pytest.raises(TokenError, match="algorithm not accepted"):
            verifier.verify(forged)

    @pytest.mark.parametrize("alg", ["none", "None", "NONE", "RS512", "ES256", "PS256"])
    def test_other_algorithms(self, key: SigningKey, verifier: TokenVerifier, alg: str) -> None:
        forged = reheader(token(key), {"alg": alg, "kid": key.kid}) + "."
        with pytest.raises(TokenError, match="algorithm not accepted"):
            verifier.verify(forged)

    def test_wrong_signature(self, key: SigningKey, verifier: TokenVerifier) -> None:
        other = SigningKey.generate()
        forged = jwt.encode(
            jwt.get_unverified_claims(token(key)),
            other.private_pem.decode(),
            "RS256",
            headers={"kid": key.kid},
        )
        with pytest.raises(TokenError, match="invalid token"):
            verifier.verify(forged)

    def test_unknown_kid(self, verifier: TokenVerifier) -> None:
        with pytest.raises(TokenError, match="unknown signing key"):
            verifier.verify(token(SigningKey.generate()))

    @pytest.mark.parametrize(("field", "value"), [("issuer", "evil"), ("audience", "other")])
    def test_wrong_issuer_or_audience(
        self, key: SigningKey, verifier: TokenVerifier, field: str, value: str
    ) -> None:
        with pytest.raises(TokenError, match="invalid token"):
            verifier.verify(token(key, **{field: value}))

    def test_expired(self, key: SigningKey, verifier: TokenVerifier) -> None:
        with pytest.raises(TokenError, match="expired"):
            verifier.verify(token(key, ttl_seconds=60, now=time.time() - 120))

    def test_leeway_tolerates_small_clock_skew(
        self, key: SigningKey, verifier: TokenVerifier
    ) -> None:
        verifier.verify(token(key, ttl_seconds=60, now=time.time() - 61))

    def test_type_is_checked_both_ways(self, key: SigningKey, verifier: TokenVerifier) -> None:
        with pytest.raises(TokenError, match="not an access token"):
            verifier.verify(token(key, token_type="refresh"))
        with pytest.raises(TokenError, match="not a refresh token"):
            verifier.decode(token(key), token_type="refresh")

    def test_missing_claims(self, key: SigningKey, verifier: TokenVerifier) -> None:
        claims = jwt.get_unverified_claims(token(key))
        del claims["sid"]
        incomplete = jwt.encode(claims, key.private_pem.decode(), "RS256", headers={"kid": key.kid})
        with pytest.raises(TokenError, match="claims incomplete"):
            verifier.verify(incomplete)

    @pytest.mark.parametrize("garbage", ["", "x", "a.b.c", "e30.e30.", "...."])
    def test_malformed(self, verifier: TokenVerifier, garbage: str) -> None:
        with pytest.raises(TokenError):
            verifier.verify(garbage)


class TestSigningKey:
    def test_kid_is_the_rfc7638_thumbprint(self, key: SigningKey) -> None:
        jwk = key.public_jwk
        canonical = json.dumps(
            {"e": jwk["e"], "kty": "RSA", "n": jwk["n"]}, separators=(",", ":")
        ).encode()
        assert key.kid == b64(hashlib.sha256(canonical).digest())
        assert SigningKey.from_pem(key.private_pem).kid == key.kid

    def test_the_public_jwk_has_no_private_part(self, key: SigningKey) -> None:
        assert set(key.public_jwk) == {"kty", "use", "alg", "kid", "n", "e"}

    def test_only_rsa_keys(self) -> None:
        pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        with pytest.raises(ValueError, match="RSA"):
            SigningKey.from_pem(pem)

    def test_signing_reuses_the_parsed_key(
        self, key: SigningKey, verifier: TokenVerifier, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # Parsing the PEM validates the RSA key, far slower than a signature: doing it
        # per token capped logins and refreshes at a few per second.
        def no_parsing(*_: object) -> None:
            raise AssertionError("the key was parsed again to sign")

        with monkeypatch.context() as patched:
            patched.setattr(jose_jwk, "construct", no_parsing)
            signed = token(key)
        assert verifier.verify(signed).email == "a@example.com"


class TestJwksVerifier:
    async def test_fetches_again_when_the_key_rotates(self) -> None:
        old, new = SigningKey.generate(), SigningKey.generate()
        published = [old]
        fetches = 0
        app = FastAPI()

        @app.get("/.well-known/jwks.json")
        async def keys() -> dict[str, Any]:
            nonlocal fetches
            fetches += 1
            return jwks(*published)

        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://auth"
        ) as client:
            verifier = JwksVerifier(
                "http://auth",
                issuer=ISSUER,
                audience=AUDIENCE,
                client=client,
                min_refresh_interval=0,
            )
            await verifier.verify(token(old))
            published = [new, old]
            await verifier.verify(token(new))
            await verifier.verify(token(old))
            assert fetches == 2

    async def test_unknown_kids_cannot_hammer_the_auth_service(self) -> None:
        key = SigningKey.generate()
        fetches = 0
        app = FastAPI()

        @app.get("/.well-known/jwks.json")
        async def keys() -> dict[str, Any]:
            nonlocal fetches
            fetches += 1
            return jwks(key)

        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://auth"
        ) as client:
            verifier = JwksVerifier("http://auth", issuer=ISSUER, audience=AUDIENCE, client=client)
            for _ in range(5):
                with pytest.raises(TokenError, match="unknown signing key"):
                    await verifier.verify(token(SigningKey.generate()))
            assert fetches == 1

    async def test_a_token_of_an_ended_session_is_refused(self) -> None:
        key = SigningKey.generate()
        ended, alive = uuid4(), uuid4()
        app = FastAPI()

        @app.get("/.well-known/jwks.json")
        async def keys() -> dict[str, Any]:
            return jwks(key)

        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://auth"
        ) as client:
            verifier = JwksVerifier(
                "http://auth", issuer=ISSUER, audience=AUDIENCE, client=client, ended={ended}
            )
            with pytest.raises(TokenError, match="session ended"):
                await verifier.verify(token(key, session_id=ended))
            assert (await verifier.verify(token(key, session_id=alive))).session_id == alive
