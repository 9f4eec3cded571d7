"""The ``/ws`` protocol: every action, its request schema, an example, and its handler.

This table is the protocol: dispatch, ``help``, ``unknown_action``'s list and the
AsyncAPI document all read it. Handlers call the same services as REST.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import cache, partial
from typing import Any

from pydantic import BaseModel, ValidationError

from chat_service.auth import authenticate
from chat_service.chats import mutes, presence
from chat_service.chats import service as chats
from chat_service.chats.schemas import ChatCreate
from chat_service.errors import TokenUserMismatch
from chat_service.invites import service as invites
from chat_service.messages import pins
from chat_service.messages import service as messages
from chat_service.state import ChatState
from chat_service.ws import actions as req
from chat_service.ws.connection import Connection
from chat_service.ws.session import state_of
from shared.errors import ServiceError
from shared.logging import get_logger

log = get_logger(__name__)

EXAMPLE_CHAT = "3f2b8c1e-8a52-5a7e-9d1c-2b7f4c1d9e01"
EXAMPLE_USER = "6c1f0a52-5e7b-5c3d-8f2a-4d9e0b1c7a32"


@dataclass(frozen=True)
class Call:
    connection: Connection
    state: ChatState


Handler = Callable[[Call, Any], Awaitable[dict[str, Any]]]


@dataclass(frozen=True)
class Action:
    name: str
    summary: str
    request: type[BaseModel]
    example: dict[str, Any]
    handler: Handler
    reply: str


def _dump(model: BaseModel) -> dict[str, Any]:
    data: dict[str, Any] = model.model_dump(mode="json")
    return data


async def _ping(call: Call, _: req.Empty) -> dict[str, Any]:
    return {"pong": True}


async def _help(call: Call, _: req.Empty) -> dict[str, Any]:
    return help_document()


async def _list_chats(call: Call, r: req.ListChats) -> dict[str, Any]:
    async with call.state.work(call.connection.actor) as work:
        return _dump(await chats.list_chats(work, query=r.query, limit=r.limit, offset=r.offset))


async def _get_chat(call: Call, r: req.ChatRef) -> dict[str, Any]:
    async with call.state.work(call.connection.actor) as work:
        return {"chat": _dump(await chats.get_chat(work, r.chat_id))}


async def _create_chat(call: Call, r: ChatCreate) -> dict[str, Any]:
    async with call.state.work(call.connection.actor) as work:
        return {"chat": _dump(await chats.create_chat(work, r))}


async def _rename_chat(call: Call, r: req.RenameChat) -> dict[str, Any]:
    async with call.state.work(call.connection.actor) as work:
        return {"chat": _dump(await chats.rename_chat(work, r.chat_id, r.name))}


async def _transfer_ownership(call: Call, r: req.TransferOwnership) -> dict[str, Any]:
    async with call.state.work(call.connection.actor) as work:
        return {"chat": _dump(await chats.transfer_ownership(work, r.chat_id, r.user_id))}


async def _mute_chat(call: Call, r: req.MuteChat) -> dict[str, Any]:
    async with call.state.work(call.connection.actor) as work:
        return _dump(await mutes.set_mute(work, r.chat_id, r.until, muted=True))


async def _unmute_chat(call: Call, r: req.ChatRef) -> dict[str, Any]:
    async with call.state.work(call.connection.actor) as work:
        return _dump(await mutes.set_mute(work, r.chat_id, None, muted=False))


async def _delete_chat(call: Call, r: req.ChatRef) -> dict[str, Any]:
    async with call.state.work(call.connection.actor) as work:
        await chats.delete_chat(work, r.chat_id)
    return {"chat_id": str(r.chat_id)}


async def _add_members(call: Call, r: req.MembersChange) -> dict[str, Any]:
    async with call.state.work(call.connection.actor) as work:
        return {"chat": _dump(await chats.add_members(work, r.chat_id, r.user_ids))}


async def _remove_members(call: Call, r: req.MembersChange) -> dict[str, Any]:
    async with call.state.work(call.connection.actor) as work:
        return {"chat": _dump(await chats.remove_members(work, r.chat_id, r.user_ids))}


async def _get_messages(call: Call, r: req.GetMessages) -> dict[str, Any]:
    async with call.state.work(call.connection.actor) as work:
        page = await messages.get_messages(
            work,
            r.chat_id,
            before_seq=r.before_seq,
            after_seq=r.after_seq,
            limit=r.limit,
            containing=r.query,
        )
    return {"chat_id": str(r.chat_id), **_dump(page)}


async def _send_message(call: Call, r: req.SendMessage) -> dict[str, Any]:
    return _dump(await messages.send_message(call.state.sends, call.connection.actor, r.chat_id, r))


async def _edit_message(call: Call, r: req.EditMessage) -> dict[str, Any]:
    async with call.state.work(call.connection.actor) as work:
        return {
            "message": _dump(await messages.edit_message(work, r.chat_id, r.message_id, r.text))
        }


async def _reaction(call: Call, r: req.React, *, add: bool) -> dict[str, Any]:
    async with call.state.work(call.connection.actor) as work:
        reacted = await messages.react(work, r.chat_id, r.message_id, r.emoji, add=add)
    return reacted.model_dump(mode="json")


async def _pin(call: Call, r: req.MessageRef, *, pinned: bool) -> dict[str, Any]:
    async with call.state.work(call.connection.actor) as work:
        return {"message": _dump(await pins.pin(work, r.chat_id, r.message_id, pinned=pinned))}


async def _get_pins(call: Call, r: req.ChatRef) -> dict[str, Any]:
    async with call.state.work(call.connection.actor) as work:
        return _dump(await pins.pinned_messages(work, r.chat_id))


async def _delete_messages(call: Call, r: req.DeleteMessages) -> dict[str, Any]:
    async with call.state.work(call.connection.actor) as work:
        deleted = await messages.delete_messages(work, r.chat_id, message_ids=r.message_ids)
    return {"messages": [_dump(m) for m in deleted]}


async def _read_messages(call: Call, r: req.ReadMessages) -> dict[str, Any]:
    async with call.state.work(call.connection.actor) as work:
        return _dump(await messages.read_messages(work, r.chat_id, r.seq))


async def _typing(call: Call, r: req.ChatRef) -> dict[str, Any]:
    async with call.state.work(call.connection.actor) as work:
        await messages.typing(work, r.chat_id)
    return {"chat_id": str(r.chat_id)}


async def _get_presence(call: Call, r: req.ChatRef) -> dict[str, Any]:
    async with call.state.work(call.connection.actor) as work:
        found = await presence.chat_presence(work, call.state, r.chat_id)
    return found.model_dump(mode="json")


async def _watch_presence(call: Call, r: req.WatchPresence) -> dict[str, Any]:
    """From now on (or no more) this socket hears who of its people comes and goes; the
    reply says who is online now."""
    call.connection.watches_presence = r.watch
    if not r.watch:
        return {"watching": False}
    async with call.state.work(call.connection.actor) as work:
        online = await presence.people_online(work, call.state)
    return {"watching": True, "online": [str(u) for u in online]}


async def _create_invite(call: Call, r: req.CreateInvite) -> dict[str, Any]:
    settings = call.state.settings
    async with call.state.work(call.connection.actor) as work:
        invite = await invites.create_invite(
            work,
            r.chat_id,
            r,
            default_ttl=settings.invite_default_ttl_seconds,
            public_url=settings.public_url,
        )
    return {"invite": _dump(invite)}


async def _list_invites(call: Call, r: req.ChatRef) -> dict[str, Any]:
    public_url = call.state.settings.public_url
    async with call.state.work(call.connection.actor) as work:
        return _dump(await invites.list_invites(work, r.chat_id, public_url=public_url))


async def _revoke_invite(call: Call, r: req.RevokeInvite) -> dict[str, Any]:
    async with call.state.work(call.connection.actor) as work:
        await invites.revoke_invite(work, r.chat_id, r.token)
    return {"chat_id": str(r.chat_id), "token": r.token}


async def _preview_invite(call: Call, r: req.AcceptInvite) -> dict[str, Any]:
    async with call.state.work(call.connection.actor) as work:
        return {"invite": _dump(await invites.preview_invite(work, r.token))}


async def _accept_invite(call: Call, r: req.AcceptInvite) -> dict[str, Any]:
    async with call.state.work(call.connection.actor) as work:
        return {"chat": _dump(await invites.accept_invite(work, r.token))}


async def _refresh(call: Call, r: req.Refresh) -> dict[str, Any]:
    """A fresh token of the same user keeps the socket open past the old one's expiry."""
    actor, claims = await authenticate(call.state.verifier, r.token)
    if actor.user_id != call.connection.user_id:
        raise TokenUserMismatch()
    call.connection.expires_at = claims.exp + call.state.settings.ws_token_grace_seconds
    call.connection.actor = actor  # its token asks auth_service from now on
    return {"expires_at": claims.exp, "expires_in": max(0, int(claims.exp - time.time()))}


