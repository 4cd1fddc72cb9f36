"""File names that are safe to create, and content types for uploads.

A result link's last path segment is chosen by whoever wrote the link (PDF.co, or anyone who can hand a URL to
a flow), and an explicit ``filename`` may come from a flow parameter. Either can try to climb out of the
destination (``../../etc/passwd``), name a subdirectory (``a/b``), carry control characters or be too long
for the file system. Everything that becomes a file name goes through ``sanitize_filename``, and the final path
is checked once more by ``path_inside``.
"""

from __future__ import annotations

import os
import re
import unicodedata
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlsplit

__all__ = [
    "DEFAULT_FILENAME",
    "MAX_FILENAME_BYTES",
    "content_type_for",
    "dedupe_name",
    "filename_from_url",
    "path_inside",
    "sanitize_filename",
]

#: The name used when nothing usable is left of the original.
DEFAULT_FILENAME = "download"
#: Most file systems cap a name at 255 bytes; leave room for the ``-2`` of a de-duplicated name.
MAX_FILENAME_BYTES = 200
_MAX_SUFFIX_CHARS = 16

# Path separators of every platform become "_" (a name never picks a directory), and so do the characters
# Windows refuses in names, so a file downloaded here can be copied anywhere.
_UNSAFE = re.compile(r'[/\\<>:"|?*]')
_WINDOWS_RESERVED = re.compile(r"^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?$", re.IGNORECASE)

#: The Content-Type PDF.co's upload docs pair with each extension (https://developer.pdf.co/api/file-upload/index.html).
#: The presigned URL signs the type, so the PUT must send exactly the type that was requested.
_CONTENT_TYPES = {
    ".pdf": "application/pdf",
    ".txt": "text/plain",
    ".csv": "text/plain",
    ".xml": "text/plain",
    ".json": "text/plain",
    ".doc": "application/msword",
    ".msg": "application/vnd.ms-outlook",
    ".eml": "application/vnd.ms-outlook",
}
DEFAULT_CONTENT_TYPE = "application/octet-stream"


def _is_unsafe_char(char: str) -> bool:
    # Cc: control characters (NUL, newlines, escapes); Cf: invisible format characters such as the
    # right-to-left override that makes "evil\u202efdp.exe" display as "evilexe.pdf".
    return unicodedata.category(char) in ("Cc", "Cf")


def _truncate(name: str, limit: int) -> str:
    """Cuts ``name`` to at most ``limit`` UTF-8 bytes, keeping a short extension and whole characters."""
    if len(name.encode()) <= limit:
        return name
    stem, dot, suffix = name.rpartition(".")
    if not dot or not stem or len(suffix) > _MAX_SUFFIX_CHARS:
        stem, suffix = name, ""
    tail = f".{suffix}" if suffix else ""
    budget = limit - len(tail.encode())
    cut = stem.encode()[:budget].decode(errors="ignore")  # never half a multi-byte character
    return cut.rstrip(" .") + tail


def sanitize_filename(name: str | None, *, fallback: str = DEFAULT_FILENAME) -> str:
    """A single, harmless file name made from ``name``.

    Separators and characters Windows refuses become ``_``, control and invisible format characters are
    dropped, leading dots and spaces go (no ``..``, no hidden files), reserved Windows device names get a
    ``_`` prefix, and the result is cut to ``MAX_FILENAME_BYTES`` UTF-8 bytes keeping its extension. When
    nothing is left, ``fallback`` (itself sanitised) is used.

    Args:
        name: The proposed name: an explicit ``filename`` or a URL's last path segment, already unquoted.
        fallback: The name to use when ``name`` has nothing usable.
    """
    text = unicodedata.normalize("NFC", name or "")
    text = "".join(char for char in text if not _is_unsafe_char(char))
    text = _UNSAFE.sub("_", text)
    text = text.strip().lstrip(".").strip().rstrip(". ")
    if text and _WINDOWS_RESERVED.match(text):
        text = "_" + text
    text = _truncate(text, MAX_FILENAME_BYTES)
    if not text or set(text) <= {"_", "."}:
        return DEFAULT_FILENAME if fallback == DEFAULT_FILENAME else sanitize_filename(fallback)
    return text


def filename_from_url(url: str, *, fallback: str = DEFAULT_FILENAME) -> str:
    """The sanitised last path segment of ``url`` (its query, the presigned signature, is ignored).

    The segment is split off before percent-decoding, so an encoded ``%2F`` cannot smuggle a directory in:
    it decodes to a ``/`` inside the segment, which ``sanitize_filename`` turns into ``_``.
    """
    try:
        path = urlsplit(url.strip()).path
    except ValueError:
        path = ""
    segment = path.rsplit("/", 1)[-1]
    return sanitize_filename(unquote(segment), fallback=fallback)


def dedupe_name(name: str, taken: set[str]) -> str:
    """``name``, or ``name-2``, ``name-3``... (before the extension) if an earlier part of a batch took it.

    Compared case-insensitively, because two names differing only in case are one file on macOS and Windows.
    """
    if name.lower() not in taken:
        taken.add(name.lower())
        return name
    stem, suffix = PurePosixPath(name).stem, PurePosixPath(name).suffix
    number = 2
    while f"{stem}-{number}{suffix}".lower() in taken:
        number += 1
    unique = f"{stem}-{number}{suffix}"
    taken.add(unique.lower())
    return unique


def path_inside(directory: Path, name: str) -> Path:
    """``directory / name``, after checking that it names an entry directly inside ``directory``.

    A last line of defence behind ``sanitize_filename``: the check is lexical (``abspath``), because
    ``os.replace`` replaces a symlink at the target rather than following it.

    Raises:
        ValueError: ``name`` would land anywhere else.
    """
    base = Path(os.path.abspath(directory))
    target = Path(os.path.abspath(base / name))
    if target.parent != base or name in ("", ".", ".."):
        raise ValueError(f"refusing to write {name!r} outside {base}")
    return target


def content_type_for(name: str) -> str:
    """The Content-Type to request and send for a presigned upload of a file called ``name``."""
    return _CONTENT_TYPES.get(PurePosixPath(name.lower()).suffix, DEFAULT_CONTENT_TYPE)
