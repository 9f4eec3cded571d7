"""Seed 003's orders socket as the seed's design has it: one FastAPI WebSocket endpoint,
the open sockets in a list, every broadcast awaited with ``send_text`` to each socket in
turn, and SQLAlchemy on PostgreSQL with one commit per change.

It speaks the seed's protocol (ping, create_order, change_status, get_order and their
errors). Run: ``python -m bench.baseline.orders_server --port P --database-url URL``.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import FastAPI, WebSocket, WebSocketDisconnect
from sqlalchemy import Integer, String
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from bench.baseline.app import baseline_app, serve

TRANSITIONS = {
    "created": {"paid", "cancelled"},
    "paid": {"shipped", "cancelled"},
    "shipped": {"delivered"},
}


class Base(DeclarativeBase):
    pass


class Order(Base):
    __tablename__ = "orders"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    customer: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16))


# A reply to the caller and the event broadcast to every socket, if any.
Outcome = tuple[dict[str, Any], dict[str, Any] | None]


def order_json(order: Order) -> dict[str, Any]:
    return {"id": order.id, "customer": order.customer, "status": order.status}


def event(kind: str, order: Order) -> dict[str, Any]:
    return {"type": kind, "order_id": order.id, "customer": order.customer, "status": order.status}


def error(action: str, text: str) -> dict[str, Any]:
    return {"type": "error", "action": action, "error": text}


def create_app(database_url: str) -> FastAPI:
    engine = create_async_engine(database_url)
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    clients: list[WebSocket] = []
    app = baseline_app(engine, Base.metadata)

    async def broadcast(message: dict[str, Any]) -> None:
        text = json.dumps(message)
        for client in list(clients):
            await client.send_text(text)

    async def create_order(message: dict[str, Any]) -> Outcome:
        async with sessions() as session:
            order = Order(customer=str(message.get("customer", "")), status="created")
            session.add(order)
            await session.commit()
        reply = {"type": "result", "action": "create_order", "order": order_json(order)}
        return reply, event("order_created", order)

    async def change_status(message: dict[str, Any]) -> Outcome:
        new_status = str(message.get("status"))
        async with sessions() as session:
            order = await session.get(Order, int(message["order_id"]))
            if order is None:
                return error("change_status", "order not found"), None
            if new_status not in TRANSITIONS.get(order.status, set()):
                text = f"Cannot change status from '{order.status}' to '{new_status}'"
                return error("change_status", text), None
            order.status = new_status
            await session.commit()
        reply = {"type": "result", "action": "change_status", "order": order_json(order)}
        return reply, event("order_status_changed", order)

    async def get_order(message: dict[str, Any]) -> Outcome:
        async with sessions() as session:
            order = await session.get(Order, int(message["order_id"]))
        if order is None:
            return error("get_order", "order not found"), None
        return {"type": "result", "action": "get_order", "order": order_json(order)}, None

    @app.websocket("/ws/orders")
    async def orders_socket(websocket: WebSocket) -> None:
        await websocket.accept()
        clients.append(websocket)
        try:
            while True:
                raw = await websocket.receive_text()
                try:
                    message = json.loads(raw)
                except json.JSONDecodeError:
                    await websocket.send_text(
                        json.dumps({"type": "error", "error": "invalid_json"})
                    )
                    continue
                action = message.get("action")
                notice: dict[str, Any] | None = None
                if action == "ping":
                    reply: dict[str, Any] = {"type": "pong"}
                elif action == "create_order":
                    reply, notice = await create_order(message)
                elif action == "change_status":
                    reply, notice = await change_status(message)
                elif action == "get_order":
                    reply, notice = await get_order(message)
                else:
                    reply = {"type": "error", "error": "unknown_action", "raw_action": action}
                await websocket.send_text(json.dumps(reply))
                if notice is not None:
                    await broadcast(notice)
        except WebSocketDisconnect:
            pass
        finally:
            clients.remove(websocket)

    return app


if __name__ == "__main__":
    serve(create_app, __doc__)