def _a(
    name: str,
    summary: str,
    request: type[BaseModel],
    example: dict[str, Any],
    handler: Handler,
    reply: str,
) -> Action:
    return Action(name, summary, request, {"action": name, **example}, handler, reply)


_CHAT = {"chat_id": EXAMPLE_CHAT}

ACTIONS: dict[str, Action] = {
    a.name: a
    for a in (
        _a("ping", "Liveness check.", req.Empty, {"request_id": "1"}, _ping, "pong: true"),
        _a(
            "help",
            "Every action with its fields and an example.",
            req.Empty,
            {},
            _help,
            "actions, events",
        ),
        _a(
            "list_chats",
            "Your chats, most recent first, with last message and unread "
            "count; `query` filters by name.",
            req.ListChats,
            {"limit": 20},
            _list_chats,
            "items, has_more",
        ),
        _a(
            "get_chats",
            "Seed 000's name for list_chats.",
            req.ListChats,
            {},
            _list_chats,
            "items, has_more",
        ),
        _a(
            "search_chats",
            "Your chats whose name contains `query`.",
            req.SearchChats,
            {"query": "Test"},
            _list_chats,
            "items, has_more",
        ),
        _a("get_chat", "A chat with its members.", req.ChatRef, _CHAT, _get_chat, "chat"),
        _a(
            "create_chat",
            "Create a chat; you own it. One other member makes it private, more make a group.",
            ChatCreate,
            {"name": "Weekend plans", "member_ids": [EXAMPLE_USER]},
            _create_chat,
            "chat",
        ),
        _a(
            "rename_chat",
            "Rename a chat (owner).",
            req.RenameChat,
            {**_CHAT, "name": "New name"},
            _rename_chat,
            "chat",
        ),
        _a(
            "transfer_ownership",
            "Make another member the owner (owner); you stay as a member.",
            req.TransferOwnership,
            {**_CHAT, "user_id": EXAMPLE_USER},
            _transfer_ownership,
            "chat",
        ),
        _a(
            "mute_chat",
            "No notifications of the chat's messages for you until `until` (left out: "
            "until you unmute it).",
            req.MuteChat,
            {**_CHAT, "until": "2026-12-31T08:00:00Z"},
            _mute_chat,
            "chat_id, muted, muted_until",
        ),
        _a(
            "unmute_chat",
            "Notifications of the chat's messages again.",
            req.ChatRef,
            _CHAT,
            _unmute_chat,
            "chat_id, muted, muted_until",
        ),
        _a(
            "delete_chat",
            "Delete a chat with its members and messages (owner).",
            req.ChatRef,
            _CHAT,
            _delete_chat,
            "chat_id",
        ),
        _a(
            "add_members",
            "Add members (owner); a private chat becomes a group.",
            req.MembersChange,
            {**_CHAT, "user_ids": [EXAMPLE_USER]},
            _add_members,
            "chat",
        ),
        _a(
            "remove_members",
            "Remove members: yourself, or anyone as the owner or a superuser.",
            req.MembersChange,
            {**_CHAT, "user_ids": [EXAMPLE_USER]},
            _remove_members,
            "chat",
        ),
        _a(
            "get_messages",
            "History in seq order: newest page, `before_seq` for older, "
            "`after_seq` for what you missed; `query` searches.",
            req.GetMessages,
            {**_CHAT, "after_seq": 41, "limit": 50},
            _get_messages,
            "chat_id, items, has_more, last_seq, read_seq",
        ),
        _a(
            "send_message",
            "Send a message; a retry with the same `client_message_id` returns the original.",
            req.SendMessage,
            {**_CHAT, "text": "Hello world!", "client_message_id": "a1b2c3"},
            _send_message,
            "message, duplicate",
        ),
        _a(
            "edit_message",
            "Edit your message.",
            req.EditMessage,
            {**_CHAT, "message_id": "0b7e4a1c-3f5d-4e2a-9c8b-1d2e3f4a5b6c", "text": "Fixed"},
            _edit_message,
            "message",
        ),
        _a(
            "delete_messages",
            "Delete your messages (all or nothing).",
            req.DeleteMessages,
            {**_CHAT, "message_ids": ["0b7e4a1c-3f5d-4e2a-9c8b-1d2e3f4a5b6c"]},
            _delete_messages,
            "messages",
        ),
        _a(
            "react",
            "React to a message with an emoji (again: no change).",
            req.React,
            {**_CHAT, "message_id": "0b7e4a1c-3f5d-4e2a-9c8b-1d2e3f4a5b6c", "emoji": "👍"},
            partial(_reaction, add=True),
            "message_id, reactions",
        ),
        _a(
            "unreact",
            "Take your reaction back (none: no change).",
            req.React,
            {**_CHAT, "message_id": "0b7e4a1c-3f5d-4e2a-9c8b-1d2e3f4a5b6c", "emoji": "👍"},
            partial(_reaction, add=False),
            "message_id, reactions",
        ),
        _a(
            "pin_message",
            "Pin a message to the chat (any member; again: no change).",
            req.MessageRef,
            {**_CHAT, "message_id": "0b7e4a1c-3f5d-4e2a-9c8b-1d2e3f4a5b6c"},
            partial(_pin, pinned=True),
            "message",
        ),
        _a(
            "unpin_message",
            "Unpin a message (not pinned: no change).",
            req.MessageRef,
            {**_CHAT, "message_id": "0b7e4a1c-3f5d-4e2a-9c8b-1d2e3f4a5b6c"},
            partial(_pin, pinned=False),
            "message",
        ),
        _a(
            "get_pins",
            "The chat's pinned messages, newest pin first.",
            req.ChatRef,
            _CHAT,
            _get_pins,
            "chat_id, items",
        ),
        _a(
            "read_messages",
            "Mark everything up to `seq` as read.",
            req.ReadMessages,
            {**_CHAT, "seq": 42},
            _read_messages,
            "chat_id, user_id, last_read_seq, unread_count, read_seq",
        ),
        _a(
            "typing",
            "Tell the other members you are typing.",
            req.ChatRef,
            _CHAT,
            _typing,
            "chat_id",
        ),
        _a(
            "get_presence",
            "Which members of the chat are online.",
            req.ChatRef,
            _CHAT,
            _get_presence,
            "chat_id, online",
        ),
        _a(
            "watch_presence",
            "Hear `presence` events of everyone you share a chat with (`watch`: false to "
            "stop); the reply lists who is online now.",
            req.WatchPresence,
            {"watch": True},
            _watch_presence,
            "watching, online",
        ),
        _a(
            "create_invite",
            "Make an invite link (owner).",
            req.CreateInvite,
            {**_CHAT, "max_uses": 5},
            _create_invite,
            "invite",
        ),
        _a(
            "list_invites",
            "The chat's live invite links (owner).",
            req.ChatRef,
            _CHAT,
            _list_invites,
            "chat_id, items",
        ),
        _a(
            "revoke_invite",
            "Revoke an invite link (owner); members it let in stay.",
            req.RevokeInvite,
            {**_CHAT, "token": "Jd8c..."},
            _revoke_invite,
            "chat_id, token",
        ),
        _a(
            "preview_invite",
            "Where an invite token leads (chat name, member count).",
            req.AcceptInvite,
            {"token": "Jd8c..."},
            _preview_invite,
            "invite",
        ),
        _a(
            "accept_invite",
            "Join a chat with an invite token.",
            req.AcceptInvite,
            {"token": "Jd8c..."},
            _accept_invite,
            "chat",
        ),
        _a(
            "refresh",
            "Hand over a fresh access token before yours expires.",
            req.Refresh,
            {"token": "<access token>"},
            _refresh,
            "expires_at, expires_in",
        ),
    )
}

