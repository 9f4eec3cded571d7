"""Only users auth_service knows join a chat: create and add, over REST and both sockets,
refuse ids of nobody and change nothing; members arrive with their display names."""

from __future__ import annotations

from collections.abc import Iterator
from uuid import UUID, uuid4

import httpx
import pytest
from fastapi import FastAPI

from chat_service.errors import UserNotFound
from chat_service.state import ChatState
from chat_service.users import IDS_PER_CALL, UserDirectory
from shared.devbroker import free_port
from shared.errors import InvalidToken, ServiceUnavailable
from shared.testing.auth_service import AuthUser, register_and_login
from tests.helpers import Api, Person, connect


def _person(user: AuthUser) -> Person:
    return Person(user.id, user.display_name, user.access_token)


async def _chat_names(api: Api, person: Person) -> list[str]:
    response = await api.call(person, "GET", "/api/v1/chats", params={"limit": 100})
    return [c["name"] for c in response.json()["items"]]


class TestCreate:
    async def test_an_unknown_id_is_404_naming_it_and_makes_no_chat(
        self, api: Api, alice: Person, bob: Person
    ) -> None:
        nobody = uuid4()
        name = f"ghost-{nobody.hex[:8]}"
        response = await api.call(
            alice,
            "POST",
            "/api/v1/chats",
            json={"name": name, "member_ids": [str(bob.id), str(nobody)]},
        )
        assert response.status_code == 404
        assert response.json() == {"error": "UserNotFound", "detail": f"no such user: {nobody}"}
        assert name not in await _chat_names(api, alice)
        assert name not in await _chat_names(api, bob)

    async def test_members_arrive_with_their_display_names(
        self, api: Api, alice: Person, bob: Person, carol: Person
    ) -> None:
        chat = await api.create_chat(alice, bob, carol, name="names")
        names = {m["user_id"]: m["display_name"] for m in chat["members"]}
        assert names == {str(alice.id): "Alice", str(bob.id): "Bob", str(carol.id): "Carol"}

    async def test_over_the_socket_and_the_seed_socket(
        self, chat_url: str, alice: Person, bob: Person
    ) -> None:
        nobody = str(uuid4())
        async with connect(chat_url, "/ws", alice) as ws:
            refused = await ws.request("create_chat", name="ghost", member_ids=[nobody])
            created = await ws.request("create_chat", name="real", member_ids=[str(bob.id)])
        async with connect(chat_url, "/create_chat", alice, header=True) as seed:
            await seed.send({"data": [str(bob.id), nobody], "chat_name": "ghost"})
            seed_refused = await seed.recv()
        assert (refused["error"], refused["detail"]) == ("UserNotFound", f"no such user: {nobody}")
        assert created["type"] == "result"
        assert (seed_refused["type"], seed_refused["error"]) == ("error", "UserNotFound")


