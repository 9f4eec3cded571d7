"""What an uploaded file is, told by its bytes, and a filename safe to send back."""

from __future__ import annotations

import unicodedata
from pathlib import PurePosixPath, PureWindowsPath

import puremagic

from chat_service.models import FILENAME_MAX

# Pictures and videos that browsers show themselves, with the filename extensions they
# go by (the first is given to a file named otherwise). Nothing a browser would run
# (HTML, SVG) is taken, whatever the client calls it.
EXTENSIONS = {
    "image/jpeg": (".jpg", ".jpeg"),
    "image/png": (".png",),
    "image/gif": (".gif",),
    "image/webp": (".webp",),
    "video/mp4": (".mp4", ".m4v"),
    "video/webm": (".webm",),
    "video/quicktime": (".mov", ".qt"),
}
ALLOWED = tuple(EXTENSIONS)
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
    """The name's last part, without control characters, ending in an extension of its
    type (a file saved to disk opens as what it is), at most FILENAME_MAX long."""
    name = PureWindowsPath(PurePosixPath(name or "").name).name
    name = "".join(c for c in name if unicodedata.category(c)[0] != "C").strip().strip(".")
    extensions = EXTENSIONS[content_type]
    if PurePosixPath(name).suffix.lower() in extensions:
        return name[-FILENAME_MAX:]
    stem = name or "file"
    return stem[: FILENAME_MAX - len(extensions[0])] + extensions[0]
