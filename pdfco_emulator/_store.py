"""The emulator's file storage: a temporary directory on disk, indexed by object key.

Uploads and results are written to disk (never held whole in memory by the server) and disappear with the
directory when the emulator stops. Keys look like S3 object keys, ``<32 hex>/<file name>``.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import shutil
import tempfile
import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import anyio

__all__ = ["FileStore", "StoredFile", "safe_name"]


def safe_name(name: str | None, default: str = "file") -> str:
    """A file name usable as the last part of an object key: no directories, never empty."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1].strip()
    return base or default


@dataclass
class StoredFile:
    """One object of the store.

    Attributes:
        key: ``<dir>/<name>``, the path of its links after ``/pdf-temp-files/``.
        name: The file name.
        content_type: Served as ``Content-Type``.
        path: Where the bytes are; None while the object does not exist yet (an upload slot before its PUT,
            a job's result placeholder before the job is done).
        size: Size in bytes.
        etag: MD5 of the content, quoted, as S3 sends it.
        job_id: Set on a job's placeholder: the object reads as missing until that job succeeded.
        last_modified: Epoch seconds (emulator clock) of the last write.
    """

    key: str
    name: str
    content_type: str
    path: Path | None = None
    size: int = 0
    etag: str = ""
    job_id: str | None = None
    last_modified: float = 0.0


class FileStore:
    """Objects on disk under a private temporary directory (removed by ``close``)."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="pdfco-emulator-"))
        self._files: dict[str, StoredFile] = {}
        self._lock = threading.Lock()

    def reserve(self, name: str, content_type: str, *, job_id: str | None = None) -> StoredFile:
        """Creates an object without content under a fresh key (S3 keys are unguessable too)."""
        key = f"{secrets.token_hex(16)}/{safe_name(name)}"
        entry = StoredFile(key=key, name=safe_name(name), content_type=content_type, job_id=job_id)
        with self._lock:
            self._files[key] = entry
        return entry

    def get(self, key: str) -> StoredFile | None:
        """The object under ``key``, or None."""
        with self._lock:
            return self._files.get(key)

    def _blob_path(self) -> Path:
        return self.root / secrets.token_hex(16)

    def _commit(self, entry: StoredFile, tmp: Path, size: int, digest: str, now: float) -> StoredFile:
        final = self._blob_path()
        os.replace(tmp, final)
        with self._lock:
            old = entry.path
            entry.path, entry.size, entry.etag, entry.last_modified = final, size, f'"{digest}"', now
            self._files[entry.key] = entry
        if old is not None:
            old.unlink(missing_ok=True)
        return entry

    def write_bytes(self, entry: StoredFile, content: bytes, *, now: float) -> StoredFile:
        """Gives ``entry`` its content (blocking; call from a worker thread for big files)."""
        tmp = self._blob_path().with_suffix(".part")
        tmp.write_bytes(content)
        return self._commit(entry, tmp, len(content), hashlib.md5(content).hexdigest(), now)  # noqa: S324

    def add_bytes(self, name: str, content: bytes, content_type: str, *, now: float) -> StoredFile:
        """Stores a new object."""
        return self.write_bytes(self.reserve(name, content_type), content, now=now)

    async def write_stream(self, entry: StoredFile, chunks: AsyncIterator[bytes], *, now: float) -> StoredFile:
        """Streams a request body into ``entry``, chunk by chunk; lands atomically (temp file, rename)."""
        tmp = self._blob_path().with_suffix(".part")
        digest = hashlib.md5()  # noqa: S324 - S3's ETag is an MD5, not a security measure
        size = 0
        try:
            async with await anyio.open_file(tmp, "wb") as handle:
                async for chunk in chunks:
                    if chunk:
                        digest.update(chunk)
                        size += len(chunk)
                        await handle.write(chunk)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return self._commit(entry, tmp, size, digest.hexdigest(), now)

    def read_bytes(self, entry: StoredFile) -> bytes:
        """The whole content of an existing object (for inputs, which the processor takes as bytes)."""
        if entry.path is None:
            raise FileNotFoundError(entry.key)
        return entry.path.read_bytes()

    def delete(self, key: str) -> bool:
        """Removes an object; False when there was none."""
        with self._lock:
            entry = self._files.pop(key, None)
        if entry is None:
            return False
        if entry.path is not None:
            entry.path.unlink(missing_ok=True)
        return True

    def close(self) -> None:
        """Deletes every file."""
        with self._lock:
            self._files.clear()
        shutil.rmtree(self.root, ignore_errors=True)
