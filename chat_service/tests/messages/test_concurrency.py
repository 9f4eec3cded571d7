"""No duplicates and no gaps under concurrency, over REST and WebSocket at once."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from chat_service.main import create_app
from shared.testing.server import serve
from tests.conftest import MakeSettings
from tests.helpers import Api, Person, connect


class TestConcurrentSends:
    async def test_fifty_sends_with_one_client_message_id_make_one_message(
        self, api: Api, chat_url: str, alice: Person, bob: Person
    ) -> None:
        chat = await api.create_chat(alice, bob)
        async with connect(chat_url, "/ws", alice) as ws1, connect(chat_url, "/ws", alice) as ws2:

            async def over_rest() -> str:
                response = await api.send(alice, chat["id"], "once", client_message_id="dup")
                assert response.status_code in (200, 201), response.text
                message_id: str = response.json()["id"]
                return message_id

            async def over_ws(ws: Any, n: int) -> str:
                await ws.send(
                    {
                        "action": "send_message",
                        "request_id": f"s{n}",
                        "chat_id": chat["id"],
                        "text": "once",
                        "client_message_id": "dup",
                    }
                )
                return "ws"

            rest_calls = [over_rest() for _ in range(30)]
            ws_calls = [over_ws(ws1 if n % 2 else ws2, n) for n in range(20)]
            ids = await asyncio.gather(*rest_calls, *ws_calls)
            replies = []
            for ws in (ws1, ws2):
                for _ in range(10):
                    replies.append(await ws.until(lambda f: f.get("type") in ("result", "error")))
        assert all(r["type"] == "result" for r in replies), replies
        rest_ids = {i for i in ids if i != "ws"}
        ws_ids = {r["message"]["id"] for r in replies}
        assert len(rest_ids | ws_ids) == 1
        assert sum(not r["duplicate"] for r in replies) <= 1
        page = await api.messages(bob, chat["id"])
        assert len(page["items"]) == 1
        assert page["last_seq"] == 1

    async def test_seq_is_gap_free_and_ordered_under_concurrent_senders(
        self, api: Api, alice: Person, bob: Person, carol: Person
    ) -> None:
        chat = await api.create_chat(alice, bob, carol)
        senders = [alice, bob, carol]

        async def send(n: int) -> int:
            response = await api.send(senders[n % 3], chat["id"], f"m{n}")
            assert response.status_code == 201, response.text
            seq: int = response.json()["seq"]
            return seq

        seqs = await asyncio.gather(*(send(n) for n in range(45)))
        assert sorted(seqs) == list(range(1, 46))
        page = await api.messages(alice, chat["id"], limit=100)
        assert [m["seq"] for m in page["items"]] == list(range(1, 46))
        by_text = {m["text"]: m["seq"] for m in page["items"]}
        assert len(by_text) == 45


class TestSendsAcrossInstances:
    async def test_two_instances_batching_sends_to_one_chat_keep_seq_and_ids_unique(
        self, make_settings: MakeSettings, alice: Person, bob: Person, carol: Person
    ) -> None:
        # Each instance commits its own batches; the chat's row lock orders them.
        first, second = create_app(make_settings()), create_app(make_settings())
        async with (
            serve(first) as url_a,
            serve(second) as url_b,
            httpx.AsyncClient(base_url=url_a, timeout=30) as client_a,
            httpx.AsyncClient(base_url=url_b, timeout=30) as client_b,
        ):
            apis = [Api(client_a, url_a), Api(client_b, url_b)]
            chat = await apis[0].create_chat(alice, bob, carol)
            senders = [alice, bob, carol]

            async def send(n: int) -> dict[str, Any]:
                key = "same" if n % 5 == 0 else None
                response = await apis[n % 2].send(senders[n % 3], chat["id"], f"m{n}", key)
                assert response.status_code in (200, 201), response.text
                message: dict[str, Any] = response.json()
                return message

            sent = await asyncio.gather(*(send(n) for n in range(60)))
            page = await apis[1].messages(alice, chat["id"], limit=100)
        seqs = [m["seq"] for m in page["items"]]
        assert seqs == list(range(1, len(seqs) + 1))
        # Every fifth send reuses its sender's client_message_id: twelve sends, three
        # messages (one per sender); the other 48 are a message each.
        assert len(seqs) == 48 + 3
        assert len({m["id"] for m in sent}) == len(seqs)
