"""One handler per action; errors become frames here, in one place."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import ValidationError

from orders_service.errors import InvalidTransition, OrderNotFound
from orders_service.orders.operations import OrderOperations
from orders_service.orders.service import Actor
from orders_service.ws import protocol
from orders_service.ws.protocol import Frame
from shared.errors import ServiceError
from shared.logging import get_logger

log = get_logger(__name__)

Handler = Callable[[OrderOperations, Actor, dict[str, Any]], Awaitable[Frame]]


async def ping(_: OrderOperations, __: Actor, ___: dict[str, Any]) -> Frame:
    return {"type": "pong"}


async def create_order(operations: OrderOperations, actor: Actor, message: dict[str, Any]) -> Frame:
    request = protocol.CreateOrder.model_validate(message)
    order = await operations.create(customer=request.customer, actor=actor)
    return protocol.result_frame(protocol.CREATE_ORDER, order=protocol.order_frame(order))


async def change_status(
    operations: OrderOperations, actor: Actor, message: dict[str, Any]
) -> Frame:
    request = protocol.ChangeStatus.model_validate(message)
    order = await operations.change_status(
        order_id=request.order_id, status=request.status, actor=actor
    )
    return protocol.result_frame(protocol.CHANGE_STATUS, order=protocol.order_frame(order))


async def get_order(operations: OrderOperations, actor: Actor, message: dict[str, Any]) -> Frame:
    request = protocol.GetOrder.model_validate(message)
    order = await operations.get(order_id=request.order_id, actor=actor)
    return protocol.result_frame(protocol.GET_ORDER, order=protocol.order_frame(order))


async def list_orders(operations: OrderOperations, actor: Actor, message: dict[str, Any]) -> Frame:
    request = protocol.ListOrders.model_validate(message)
    orders, total = await operations.page(
        actor=actor, status=request.status, limit=request.limit, offset=request.offset
    )
    return protocol.result_frame(
        protocol.LIST_ORDERS,
        orders=[protocol.order_frame(o) for o in orders],
        total=total,
        limit=request.limit,
        offset=request.offset,
    )


HANDLERS: dict[str, Handler] = {
    protocol.PING: ping,
    protocol.CREATE_ORDER: create_order,
    protocol.CHANGE_STATUS: change_status,
    protocol.GET_ORDER: get_order,
    protocol.LIST_ORDERS: list_orders,
}


async def handle(operations: OrderOperations, actor: Actor, raw: str) -> Frame:
    """The reply to one frame; never raises for anything the client sent."""
    try:
        message = protocol.decode(raw)
    except protocol.ProtocolError as exc:
        return exc.frame
    action = message.get("action")
    request_id = message.get("request_id")
    echo = {"request_id": request_id} if isinstance(request_id, str | int) else {}
    handler = HANDLERS.get(action) if isinstance(action, str) else None
    if handler is None:
        return {**protocol.error_frame(protocol.UNKNOWN_ACTION, raw_action=action), **echo}
    assert isinstance(action, str)
    try:
        frame = await handler(operations, actor, message)
    except ValidationError as exc:
        frame = protocol.error_frame(
            protocol.VALIDATION_ERROR, action=action, detail=protocol.describe(exc)
        )
    except (OrderNotFound, InvalidTransition) as exc:
        # The seed's errors: the human text is the error itself.
        frame = protocol.error_frame(exc.detail, action=action)
    except ServiceError as exc:
        frame = protocol.error_frame(exc.error, action=action, detail=exc.detail)
    except Exception as exc:
        # Say so and keep the socket: the next request may well succeed.
        log.exception("ws.action_failed", action=action, error=repr(exc))
        frame = protocol.error_frame("internal_error", action=action, detail="try again later")
    return {**frame, **echo}
