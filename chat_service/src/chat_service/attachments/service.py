"""Uploading a file to a chat, and who may download one."""

from __future__ import annotations

import hashlib
import math
from datetime import timedelta
from uuid import UUID

from chat_service.attachments import media, repository
from chat_service.attachments.schemas import Upload
from chat_service.chats.access import member_chat, visible_chat
from chat_service.config import Settings
from chat_service.context import Work
from chat_service.database import as_utc
from chat_service.errors import (
    AttachmentNotFound,
    ChatNotFound,
    TooManyUnsentAttachments,
    UnsupportedMediaType,
)
from chat_service.models import Attachment
from shared.db import utcnow
from shared.logging import get_logger

log = get_logger(__name__)


async def check_uploader(work: Work, chat_id: UUID) -> None:
    """Only members upload: checked before a byte of the file is read."""
    await member_chat(work, chat_id)


async def upload(
    work: Work, settings: Settings, chat_id: UUID, *, data: bytes, filename: str | None
) -> Upload:
    """Stores the file for its uploader to send in the chat. Its type comes from its
    bytes; a type outside :data:`media.ALLOWED` is refused."""
    await member_chat(work, chat_id)
    content_type = media.content_type_of(data[: media.HEAD_BYTES])
    if content_type is None:
        raise UnsupportedMediaType(media.ALLOWED)
    now = utcnow()
    ttl = timedelta(seconds=settings.attachment_unsent_ttl_seconds)
    unsent, oldest = await repository.unsent_of(
        work.session, work.actor.user_id, uploaded_since=now - ttl
    )
    if unsent >= settings.attachment_unsent_max:
        wait = (as_utc(oldest) + ttl - now).total_seconds() if oldest else ttl.total_seconds()
        raise TooManyUnsentAttachments(settings.attachment_unsent_max, max(1, math.ceil(wait)))
    attachment = Attachment(
        chat_id=chat_id,
        uploader_id=work.actor.user_id,
        filename=media.safe_filename(filename, content_type),
        content_type=content_type,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        data=data,
        created_at=now,
    )
    work.session.add(attachment)
    await work.session.flush()
    log.info("attachment.uploaded", chat_id=str(chat_id), size=len(data), type=content_type)
    return Upload.of_row(attachment)


async def downloadable(work: Work, attachment_id: UUID) -> Attachment:
    """An unsent upload is its uploader's alone; a sent one, its chat's members' (and
    superusers'). Anyone else learns nothing."""
    attachment = await repository.get(work.session, attachment_id)
    if attachment is None:
        raise AttachmentNotFound()
    if attachment.message_id is None:
        if attachment.uploader_id != work.actor.user_id:
            raise AttachmentNotFound()
        return attachment
    try:
        await visible_chat(work, attachment.chat_id)
    except ChatNotFound:
        raise AttachmentNotFound() from None
    return attachment
