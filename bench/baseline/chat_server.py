"""Seed 000's chat as the seed's design has it: one FastAPI WebSocket endpoint per chat,
the open sockets in a dict keyed by chat, every message committed on its own, then sent
with ``send_text`` to each socket of the chat in turn.

SQLAlchemy (async, asyncpg) on PostgreSQL with the tables created at start: chats, their
members (the seed's group), messages and one read-status row per message (the seed's
"auxiliary table"). Each message gets a session of its own; the seed's server kept one
per socket, which pins a pooled connection per idle socket and stalls past the pool.
The socket names its user with ``?user_id=``: no token is checked at all.

Run: ``python -m bench.baseline.chat_server --port P --database-url URL``.
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

from fastapi import FastAPI, WebSocket, WebSocketDisconnect
from pydantic import BaseModel
from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, String, Text, Uuid, func, select
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from bench.baseline.app import baseline_app, serve


class Base(DeclarativeBase):
    pass


class Chat(Base):
    __tablename__ = "chats"

    id: Mapped[UUID] = mapped_column(Uuid, primary_key=True, default=uuid4)
    name: Mapped[str] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(16))


class ChatMember(Base):
    __tablename__ = "chat_members"

    chat_id: Mapped[UUID] = mapped_column(ForeignKey("chats.id"), primary_key=True)
    user_id: Mapped[UUID] = mapped_column(Uuid, primary_key=True)


class Message(Base):
    __tablename__ = "messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    chat_id: Mapped[UUID] = mapped_column(ForeignKey("chats.id"), index=True)
    sender_id: Mapped[UUID] = mapped_column(Uuid)
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class MessageStatus(Base):
    __tablename__ = "message_status"

    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id"), primary_key=True)
    is_read: Mapped[bool] = mapped_column(Boolean, default=False)


class ChatCreate(BaseModel):
    name: str
    member_ids: list[UUID]


def create_app(database_url: str) -> FastAPI:
    engine: AsyncEngine = create_async_engine(database_url)
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    sockets: dict[UUID, list[WebSocket]] = defaultdict(list)

    app = baseline_app(engine, Base.metadata)

    @app.post("/chats", status_code=201)
    async def create_chat(body: ChatCreate) -> dict[str, Any]:
        members = list(dict.fromkeys(body.member_ids))
        async with sessions() as session:
            chat = Chat(name=body.name, type="private" if len(members) == 2 else "group")
            session.add(chat)
            await session.flush()
            session.add_all(ChatMember(chat_id=chat.id, user_id=u) for u in members)
            await session.commit()
        return {"id": str(chat.id), "name": chat.name, "type": chat.type}

    @app.get("/chats/{chat_id}/messages/count")
    async def count_messages(chat_id: UUID) -> dict[str, int]:
        async with sessions() as session:
            count = await session.scalar(
                select(func.count()).select_from(Message).where(Message.chat_id == chat_id)
            )
        return {"count": int(count or 0)}

    async def store(chat_id: UUID, sender_id: UUID, text: str) -> dict[str, Any]:
        async with sessions() as session:
            message = Message(
                chat_id=chat_id, sender_id=sender_id, text=text, created_at=datetime.now(UTC)
            )
            session.add(message)
            await session.flush()
            session.add(MessageStatus(message_id=message.id))
            await session.commit()
        return {
            "type": "new_message",
            "id": message.id,
            "chat_id": str(chat_id),
            "sender_id": str(sender_id),
            "text": message.text,
            "created_at": message.created_at.isoformat(),
        }

    async def broadcast(chat_id: UUID, message: dict[str, Any]) -> None:
        text = json.dumps(message)
        for socket in list(sockets[chat_id]):
            await socket.send_text(text)

    @app.websocket("/ws/chat/{chat_id}")
    async def chat_socket(websocket: WebSocket, chat_id: UUID, user_id: UUID) -> None:
        async with sessions() as session:
            member = await session.get(ChatMember, (chat_id, user_id))
        if member is None:
            await websocket.close(code=4403)
            return
        await websocket.accept()
        sockets[chat_id].append(websocket)
        try:
            while True:
                try:
                    frame = json.loads(await websocket.receive_text())
                except json.JSONDecodeError:
                    await websocket.send_text(json.dumps({"error": "invalid json"}))
                    continue
                if frame.get("type") == "sending_message":
                    await broadcast(chat_id, await store(chat_id, user_id, str(frame["data"])))
                else:
                    await websocket.send_text(json.dumps({"error": "unknown type"}))
        except WebSocketDisconnect:
            pass
        finally:
            sockets[chat_id].remove(websocket)

    return app


if __name__ == "__main__":
    serve(create_app, __doc__)
