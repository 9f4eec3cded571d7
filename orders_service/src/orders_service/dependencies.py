"""Request dependencies: the runtime, its operations and the (optional) caller."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from orders_service.auth import identify
from orders_service.errors import InvalidToken
from orders_service.orders.operations import OrderOperations
from orders_service.runtime import Runtime
from shared.auth.tokens import TokenClaims


# Plain lookups, declared async: FastAPI runs a sync dependency in its thread pool, a
# thread hop per request for nothing.
async def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


async def get_operations(runtime: RuntimeDep) -> OrderOperations:
    return runtime.operations


OperationsDep = Annotated[OrderOperations, Depends(get_operations)]

bearer = HTTPBearer(
    auto_error=False,
    description="Optional: an access token from auth_service makes the order yours",
)


async def optional_user(
    runtime: RuntimeDep,
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> TokenClaims | None:
    if credentials is None and "authorization" in request.headers:
        # Credentials of another kind are refused, not taken for an anonymous caller.
        raise InvalidToken("send the access token as 'Authorization: Bearer <token>'")
    return await identify(
        runtime.verifier, None if credentials is None else credentials.credentials
    )


OptionalUser = Annotated[TokenClaims | None, Depends(optional_user)]