EVENTS: dict[str, str] = {
    "chat_created": "You are in a new chat. data: the chat.",
    "chat_renamed": "data: {name}.",
    "owner_changed": "data: {owner_id, previous_owner_id}.",
    "chat_muted": "You (on another socket) muted or unmuted the chat. data: {muted, muted_until}.",
    "chat_deleted": "The chat is gone. data: {name}.",
    "member_added": "data: {user_ids, chat}.",
    "member_removed": "data: {user_ids}; if you are among them you no longer hear the chat.",
    "message_created": "data: the message.",
    "message_edited": "data: the message.",
    "message_deleted": "data: {message_ids, seqs}.",
    "reaction_added": "data: {message_id, seq, user_id, emoji, reactions} (all of the "
    "message's reactions after the change).",
    "reaction_removed": "data: as reaction_added.",
    "message_pinned": "data: {message_id, seq, user_id} (who pinned it).",
    "message_unpinned": "data: as message_pinned. A deleted message is unpinned without it.",
    "read": "A member read up to a seq. data: {user_id, last_read_seq, read_seq}; "
    "messages up to read_seq are read by everyone.",
    "typing": "data: {user_id, display_name}.",
    "presence": "Someone you share a chat with came online or went offline (after "
    "`watch_presence`; no chat_id). data: {user_id, online}.",
}

