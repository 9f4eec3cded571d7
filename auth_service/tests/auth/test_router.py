"""Register, login, refresh, logout and verify over real HTTP against PostgreSQL."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from jose import jwt

from shared.testing.auth_service import register_and_login
from tests.conftest import MAX_FAILURES_PER_ACCOUNT
from tests.helpers import bearer, unique_email

GOOD_PASSWORD = "a sound passphrase"


async def login(client: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    return await client.post("/api/v1/auth/login", data={"username": email, "password": password})


class TestRegister:
    async def test_creates_the_account(self, client: httpx.AsyncClient) -> None:
        email = unique_email()
        response = await client.post(
            "/api/v1/auth/register",
            json={"email": email, "password": GOOD_PASSWORD, "display_name": "Ada"},
        )
        assert response.status_code == 201
        body = response.json()
        assert body["email"] == email
        assert body["display_name"] == "Ada"
        assert body["is_superuser"] is False
        assert "password" not in response.text
        assert "hash" not in response.text

    async def test_display_name_defaults_to_the_local_part(self, client: httpx.AsyncClient) -> None:
        email = unique_email("grace")
        response = await client.post(
            "/api/v1/auth/register", json={"email": email, "password": GOOD_PASSWORD}
        )
        assert response.json()["display_name"] == email.partition("@")[0]

    async def test_duplicate_email_is_409_whatever_the_case(
        self, client: httpx.AsyncClient
    ) -> None:
        email = unique_email()
        first = await client.post(
            "/api/v1/auth/register", json={"email": email, "password": GOOD_PASSWORD}
        )
        again = await client.post(
            "/api/v1/auth/register", json={"email": email.upper(), "password": GOOD_PASSWORD}
        )
        assert first.status_code == 201
        assert again.status_code == 409
        assert again.json()["error"] == "EmailTaken"

    async def test_concurrent_registrations_of_one_email_make_one_account(
        self, client: httpx.AsyncClient
    ) -> None:
        email = unique_email("race")
        responses = await asyncio.gather(
            *(
                client.post(
                    "/api/v1/auth/register", json={"email": email, "password": GOOD_PASSWORD}
                )
                for _ in range(4)
            )
        )
        assert sorted(r.status_code for r in responses) == [201, 409, 409, 409]

    @pytest.mark.parametrize(
        ("password", "reason"),
        [
            ("short", "at least 8"),
            ("x" * 129, "at most 128"),
            ("aaaaaaaaaaab", "more than two different"),
        ],
    )
    async def test_password_policy(
        self, client: httpx.AsyncClient, password: str, reason: str
    ) -> None:
        email = unique_email()
        response = await client.post(
            "/api/v1/auth/register", json={"email": email, "password": password}
        )
        assert response.status_code == 422
        assert response.json()["error"] == "WeakPassword"
        assert reason in response.json()["detail"]
        assert (await login(client, email, password)).status_code == 401

    async def test_password_may_not_be_the_email(self, client: httpx.AsyncClient) -> None:
        email = unique_email("samename")
        for password in (email, email.partition("@")[0].upper()):
            response = await client.post(
                "/api/v1/auth/register", json={"email": email, "password": password}
            )
            assert response.status_code == 422
            assert "email" in response.json()["detail"]

    @pytest.mark.parametrize(
        "body",
        [
            {"email": "not-an-email", "password": GOOD_PASSWORD},
            {"email": "a@example.com"},
            {"email": "a@example.com", "password": GOOD_PASSWORD, "display_name": ""},
            {"email": "a@example.com", "password": GOOD_PASSWORD, "display_name": "x" * 65},
            {"email": "a@example.com", "password": GOOD_PASSWORD, "is_superuser": True},
        ],
    )
    async def test_invalid_body_is_422_in_the_suite_shape(
        self, client: httpx.AsyncClient, body: dict[str, object]
    ) -> None:
        response = await client.post("/api/v1/auth/register", json=body)
        assert response.status_code == 422
        assert response.json()["error"] == "ValidationError"


class TestLogin:
    async def test_answers_a_bearer_token_pair(self, client: httpx.AsyncClient) -> None:
        user = await register_and_login(str(client.base_url), password=GOOD_PASSWORD)
        response = await login(client, user.email.upper(), GOOD_PASSWORD)
        assert response.status_code == 200
        body = response.json()
        assert body["token_type"] == "bearer"
        assert body["expires_in"] == 15 * 60
        assert body["access_token"]
        assert body["refresh_token"]
        assert response.headers["cache-control"] == "no-store"

    async def test_wrong_password_is_401(self, client: httpx.AsyncClient) -> None:
        user = await register_and_login(str(client.base_url))
        response = await login(client, user.email, user.password + "x")
        assert response.status_code == 401
        assert response.json() == {
            "error": "InvalidCredentials",
            "detail": "invalid email or password",
        }

    async def test_unknown_email_answers_like_a_wrong_password(
        self, client: httpx.AsyncClient
    ) -> None:
        response = await login(client, unique_email("nobody"), GOOD_PASSWORD)
        assert response.status_code == 401
        assert response.json()["detail"] == "invalid email or password"

    async def test_an_overlong_password_is_refused_unhashed(
        self, client: httpx.AsyncClient
    ) -> None:
        user = await register_and_login(str(client.base_url))
        response = await login(client, user.email, "x" * 100_000)
        assert response.status_code == 401

    async def test_repeated_failures_are_throttled(self, client: httpx.AsyncClient) -> None:
        user = await register_and_login(str(client.base_url))
        for _ in range(MAX_FAILURES_PER_ACCOUNT):
            assert (await login(client, user.email, "wrong password")).status_code == 401
        throttled = await login(client, user.email, user.password)
        assert throttled.status_code == 429
        assert throttled.json()["error"] == "TooManyRequests"
        assert 0 < int(throttled.headers["retry-after"]) <= 300

    async def test_success_clears_the_failure_count(self, client: httpx.AsyncClient) -> None:
        user = await register_and_login(str(client.base_url))
        for _ in range(MAX_FAILURES_PER_ACCOUNT - 1):
            await login(client, user.email, "wrong password")
        assert (await login(client, user.email, user.password)).status_code == 200
        for _ in range(MAX_FAILURES_PER_ACCOUNT - 1):
            await login(client, user.email, "wrong password")
        assert (await login(client, user.email, user.password)).status_code == 200


async def refresh(client: httpx.AsyncClient, token: str) -> httpx.Response:
    return await client.post("/api/v1/auth/refresh", json={"refresh_token": token})


async def verify(client: httpx.AsyncClient, token: str) -> httpx.Response:
    return await client.get("/api/v1/auth/verify", headers=bearer(token))


class TestRefresh:
    async def test_rotates_the_pair(self, client: httpx.AsyncClient) -> None:
        user = await register_and_login(str(client.base_url))
        response = await refresh(client, user.refresh_token)
        assert response.status_code == 200
        pair = response.json()
        assert pair["refresh_token"] != user.refresh_token
        assert (await verify(client, pair["access_token"])).status_code == 200
        assert (await refresh(client, pair["refresh_token"])).status_code == 200

    async def test_reuse_revokes_the_whole_family(self, client: httpx.AsyncClient) -> None:
        user = await register_and_login(str(client.base_url))
        rotated = (await refresh(client, user.refresh_token)).json()

        reused = await refresh(client, user.refresh_token)

        assert reused.status_code == 401
        assert reused.json()["error"] == "RefreshTokenReused"
        # Both the thief's and the owner's tokens of that login are dead now.
        assert (await refresh(client, rotated["refresh_token"])).status_code == 401
        assert (await verify(client, rotated["access_token"])).status_code == 401
        assert (await verify(client, user.access_token)).status_code == 401

    async def test_other_sessions_survive_a_reuse(self, client: httpx.AsyncClient) -> None:
        user = await register_and_login(str(client.base_url))
        other = (await login(client, user.email, user.password)).json()
        await refresh(client, user.refresh_token)
        await refresh(client, user.refresh_token)
        assert (await verify(client, other["access_token"])).status_code == 200

    async def test_an_access_token_is_no_refresh_token(self, client: httpx.AsyncClient) -> None:
        user = await register_and_login(str(client.base_url))
        response = await refresh(client, user.access_token)
        assert response.status_code == 401
        assert response.json()["detail"] == "not a refresh token"

    async def test_garbage_is_401(self, client: httpx.AsyncClient) -> None:
        assert (await refresh(client, "not.a.token")).status_code == 401


class TestLogout:
    async def test_verify_fails_after_logout(self, client: httpx.AsyncClient) -> None:
        user = await register_and_login(str(client.base_url))
        assert (await verify(client, user.access_token)).status_code == 200

        response = await client.post("/api/v1/auth/logout", headers=bearer(user.access_token))

        assert response.status_code == 204
        assert (await verify(client, user.access_token)).status_code == 401
        assert (await refresh(client, user.refresh_token)).status_code == 401
        me = await client.get("/api/v1/users/me", headers=bearer(user.access_token))
        assert me.status_code == 401

    async def test_logout_with_the_refresh_token(self, client: httpx.AsyncClient) -> None:
        user = await register_and_login(str(client.base_url))
        response = await client.post(
            "/api/v1/auth/logout", json={"refresh_token": user.refresh_token}
        )
        assert response.status_code == 204
        assert (await verify(client, user.access_token)).status_code == 401

    async def test_the_refresh_token_wins_over_a_dead_access_token(
        self, client: httpx.AsyncClient
    ) -> None:
        user = await register_and_login(str(client.base_url))
        response = await client.post(
            "/api/v1/auth/logout",
            json={"refresh_token": user.refresh_token},
            headers=bearer("expired.or.garbage"),
        )
        assert response.status_code == 204
        assert (await verify(client, user.access_token)).status_code == 401

    async def test_only_that_session_ends(self, client: httpx.AsyncClient) -> None:
        user = await register_and_login(str(client.base_url))
        other = (await login(client, user.email, user.password)).json()
        await client.post("/api/v1/auth/logout", headers=bearer(user.access_token))
        assert (await verify(client, other["access_token"])).status_code == 200

    async def test_without_a_token_is_401(self, client: httpx.AsyncClient) -> None:
        response = await client.post("/api/v1/auth/logout")
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"


class TestVerify:
    async def test_bearer_header(self, client: httpx.AsyncClient) -> None:
        user = await register_and_login(str(client.base_url), display_name="Verified")
        response = await verify(client, user.access_token)
        assert response.status_code == 200
        body = response.json()
        assert body["user_id"] == str(user.id)
        assert body["email"] == user.email
        assert body["display_name"] == "Verified"
        assert body["is_superuser"] is False
        assert isinstance(body["exp"], int)
        assert body["session_id"] == jwt.get_unverified_claims(user.access_token)["sid"]

    async def test_query_token(self, client: httpx.AsyncClient) -> None:
        user = await register_and_login(str(client.base_url))
        response = await client.get("/api/v1/auth/verify", params={"token": user.access_token})
        assert response.status_code == 200
        assert response.json()["user_id"] == str(user.id)

    async def test_answers_the_current_display_name(self, client: httpx.AsyncClient) -> None:
        user = await register_and_login(str(client.base_url))
        await client.patch(
            "/api/v1/users/me", json={"display_name": "Renamed"}, headers=bearer(user.access_token)
        )
        assert (await verify(client, user.access_token)).json()["display_name"] == "Renamed"

    async def test_no_token_is_401(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/api/v1/auth/verify")
        assert response.status_code == 401
        assert response.json()["error"] == "Unauthorized"
