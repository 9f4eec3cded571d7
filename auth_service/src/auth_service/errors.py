"""auth_service's errors; shared's handlers shape them as ``{"error", "detail"}``."""

from __future__ import annotations

from shared.errors import Conflict, Forbidden, NotFound, ServiceError, Unauthorized


class WeakPassword(ServiceError):
    status_code = 422


class EmailTaken(Conflict):
    def __init__(self) -> None:
        super().__init__("an account with this email already exists")


class InvalidCredentials(Unauthorized):
    def __init__(self) -> None:
        super().__init__("invalid email or password")


class WrongPassword(Forbidden):
    def __init__(self) -> None:
        super().__init__("the current password is wrong")


class SessionNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("no such session of yours")


class RefreshTokenReused(Unauthorized):
    """An already exchanged refresh token came back: the session is revoked."""

    def __init__(self) -> None:
        super().__init__("refresh token already used; the session is revoked")


class UserNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("no such user")