ERRORS: dict[str, str] = {
    "invalid_json": "The frame is not JSON.",
    "text_only": "The frame is binary: send JSON as text frames.",
    "invalid_request": "The frame is not a JSON object.",
    "unknown_action": "No such action; `supported` lists them.",
    "ValidationError": "A field is missing or wrong; `detail` says which.",
    "rate_limited": "Too many frames; this one was dropped.",
    "ChatNotFound": "No such chat, or you are not in it.",
    "UserNotFound": "Someone to add is not a user; `detail` names them (no such user: id, ...).",
    "InvalidToken": "The token is bad or expired, or auth_service ended its session: refresh it.",
    "ServiceUnavailable": "auth_service could not be asked (tokens, users): retry later.",
    "NotChatOwner / NotChatMember / NotMessageSender": "You may not do this.",
    "MessageNotFound / MessageDeleted": "No such message in the chat, or it was deleted.",
    "AttachmentNotFound": "An attachment to send is not your unsent upload to this chat; "
    "`detail` names it.",
    "TooManyReactions": "You have put the most reactions allowed on this message.",
    "internal_error": "Our failure (the database went away): retry; a send with the same "
    "client_message_id is stored once.",
}


@cache
def help_document() -> dict[str, Any]:
    return {
        "protocol": 'Send {"action": "<name>", "request_id"?: "<yours>", ...fields}; the reply '
        'is {"type": "result", "action", "request_id", ...} or {"type": "error", "action", '
        '"request_id", "error", "detail"}. Events of all your chats arrive as {"type": '
        '"event", "event", "chat_id", "data"}.',
        "actions": [
            {
                "action": a.name,
                "summary": a.summary,
                "fields": a.request.model_json_schema().get("properties", {}),
                "required": a.request.model_json_schema().get("required", []),
                "example": a.example,
                "reply": a.reply,
            }
            for a in ACTIONS.values()
        ],
        "events": EVENTS,
        "errors": ERRORS,
        "asyncapi": "/asyncapi.json",
        "docs": "/asyncapi",
    }


