"""REST: upload a file to a chat, download one. A file is sent by naming its id in a
message's ``attachment_ids`` (REST or the socket's ``send_message``)."""

from __future__ import annotations

import re
from typing import Annotated, Any
from urllib.parse import quote
from uuid import UUID

from fastapi import APIRouter, Header, Request, Response, status
from starlette.datastructures import UploadFile

from chat_service.attachments import media, repository, service
from chat_service.attachments.schemas import Upload
from chat_service.auth import REFUSALS
from chat_service.chats.router import NOT_FOUND
from chat_service.context import Actor
from chat_service.dependencies import CurrentActor, State, WorkDep
from chat_service.errors import AttachmentTooLarge, UnsupportedMediaType
from chat_service.state import ChatState
from shared.errors import BadRequest, ServiceError, TooManyRequests

router = APIRouter(prefix="/api/v1", tags=["attachments"], responses=REFUSALS)

# Room for the multipart framing around the file (boundaries, part headers).
FORM_OVERHEAD = 16 * 1024
# A file's bytes never change: a client may keep it as long as it likes.
CACHE_CONTROL = "private, max-age=31536000, immutable"

UPLOAD_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {"file": {"type": "string", "format": "binary"}},
                    "additionalProperties": False,
                }
            }
        },
    }
}


class LengthRequired(ServiceError):
    status_code = 411

    def __init__(self) -> None:
        super().__init__("send the upload with a Content-Length")


@router.post(
    "/chats/{chat_id}/attachments",
    status_code=status.HTTP_201_CREATED,
    summary="Upload a picture or video to send in the chat (members)",
    openapi_extra=UPLOAD_BODY,
    responses={
        **NOT_FOUND,
        400: {"description": "Not a multipart form with one `file`"},
        411: {"description": "No Content-Length"},
        413: {"description": "Over the size limit"},
        415: {"description": "Not one of the picture and video types taken"},
        429: {
            "description": "Too many writes, too many uploads not yet sent, or the day's "
            "upload bytes used up"
        },
    },
)
async def upload(chat_id: UUID, request: Request, state: State, actor: CurrentActor) -> Upload:
    """The type is read from the file's bytes: JPEG, PNG, GIF, WebP, MP4, WebM or
    QuickTime. Send it by naming its `id` in a message's `attachment_ids`; an upload
    nobody sends is deleted after a day (`CHAT_ATTACHMENT_UNSENT_TTL_SECONDS`)."""
    async with state.work(actor) as work:
        await service.check_uploader(work, chat_id)
    limit = state.settings.attachment_max_bytes
    await _charge(state, actor, _declared_length(request, limit))
    data, filename = await _read_file(request, limit)
    async with state.work(actor) as work:
        return await service.upload(work, state.settings, chat_id, data=data, filename=filename)


@router.get(
    "/attachments/{attachment_id}",
    summary="Download an attachment (the chat's members; an unsent upload, its uploader)",
    response_class=Response,
    responses={
        200: {"content": {t: {} for t in media.ALLOWED}, "description": "The file"},
        206: {"content": {t: {} for t in media.ALLOWED}, "description": "The range asked"},
        304: {"description": "Not modified (If-None-Match)"},
        404: {"description": "No such attachment, or not yours to see"},
        416: {"description": "The range starts past the end"},
    },
)
async def download(
    attachment_id: UUID,
    work: WorkDep,
    if_none_match: Annotated[str | None, Header()] = None,
    range_: Annotated[str | None, Header(alias="Range")] = None,
    if_range: Annotated[str | None, Header()] = None,
) -> Response:
    """Whole, or one byte range (`Range: bytes=0-1023`), as video players ask for it."""
    attachment = await service.downloadable(work, attachment_id)
    etag = f'"{attachment.sha256}"'
    headers = {
        "ETag": etag,
        "Accept-Ranges": "bytes",
        "Cache-Control": CACHE_CONTROL,
        # Shown as what it is, never sniffed into something a browser would run.
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; sandbox",
        "Content-Disposition": f"inline; filename*=UTF-8''{quote(attachment.filename)}",
    }
    if if_none_match is not None and etag in {t.strip() for t in if_none_match.split(",")}:
        return Response(status_code=status.HTTP_304_NOT_MODIFIED, headers=headers)
    wanted = None if if_range not in (None, etag) else byte_range(range_, attachment.size)
    if wanted == UNSATISFIABLE:
        headers["Content-Range"] = f"bytes */{attachment.size}"
        return Response(status_code=status.HTTP_416_RANGE_NOT_SATISFIABLE, headers=headers)
    data = await repository.data_of(work.session, attachment_id)
    if wanted is None:
        return Response(data, media_type=attachment.content_type, headers=headers)
    first, last = wanted
    headers["Content-Range"] = f"bytes {first}-{last}/{attachment.size}"
    return Response(
        data[first : last + 1],
        status_code=status.HTTP_206_PARTIAL_CONTENT,
        media_type=attachment.content_type,
        headers=headers,
    )


UNSATISFIABLE = (-1, -1)
_RANGE = re.compile(r"bytes=(\d{0,18})-(\d{0,18})")


def byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The one range asked for, as (first, last) byte; None for the whole file (no
    header, one it does not follow, or several ranges, which a server may answer
    whole); UNSATISFIABLE when it starts past the end."""
    match = _RANGE.fullmatch(header.strip()) if header else None
    if match is None or match.group(1) == match.group(2) == "":
        return None
    start, end = match.group(1), match.group(2)
    if start == "":
        first, last = max(0, size - int(end)), size - 1  # the last `end` bytes
    else:
        first, last = int(start), min(int(end), size - 1) if end else size - 1
    if first >= size or first > last:
        return UNSATISFIABLE if first >= size else None
    return first, last


def _declared_length(request: Request, limit: int) -> int:
    """The body's length as declared, once it shows the file can fit."""
    declared = request.headers.get("content-length")
    if declared is None:
        raise LengthRequired()
    if not declared.isdigit():
        raise BadRequest("Content-Length is not a number")
    if int(declared) > limit + FORM_OVERHEAD:
        raise AttachmentTooLarge(limit)
    return int(declared)


async def _charge(state: ChatState, actor: Actor, size: int) -> None:
    """Counts the upload against the user's bytes of the day, before it is read."""
    quota = state.upload_bytes
    retry_after = await quota.take(f"upload:{actor.user_id}", size)
    if retry_after is not None:
        raise TooManyRequests(
            f"at most {quota.limit} bytes of uploads a day", retry_after=retry_after
        )


async def _read_file(request: Request, limit: int) -> tuple[bytes, str | None]:
    """The form's one file (its declared length already checked)."""
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise BadRequest("send the file as multipart/form-data, in a field named file")
    async with request.form(max_files=1, max_fields=1) as form:
        file = form.get("file")
        if not isinstance(file, UploadFile):
            raise BadRequest("send the file as multipart/form-data, in a field named file")
        data = await file.read(limit + 1)
        if len(data) > limit:
            raise AttachmentTooLarge(limit)
        if not data:
            raise UnsupportedMediaType(media.ALLOWED)
        return data, file.filename
