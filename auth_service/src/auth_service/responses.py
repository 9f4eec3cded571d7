"""Error responses for the OpenAPI document (the body shape is shared's)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class ErrorBody(BaseModel):
    error: str = Field(examples=["InvalidCredentials"])
    detail: Any = Field(examples=["invalid email or password"])


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    descriptions = {
        401: "Missing, invalid or expired token, or the session has ended",
        403: "Not allowed",
        404: "Not found",
        409: "Conflict with existing data",
        422: "The request is invalid",
        429: "Too many attempts; see Retry-After",
    }
    return {s: {"model": ErrorBody, "description": descriptions[s]} for s in statuses}
