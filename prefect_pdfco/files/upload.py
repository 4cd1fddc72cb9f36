"""A local file into PDF.co's temporary storage: presigned URL from the API, streamed PUT to the file host.

Why always the presigned flow, even for small files (``/v1/file/upload/base64`` would save one round trip):
one code path for every size up to PDF.co's 2 GB, no 4 MB request cap to mind, no base64 copy in memory, and
the file's bytes never travel to the API host beside the key. The PUT goes through its own httpx client that
has no key at all (the presigned URL is its own credential), with ``Content-Length`` set (S3 refuses chunked
uploads) and the exact Content-Type that was requested (it is part of the signature).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import stat
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import httpx

from prefect_pdfco._http_errors import map_transport_error
from prefect_pdfco._redact import safe_url
from prefect_pdfco._retry import DEFAULT_RETRY_POLICY, RetryPolicy, call_with_retries, parse_retry_after
from prefect_pdfco.client import USER_AGENT, PdfcoClient
from prefect_pdfco.exceptions import (
    FileTooLargeError,
    FileTransferError,
    LocalFileError,
    LocalFileNotFoundError,
    PdfcoError,
    ResultExpiredError,
    UnexpectedResponseError,
)
from prefect_pdfco.files.download import CHUNK_SIZE, host_error
from prefect_pdfco.files.names import content_type_for, sanitize_filename
from prefect_pdfco.ui.logs import run_logger

__all__ = ["MAX_UPLOAD_BYTES", "PRESIGNED_URL_ENDPOINT", "check_local_file", "put_file", "upload_path"]

#: PDF.co's limit for a presigned upload (pdfco-api.md section 10: "<= 2 GB").
MAX_UPLOAD_BYTES = 2 * 1024**3
PRESIGNED_URL_ENDPOINT = "/v1/file/upload/get-presigned-url"
#: The PUT's per-operation timeouts; the host may take a while to answer once a large body is in.
UPLOAD_TIMEOUT = httpx.Timeout(120.0, connect=10.0)
_PLAIN_ETAG = re.compile(r'^"?([0-9a-f]{32})"?$')


def check_local_file(path: str | os.PathLike[str], *, limit: int = MAX_UPLOAD_BYTES) -> tuple[Path, int]:
    """The file's path and size, after checking it can be uploaded. Makes no request.

    Raises:
        LocalFileNotFoundError: Missing, or not a regular file.
        FileTooLargeError: Over ``limit`` bytes.
    """
    local = Path(os.fspath(path)).expanduser()
    try:
        info = local.stat()
    except (FileNotFoundError, NotADirectoryError) as error:
        raise LocalFileNotFoundError(str(path)) from error
    if not stat.S_ISREG(info.st_mode):
        raise LocalFileNotFoundError(str(path), "is not a regular file")
    if info.st_size > limit:
        raise FileTooLargeError(
            str(path),
            f"{info.st_size:,} bytes is over PDF.co's upload limit of {limit:,} bytes; nothing was sent",
            size=info.st_size,
            limit=limit,
        )
    return local, info.st_size


async def _chunks(local: Path, size: int, md5: hashlib._Hash) -> AsyncIterator[bytes]:
    """The first ``size`` bytes of the file, a chunk at a time (the only copy of the file in memory)."""
    remaining = size
    async with await anyio.open_file(local, "rb") as handle:
        while remaining > 0:
            chunk = await handle.read(min(CHUNK_SIZE, remaining))
            if not chunk:
                raise LocalFileError(str(local), f"the file shrank to {size - remaining} bytes while uploading")
            md5.update(chunk)
            remaining -= len(chunk)
            yield chunk


async def _put_once(http: httpx.AsyncClient, presigned_url: str, local: Path, size: int, content_type: str) -> None:
    safe = safe_url(presigned_url)
    md5 = hashlib.md5(usedforsecurity=False)  # to compare with S3's ETag, not for security
    headers = {"Content-Type": content_type, "Content-Length": str(size)}
    try:
        response = await http.put(presigned_url, content=_chunks(local, size, md5), headers=headers)
    except (httpx.HTTPError, httpx.InvalidURL) as error:
        raise map_transport_error(error, safe, role="upload storage") from error
    if response.status_code >= 300:
        retry_after = parse_retry_after(response.headers.get("retry-after"))
        failure = host_error(response.status_code, response.text[:65536], presigned_url, retry_after=retry_after)
        if isinstance(failure, ResultExpiredError):
            raise FileTransferError(
                "the presigned upload URL expired before the upload started (PDF.co signs it for 15 minutes)",
                url=safe,
                status_code=response.status_code,
            )
        raise failure
    # A single-part S3 upload answers the MD5 of what it stored: a cheap end-to-end integrity check.
    match = _PLAIN_ETAG.match(response.headers.get("etag", "").strip())
    if match and match.group(1) != md5.hexdigest():
        raise FileTransferError("the file host stored other bytes than were sent (ETag mismatch)", url=safe)


async def put_file(
    presigned_url: str,
    local: Path,
    size: int,
    content_type: str,
    *,
    http: httpx.AsyncClient | None = None,
    retry_policy: RetryPolicy = DEFAULT_RETRY_POLICY,
) -> None:
    """PUTs the file to a presigned URL, streamed from disk, retrying transient failures.

    A PUT of the same bytes to the same presigned URL is idempotent, so connection errors and 5xx are retried
    whether or not the request reached the host; each attempt reads the file again from the start.
    """
    if http is not None and "x-api-key" in http.headers:
        raise ValueError("this client sends an x-api-key header; presigned uploads must go without it")
    async with contextlib.AsyncExitStack() as stack:
        if http is None:
            http = await stack.enter_async_context(
                httpx.AsyncClient(timeout=UPLOAD_TIMEOUT, headers={"User-Agent": USER_AGENT})
            )
        client = http

        def log_retry(error: PdfcoError, failed: int, delay: float) -> None:
            run_logger().warning(
                "Upload to %s: attempt %d failed (%s); retrying in %.1f s",
                safe_url(presigned_url),
                failed,
                type(error).__name__,
                delay,
            )

        await call_with_retries(
            lambda: _put_once(client, presigned_url, local, size, content_type),
            idempotent=True,
            policy=retry_policy,
            on_retry=log_retry,
        )


async def upload_path(
    client: PdfcoClient,
    path: str | os.PathLike[str],
    *,
    name: str | None = None,
    http: httpx.AsyncClient | None = None,
    retry_policy: RetryPolicy = DEFAULT_RETRY_POLICY,
) -> str:
    """Uploads a local file to PDF.co's temporary storage and returns the URL operations take as input.

    Raises:
        LocalFileNotFoundError, FileTooLargeError: Before any request.
        PdfcoAPIError: PDF.co refused the presigned URL request (key, credits...).
        FileTransferError: The file host refused the PUT.
        PdfcoConnectionError, ServerError: Transient failures that outlasted the retries.
    """
    local, size = check_local_file(path)
    upload_name = sanitize_filename(name or local.name, fallback="upload")
    content_type = content_type_for(upload_name)
    body = await client.request(
        "GET", PRESIGNED_URL_ENDPOINT, params={"name": upload_name, "contenttype": content_type}
    )
    presigned_url, url = body.get("presignedUrl"), body.get("url")
    if not isinstance(presigned_url, str) or not isinstance(url, str):
        raise UnexpectedResponseError(
            "the answer has no presignedUrl and url",
            endpoint=PRESIGNED_URL_ENDPOINT,
            body={key: value for key, value in body.items() if key not in ("presignedUrl", "url")},
        )
    await put_file(presigned_url, local, size, content_type, http=http, retry_policy=retry_policy)
    run_logger().info("Uploaded %s (%d bytes, %s) to %s", upload_name, size, content_type, safe_url(url))
    return url
