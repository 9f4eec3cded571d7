"""Searching a chat's history: text contained in any case, wildcards taken literally,
newest page first with before_seq for older, over REST and the socket; members only,
and bad queries are refused."""

from __future__ import annotations

from typing import Any

from tests.helpers import Api, Person, connect

TEXTS = ["Hello World", "nothing here", "100% sure", "under_score", "hello again", "HeLLo!"]
CYRILLIC = "Привет, мир"


async def chat_with_history(api: Api, alice: Person, bob: Person) -> str:
    chat = await api.create_chat(alice, bob)
    for text in TEXTS:
        assert (await api.send(alice, chat["id"], text)).status_code == 201
    gone = await api.send(bob, chat["id"], "hello, deleted")
    path = f"/api/v1/chats/{chat['id']}/messages/{gone.json()['id']}"
    assert (await api.call(bob, "DELETE", path)).status_code == 204
    return str(chat["id"])


def texts(page: dict[str, Any]) -> list[str]:
    return [m["text"] for m in page["items"]]


class TestSearch:
    async def test_finds_text_in_any_case_newest_page_first(
        self, api: Api, alice: Person, bob: Person
    ) -> None:
        chat_id = await chat_with_history(api, alice, bob)
        found = await api.messages(bob, chat_id, q="hello")
        assert texts(found) == ["Hello World", "hello again", "HeLLo!"]
        assert (found["has_more"], found["last_seq"]) == (False, 7)

        newest = await api.messages(bob, chat_id, q="HELLO", limit=2)
        assert (texts(newest), newest["has_more"]) == (["hello again", "HeLLo!"], True)
        older = await api.messages(bob, chat_id, q="HELLO", before_seq=newest["items"][0]["seq"])
        assert (texts(older), older["has_more"]) == (["Hello World"], False)
        since = await api.messages(bob, chat_id, q="hello", after_seq=1)
        assert texts(since) == ["hello again", "HeLLo!"]

    async def test_wildcards_are_literal(self, api: Api, alice: Person, bob: Person) -> None:
        chat_id = await chat_with_history(api, alice, bob)
        assert texts(await api.messages(alice, chat_id, q="%")) == ["100% sure"]
        assert texts(await api.messages(alice, chat_id, q="_")) == ["under_score"]
        assert texts(await api.messages(alice, chat_id, q="missing")) == []

    async def test_any_script_in_any_case(self, api: Api, alice: Person, bob: Person) -> None:
        chat = await api.create_chat(alice, bob)
        await api.send(alice, chat["id"], CYRILLIC)
        assert texts(await api.messages(bob, chat["id"], q="ПРИВЕТ")) == [CYRILLIC]

    async def test_over_the_socket(
        self, api: Api, chat_url: str, alice: Person, bob: Person
    ) -> None:
        chat_id = await chat_with_history(api, alice, bob)
        async with connect(chat_url, "/ws", bob) as ws:
            reply = await ws.request("get_messages", chat_id=chat_id, query="world")
            assert (reply["type"], texts(reply)) == ("result", ["Hello World"])
            for bad in ("", "x" * 201, "a\x00b", 5):
                refused = await ws.request("get_messages", chat_id=chat_id, query=bad)
                assert (refused["type"], refused["error"]) == ("error", "ValidationError"), bad

    async def test_outsiders_and_bad_queries_are_refused(
        self, api: Api, alice: Person, bob: Person, eve: Person
    ) -> None:
        chat_id = await chat_with_history(api, alice, bob)
        path = f"/api/v1/chats/{chat_id}/messages"
        outsider = await api.call(eve, "GET", path, params={"q": "hello"})
        assert (outsider.status_code, outsider.json()["error"]) == (404, "ChatNotFound")
        for q in ("", "x" * 201, "a\x00b"):
            response = await api.call(alice, "GET", path, params={"q": q})
            assert (response.status_code, response.json()["error"]) == (422, "ValidationError")
