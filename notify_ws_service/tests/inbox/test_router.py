"""The inbox over REST: list (paged), unread count, mark read, ack, delivery status."""

from __future__ import annotations

import json
from uuid import uuid4

import httpx
import pytest
from aiokafka import AIOKafkaProducer

from shared.db import MAX_SAFE_INTEGER
from shared.testing.auth_service import AuthUser, register_and_login
from tests.support import Served, connect, notification, receive_json

PREFIX = "/api/v1/notify/notifications"


@pytest.fixture
def served(gateway: Served) -> Served:
    return gateway


async def _deliver(
    served: Served, producer: AIOKafkaProducer, user: AuthUser, count: int
) -> list[str]:
    """Sends ``count`` notifications and waits for them on a socket; returns their ids."""
    topic, key = served.gateway.settings.notification_topic, str(user.id).encode()
    async with connect(served.ws_url(user.access_token, v="2")) as ws:
        for n in range(count):
            await producer.send_and_wait(topic, notification(user.id, "t", str(n)), key=key)
        return [(await receive_json(ws))["id"] for _ in range(count)]


class TestListNotifications:
    async def test_pages_newest_first(
        self, auth_service_url: str, served: Served, producer: AIOKafkaProducer
    ) -> None:
        user = await register_and_login(auth_service_url)
        ids = await _deliver(served, producer, user, 5)
        async with httpx.AsyncClient(base_url=served.base_url, headers=user.headers) as client:
            first = (await client.get(PREFIX, params={"limit": 3})).json()
            second = (
                await client.get(PREFIX, params={"limit": 3, "cursor": first["next_cursor"]})
            ).json()
        assert [i["id"] for i in first["items"] + second["items"]] == ids[::-1]
        assert second["next_cursor"] is None

    async def test_a_cursor_past_the_safe_integers_is_422_not_500(
        self, auth_service_url: str, served: Served
    ) -> None:
        user = await register_and_login(auth_service_url)
        async with httpx.AsyncClient(base_url=served.base_url, headers=user.headers) as client:
            huge = await client.get(PREFIX, params={"cursor": MAX_SAFE_INTEGER + 1})
            largest = await client.get(PREFIX, params={"cursor": MAX_SAFE_INTEGER})
        assert huge.status_code == 422
        assert largest.status_code == 200

    async def test_needs_a_token(self, served: Served) -> None:
        async with httpx.AsyncClient(base_url=served.base_url) as client:
            response = await client.get(PREFIX)
            bad = await client.get(PREFIX, headers={"Authorization": "Bearer nope"})
        assert response.status_code == 401
        assert response.json()["error"] == "Unauthorized"
        assert (bad.status_code, bad.json()["error"]) == (401, "InvalidToken")

    async def test_refusals_are_in_the_openapi_document(self, served: Served) -> None:
        async with httpx.AsyncClient(base_url=served.base_url) as client:
            paths = (await client.get("/openapi.json")).json()["paths"]
        inbox = [
            op for name, path in paths.items() if name.startswith(PREFIX) for op in path.values()
        ]
        assert len(inbox) == 6
        assert all({"401", "503"} <= set(op["responses"]) for op in inbox)


class TestReadAndAck:
    async def test_read_marks_and_unread_count(
        self, auth_service_url: str, served: Served, producer: AIOKafkaProducer
    ) -> None:
        user = await register_and_login(auth_service_url)
        ids = await _deliver(served, producer, user, 3)
        async with httpx.AsyncClient(base_url=served.base_url, headers=user.headers) as client:
            assert (await client.get(f"{PREFIX}/unread-count")).json() == {"unread": 3}
            read = await client.post(f"{PREFIX}/{ids[0]}/read")
            assert read.status_code == 200
            assert read.json()["read_at"] is not None
            assert (await client.get(f"{PREFIX}/unread-count")).json() == {"unread": 2}
            unread = (await client.get(PREFIX, params={"unread_only": True})).json()["items"]
            assert [i["id"] for i in unread] == ids[:0:-1]
            assert (await client.post(f"{PREFIX}/read-all")).json() == {"updated": 2}
            assert (await client.get(f"{PREFIX}/unread-count")).json() == {"unread": 0}

    async def test_socket_ack_shows_in_the_delivery_status(
        self, auth_service_url: str, served: Served, producer: AIOKafkaProducer
    ) -> None:
        user = await register_and_login(auth_service_url)
        [message_id] = await _deliver(served, producer, user, 1)
        async with httpx.AsyncClient(base_url=served.base_url, headers=user.headers) as client:
            status = (await client.get(f"{PREFIX}/{message_id}/status")).json()
            assert (status["delivered_at"], status["read_at"]) == (None, None)
            async with connect(served.ws_url(user.access_token)) as ws:
                await ws.send(json.dumps({"type": "ack", "id": message_id}))
                await ws.send(json.dumps({"type": "ack", "id": str(uuid4())}))
                reply = await receive_json(ws)
                assert (reply["type"], reply["error"]) == ("error", "not_found")
            status = (await client.get(f"{PREFIX}/{message_id}/status")).json()
            assert status["delivered_at"] is not None
            assert status["read_at"] is None

    async def test_another_users_notification_is_not_found(
        self, auth_service_url: str, served: Served, producer: AIOKafkaProducer
    ) -> None:
        owner = await register_and_login(auth_service_url)
        other = await register_and_login(auth_service_url)
        [message_id] = await _deliver(served, producer, owner, 1)
        async with httpx.AsyncClient(base_url=served.base_url, headers=other.headers) as client:
            for method, path in (
                ("POST", f"{PREFIX}/{message_id}/read"),
                ("POST", f"{PREFIX}/{message_id}/ack"),
                ("GET", f"{PREFIX}/{message_id}/status"),
            ):
                response = await client.request(method, path)
                assert response.status_code == 404, path
                assert response.json()["error"] == "NotificationNotFound"
        async with httpx.AsyncClient(base_url=served.base_url, headers=owner.headers) as client:
            assert (await client.get(f"{PREFIX}/unread-count")).json() == {"unread": 1}