def error_frame(
    action: str | None, request_id: Any, error: str, detail: Any = None
) -> dict[str, Any]:
    return {
        "type": "error",
        "action": action,
        "request_id": request_id,
        "error": error,
        "detail": detail,
    }


def validation_detail(exc: ValidationError) -> list[dict[str, Any]]:
    return [
        {"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]}
        for e in exc.errors(include_url=False, include_input=False, include_context=False)
    ]


async def run_action(
    connection: Connection, action: Action, fields: dict[str, Any], request_id: Any
) -> bool:
    """Validate, run, reply; service errors become error frames in this one place.
    Returns whether the action was done."""
    call = Call(connection=connection, state=state_of(connection.websocket))
    try:
        request = action.request.model_validate(fields)
        result = await action.handler(call, request)
    except ValidationError as exc:
        connection.send(
            error_frame(action.name, request_id, "ValidationError", validation_detail(exc))
        )
    except ServiceError as exc:
        connection.send(error_frame(action.name, request_id, exc.error, exc.detail))
    except Exception as exc:
        # Ours, not the client's (the database went away): answer this request, so the
        # client knows to retry it (with the same client_message_id, for a send).
        log.exception("ws.action_failed", action=action.name, error=repr(exc))
        connection.send(error_frame(action.name, request_id, "internal_error", "try again"))
    else:
        connection.send(
            {"type": "result", "action": action.name, "request_id": request_id, **result}
        )
        return True
    return False


def unknown_action(
    raw_action: Any,
    request_id: Any,
    supported: list[str],
    hint: str = 'send {"action": "help"} for every action',
) -> dict[str, Any]:
    frame = error_frame(None, request_id, "unknown_action", hint)
    return {**frame, "raw_action": raw_action, "supported": supported}


async def handle_frame(connection: Connection, payload: dict[str, Any]) -> None:
    name = payload.get("action")
    request_id = payload.get("request_id")
    if request_id is not None and not isinstance(request_id, (str, int)):
        connection.send(
            error_frame(None, None, "invalid_request", "request_id must be a string or number")
        )
        return
    action = ACTIONS.get(name) if isinstance(name, str) else None
    if action is None:
        connection.send(unknown_action(name, request_id, list(ACTIONS)))
        return
    fields = {k: v for k, v in payload.items() if k not in ("action", "request_id")}
    await run_action(connection, action, fields, request_id)
