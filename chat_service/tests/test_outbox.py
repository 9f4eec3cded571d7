"""Every change writes its chat.events record in the same transaction; the relay
publishes it, also after a broker outage."""

from __future__ import annotations

import asyncio
import json
from typing import Any
from uuid import UUID

import httpx
from aiokafka import AIOKafkaConsumer
from fastapi import FastAPI
from sqlalchemy import select

from chat_service.main import create_app
from chat_service.models import OutboxEvent
from chat_service.state import ChatState
from shared.devbroker import free_port, start_broker
from shared.events.topics import CHAT_EVENTS
from shared.testing.server import serve
from tests.conftest import MakeSettings
from tests.helpers import Api, Person

MESSAGE_CREATED_FIELDS = {
    "chat_id", "chat_name", "message_id", "seq", "sender_id", "sender_name", "text",
    "reply_to_seq", "attachments", "member_ids", "muted_ids",
}  # fmt: skip


async def outbox_of(app: FastAPI, chat_id: str) -> list[dict[str, Any]]:
    state: ChatState = app.state.chat
    async with state.sessionmaker() as session:
        rows = (
            await session.scalars(
                select(OutboxEvent).where(OutboxEvent.key == chat_id).order_by(OutboxEvent.id)
            )
        ).all()
    return [{"topic": r.topic, **json.loads(r.payload)} for r in rows]


class TestOutboxRows:
    async def test_each_change_records_its_event_and_refusals_record_none(
        self, api: Api, app: FastAPI, alice: Person, bob: Person, carol: Person
    ) -> None:
        chat = await api.create_chat(alice, bob, name="Outboxed")
        cid = chat["id"]
        sent = (await api.send(alice, cid, "hi", client_message_id="o-1")).json()
        await api.send(alice, cid, "hi", client_message_id="o-1")  # a retry: no new event
        await api.send(bob, cid, "")  # refused: no event
        await api.call(bob, "POST", f"/api/v1/chats/{cid}/members", json={"user_ids": []})
        await api.call(
            alice, "PATCH", f"/api/v1/chats/{cid}/messages/{sent['id']}", json={"text": "hey"}
        )
        await api.call(bob, "POST", f"/api/v1/chats/{cid}/read", json={"seq": 1})
        await api.call(
            alice, "POST", f"/api/v1/chats/{cid}/members", json={"user_ids": [str(carol.id)]}
        )
        await api.call(carol, "DELETE", f"/api/v1/chats/{cid}/members/{carol.id}")
        await api.call(alice, "PATCH", f"/api/v1/chats/{cid}", json={"name": "Renamed"})
        await api.call(alice, "DELETE", f"/api/v1/chats/{cid}/messages/{sent['id']}")
        await api.call(alice, "DELETE", f"/api/v1/chats/{cid}")
        events = await outbox_of(app, cid)
        assert [e["type"] for e in events] == [
            "chat.created",
            "chat.message_created",
            "chat.message_edited",
            "chat.read",
            "chat.member_added",
            "chat.member_removed",
            "chat.renamed",
            "chat.message_deleted",
            "chat.deleted",
        ]
        assert {e["topic"] for e in events} == {CHAT_EVENTS}
        created = events[1]
        assert set(created["data"]) == MESSAGE_CREATED_FIELDS
        assert created["data"] == {
            "chat_id": cid,
            "chat_name": "Outboxed",
            "message_id": sent["id"],
            "seq": 1,
            "sender_id": str(alice.id),
            "sender_name": "Alice",
            "text": "hi",
            "reply_to_seq": None,
            "attachments": [],
            "member_ids": [str(alice.id), str(bob.id)],
            "muted_ids": [],
        }
        assert created["actor_id"] == str(alice.id)
        UUID(created["event_id"])


async def _consume(bootstrap: str, chat_id: str, wanted: int) -> list[dict[str, Any]]:
    consumer = AIOKafkaConsumer(
        CHAT_EVENTS, bootstrap_servers=bootstrap, auto_offset_reset="earliest", group_id=None
    )
    await consumer.start()
    found: list[dict[str, Any]] = []
    try:
        async with asyncio.timeout(60):
            while len(found) < wanted:
                batches = await consumer.getmany(timeout_ms=500)
                for records in batches.values():
                    for record in records:
                        if record.key == chat_id.encode():
                            found.append(json.loads(record.value))
    finally:
        await consumer.stop()
    return found


class TestRelay:
    async def test_writes_succeed_while_the_broker_is_down_and_arrive_once_it_is_up(
        self, make_settings: MakeSettings, alice: Person, bob: Person
    ) -> None:
        port = free_port()
        bootstrap = f"127.0.0.1:{port}"
        app = create_app(make_settings(kafka_enabled=True, kafka_bootstrap_servers=bootstrap))
        broker = None
        try:
            async with serve(app) as url, httpx.AsyncClient(base_url=url) as client:
                api = Api(client, url)
                chat = await api.create_chat(alice, bob)
                assert (await api.send(bob, chat["id"], "while down")).status_code == 201
                assert len(await outbox_of(app, chat["id"])) == 2
                broker = await asyncio.to_thread(start_broker, port)
                events = await _consume(bootstrap, chat["id"], 2)
                async with asyncio.timeout(30):
                    while await outbox_of(app, chat["id"]):
                        await asyncio.sleep(0.2)
        finally:
            if broker is not None:
                broker.terminate()
                await asyncio.to_thread(broker.wait, 10)
        assert [e["type"] for e in events] == ["chat.created", "chat.message_created"]
        assert events[1]["data"]["text"] == "while down"
