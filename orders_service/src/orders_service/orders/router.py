"""REST at /api/v1/orders: the same operations as the socket."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, status

from orders_service.dependencies import OperationsDep, OptionalUser
from orders_service.models import OrderStatus
from orders_service.orders.schemas import (
    PAGE_LIMIT_DEFAULT,
    PAGE_LIMIT_MAX,
    PAGE_OFFSET_MAX,
    OrderCreate,
    OrderHistory,
    OrderPage,
    OrderRead,
    OrderStatusUpdate,
    StatusChangeRead,
)
from orders_service.orders.service import shown_actor

Responses = dict[int | str, dict[str, Any]]

router = APIRouter(prefix="/api/v1/orders", tags=["orders"])

_ORDER_EXAMPLE = {
    "id": 1,
    "customer": "Yulia",
    "status": "created",
    "owner_id": None,
    "version": 1,
    "created_at": "2026-11-22T12:00:00Z",
    "updated_at": "2026-11-22T12:00:00Z",
}


def _error(description: str, error: str, detail: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"example": {"error": error, "detail": detail}}},
    }


_NOT_FOUND: Responses = {
    404: _error("No such order (or not yours)", "OrderNotFound", "order not found")
}
_BAD_TOKEN: Responses = {
    401: _error("The token given is not valid", "InvalidToken", "token expired")
}

# Appended to the bearer scheme FastAPI lists: a token is optional (anonymous orders are
# the seed's flow), which the document says with an empty requirement.
_TOKEN_OPTIONAL: dict[str, Any] = {"security": [{}]}

OrderIdPath = Annotated[int, Path(ge=1, le=2**31 - 1, description="The order's id", examples=[1])]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Create an order",
    openapi_extra=_TOKEN_OPTIONAL,
    description=(
        "Creates an order in status `created` and broadcasts `order_created` to the sockets "
        "allowed to see it. With a token the order belongs to the caller; without one it "
        "is anonymous and visible to everyone."
    ),
    responses={201: {"content": {"application/json": {"example": _ORDER_EXAMPLE}}}, **_BAD_TOKEN},
)
async def create_order(
    body: OrderCreate, operations: OperationsDep, user: OptionalUser
) -> OrderRead:
    order = await operations.create(customer=body.customer, actor=user)
    return OrderRead.model_validate(order)


@router.get(
    "",
    summary="List orders",
    openapi_extra=_TOKEN_OPTIONAL,
    description=(
        "Orders the caller can see (anonymous ones and their own; superusers see all), "
        "oldest first, optionally of one status."
    ),
    responses=_BAD_TOKEN,
)
async def list_orders(
    operations: OperationsDep,
    user: OptionalUser,
    status_filter: Annotated[
        OrderStatus | None, Query(alias="status", description="Only orders in this status")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=PAGE_LIMIT_MAX)] = PAGE_LIMIT_DEFAULT,
    offset: Annotated[int, Query(ge=0, le=PAGE_OFFSET_MAX)] = 0,
) -> OrderPage:
    orders, total = await operations.page(
        actor=user, status=status_filter, limit=limit, offset=offset
    )
    return OrderPage(
        items=[OrderRead.model_validate(o) for o in orders], total=total, limit=limit, offset=offset
    )


@router.get(
    "/{order_id}",
    summary="Get an order",
    openapi_extra=_TOKEN_OPTIONAL,
    responses={**_NOT_FOUND, **_BAD_TOKEN},
)
async def get_order(
    order_id: OrderIdPath, operations: OperationsDep, user: OptionalUser
) -> OrderRead:
    return OrderRead.model_validate(await operations.get(order_id=order_id, actor=user))


@router.get(
    "/{order_id}/history",
    summary="An order's status history",
    openapi_extra=_TOKEN_OPTIONAL,
    description="Every status the order has had, oldest first, with when; by whom for "
    "superusers and for your own changes.",
    responses={**_NOT_FOUND, **_BAD_TOKEN},
)
async def order_history(
    order_id: OrderIdPath, operations: OperationsDep, user: OptionalUser
) -> OrderHistory:
    changes = await operations.history(order_id=order_id, actor=user)
    items = [
        StatusChangeRead(
            version=c.version,
            status=c.status,
            actor_id=shown_actor(c.actor_id, user),
            changed_at=c.changed_at,
        )
        for c in changes
    ]
    return OrderHistory(order_id=order_id, items=items)


@router.post(
    "/{order_id}/status",
    summary="Change an order's status",
    openapi_extra=_TOKEN_OPTIONAL,
    description=(
        "Transitions: created -> paid | cancelled, paid -> shipped | cancelled, "
        "shipped -> delivered. Of concurrent changes exactly one takes each step; the "
        "others get 409. Broadcasts `order_status_changed`."
    ),
    responses={
        200: {
            "content": {
                "application/json": {"example": {**_ORDER_EXAMPLE, "status": "paid", "version": 2}}
            }
        },
        409: _error(
            "The transition is not allowed from the order's current status",
            "InvalidTransition",
            "Cannot change status from 'delivered' to 'paid'",
        ),
        **_NOT_FOUND,
        **_BAD_TOKEN,
    },
)
async def change_status(
    order_id: OrderIdPath, body: OrderStatusUpdate, operations: OperationsDep, user: OptionalUser
) -> OrderRead:
    order = await operations.change_status(order_id=order_id, status=body.status, actor=user)
    return OrderRead.model_validate(order)
