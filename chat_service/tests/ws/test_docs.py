"""The protocol is published: AsyncAPI document and its page, built from what dispatches."""

from __future__ import annotations

from typing import Any

import httpx

from chat_service.ws.legacy import CHAT_TYPES
from chat_service.ws.protocol import ACTIONS


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [r for value in node.values() for r in _refs(value)]
    if isinstance(node, list):
        return [r for value in node for r in _refs(value)]
    return []


def _resolve(document: dict[str, Any], ref: str) -> Any:
    node: Any = document
    for part in ref.removeprefix("#/").split("/"):
        node = node[part]
    return node


class TestAsyncApi:
    async def test_document_covers_every_action_and_resolves(self, chat_url: str) -> None:
        async with httpx.AsyncClient(base_url=chat_url) as client:
            document = (await client.get("/asyncapi.json")).json()
            page = await client.get("/asyncapi")
        assert document["asyncapi"] == "3.0.0"
        channels = document["channels"]
        assert {c["address"] for c in channels.values()} == {
            "/ws", "/ws/chat/{chat_id}", "/create_chat", "/info"
        }  # fmt: skip
        user_messages = set(channels["userSocket"]["messages"])
        assert {f"ws.{name}" for name in ACTIONS} <= user_messages
        assert {f"chat.{name}" for name in CHAT_TYPES} <= set(channels["chatSocket"]["messages"])
        for ref in _refs(document):
            assert _resolve(document, ref) is not None, ref
        send = document["components"]["messages"]["ws.send_message"]
        assert send["payload"]["properties"]["text"]["maxLength"] == 4000
        assert send["examples"][0]["payload"]["action"] == "send_message"
        assert page.status_code == 200
        assert "text/html" in page.headers["content-type"]
        for name in ("send_message", "sending_message", "/ws/chat/{chat_id}"):
            assert name in page.text

    async def test_swagger_logs_in_at_auth_service(
        self, chat_url: str, auth_service_url: str
    ) -> None:
        async with httpx.AsyncClient(base_url=chat_url) as client:
            openapi = (await client.get("/openapi.json")).json()
        flows = openapi["components"]["securitySchemes"]["OAuth2PasswordBearer"]["flows"]
        assert flows["password"]["tokenUrl"] == auth_service_url + "/api/v1/auth/login"
