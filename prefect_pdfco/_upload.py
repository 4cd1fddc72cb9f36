"""Local files into PDF.co's temporary storage: a presigned URL from the API, then a streamed PUT to the file host.

See docs/design/links.md.
"""

from __future__ import annotations

import hashlib
import logging
import os
import stat
from collections.abc import AsyncIterator
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, BinaryIO, Protocol

import anyio.to_thread
import httpx

from prefect_pdfco import _tempfiles
from prefect_pdfco._download import CHUNK_SIZE, check_md5, host_error, link_error, retrying, sanitize_filename
from prefect_pdfco._exceptions import (
    FileTooLargeError,
    FileTransferError,
    InvalidParametersError,
    LocalFileError,
    LocalFileNotFoundError,
    ResultExpiredError,
    UnexpectedResponseError,
)
from prefect_pdfco._util import safe_url

if TYPE_CHECKING:
    from prefect_pdfco._util import Clock
    from prefect_pdfco.models import RetryPolicy

#: PDF.co's limit for a presigned upload: 2 GB.
MAX_UPLOAD_BYTES = 2 * 1024**3
PRESIGNED_URL_ENDPOINT = "/v1/file/upload/get-presigned-url"
#: The PUT's per-operation timeouts: the host may take a while to answer once a large body is in.
UPLOAD_TIMEOUT = httpx.Timeout(120.0, connect=10.0, pool=None)
#: The Content-Type PDF.co's upload docs pair with each extension; the presigned URL signs it, so the PUT must
#: send exactly the type that was requested.
CONTENT_TYPES = {
    ".pdf": "application/pdf",
    ".txt": "text/plain",
    ".csv": "text/plain",
    ".xml": "text/plain",
    ".json": "text/plain",
    ".doc": "application/msword",
    ".msg": "application/vnd.ms-outlook",
    ".eml": "application/vnd.ms-outlook",
}
logger = logging.getLogger("prefect_pdfco")


class UploadClient(Protocol):
    """What ``upload`` needs of ``PdfcoClient`` (a Protocol, so this module does not import the client)."""

    @property
    def link_client(self) -> httpx.AsyncClient: ...

    @property
    def retry_policy(self) -> RetryPolicy: ...

    @property
    def clock(self) -> Clock: ...

    async def request(self, method: str, endpoint: str, *, params: dict[str, Any] | None = None) -> dict[str, Any]: ...


def content_type_for(name: str) -> str:
    """The Content-Type to request and send for a file called ``name``."""
    return CONTENT_TYPES.get(PurePosixPath(name.lower()).suffix, "application/octet-stream")


def check_local_file(path: str | os.PathLike[str], *, limit: int = MAX_UPLOAD_BYTES) -> tuple[Path, int]:
    """The file's path and size; ``LocalFileNotFoundError`` unless a regular file, ``FileTooLargeError`` over
    ``limit``, ``InvalidParametersError`` for a ``path`` that is not a path."""
    if not isinstance(path, (str, os.PathLike)):
        raise InvalidParametersError("upload", [f"path: expected a local file path, got {type(path).__name__}"])
    try:
        info = (local := Path(os.fspath(path)).expanduser()).stat()
    except (FileNotFoundError, NotADirectoryError) as error:
        raise LocalFileNotFoundError(str(path)) from error
    if not stat.S_ISREG(info.st_mode):
        raise LocalFileNotFoundError(str(path), "is not a regular file")
    if info.st_size > limit:
        text = f"{info.st_size:,} bytes is over PDF.co's upload limit of {limit:,} bytes; nothing was sent"
        raise FileTooLargeError(str(path), text, size=info.st_size, limit=limit)
    return local, info.st_size


def _read(file: BinaryIO, size: int, md5: Any) -> bytes:
    chunk = file.read(size)
    if md5 is not None:
        md5.update(chunk)  # in the worker thread, beside the send
    return chunk


