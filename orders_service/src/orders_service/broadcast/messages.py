"""What a broadcast carries, and who may receive it (DESIGN section 5).

An anonymous order goes to every socket (the seed's behaviour); an owned order only to
its owner's sockets and to superusers.
"""

from __future__ import annotations

import json
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel

from orders_service.models import OrderRecord
from shared.auth.tokens import TokenClaims

BroadcastType = Literal["order_created", "order_status_changed"]


class OrderBroadcast(BaseModel):
    type: BroadcastType
    order_id: int
    customer: str
    status: str
    owner_id: UUID | None = None

    @classmethod
    def of(cls, type: BroadcastType, order: OrderRecord) -> OrderBroadcast:
        return cls(
            type=type,
            order_id=order.id,
            customer=order.customer,
            status=order.status.value,
            owner_id=order.owner_id,
        )

    def visible_to(self, user: TokenClaims | None) -> bool:
        if self.owner_id is None:
            return True
        return user is not None and (user.is_superuser or user.user_id == self.owner_id)

    def frame(self) -> dict[str, Any]:
        """The seed's frame, exactly: the owner is routing data, not part of it."""
        return {
            "type": self.type,
            "order_id": self.order_id,
            "customer": self.customer,
            "status": self.status,
        }

    def encoded_frame(self) -> str:
        """The frame as sent: encoded once per broadcast, whatever the number of sockets."""
        return json.dumps(self.frame(), separators=(",", ":"))
