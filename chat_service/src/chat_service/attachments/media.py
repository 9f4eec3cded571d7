"""What an uploaded file is, told by its bytes, and a filename safe to send back."""

from __future__ import annotations

import unicodedata
from pathlib import PurePosixPath, PureWindowsPath

import puremagic

from chat_service.models import FILENAME_MAX

# Pictures and videos that browsers show themselves. Nothing a browser would run (HTML,
# SVG) is taken, whatever the client calls it.
ALLOWED = (
    "image/jpeg",
    "image/png",
    "image/gif",
    "image/webp",
    "video/mp4",
    "video/webm",
    "video/quicktime",
)
# Enough of a file's start for every signature above.
HEAD_BYTES = 4096


def content_type_of(head: bytes) -> str | None:
    """The allowed type the bytes are, or None."""
    try:
        candidates = puremagic.magic_string(head)
    except (puremagic.PureError, ValueError):
        return None
    return next((c.mime_type for c in candidates if c.mime_type in ALLOWED), None)


def safe_filename(name: str | None, content_type: str) -> str:
    """The name's last part, without control characters, at most FILENAME_MAX long;
    ``file`` and the type's extension when nothing is left."""
    name = PureWindowsPath(PurePosixPath(name or "").name).name
    name = "".join(c for c in name if unicodedata.category(c)[0] != "C").strip().strip(".")
    if not name:
        name = "file." + content_type.partition("/")[2].replace("quicktime", "mov")
    return name[-FILENAME_MAX:]
