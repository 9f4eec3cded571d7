"""The /ws/orders protocol (seed 003): request shapes and every frame the server sends.

Frames keep exactly the seed's JSON; additions (``detail``, ``request_id`` echoed when
the client sent one) appear only where the seed has no example.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictInt, ValidationError

from orders_service.models import OrderRecord, OrderStatus
from orders_service.orders.schemas import (
    PAGE_LIMIT_DEFAULT,
    PAGE_LIMIT_MAX,
    PAGE_OFFSET_MAX,
    Customer,
    OrderId,
)

Frame = dict[str, Any]

PING = "ping"
CREATE_ORDER = "create_order"
CHANGE_STATUS = "change_status"
GET_ORDER = "get_order"
LIST_ORDERS = "list_orders"

INVALID_JSON = "invalid_json"
TEXT_ONLY = "text_only"
INVALID_MESSAGE = "invalid_message"
UNKNOWN_ACTION = "unknown_action"
VALIDATION_ERROR = "validation_error"
RATE_LIMITED = "rate_limited"


class Request(BaseModel):
    # Clients may send more keys (action, request_id, their own); they are ignored.
    model_config = ConfigDict(extra="ignore")


class CreateOrder(Request):
    customer: Customer


class ChangeStatus(Request):
    order_id: OrderId
    status: OrderStatus


class GetOrder(Request):
    order_id: OrderId


class ListOrders(Request):
    status: OrderStatus | None = None
    limit: Annotated[StrictInt, Field(ge=1, le=PAGE_LIMIT_MAX)] = PAGE_LIMIT_DEFAULT
    offset: Annotated[StrictInt, Field(ge=0, le=PAGE_OFFSET_MAX)] = 0


class ProtocolError(Exception):
    """A frame that cannot become a request; carries the error frame to send."""

    def __init__(self, frame: Frame) -> None:
        super().__init__(frame.get("error"))
        self.frame = frame


def decode(raw: str) -> dict[str, Any]:
    try:
        message = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        # RecursionError: nested deeper than the parser goes, which is no request either.
        raise ProtocolError({"type": "error", "error": INVALID_JSON}) from exc
    if not isinstance(message, dict):
        raise ProtocolError(
            error_frame(INVALID_MESSAGE, detail="a frame must be a JSON object with an action")
        )
    return message


def order_frame(order: OrderRecord) -> Frame:
    return {"id": order.id, "customer": order.customer, "status": order.status.value}


def result_frame(action: str, **payload: Any) -> Frame:
    return {"type": "result", "action": action, **payload}


def error_frame(error: str, *, action: str | None = None, **extra: Any) -> Frame:
    frame: Frame = {"type": "error"}
    if action is not None:
        frame["action"] = action
    frame["error"] = error
    frame.update(extra)
    return frame


def describe(exc: ValidationError) -> str:
    """``customer: String should have at least 1 character`` and the like."""
    return "; ".join(
        f"{'.'.join(str(part) for part in error['loc']) or 'frame'}: {error['msg']}"
        for error in exc.errors(include_url=False)
    )