async def _chunks(local: Path, size: int, md5: Any) -> AsyncIterator[bytes]:
    """The first ``size`` bytes of the file, a chunk at a time (the only copy of it in memory)."""
    remaining = size
    with open(local, "rb") as file:  # noqa: ASYNC230  # opening costs no wait; reads hop to a thread
        while remaining > 0:
            chunk = await anyio.to_thread.run_sync(_read, file, min(CHUNK_SIZE, remaining), md5)
            if not chunk:
                raise LocalFileError(str(local), f"the file shrank to {size - remaining} bytes while uploading")
            remaining -= len(chunk)
            yield chunk


async def put_file(
    http: httpx.AsyncClient, url: str, local: Path, size: int, content_type: str, *, verify_etag: bool = False
) -> None:
    """One streamed PUT of the file to a presigned URL, with ``Content-Length`` (S3 refuses chunked uploads) and,
    with ``verify_etag``, the MD5 of what was sent compared with the ETag the host answers."""
    md5 = hashlib.md5(usedforsecurity=False) if verify_etag else None
    headers = {"Content-Type": content_type, "Content-Length": str(size)}
    try:  # not redirected: a presigned PUT is never moved, and the body streams from disk once per attempt
        content = _chunks(local, size, md5)
        response = await http.put(url, content=content, headers=headers, timeout=UPLOAD_TIMEOUT, follow_redirects=False)
    except (httpx.HTTPError, httpx.InvalidURL) as error:
        raise link_error(error, url) from error
    if response.status_code >= 300:
        failure = host_error(response.status_code, response.text[:65536], url)
        if isinstance(failure, ResultExpiredError):
            text = "the presigned upload URL expired before the upload started (PDF.co signs it for 15 minutes)"
            raise FileTransferError(text, url=safe_url(url), status_code=response.status_code)
        raise failure
    check_md5(md5, response.headers.get("etag"), url, action="uploaded")  # S3 answers the MD5 it stored


async def upload(
    client: UploadClient, path: str | os.PathLike[str], *, name: str | None = None, verify_etag: bool = False
) -> str:
    """Uploads a local file (at most 2 GB) into PDF.co's temporary storage; returns the URL operations take.

    ``GET /v1/file/upload/get-presigned-url`` (the one call with the API key), then a streamed PUT through the
    keyless link client, retried on transient failures (a PUT of the same bytes is idempotent).

    Args:
        client: The API client (``PdfcoClient``).
        path: The local file.
        name: The name PDF.co gives the file (default: the local file's name); sanitised.
        verify_etag: Compare the MD5 of what was sent with the ETag the host answers (about 1.4 s of one core per
            GiB).

    Returns:
        The file's URL on PDF.co's storage (deleted by PDF.co after an hour).

    Raises:
        InvalidParametersError, LocalFileNotFoundError, FileTooLargeError: Before any request.
        UnexpectedResponseError: PDF.co's answer has no presigned URL.
        ChecksumMismatchError: ``verify_etag`` and the host stored other bytes than were sent.
        FileTransferError, PdfcoConnectionError, ServerError, RateLimitError: The host refused, or kept failing.
    """
    if name is not None and not isinstance(name, str):
        raise InvalidParametersError("upload", [f"name: expected a file name (str) or None, got {type(name).__name__}"])
    local, size = check_local_file(path)
    upload_name = sanitize_filename(name or local.name)
    content_type = content_type_for(upload_name)
    body = await client.request(
        "GET", PRESIGNED_URL_ENDPOINT, params={"name": upload_name, "contenttype": content_type}
    )
    presigned, url = body.get("presignedUrl"), body.get("url")
    if not isinstance(presigned, str) or not isinstance(url, str):
        answer = {key: value for key, value in body.items() if key not in ("presignedUrl", "url")}
        raise UnexpectedResponseError(
            "the answer has no presignedUrl and url", endpoint=PRESIGNED_URL_ENDPOINT, body=answer
        )
    with _tempfiles.transfer():
        await retrying(
            lambda: put_file(client.link_client, presigned, local, size, content_type, verify_etag=verify_etag),
            retry=client.retry_policy,
            clock=client.clock,
            what=f"Upload to {safe_url(presigned)}",
            at=lambda: 0,
        )
    logger.info("Uploaded %s (%d bytes, %s) to %s", upload_name, size, content_type, safe_url(url))
    return url