class TestAdd:
    async def test_an_unknown_id_adds_nobody(
        self, api: Api, alice: Person, bob: Person, carol: Person
    ) -> None:
        chat = await api.create_chat(alice, bob)
        nobody = uuid4()
        response = await api.call(
            alice,
            "POST",
            f"/api/v1/chats/{chat['id']}/members",
            json={"user_ids": [str(carol.id), str(nobody)]},
        )
        after = (await api.call(alice, "GET", f"/api/v1/chats/{chat['id']}")).json()
        assert response.status_code == 404
        assert response.json()["detail"] == f"no such user: {nobody}"
        assert {m["user_id"] for m in after["members"]} == {str(alice.id), str(bob.id)}
        assert after["type"] == "private"

    async def test_an_outsider_learns_nothing_of_who_exists(
        self, api: Api, alice: Person, bob: Person, dave: Person
    ) -> None:
        chat = await api.create_chat(alice, bob)
        response = await api.call(
            dave, "POST", f"/api/v1/chats/{chat['id']}/members", json={"user_ids": [str(uuid4())]}
        )
        assert response.json()["error"] == "ChatNotFound"

    async def test_over_both_sockets(
        self, api: Api, chat_url: str, alice: Person, bob: Person
    ) -> None:
        chat = await api.create_chat(alice, bob)
        nobody = str(uuid4())
        async with connect(chat_url, "/ws", alice) as ws:
            refused = await ws.request("add_members", chat_id=chat["id"], user_ids=[nobody])
        async with connect(chat_url, f"/ws/chat/{chat['id']}", alice) as seed:
            await seed.send({"type": "add_user_to_chat", "data": [nobody]})
            seed_refused = await seed.until(lambda f: f["type"] in ("result", "error"))
        after = (await api.call(alice, "GET", f"/api/v1/chats/{chat['id']}")).json()
        assert refused["error"] == "UserNotFound"
        assert seed_refused["error"] == "UserNotFound"
        assert len(after["members"]) == 2

    async def test_a_logged_out_session_cannot_add_someone_new(
        self, api: Api, auth_service_url: str
    ) -> None:
        """chat accepts the access token by its signature until it expires, but a lookup
        asks auth_service, which knows the session ended (names already remembered
        need no lookup)."""
        owner, newcomer = [
            _person(await register_and_login(auth_service_url, display_name=name))
            for name in ("Leaver", "Newcomer")
        ]
        chat = await api.create_chat(owner)
        async with httpx.AsyncClient(base_url=auth_service_url) as auth:
            logout = await auth.post("/api/v1/auth/logout", headers=owner.headers)
            assert logout.status_code == 204
        response = await api.call(
            owner,
            "POST",
            f"/api/v1/chats/{chat['id']}/members",
            json={"user_ids": [str(newcomer.id)]},
        )
        assert response.status_code == 401
        assert response.json()["detail"] == "auth_service refused the token: log in again"


class TestAuthServiceAway:
    """auth_service unreachable for lookups: adding someone new answers 503 and changes
    nothing; what needs no lookup goes on."""

    @pytest.fixture
    def directory_away(self, app: FastAPI) -> Iterator[None]:
        state: ChatState = app.state.chat
        working = state.users
        state.users = UserDirectory(f"http://127.0.0.1:{free_port()}", state.http)
        yield
        state.users = working

    async def test_adding_someone_new_is_503_and_changes_nothing(
        self, api: Api, chat_url: str, alice: Person, bob: Person, directory_away: None
    ) -> None:
        chat = await api.create_chat(alice)
        newcomer = {"user_ids": [str(bob.id)]}
        rest = await api.call(alice, "POST", f"/api/v1/chats/{chat['id']}/members", json=newcomer)
        created = await api.call(
            alice, "POST", "/api/v1/chats", json={"name": "away", "member_ids": [str(bob.id)]}
        )
        async with connect(chat_url, "/ws", alice) as ws:
            frame = await ws.request("add_members", chat_id=chat["id"], **newcomer)
        after = (await api.call(alice, "GET", f"/api/v1/chats/{chat['id']}")).json()
        assert (rest.status_code, rest.json()["error"]) == (503, "ServiceUnavailable")
        assert created.status_code == 503
        assert frame["error"] == "ServiceUnavailable"
        assert [m["user_id"] for m in after["members"]] == [str(alice.id)]
        assert "away" not in await _chat_names(api, alice)

    async def test_members_already_in_need_no_lookup(
        self, api: Api, alice: Person, directory_away: None
    ) -> None:
        chat = await api.create_chat(alice, name="mine")
        again = await api.call(
            alice, "POST", f"/api/v1/chats/{chat['id']}/members", json={"user_ids": [str(alice.id)]}
        )
        assert again.status_code == 200


