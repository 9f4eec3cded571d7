"""REST: chats and members."""

from __future__ import annotations

from uuid import uuid4

from tests.helpers import Api, Person


class TestCreateChat:
    async def test_two_people_make_a_private_chat(
        self, api: Api, alice: Person, bob: Person
    ) -> None:
        chat = await api.create_chat(alice, bob, name="Lunch")
        assert chat["type"] == "private"
        assert chat["name"] == "Lunch"
        assert chat["owner_id"] == str(alice.id)
        roles = {m["user_id"]: m["role"] for m in chat["members"]}
        assert roles == {str(alice.id): "owner", str(bob.id): "member"}

    async def test_three_people_make_a_group(
        self, api: Api, alice: Person, bob: Person, carol: Person
    ) -> None:
        chat = await api.create_chat(alice, bob, carol, alice)
        assert chat["type"] == "group"
        assert len(chat["members"]) == 3

    async def test_name_only_makes_a_group_of_one(self, api: Api, alice: Person) -> None:
        chat = await api.create_chat(alice, name="Notes")
        assert chat["type"] == "group"
        assert [m["user_id"] for m in chat["members"]] == [str(alice.id)]

    async def test_bad_bodies_are_422_and_store_nothing(self, api: Api, alice: Person) -> None:
        before = (await api.call(alice, "GET", "/api/v1/chats")).json()["items"]
        for body in (
            {"name": ""},
            {"name": "x" * 201},
            {"name": 5},
            {"name": "ok", "member_ids": ["not-a-uuid"]},
            {"name": "ok", "member_ids": "nope"},
            {"name": "ok", "unexpected": 1},
        ):
            response = await api.call(alice, "POST", "/api/v1/chats", json=body)
            assert response.status_code == 422, body
            assert response.json()["error"] == "ValidationError"
        after = (await api.call(alice, "GET", "/api/v1/chats")).json()["items"]
        assert after == before

    async def test_without_a_token_is_401(self, api: Api) -> None:
        response = await api.call(None, "POST", "/api/v1/chats", json={"name": "x"})
        assert (response.status_code, response.json()["error"]) == (401, "Unauthorized")
        bad = await api.client.get("/api/v1/chats", headers={"Authorization": "Bearer nope"})
        assert (bad.status_code, bad.json()["error"]) == (401, "InvalidToken")


class TestListChats:
    async def test_lists_last_message_and_unread_counts(
        self, api: Api, alice: Person, bob: Person, carol: Person
    ) -> None:
        chat = await api.create_chat(alice, bob, carol, name=f"unread-{uuid4().hex[:6]}")
        for text in ("one", "two", "three"):
            assert (await api.send(alice, chat["id"], text)).status_code == 201
        await api.send(bob, chat["id"], "from bob")

        def mine(listing: dict[str, object], chat_id: str) -> dict[str, object]:
            items = listing["items"]
            assert isinstance(items, list)
            return next(i for i in items if i["id"] == chat_id)

        for_bob = mine((await api.call(bob, "GET", "/api/v1/chats")).json(), chat["id"])
        for_carol = mine((await api.call(carol, "GET", "/api/v1/chats")).json(), chat["id"])
        for_alice = mine((await api.call(alice, "GET", "/api/v1/chats")).json(), chat["id"])
        # Bob's own message moved his read position past Alice's three.
        assert for_bob["unread_count"] == 0
        assert for_carol["unread_count"] == 4
        assert for_alice["unread_count"] == 1
        last = for_carol["last_message"]
        assert isinstance(last, dict)
        assert last["text"] == "from bob"
        assert last["seq"] == 4
        assert last["is_read"] is False
        assert for_carol["member_count"] == 3

    async def test_search_by_name_finds_only_my_chats(
        self, api: Api, alice: Person, bob: Person, dave: Person
    ) -> None:
        tag = uuid4().hex[:8]
        mine = await api.create_chat(alice, bob, name=f"Project {tag} plans")
        await api.create_chat(dave, name=f"Project {tag} secret")
        found = (await api.call(alice, "GET", "/api/v1/chats", params={"q": tag.upper()})).json()
        assert [c["id"] for c in found["items"]] == [mine["id"]]
        none = (await api.call(alice, "GET", "/api/v1/chats", params={"q": "%_"})).json()
        assert all("%_" in c["name"] for c in none["items"])
        nul = await api.call(alice, "GET", "/api/v1/chats", params={"q": "a\x00"})
        assert nul.status_code == 422

    async def test_most_recent_first_and_paged(self, api: Api, eve: Person) -> None:
        first = await api.create_chat(eve, name="first")
        second = await api.create_chat(eve, name="second")
        await api.send(eve, first["id"], "bump")
        page = (await api.call(eve, "GET", "/api/v1/chats", params={"limit": 1})).json()
        assert [c["id"] for c in page["items"]] == [first["id"]]
        assert page["has_more"] is True
        nxt = (await api.call(eve, "GET", "/api/v1/chats", params={"limit": 1, "offset": 1})).json()
        assert [c["id"] for c in nxt["items"]] == [second["id"]]


class TestGetRenameDelete:
    async def test_get_rename_and_delete(self, api: Api, alice: Person, bob: Person) -> None:
        chat = await api.create_chat(alice, bob)
        url = f"/api/v1/chats/{chat['id']}"
        assert (await api.call(bob, "GET", url)).json()["id"] == chat["id"]
        renamed = await api.call(alice, "PATCH", url, json={"name": "Renamed"})
        assert renamed.json()["name"] == "Renamed"
        assert (await api.call(bob, "PATCH", url, json={"name": "Mine"})).status_code == 403
        assert (await api.call(bob, "DELETE", url)).status_code == 403
        assert (await api.call(alice, "DELETE", url)).status_code == 204
        assert (await api.call(alice, "GET", url)).status_code == 404
        assert (await api.call(bob, "GET", url)).status_code == 404

    async def test_unknown_and_malformed_ids_are_404_and_422(self, api: Api, alice: Person) -> None:
        assert (await api.call(alice, "GET", f"/api/v1/chats/{uuid4()}")).status_code == 404
        assert (await api.call(alice, "GET", "/api/v1/chats/nope")).status_code == 422


class TestMembers:
    async def test_a_third_member_turns_a_private_chat_into_a_group(
        self, api: Api, alice: Person, bob: Person, carol: Person
    ) -> None:
        chat = await api.create_chat(alice, bob)
        assert chat["type"] == "private"
        added = await api.call(
            alice,
            "POST",
            f"/api/v1/chats/{chat['id']}/members",
            json={"user_ids": [str(carol.id)]},
        )
        assert added.status_code == 200
        assert added.json()["type"] == "group"
        assert {m["user_id"] for m in added.json()["members"]} == {
            str(alice.id),
            str(bob.id),
            str(carol.id),
        }

    async def test_a_member_leaves_but_the_owner_cannot(
        self, api: Api, alice: Person, bob: Person
    ) -> None:
        chat = await api.create_chat(alice, bob)
        base = f"/api/v1/chats/{chat['id']}/members"
        owner_leaves = await api.call(alice, "DELETE", f"{base}/{alice.id}")
        assert owner_leaves.status_code == 409
        assert owner_leaves.json()["error"] == "OwnerCannotLeave"
        assert (await api.call(bob, "DELETE", f"{base}/{bob.id}")).status_code == 200
        assert (await api.call(bob, "GET", f"/api/v1/chats/{chat['id']}")).status_code == 404
        gone = await api.call(alice, "DELETE", f"{base}/{bob.id}")
        assert gone.status_code == 404
        assert gone.json()["error"] == "MemberNotFound"
