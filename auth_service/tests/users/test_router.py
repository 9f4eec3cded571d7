"""/api/v1/users: my profile, search, lookup by id."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import httpx
import pytest

from shared.testing.auth_service import AuthUser, register_and_login
from tests.helpers import bearer, unique_email


@pytest.fixture
async def me(client: httpx.AsyncClient) -> AuthUser:
    return await register_and_login(str(client.base_url), display_name="Me Myself")


class TestReadMe:
    async def test_returns_my_account(self, client: httpx.AsyncClient, me: AuthUser) -> None:
        response = await client.get("/api/v1/users/me", headers=bearer(me.access_token))
        assert response.status_code == 200
        body = response.json()
        assert body["id"] == str(me.id)
        assert body["email"] == me.email
        assert body["display_name"] == "Me Myself"
        assert body["avatar_url"] is None
        assert body["is_active"] is True
        assert body["created_at"].endswith(("+00:00", "Z"))

    async def test_without_token_is_401(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/api/v1/users/me")
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"


class TestUpdateMe:
    async def test_changes_name_and_avatar(self, client: httpx.AsyncClient, me: AuthUser) -> None:
        response = await client.patch(
            "/api/v1/users/me",
            json={"display_name": "  New Name ", "avatar_url": "https://example.com/a.png"},
            headers=bearer(me.access_token),
        )
        assert response.status_code == 200
        assert response.json()["display_name"] == "New Name"
        assert response.json()["avatar_url"] == "https://example.com/a.png"
        again = await client.get("/api/v1/users/me", headers=bearer(me.access_token))
        assert again.json()["display_name"] == "New Name"

    async def test_absent_fields_stay_and_null_clears_the_avatar(
        self, client: httpx.AsyncClient, me: AuthUser
    ) -> None:
        headers = bearer(me.access_token)
        await client.patch(
            "/api/v1/users/me", json={"avatar_url": "https://example.com/a.png"}, headers=headers
        )
        response = await client.patch(
            "/api/v1/users/me", json={"avatar_url": None}, headers=headers
        )
        assert response.json()["avatar_url"] is None
        assert response.json()["display_name"] == "Me Myself"

    @pytest.mark.parametrize(
        "body",
        [
            {"display_name": ""},
            {"display_name": "   "},
            {"display_name": "x" * 65},
            {"display_name": "line\nbreak"},
            {"display_name": "bell\u0007"},
            {"avatar_url": "javascript:alert(1)"},
            {"avatar_url": "https://example.com/" + "a" * 2100},
            {"email": "new@example.com"},
            {"is_superuser": True},
        ],
    )
    async def test_bad_input_changes_nothing(
        self, client: httpx.AsyncClient, me: AuthUser, body: dict[str, object]
    ) -> None:
        headers = bearer(me.access_token)
        response = await client.patch("/api/v1/users/me", json=body, headers=headers)
        assert response.status_code == 422
        assert response.json()["error"] == "ValidationError"
        after = (await client.get("/api/v1/users/me", headers=headers)).json()
        assert after["display_name"] == "Me Myself"
        assert after["is_superuser"] is False
        assert after["email"] == me.email


class TestSearchUsers:
    async def test_finds_by_name_or_email_prefix(
        self, client: httpx.AsyncClient, me: AuthUser
    ) -> None:
        tag = uuid4().hex[:8]
        base = str(client.base_url)
        zed = await register_and_login(base, display_name=f"Zed{tag} Alpha")
        mail = await register_and_login(base, email=unique_email(f"zmail{tag}"))
        await register_and_login(base, display_name=f"Other {tag}")  # infix: not a match

        by_name = await client.get(
            "/api/v1/users", params={"q": f"zed{tag}"}, headers=bearer(me.access_token)
        )
        by_email = await client.get(
            "/api/v1/users", params={"q": f"ZMAIL{tag}"}, headers=bearer(me.access_token)
        )

        assert [u["id"] for u in by_name.json()["items"]] == [str(zed.id)]
        assert by_name.json()["total"] == 1
        assert [u["id"] for u in by_email.json()["items"]] == [str(mail.id)]
        assert set(by_name.json()["items"][0]) == {"id", "email", "display_name", "avatar_url"}

    async def test_pages(self, client: httpx.AsyncClient, me: AuthUser) -> None:
        tag = uuid4().hex[:8]
        for n in range(3):
            await register_and_login(str(client.base_url), display_name=f"Pg{tag} {n}")
        headers = bearer(me.access_token)
        first = await client.get(
            "/api/v1/users", params={"q": f"pg{tag}", "limit": 2}, headers=headers
        )
        second = await client.get(
            "/api/v1/users", params={"q": f"pg{tag}", "limit": 2, "offset": 2}, headers=headers
        )
        assert first.json()["total"] == 3
        assert [u["display_name"] for u in first.json()["items"]] == [f"Pg{tag} 0", f"Pg{tag} 1"]
        assert [u["display_name"] for u in second.json()["items"]] == [f"Pg{tag} 2"]

    async def test_wildcards_are_literal(self, client: httpx.AsyncClient, me: AuthUser) -> None:
        response = await client.get(
            "/api/v1/users", params={"q": "%"}, headers=bearer(me.access_token)
        )
        assert response.status_code == 200
        assert response.json()["total"] == 0

    @pytest.mark.parametrize(
        "params",
        [{"limit": 0}, {"limit": 101}, {"offset": -1}, {"q": "x" * 101}, {"q": "a\x00"}],
    )
    async def test_bad_paging_is_422(
        self, client: httpx.AsyncClient, me: AuthUser, params: dict[str, Any]
    ) -> None:
        response = await client.get("/api/v1/users", params=params, headers=bearer(me.access_token))
        assert response.status_code == 422

    async def test_needs_a_token(self, client: httpx.AsyncClient) -> None:
        assert (await client.get("/api/v1/users", params={"q": "a"})).status_code == 401

    async def test_by_id_returns_those_that_exist(
        self, client: httpx.AsyncClient, me: AuthUser
    ) -> None:
        base = str(client.base_url)
        ann = await register_and_login(base, display_name="Ann")
        ben = await register_and_login(base, display_name="Ben")
        await register_and_login(base, display_name="Not asked for")
        ids = [str(ben.id), str(uuid4()), str(ann.id)]

        response = await client.get(
            "/api/v1/users", params={"id": ids, "limit": 100}, headers=bearer(me.access_token)
        )
        narrowed = await client.get(
            "/api/v1/users", params={"id": ids, "q": "be"}, headers=bearer(me.access_token)
        )

        assert response.status_code == 200
        assert [u["id"] for u in response.json()["items"]] == [str(ann.id), str(ben.id)]
        assert response.json()["total"] == 2
        assert [u["id"] for u in narrowed.json()["items"]] == [str(ben.id)]

    @pytest.mark.parametrize(
        "ids", [["not-a-uuid"], [str(uuid4()) for _ in range(101)]], ids=["malformed", "101"]
    )
    async def test_bad_ids_are_422(
        self, client: httpx.AsyncClient, me: AuthUser, ids: list[str]
    ) -> None:
        response = await client.get(
            "/api/v1/users", params={"id": ids}, headers=bearer(me.access_token)
        )
        assert response.status_code == 422


class TestReadUser:
    async def test_returns_the_public_profile(
        self, client: httpx.AsyncClient, me: AuthUser
    ) -> None:
        other = await register_and_login(str(client.base_url), display_name="Someone")
        response = await client.get(f"/api/v1/users/{other.id}", headers=bearer(me.access_token))
        assert response.status_code == 200
        assert response.json() == {
            "id": str(other.id),
            "email": other.email,
            "display_name": "Someone",
            "avatar_url": None,
        }

    async def test_unknown_id_is_404(self, client: httpx.AsyncClient, me: AuthUser) -> None:
        response = await client.get(f"/api/v1/users/{uuid4()}", headers=bearer(me.access_token))
        assert response.status_code == 404
        assert response.json() == {"error": "UserNotFound", "detail": "no such user"}

    async def test_malformed_id_is_422(self, client: httpx.AsyncClient, me: AuthUser) -> None:
        response = await client.get("/api/v1/users/not-a-uuid", headers=bearer(me.access_token))
        assert response.status_code == 422

    async def test_needs_a_token(self, client: httpx.AsyncClient, me: AuthUser) -> None:
        assert (await client.get(f"/api/v1/users/{me.id}")).status_code == 401