class TestRefreshedSocket:
    async def test_lookups_use_the_token_the_socket_was_refreshed_with(
        self, api: Api, chat_url: str, auth_service_url: str
    ) -> None:
        """The handshake's session ends; after a refresh with a new session's token the
        socket adds people again."""
        owner = await register_and_login(auth_service_url, display_name="Refresher")
        first, second = [
            _person(await register_and_login(auth_service_url, display_name=name))
            for name in ("First", "Second")
        ]
        async with httpx.AsyncClient(base_url=auth_service_url) as auth:
            login = await auth.post(
                "/api/v1/auth/login", data={"username": owner.email, "password": owner.password}
            )
            async with connect(chat_url, "/ws", _person(owner)) as ws:
                chat = await ws.request("create_chat", name="refreshed", member_ids=[])
                chat_id = chat["chat"]["id"]
                logout = await auth.post(
                    "/api/v1/auth/logout", headers={"Authorization": f"Bearer {owner.access_token}"}
                )
                assert logout.status_code == 204
                refused = await ws.request("add_members", chat_id=chat_id, user_ids=[str(first.id)])
                await ws.request("refresh", token=login.json()["access_token"])
                added = await ws.request("add_members", chat_id=chat_id, user_ids=[str(second.id)])
        assert refused["error"] == "InvalidToken"
        assert added["type"] == "result", added
        assert [m["display_name"] for m in added["chat"]["members"]][-1] == "Second"


class TestDirectory:
    """The lookup itself, against the real auth_service, its calls counted."""

    @pytest.fixture
    async def calls(self) -> list[httpx.Request]:
        return []

    @pytest.fixture
    async def client(self, calls: list[httpx.Request]) -> httpx.AsyncClient:
        async def record(request: httpx.Request) -> None:
            calls.append(request)

        return httpx.AsyncClient(event_hooks={"request": [record]})

    async def test_names_found_are_remembered_and_unknown_ones_asked_again(
        self,
        auth_service_url: str,
        client: httpx.AsyncClient,
        calls: list[httpx.Request],
        alice: Person,
        bob: Person,
    ) -> None:
        directory = UserDirectory(auth_service_url, client)
        nobody = uuid4()
        async with client:
            assert await directory.display_names(alice.token, [bob.id]) == {bob.id: "Bob"}
            assert await directory.display_names(alice.token, [bob.id]) == {bob.id: "Bob"}
            for _ in range(2):
                with pytest.raises(UserNotFound):
                    await directory.display_names(alice.token, [bob.id, nobody])
        assert [dict(r.url.params.multi_items()).get("id") for r in calls] == [
            str(bob.id),
            str(nobody),
            str(nobody),
        ]

    async def test_many_ids_are_asked_a_page_at_a_time(
        self,
        auth_service_url: str,
        client: httpx.AsyncClient,
        calls: list[httpx.Request],
        alice: Person,
    ) -> None:
        ids = [uuid4() for _ in range(IDS_PER_CALL + 1)]
        async with client:
            with pytest.raises(UserNotFound) as refused:
                await UserDirectory(auth_service_url, client).display_names(alice.token, ids)
        assert refused.value.user_ids == ids
        assert [len(r.url.params.get_list("id")) for r in calls] == [IDS_PER_CALL, 1]

    async def test_expired_entries_are_asked_again(
        self,
        auth_service_url: str,
        client: httpx.AsyncClient,
        calls: list[httpx.Request],
        alice: Person,
    ) -> None:
        now = [0.0]
        directory = UserDirectory(auth_service_url, client, ttl=60, clock=lambda: now[0])
        async with client:
            await directory.display_names(alice.token, [alice.id])
            now[0] = 61.0
            await directory.display_names(alice.token, [alice.id])
        assert len(calls) == 2

    async def test_a_refused_token_is_unauthorized(
        self, auth_service_url: str, client: httpx.AsyncClient
    ) -> None:
        async with client:
            with pytest.raises(InvalidToken):
                await UserDirectory(auth_service_url, client).display_names("junk", [uuid4()])

    async def test_auth_service_unreachable_is_unavailable(
        self, client: httpx.AsyncClient, alice: Person
    ) -> None:
        dead = f"http://127.0.0.1:{free_port()}"
        async with client:
            with pytest.raises(ServiceUnavailable):
                await UserDirectory(dead, client).display_names(alice.token, [UUID(int=1)])
