"""Request and response bodies of /api/v1/auth."""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, EmailStr, Field

from auth_service.database import as_utc
from auth_service.models import LoginSession
from auth_service.users.schemas import DisplayName


class RegisterRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "email": "ada@example.com",
                    "password": "correct horse battery staple",
                    "display_name": "Ada",
                }
            ]
        },
    )

    email: EmailStr = Field(max_length=320)
    # Length bounds beyond these (configurable) are checked by the password policy.
    password: str = Field(min_length=1, max_length=1024)
    display_name: DisplayName | None = Field(
        default=None, description="Defaults to the part of the email before the @"
    )


class TokenPair(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "access_token": "eyJhbGciOiJSUzI1NiIs...",
                    "token_type": "bearer",
                    "expires_in": 900,
                    "refresh_token": "eyJhbGciOiJSUzI1NiIs...",
                }
            ]
        }
    )

    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int = Field(description="Seconds until the access token expires")
    refresh_token: str


class RefreshRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    refresh_token: str = Field(min_length=1, max_length=8192)


class LogoutRequest(BaseModel):
    """Optional body: the refresh token of the session to end, when no access token is
    sent (for instance because it has expired)."""

    model_config = ConfigDict(extra="forbid")

    refresh_token: str | None = Field(default=None, max_length=8192)


class VerifiedToken(BaseModel):
    """Who holds a valid access token of a live session."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "user_id": "6f1c1a36-5b8e-5c3e-9d1e-0c2b7f0f4a11",
                    "email": "testuser1@testuser1.com",
                    "display_name": "TestUser1",
                    "is_superuser": False,
                    "exp": 1795392000,
                    "session_id": "0d6f0c1e-6a55-4c59-8c1e-2b7f0f4a1c3d",
                }
            ]
        }
    )

    user_id: UUID
    email: str
    display_name: str
    is_superuser: bool
    exp: int = Field(description="Expiry of the token, seconds since the epoch")
    session_id: UUID = Field(
        description="The login session it belongs to (`session.ended` on auth.events names it)"
    )


class Jwk(BaseModel):
    """An RSA public key (RFC 7517); ``kid`` is its RFC 7638 thumbprint."""

    kty: Literal["RSA"]
    use: Literal["sig"]
    alg: Literal["RS256"]
    kid: str
    n: str = Field(description="Modulus, base64url")
    e: str = Field(description="Exponent, base64url", examples=["AQAB"])


class JwkSet(BaseModel):
    keys: list[Jwk] = Field(description="The signing key first, then keys being retired")


class SessionRead(BaseModel):
    id: UUID
    created_at: datetime = Field(description="When the session logged in")
    last_active_at: datetime = Field(description="Its last token refresh, or its login")
    expires_at: datetime = Field(description="When its refresh token runs out")
    client_address: str | None = Field(description="The address it logged in from")
    current: bool = Field(description="The session of the token making this request")

    @classmethod
    def of(cls, login: LoginSession, *, current: bool) -> SessionRead:
        return cls(
            id=login.id,
            created_at=as_utc(login.created_at),
            last_active_at=as_utc(login.refreshed_at or login.created_at),
            expires_at=as_utc(login.expires_at),
            client_address=login.client_address,
            current=current,
        )


class SessionList(BaseModel):
    items: list[SessionRead] = Field(description="Live sessions, most recently active first")


class SessionsEnded(BaseModel):
    ended: int = Field(description="How many sessions were ended")


class AccountDeletion(BaseModel):
    model_config = ConfigDict(extra="forbid")

    password: str = Field(min_length=1, max_length=1024, description="Your current password")


class PasswordChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    current_password: str = Field(min_length=1, max_length=1024)
    # Length bounds beyond these (configurable) are checked by the password policy.
    new_password: str = Field(min_length=1, max_length=1024)
