"""Seed 000's endpoints, as written there: ``/ws/chat/{chat_id}`` with its seven message
types, ``/create_chat`` and ``/info``.

Frames are ``{"type": "<kind>", "data": ...}``. Message ids may be the message UUIDs or,
as in the seed's examples, integers: those are the chat's ``seq`` numbers. User ids are
auth_service's UUIDs. Replies and events have the ``/ws`` shapes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any
from uuid import UUID

from pydantic import BaseModel, Field

from chat_service.chats import service as chats
from chat_service.chats.schemas import MEMBERS_PER_REQUEST, ChatCreate
from chat_service.messages import service as messages
from chat_service.messages.schemas import PAGE_MAX, TEXT_MAX, MessageCreate
from chat_service.models import CLIENT_MESSAGE_ID_MAX, NAME_MAX
from chat_service.schemas import InputSchema
from chat_service.ws.connection import Connection
from chat_service.ws.protocol import Action, Call, run_action, unknown_action
from shared.db import MAX_SAFE_INTEGER
from shared.ws.close_codes import CloseCode

# Where an unknown type points: this socket has no help action.
_TYPES_HINT = "GET /info lists the message types, with examples"

MessageRef = Annotated[int, Field(ge=0, le=MAX_SAFE_INTEGER)] | UUID


class SendingMessage(InputSchema):
    data: str = Field(min_length=1, max_length=TEXT_MAX, examples=["Hello world!"])
    client_message_id: str | None = Field(
        default=None, min_length=1, max_length=CLIENT_MESSAGE_ID_MAX
    )


class MessageRefs(InputSchema):
    data: list[MessageRef] = Field(min_length=1, max_length=PAGE_MAX)


class UserRefs(InputSchema):
    data: list[UUID] = Field(min_length=1, max_length=MEMBERS_PER_REQUEST)


class NoData(InputSchema):
    pass


class CreateChatFrame(InputSchema):
    data: list[UUID] = Field(default_factory=list, max_length=MEMBERS_PER_REQUEST)
    chat_name: str = Field(min_length=1, max_length=NAME_MAX)


def _split(refs: list[MessageRef]) -> tuple[list[UUID], list[int]]:
    return [r for r in refs if isinstance(r, UUID)], [r for r in refs if isinstance(r, int)]


def _chat_id(call: Call) -> UUID:
    assert call.connection.chat_id is not None
    return call.connection.chat_id


def _dump(model: BaseModel) -> dict[str, Any]:
    data: dict[str, Any] = model.model_dump(mode="json")
    return data


async def _sending_message(call: Call, r: SendingMessage) -> dict[str, Any]:
    body = MessageCreate(text=r.data, client_message_id=r.client_message_id)
    return _dump(
        await messages.send_message(call.state.sends, call.connection.actor, _chat_id(call), body)
    )


async def _reading_messages(call: Call, r: MessageRefs) -> dict[str, Any]:
    ids, seqs = _split(r.data)
    async with call.state.work(call.connection.actor) as work:
        return _dump(await messages.read_up_to(work, _chat_id(call), message_ids=ids, seqs=seqs))


async def _get_chats(call: Call, _: NoData) -> dict[str, Any]:
    async with call.state.work(call.connection.actor) as work:
        return _dump(await chats.list_chats(work))


async def _add_user_to_chat(call: Call, r: UserRefs) -> dict[str, Any]:
    async with call.state.work(call.connection.actor) as work:
        return {"chat": _dump(await chats.add_members(work, _chat_id(call), r.data))}


async def _delete_user_from_chat(call: Call, r: UserRefs) -> dict[str, Any]:
    async with call.state.work(call.connection.actor) as work:
        return {"chat": _dump(await chats.remove_members(work, _chat_id(call), r.data))}


async def _delete_chat(call: Call, _: NoData) -> dict[str, Any]:
    async with call.state.work(call.connection.actor) as work:
        await chats.delete_chat(work, _chat_id(call))
    # The seed: "after deleting the chat the websocket connection is closed".
    return {"chat_id": str(_chat_id(call))}


async def _delete_messages(call: Call, r: MessageRefs) -> dict[str, Any]:
    ids, seqs = _split(r.data)
    async with call.state.work(call.connection.actor) as work:
        deleted = await messages.delete_messages(work, _chat_id(call), message_ids=ids, seqs=seqs)
    return {"messages": [_dump(m) for m in deleted]}


async def _create_chat(call: Call, r: CreateChatFrame) -> dict[str, Any]:
    async with call.state.work(call.connection.actor) as work:
        chat = await chats.create_chat(work, ChatCreate(name=r.chat_name, member_ids=r.data))
    return {"chat": _dump(chat)}


Handler = Callable[[Call, Any], Awaitable[dict[str, Any]]]


@dataclass(frozen=True)
class Kind:
    name: str
    summary: str
    request: type[BaseModel]
    example: dict[str, Any]
    handler: Handler

    def as_action(self) -> Action:
        return Action(self.name, self.summary, self.request, self.example, self.handler, "")


CHAT_TYPES: dict[str, Kind] = {
    k.name: k
    for k in (
        Kind(
            "sending_message",
            "Send a message to this chat.",
            SendingMessage,
            {"type": "sending_message", "data": "Hello world!"},
            _sending_message,
        ),
        Kind(
            "reading_messages",
            "Mark messages as read (ids or seq numbers).",
            MessageRefs,
            {"type": "reading_messages", "data": [1, 2, 3]},
            _reading_messages,
        ),
        Kind("get_chats", "Your chats.", NoData, {"type": "get_chats"}, _get_chats),
        Kind(
            "add_user_to_chat",
            "Add users to this chat (owner).",
            UserRefs,
            {"type": "add_user_to_chat", "data": ["<user uuid>"]},
            _add_user_to_chat,
        ),
        Kind(
            "delete_user_from_chat",
            "Remove users from this chat (yourself; anyone as owner or superuser).",
            UserRefs,
            {"type": "delete_user_from_chat", "data": ["<user uuid>"]},
            _delete_user_from_chat,
        ),
        Kind(
            "delete_chat",
            "Delete this chat with its group (owner); the socket closes.",
            NoData,
            {"type": "delete_chat"},
            _delete_chat,
        ),
        Kind(
            "delete_messages",
            "Delete your messages (ids or seq numbers).",
            MessageRefs,
            {"type": "delete_messages", "data": [1, 2, 3]},
            _delete_messages,
        ),
    )
}

CREATE_CHAT = Kind(
    "create_chat",
    "Create a chat: data are the members' user ids, chat_name its name.",
    CreateChatFrame,
    {"data": ["<user uuid>", "<user uuid>"], "chat_name": "Your chat's name"},
    _create_chat,
)


async def handle_chat_frame(connection: Connection, payload: dict[str, Any]) -> None:
    kind_name = payload.get("type")
    kind = CHAT_TYPES.get(kind_name) if isinstance(kind_name, str) else None
    if kind is None:
        connection.send(unknown_action(kind_name, None, list(CHAT_TYPES), _TYPES_HINT))
        return
    fields = {k: v for k, v in payload.items() if k != "type"}
    done = await run_action(connection, kind.as_action(), fields, None)
    if done and kind.name == "delete_chat" and not connection.closed:
        # Usually the chat_deleted event already closed it; this covers a lost event.
        connection.close(CloseCode.NORMAL, "chat deleted")


async def handle_create_chat_frame(connection: Connection, payload: dict[str, Any]) -> None:
    if payload.get("type", "create_chat") != "create_chat":
        connection.send(unknown_action(payload["type"], None, [CREATE_CHAT.name], _TYPES_HINT))
        return
    fields = {k: v for k, v in payload.items() if k != "type"}
    await run_action(connection, CREATE_CHAT.as_action(), fields, None)


def info_document() -> dict[str, Any]:
    """What ``/info`` tells: how to talk to the chat over WebSocket."""
    return {
        "service": "chat_service",
        "authorization": "Send the header 'Authorization: Bearer <access token>' or add "
        "?token=<access token>. Get a token from auth_service: POST /api/v1/auth/login "
        "(form fields username = your email, password).",
        "endpoints": {
            "/ws": 'One socket for all your chats; send {"action": "help"} for its actions.',
            "/create_chat": "Create a chat: " + str(CREATE_CHAT.example),
            "/ws/chat/{chat_id}": "Talk in one chat with the message types below.",
            "/info": "This text.",
        },
        "message_types": [
            {"type": k.name, "summary": k.summary, "example": k.example}
            for k in CHAT_TYPES.values()
        ],
        "message_ids": "Message ids are the messages' UUIDs or their seq numbers in the chat.",
        "events": 'Others\' actions arrive as {"type": "event", "event", "chat_id", "data"}.',
        "asyncapi": "/asyncapi.json",
        "docs": "/asyncapi",
    }
