"""Request and response shapes; field limits live here so REST and the socket agree."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    StringConstraints,
)

from orders_service.database import as_utc
from orders_service.models import CUSTOMER_MAX, OrderStatus
from shared.db import NO_NUL

PAGE_LIMIT_MAX = 100
PAGE_LIMIT_DEFAULT = 50
# Past every possible order id, and within what PostgreSQL's OFFSET takes.
PAGE_OFFSET_MAX = 2**31 - 1

Customer = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True,
        min_length=1,
        max_length=CUSTOMER_MAX,
        pattern=NO_NUL,
    ),
]
# SQLite hands back naive datetimes; every stored moment is UTC.
UtcDateTime = Annotated[datetime, AfterValidator(as_utc)]
OrderId = Annotated[StrictInt, Field(ge=1, le=2**31 - 1, examples=[1])]


class Schema(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class OrderCreate(Schema):
    customer: Customer = Field(examples=["Yulia"])

    # A field it does not take is refused, not ignored: the caller asked for something.
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"customer": "Yulia"}]}
    )


class OrderStatusUpdate(Schema):
    status: OrderStatus = Field(examples=[OrderStatus.PAID])

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"status": "paid"}]})


class OrderRead(Schema):
    id: int = Field(examples=[1])
    customer: str = Field(examples=["Yulia"])
    status: OrderStatus = Field(examples=[OrderStatus.CREATED])
    owner_id: UUID | None = Field(
        default=None, description="The user who created it; null for an anonymous order"
    )
    version: int = Field(examples=[1], description="Incremented by every status change")
    created_at: UtcDateTime
    updated_at: UtcDateTime


class StatusChangeRead(Schema):
    version: int = Field(examples=[2], description="The order's version the status came with")
    status: OrderStatus = Field(examples=[OrderStatus.PAID])
    actor_id: UUID | None = Field(
        description="Who changed it, shown to superusers and to that user; otherwise null "
        "(as for an anonymous change, or one from before the history was kept)"
    )
    changed_at: UtcDateTime


class OrderHistory(Schema):
    order_id: int
    items: list[StatusChangeRead] = Field(
        description="Every status the order has had, oldest first"
    )


class OrderPage(Schema):
    items: list[OrderRead]
    total: int = Field(examples=[1], description="Orders matching the filter")
    limit: int = Field(examples=[PAGE_LIMIT_DEFAULT])
    offset: int = Field(examples=[0])
