"""The WebSocket protocol as an AsyncAPI 3 document (``/asyncapi.json``) and a page that
renders it (``/asyncapi``), both built from the action tables the server dispatches on."""

from __future__ import annotations

import html
import json
from functools import cache
from typing import Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse
from pydantic import BaseModel

from chat_service.chats.schemas import ChatList, ChatRead
from chat_service.messages.schemas import MessagePage, MessageRead, ReadState
from chat_service.ws.legacy import CHAT_TYPES, CREATE_CHAT, info_document
from chat_service.ws.protocol import ACTIONS, ERRORS, EVENTS

router = APIRouter(tags=["websocket"])

REF = "#/components/schemas/{model}"


def _schema(model: type[BaseModel], schemas: dict[str, Any]) -> dict[str, Any]:
    schema = model.model_json_schema(ref_template=REF)
    schemas.update(schema.pop("$defs", {}))
    return schema


def _request(
    model: type[BaseModel], schemas: dict[str, Any], extra: dict[str, Any], required: list[str]
) -> dict[str, Any]:
    schema = _schema(model, schemas)
    schema["properties"] = {**extra, **schema.get("properties", {})}
    schema["required"] = [*required, *schema.get("required", [])]
    return schema


def _message(name: str, summary: str, payload: dict[str, Any], example: Any) -> dict[str, Any]:
    message: dict[str, Any] = {"name": name, "title": name, "summary": summary, "payload": payload}
    if example is not None:
        message["examples"] = [{"payload": example}]
    return message


def _replies(schemas: dict[str, Any]) -> dict[str, Any]:
    return {
        "result": _message(
            "result",
            "The answer to a request; the fields after `action` depend on it (see each "
            "action's reply).",
            {
                "type": "object",
                "properties": {
                    "type": {"const": "result"},
                    "action": {"type": "string"},
                    "request_id": {"type": ["string", "integer"]},
                },
                "required": ["type", "action"],
            },
            {"type": "result", "action": "ping", "request_id": "1", "pong": True},
        ),
        "error": _message(
            "error",
            "; ".join(f"{code}: {text}" for code, text in ERRORS.items()),
            {
                "type": "object",
                "properties": {
                    "type": {"const": "error"},
                    "action": {"type": ["string", "null"]},
                    "request_id": {"type": ["string", "integer"]},
                    "error": {"type": "string"},
                    "detail": {},
                    "raw_action": {},
                    "supported": {"type": "array", "items": {"type": "string"}},
                },
                "required": ["type", "error"],
            },
            {
                "type": "error",
                "error": "unknown_action",
                "raw_action": "list",
                "supported": list(ACTIONS),
            },
        ),
        "event": _message(
            "event",
            "Something happened in one of your chats. "
            + " ".join(f"{name}: {text}" for name, text in EVENTS.items()),
            {
                "type": "object",
                "properties": {
                    "type": {"const": "event"},
                    "event": {"enum": list(EVENTS)},
                    "chat_id": {"type": "string", "format": "uuid"},
                    "data": {
                        "oneOf": [
                            {"$ref": REF.format(model="MessageRead")},
                            {"$ref": REF.format(model="ChatRead")},
                            {"type": "object"},
                        ]
                    },
                },
                "required": ["type", "event", "chat_id", "data"],
            },
            None,
        ),
    }


