"""Domain events that become notifications: the mapping, and the consumer end to end."""

from __future__ import annotations

from uuid import UUID, uuid4

import pytest
from aiokafka import AIOKafkaProducer

from notify_ws_service.ingest.domain_events import notifications_for
from shared.events.envelope import EventEnvelope
from shared.testing.auth_service import register_and_login
from tests.conftest import SettingsFactory
from tests.support import connect, nothing_within, receive_json, serve_gateway


def chat_message(sender: UUID, members: list[UUID], text: str = "hello") -> EventEnvelope:
    chat_id = uuid4()
    return EventEnvelope(
        type="chat.message_created",
        actor_id=sender,
        data={
            "chat_id": str(chat_id),
            "chat_name": "Team",
            "message_id": str(uuid4()),
            "seq": 7,
            "sender_id": str(sender),
            "sender_name": "Ann",
            "text": text,
            "member_ids": [str(m) for m in members],
        },
    )


def order_event(kind: str, owner: UUID | None, **data: object) -> EventEnvelope:
    return EventEnvelope(
        type=kind,
        data={
            "order_id": "42",
            "customer": "Bob",
            "status": "paid",
            "previous_status": "created",
            "owner_id": str(owner) if owner else None,
            **data,
        },
    )


class TestChatMessageCreated:
    def test_every_member_but_the_sender_is_notified(self) -> None:
        sender, first, second = uuid4(), uuid4(), uuid4()
        made = notifications_for(chat_message(sender, [sender, first, second]))
        assert {n.user_id for n in made} == {first, second}
        assert {(n.title, n.body, n.type) for n in made} == {
            ("Ann in Team", "hello", "chat.message_created")
        }

    def test_members_who_muted_the_chat_are_not_notified(self) -> None:
        sender, muted, listening = uuid4(), uuid4(), uuid4()
        event = chat_message(sender, [sender, muted, listening])
        event.data["muted_ids"] = [str(muted), "not-a-uuid"]
        assert [n.user_id for n in notifications_for(event)] == [listening]
        event.data["muted_ids"] = "garbage"
        assert {n.user_id for n in notifications_for(event)} == {muted, listening}

    def test_a_redelivered_event_makes_the_same_message_ids(self) -> None:
        event = chat_message(uuid4(), [uuid4(), uuid4()])
        assert [n.message_id for n in notifications_for(event)] == [
            n.message_id for n in notifications_for(event)
        ]
        other = chat_message(uuid4(), [uuid4()])
        assert not {n.message_id for n in notifications_for(event)} & {
            n.message_id for n in notifications_for(other)
        }

    def test_long_text_is_clipped_and_bad_member_ids_are_ignored(self) -> None:
        sender, member = uuid4(), uuid4()
        event = chat_message(sender, [member], text="x" * 5000)
        event.data["member_ids"].append("not-a-uuid")
        [made] = notifications_for(event)
        assert len(made.body) == 1000

    @pytest.mark.parametrize(
        ("attachments", "body"),
        [
            ([{"filename": "cat.png"}], "Sent cat.png"),
            ([{"filename": "a.png"}, {"filename": "b.mp4"}, {}], "Sent a.png and 2 more"),
            (["garbage"], "Sent a file"),
            ("garbage", ""),
        ],
    )
    def test_a_message_without_text_says_what_it_carries(
        self, attachments: object, body: str
    ) -> None:
        event = chat_message(uuid4(), [uuid4()], text="")
        event.data["attachments"] = attachments
        [made] = notifications_for(event)
        assert made.body == body


class TestOrderEvents:
    @pytest.mark.parametrize("kind", ["order.created", "order.status_changed"])
    def test_the_owner_is_notified(self, kind: str) -> None:
        owner = uuid4()
        [made] = notifications_for(order_event(kind, owner))
        assert made.user_id == owner
        assert "42" in made.body

    def test_a_status_change_says_from_what_to_what(self) -> None:
        [made] = notifications_for(order_event("order.status_changed", uuid4()))
        assert (made.title, made.body) == (
            "Order paid",
            "Order 42 for Bob changed from created to paid",
        )

    def test_anonymous_orders_notify_nobody(self) -> None:
        assert notifications_for(order_event("order.status_changed", None)) == []

    def test_other_event_types_notify_nobody(self) -> None:
        assert notifications_for(EventEnvelope(type="chat.renamed", data={"x": 1})) == []


async def test_chat_events_reach_the_members_sockets(
    auth_service_url: str, make_settings: SettingsFactory, producer: AIOKafkaProducer
) -> None:
    sender = await register_and_login(auth_service_url)
    member = await register_and_login(auth_service_url)
    unique = uuid4().hex[:8]
    chat_topic, orders_topic = f"chat.events.{unique}", f"orders.events.{unique}"
    settings = make_settings(
        consume_domain_events=True,
        domain_event_topics=[chat_topic, orders_topic],
        domain_events_group=f"notify-events-{unique}",
    )
    async with (
        serve_gateway(settings) as gateway,
        connect(gateway.ws_url(member.access_token)) as member_ws,
        connect(gateway.ws_url(sender.access_token)) as sender_ws,
    ):
        event = chat_message(sender.id, [sender.id, member.id], text="lunch?")
        await producer.send_and_wait(chat_topic, b"{broken", key=b"k")
        await producer.send_and_wait(chat_topic, event.encode(), key=b"k")
        await producer.send_and_wait(chat_topic, event.encode(), key=b"k")
        await producer.send_and_wait(
            orders_topic, order_event("order.status_changed", member.id).encode()
        )
        frames = [await receive_json(member_ws) for _ in range(2)]
        assert {"title": "Ann in Team", "body": "lunch?"} in frames
        assert {
            "title": "Order paid",
            "body": "Order 42 for Bob changed from created to paid",
        } in frames
        assert await nothing_within(member_ws, 1.0)
        assert await nothing_within(sender_ws, 0.2)
