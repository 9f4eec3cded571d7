"""The one module that touches python-jose.

Tokens are RS256 JWTs signed by auth_service alone. The algorithm is pinned: a token
whose header names any other algorithm (``none``, ``HS256`` signed with the public key,
...) or an unknown ``kid`` is refused before its signature is even looked at.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from uuid import UUID, uuid4

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jose import jwk, jwt
from jose.backends.base import Key
from jose.exceptions import ExpiredSignatureError, JOSEError
from pydantic import BaseModel, ValidationError

ALGORITHM = "RS256"
TokenType = Literal["access", "refresh"]


class TokenError(Exception):
    """The token is not acceptable; the message says why (never includes the token)."""


class TokenClaims(BaseModel):
    """What a verified access token says about its holder."""

    user_id: UUID
    email: str
    display_name: str
    is_superuser: bool = False
    session_id: UUID
    token_id: UUID
    exp: int
    type: TokenType = "access"


def _b64(value: int) -> str:
    raw = value.to_bytes((value.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@dataclass(frozen=True)
class SigningKey:
    private_pem: bytes
    kid: str
    public_jwk: dict[str, str] = field(repr=False)
    # The parsed key signs: parsing the PEM checks the RSA key, which costs far more
    # than a signature, so it is done once here rather than for every token.
    signer: Key = field(repr=False, compare=False)

    @classmethod
    def from_pem(cls, pem: bytes) -> SigningKey:
        key = serialization.load_pem_private_key(pem, password=None)
        if not isinstance(key, rsa.RSAPrivateKey):
            raise ValueError("the signing key must be an RSA private key")
        numbers = key.public_key().public_numbers()
        e, n = _b64(numbers.e), _b64(numbers.n)
        # RFC 7638 thumbprint: a kid that changes whenever the key does.
        canonical = json.dumps({"e": e, "kty": "RSA", "n": n}, separators=(",", ":"))
        kid = base64.urlsafe_b64encode(hashlib.sha256(canonical.encode()).digest())
        kid_text = kid.rstrip(b"=").decode()
        public_jwk = {"kty": "RSA", "use": "sig", "alg": ALGORITHM, "kid": kid_text, "n": n, "e": e}
        signer = jwk.construct(pem, ALGORITHM)
        return cls(private_pem=pem, kid=kid_text, public_jwk=public_jwk, signer=signer)

    @classmethod
    def generate(cls) -> SigningKey:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        return cls.from_pem(pem)

    @classmethod
    def load_or_create(cls, path: Path) -> SigningKey:
        """Development convenience: a key generated on first run and kept in ``var/``."""
        if path.exists():
            return cls.from_pem(path.read_bytes())
        key = cls.generate()
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_bytes(key.private_pem)
        return key


def jwks(*keys: SigningKey) -> dict[str, list[dict[str, str]]]:
    return {"keys": [k.public_jwk for k in keys]}


def issue_token(
    key: SigningKey,
    *,
    token_type: TokenType,
    subject: UUID,
    session_id: UUID,
    issuer: str,
    audience: str,
    ttl_seconds: int,
    extra: dict[str, Any] | None = None,
    token_id: UUID | None = None,
    now: float | None = None,
) -> tuple[str, dict[str, Any]]:
    """Sign a token; returns it with its claims."""
    issued = int(now if now is not None else time.time())
    claims: dict[str, Any] = {
        **(extra or {}),
        "iss": issuer,
        "aud": audience,
        "sub": str(subject),
        "sid": str(session_id),
        "jti": str(token_id or uuid4()),
        "typ": token_type,
        "iat": issued,
        "nbf": issued,
        "exp": issued + ttl_seconds,
    }
    token = jwt.encode(claims, key.signer, algorithm=ALGORITHM, headers={"kid": key.kid})
    return token, claims


class TokenVerifier:
    """Checks signature, algorithm, kid, issuer, audience, expiry and token type."""

    def __init__(
        self, jwks_document: dict[str, Any], *, issuer: str, audience: str, leeway: int = 5
    ) -> None:
        self._keys = {k["kid"]: k for k in jwks_document.get("keys", []) if "kid" in k}
        self._issuer = issuer
        self._audience = audience
        self._leeway = leeway

    def knows(self, kid: str) -> bool:
        return kid in self._keys

    def decode(self, token: str, *, token_type: TokenType = "access") -> dict[str, Any]:
        try:
            header = jwt.get_unverified_header(token)
        except JOSEError as exc:
            raise TokenError("malformed token") from exc
        if header.get("alg") != ALGORITHM:
            raise TokenError("token algorithm not accepted")
        key = self._keys.get(str(header.get("kid")))
        if key is None:
            raise TokenError("unknown signing key")
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                audience=self._audience,
                issuer=self._issuer,
                options={
                    "require_exp": True,
                    "require_iat": True,
                    "require_sub": True,
                    "require_jti": True,
                    "leeway": self._leeway,
                },
            )
        except ExpiredSignatureError as exc:
            raise TokenError("token expired") from exc
        except JOSEError as exc:
            raise TokenError("invalid token") from exc
        if claims.get("typ") != token_type:
            raise TokenError(
                f"not an {token_type} token"
                if token_type == "access"
                else f"not a {token_type} token"
            )
        return claims

    def verify(self, token: str) -> TokenClaims:
        """Verify an access token and return who holds it."""
        claims = self.decode(token, token_type="access")
        try:
            return TokenClaims(
                user_id=claims["sub"],
                email=claims.get("email", ""),
                display_name=claims.get("name", ""),
                is_superuser=bool(claims.get("su")),
                session_id=claims["sid"],
                token_id=claims["jti"],
                exp=claims["exp"],
            )
        except (KeyError, ValidationError) as exc:
            raise TokenError("token claims incomplete") from exc