@cache
def asyncapi_document() -> dict[str, Any]:
    schemas: dict[str, Any] = {}
    for model in (ChatRead, ChatList, MessageRead, MessagePage, ReadState):
        schemas[model.__name__] = _schema(model, schemas)
    replies = _replies(schemas)
    messages: dict[str, Any] = dict(replies)
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}

    def channel(key: str, address: str, description: str, requests: dict[str, Any]) -> None:
        refs = {name: {"$ref": f"#/components/messages/{name}"} for name in requests}
        incoming = ("result", "error", "event") if key != "info" else ()
        refs.update({name: {"$ref": f"#/components/messages/{name}"} for name in incoming})
        channels[key] = {"address": address, "description": description, "messages": refs}
        if "{chat_id}" in address:
            channels[key]["parameters"] = {"chat_id": {"description": "The chat's id (uuid)"}}
        for name in requests:
            operations[f"{key}.{name}"] = {
                "action": "send",
                "channel": {"$ref": f"#/channels/{key}"},
                "messages": [{"$ref": f"#/channels/{key}/messages/{name}"}],
            }
        if incoming:
            operations[f"{key}.receive"] = {
                "action": "receive",
                "channel": {"$ref": f"#/channels/{key}"},
                "messages": [{"$ref": f"#/channels/{key}/messages/{n}"} for n in incoming],
            }

    user_requests = {}
    for action in ACTIONS.values():
        name = f"ws.{action.name}"
        payload = _request(
            action.request,
            schemas,
            {
                "action": {"const": action.name},
                "request_id": {"type": ["string", "integer"], "description": "Echoed back"},
            },
            ["action"],
        )
        summary = f"{action.summary} Reply: {action.reply}."
        user_requests[name] = messages[name] = _message(name, summary, payload, action.example)
    channel(
        "userSocket",
        "/ws",
        "One socket per user for all their chats: requests by `action`, events of every "
        "chat. Authenticate with `?token=` or `Authorization: Bearer`.",
        user_requests,
    )

    chat_requests = {}
    for kind in CHAT_TYPES.values():
        name = f"chat.{kind.name}"
        payload = _request(kind.request, schemas, {"type": {"const": kind.name}}, ["type"])
        chat_requests[name] = messages[name] = _message(name, kind.summary, payload, kind.example)
    channel(
        "chatSocket",
        "/ws/chat/{chat_id}",
        "Seed 000's per-chat socket with its seven message types; events of this chat only. "
        "Closes with 4403 for non-members, 4404 for unknown chats, 1000 when the chat is "
        "deleted.",
        chat_requests,
    )
    name = "create_chat"
    messages[name] = _message(
        name, CREATE_CHAT.summary, _schema(CREATE_CHAT.request, schemas), CREATE_CHAT.example
    )
    channel("createChat", "/create_chat", "Seed 000's chat creation socket.", {name: None})
    messages["info"] = _message(
        "info", "Sent on connect, then the socket closes.", {"type": "object"}, info_document()
    )
    channels["info"] = {
        "address": "/info",
        "description": "How to use the chat sockets (also at GET /info).",
        "messages": {"info": {"$ref": "#/components/messages/info"}},
    }
    operations["info.receive"] = {
        "action": "receive",
        "channel": {"$ref": "#/channels/info"},
        "messages": [{"$ref": "#/channels/info/messages/info"}],
    }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "chat_service WebSocket protocol",
            "version": "1.0.0",
            "description": "Requests, replies and events of chat_service's sockets. Close "
            "codes: 4401 unauthenticated or token expired, 4403 forbidden, 4404 no such "
            "chat, 4429 too many sockets or frames, 1009 frame too large (64 KiB), 1012 "
            "server restart, 1013 auth unavailable or socket too far behind.",
        },
        "servers": {
            "local": {"host": "localhost:8002", "protocol": "ws", "description": "make run"}
        },
        "defaultContentType": "application/json",
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": schemas},
    }


@router.get("/asyncapi.json", summary="The WebSocket protocol (AsyncAPI 3)")
async def asyncapi_json() -> dict[str, Any]:
    return asyncapi_document()


@router.get("/asyncapi", response_class=HTMLResponse, summary="The WebSocket protocol, rendered")
async def asyncapi_page() -> HTMLResponse:
    return HTMLResponse(render_page(asyncapi_document()))


def _pre(value: Any) -> str:
    return f"<pre>{html.escape(json.dumps(value, indent=2, ensure_ascii=False))}</pre>"


@cache
def _page(document_json: str) -> str:
    document = json.loads(document_json)
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        "<title>chat_service WebSocket protocol</title><style>",
        "body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}",
        "pre{background:#f5f5f5;padding:.6rem;overflow:auto}",
        "h3{margin-top:1.6rem;font-family:monospace}</style></head><body>",
        f"<h1>{html.escape(document['info']['title'])}</h1>",
        f"<p>{html.escape(document['info']['description'])}</p>",
        "<p>Machine-readable: <a href='/asyncapi.json'>/asyncapi.json</a> (AsyncAPI 3.0). "
        "REST: <a href='/docs'>/docs</a>.</p>",
    ]
    for channel in document["channels"].values():
        parts.append(f"<h2><code>{html.escape(channel['address'])}</code></h2>")
        parts.append(f"<p>{html.escape(channel['description'])}</p>")
        for ref in channel["messages"].values():
            message = document["components"]["messages"][ref["$ref"].rsplit("/", 1)[1]]
            parts.append(f"<h3>{html.escape(message['name'])}</h3>")
            parts.append(f"<p>{html.escape(message['summary'])}</p>")
            if message.get("examples"):
                parts.append(_pre(message["examples"][0]["payload"]))
            properties = message["payload"].get("properties")
            if properties:
                parts.append("<details><summary>fields</summary>")
                parts.append(_pre(properties))
                parts.append("</details>")
    parts.append("</body></html>")
    return "".join(parts)


def render_page(document: dict[str, Any]) -> str:
    return _page(json.dumps(document, sort_keys=True))
