"""A user's own sessions (list, end one, end the others), password change and account
deletion: each end is a logout of that session (its tokens stop working, session.ended
is recorded); a new password ends every other session; a deleted account keeps nothing
of its owner and never logs in again; wrong passwords are refused and throttled."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import httpx
from jose import jwt
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from auth_service.models import LoginSession, User
from shared.testing.auth_service import AuthUser, register_and_login
from tests.conftest import MAX_FAILURES_PER_ACCOUNT
from tests.helpers import bearer

NEW_PASSWORD = "another sound passphrase"


async def _login(client: httpx.AsyncClient, email: str, password: str) -> dict[str, Any]:
    response = await client.post(
        "/api/v1/auth/login", data={"username": email, "password": password}
    )
    assert response.status_code == 200, response.text
    tokens: dict[str, Any] = response.json()
    return tokens


def _sid(access_token: str) -> str:
    return str(jwt.get_unverified_claims(access_token)["sid"])


async def _alive(client: httpx.AsyncClient, access_token: str) -> bool:
    response = await client.get("/api/v1/auth/verify", headers=bearer(access_token))
    return response.status_code == 200


async def _sessions(client: httpx.AsyncClient, user: AuthUser) -> list[dict[str, Any]]:
    response = await client.get("/api/v1/auth/sessions", headers=bearer(user.access_token))
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def _ended_reasons(engine: AsyncEngine, session_ids: list[str]) -> dict[str, str]:
    """Why the sessions ended (what their session.ended events say)."""
    async with engine.connect() as connection:
        rows = await connection.execute(
            select(LoginSession.id, LoginSession.revoked_reason).where(
                LoginSession.id.in_([UUID(s) for s in session_ids])
            )
        )
        return {str(session_id): str(reason) for session_id, reason in rows}


class TestSessions:
    async def test_list_my_live_sessions_with_the_current_one_marked(
        self, client: httpx.AsyncClient
    ) -> None:
        user = await register_and_login(str(client.base_url))
        other = await _login(client, user.email, user.password)
        ended = await _login(client, user.email, user.password)
        await client.post("/api/v1/auth/logout", headers=bearer(ended["access_token"]))

        items = await _sessions(client, user)
        assert {i["id"]: i["current"] for i in items} == {
            _sid(user.access_token): True,
            _sid(other["access_token"]): False,
        }
        assert all(i["client_address"] == "127.0.0.1" for i in items)
        assert all(i["created_at"] <= i["last_active_at"] < i["expires_at"] for i in items)

    async def test_end_one_session_of_mine_and_only_mine(
        self, client: httpx.AsyncClient, engine: AsyncEngine
    ) -> None:
        user = await register_and_login(str(client.base_url))
        stranger = await register_and_login(str(client.base_url))
        other = await _login(client, user.email, user.password)
        target = _sid(other["access_token"])

        theirs = await client.delete(
            f"/api/v1/auth/sessions/{target}", headers=bearer(stranger.access_token)
        )
        assert (theirs.status_code, theirs.json()["error"]) == (404, "SessionNotFound")
        assert await _alive(client, other["access_token"])

        for _ in range(2):  # again: nothing more changes
            response = await client.delete(
                f"/api/v1/auth/sessions/{target}", headers=bearer(user.access_token)
            )
            assert response.status_code == 204
        assert not await _alive(client, other["access_token"])
        assert await _alive(client, user.access_token)
        refresh = await client.post(
            "/api/v1/auth/refresh", json={"refresh_token": other["refresh_token"]}
        )
        assert refresh.status_code == 401
        assert await _ended_reasons(engine, [target]) == {target: "ended_by_user"}

    async def test_end_every_other_session(self, client: httpx.AsyncClient) -> None:
        user = await register_and_login(str(client.base_url))
        others = [await _login(client, user.email, user.password) for _ in range(2)]
        response = await client.delete("/api/v1/auth/sessions", headers=bearer(user.access_token))
        assert response.json() == {"ended": 2}
        assert [await _alive(client, o["access_token"]) for o in others] == [False, False]
        assert [i["current"] for i in await _sessions(client, user)] == [True]
        again = await client.delete("/api/v1/auth/sessions", headers=bearer(user.access_token))
        assert again.json() == {"ended": 0}

    async def test_expired_sessions_are_neither_listed_nor_ended(
        self, client: httpx.AsyncClient, engine: AsyncEngine
    ) -> None:
        user = await register_and_login(str(client.base_url))
        stale = await _login(client, user.email, user.password)
        async with engine.begin() as connection:
            await connection.execute(
                update(LoginSession)
                .where(LoginSession.id == UUID(_sid(stale["access_token"])))
                .values(expires_at=datetime.now(UTC) - timedelta(minutes=1))
            )
        assert [i["current"] for i in await _sessions(client, user)] == [True]
        response = await client.delete("/api/v1/auth/sessions", headers=bearer(user.access_token))
        assert response.json() == {"ended": 0}

    async def test_without_a_live_token_is_401(self, client: httpx.AsyncClient) -> None:
        user = await register_and_login(str(client.base_url))
        await client.post("/api/v1/auth/logout", headers=bearer(user.access_token))
        for method, path in (("GET", "/sessions"), ("DELETE", "/sessions")):
            response = await client.request(
                method, f"/api/v1/auth{path}", headers=bearer(user.access_token)
            )
            assert response.status_code == 401
        assert (await client.get("/api/v1/auth/sessions")).status_code == 401


class TestPasswordChange:
    async def test_a_new_password_ends_every_other_session(
        self, client: httpx.AsyncClient, engine: AsyncEngine
    ) -> None:
        user = await register_and_login(str(client.base_url))
        other = await _login(client, user.email, user.password)
        response = await client.post(
            "/api/v1/auth/password",
            json={"current_password": user.password, "new_password": NEW_PASSWORD},
            headers=bearer(user.access_token),
        )
        assert response.json() == {"ended": 1}
        assert await _alive(client, user.access_token)
        assert not await _alive(client, other["access_token"])
        old = await client.post(
            "/api/v1/auth/login", data={"username": user.email, "password": user.password}
        )
        assert old.status_code == 401
        await _login(client, user.email, NEW_PASSWORD)
        target = _sid(other["access_token"])
        assert await _ended_reasons(engine, [target]) == {target: "password_changed"}

    async def test_refusals_change_nothing(self, client: httpx.AsyncClient) -> None:
        user = await register_and_login(str(client.base_url))
        other = await _login(client, user.email, user.password)
        cases = [
            ({"current_password": "wrong password", "new_password": NEW_PASSWORD}, 403),
            ({"current_password": user.password, "new_password": "short"}, 422),
            ({"current_password": user.password, "new_password": user.email}, 422),
            ({"current_password": user.password}, 422),
            ({"current_password": user.password, "new_password": NEW_PASSWORD, "x": 1}, 422),
        ]
        for body, status in cases:
            response = await client.post(
                "/api/v1/auth/password", json=body, headers=bearer(user.access_token)
            )
            assert response.status_code == status, body
        assert await _alive(client, other["access_token"])
        await _login(client, user.email, user.password)

    async def test_wrong_guesses_are_throttled(self, client: httpx.AsyncClient) -> None:
        user = await register_and_login(str(client.base_url))
        statuses = []
        for _ in range(MAX_FAILURES_PER_ACCOUNT + 1):
            response = await client.post(
                "/api/v1/auth/password",
                json={"current_password": "a wrong guess", "new_password": NEW_PASSWORD},
                headers=bearer(user.access_token),
            )
            statuses.append(response.status_code)
        assert statuses == [403] * MAX_FAILURES_PER_ACCOUNT + [429]
        assert int(response.headers["retry-after"]) > 0


class TestAccountDeletion:
    async def test_a_deleted_account_is_gone_everywhere(
        self, client: httpx.AsyncClient, engine: AsyncEngine
    ) -> None:
        user = await register_and_login(str(client.base_url))
        other = await _login(client, user.email, user.password)
        response = await client.request(
            "DELETE",
            "/api/v1/users/me",
            json={"password": user.password},
            headers=bearer(user.access_token),
        )
        assert response.status_code == 204
        assert not await _alive(client, user.access_token)
        assert not await _alive(client, other["access_token"])
        relogin = await client.post(
            "/api/v1/auth/login", data={"username": user.email, "password": user.password}
        )
        assert relogin.status_code == 401
        searcher = await register_and_login(str(client.base_url))
        found = await client.get(
            "/api/v1/users", params={"id": str(user.id)}, headers=bearer(searcher.access_token)
        )
        assert found.json()["items"] == []
        async with engine.connect() as connection:
            row = (
                await connection.execute(
                    select(User.email, User.display_name, User.is_active).where(User.id == user.id)
                )
            ).one()
        assert (row.display_name, row.is_active) == ("Deleted account", False)
        assert user.email not in row.email
        reasons = await _ended_reasons(
            engine, [_sid(user.access_token), _sid(other["access_token"])]
        )
        assert set(reasons.values()) == {"account_deleted"}
        # The address is free again.
        again = await client.post(
            "/api/v1/auth/register", json={"email": user.email, "password": user.password}
        )
        assert again.status_code == 201

    async def test_a_wrong_password_deletes_nothing(self, client: httpx.AsyncClient) -> None:
        user = await register_and_login(str(client.base_url))
        for body, status in (({"password": "not it at all"}, 403), ({}, 422)):
            response = await client.request(
                "DELETE", "/api/v1/users/me", json=body, headers=bearer(user.access_token)
            )
            assert response.status_code == status
        assert await _alive(client, user.access_token)
