"""chat_service's errors. REST bodies and WebSocket error frames both come from these."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from shared.errors import BadRequest, Conflict, Forbidden, NotFound, ServiceError, TooManyRequests


class ChatNotFound(NotFound):
    """No such chat, or one the caller may not see: outsiders learn nothing."""

    def __init__(self) -> None:
        super().__init__("no such chat")


class MessageNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("no such message in this chat")


class MemberNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("no such member in this chat")


class UserNotFound(NotFound):
    """Someone to add to a chat is not a user auth_service knows (or is disabled)."""

    def __init__(self, user_ids: Sequence[UUID]) -> None:
        super().__init__("no such user: " + ", ".join(str(u) for u in user_ids))
        self.user_ids = list(user_ids)


class AttachmentNotFound(NotFound):
    """No such upload, one the caller may not see, or (to send) one that is not theirs
    to send in this chat or was sent already."""

    def __init__(self, attachment_ids: Sequence[UUID] = ()) -> None:
        named = ": " + ", ".join(str(a) for a in attachment_ids) if attachment_ids else ""
        super().__init__("no such attachment" + named)


class AttachmentTooLarge(ServiceError):
    status_code = 413

    def __init__(self, limit: int) -> None:
        super().__init__(f"the file is over {limit} bytes")


class UnsupportedMediaType(ServiceError):
    status_code = 415

    def __init__(self, allowed: Sequence[str]) -> None:
        super().__init__("the file is none of " + ", ".join(allowed))


class TooManyUnsentAttachments(TooManyRequests):
    def __init__(self, limit: int, retry_after: int) -> None:
        super().__init__(
            f"{limit} uploads are waiting to be sent: send or wait for them to expire",
            retry_after=retry_after,
        )


class InviteNotFound(NotFound):
    def __init__(self, detail: str = "no such invite") -> None:
        super().__init__(detail)


class NotChatOwner(Forbidden):
    def __init__(self, detail: str = "only the chat's owner may do this") -> None:
        super().__init__(detail)


class NotChatMember(Forbidden):
    def __init__(self) -> None:
        super().__init__("only members of the chat may do this")


class NotMessageSender(Forbidden):
    def __init__(self) -> None:
        super().__init__("only the sender may change or delete a message")


class OwnerCannotLeave(Conflict):
    def __init__(self) -> None:
        super().__init__(
            "the owner cannot leave the chat; hand it over to another member first, or delete it"
        )


class MessageDeleted(Conflict):
    def __init__(self) -> None:
        super().__init__("the message was deleted")


class TooManyReactions(Conflict):
    def __init__(self, limit: int) -> None:
        super().__init__(f"at most {limit} reactions of yours on one message")


class TooManyPins(Conflict):
    def __init__(self, limit: int) -> None:
        super().__init__(f"at most {limit} pinned messages in a chat; unpin one first")


class InvalidRequest(BadRequest):
    """A WebSocket frame whose fields do not validate (REST answers 422 instead)."""


class TokenUserMismatch(Forbidden):
    def __init__(self) -> None:
        super().__init__("the token belongs to another user")
