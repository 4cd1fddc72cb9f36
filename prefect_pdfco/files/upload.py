"""Files into PDF.co: ``upload_file`` and its coroutine ``aupload_file``, a presigned URL and a streamed PUT.

``upload_file`` puts a local file (up to 2 GB) into PDF.co's temporary storage and returns the URL that
operations take as input; ``aupload_file`` does the same with a ``PdfcoClient`` already open, for code in an
event loop that wants no task run per file.

Why always the presigned flow, even for small files (``/v1/file/upload/base64`` would save one round trip):
one code path for every size up to PDF.co's 2 GB, no 4 MB request cap to mind, no base64 copy in memory, and
the file's bytes never travel to the API host beside the key. The PUT goes through the process's keyless
client for file hosts (``linkclient``: the presigned URL is its own credential), with ``Content-Length`` set
(S3 refuses chunked uploads) and the exact Content-Type that was requested (it is part of the signature).
The file is read in 1 MiB chunks, one worker-thread hop each; with ``verify_etag=True`` the same hop computes
the MD5 that a single-part S3 upload answers as its ETag, and a difference raises ``ChecksumMismatchError``.
"""

from __future__ import annotations

import os
import stat
from collections.abc import AsyncIterator
from pathlib import Path
from typing import BinaryIO

import anyio
import httpx
from prefect.runtime import task_run as runtime_task_run

from prefect_pdfco._apipool import shared_client
from prefect_pdfco._http_errors import map_transport_error
from prefect_pdfco._redact import safe_url
from prefect_pdfco._retry import DEFAULT_RETRY_POLICY, RetryPolicy, call_with_retries, parse_retry_after
from prefect_pdfco._validate import require_credentials
from prefect_pdfco.client import PdfcoClient
from prefect_pdfco.credentials import PdfcoCredentials
from prefect_pdfco.exceptions import (
    FileTooLargeError,
    FileTransferError,
    InvalidParametersError,
    LocalFileError,
    LocalFileNotFoundError,
    ResultExpiredError,
    UnexpectedResponseError,
)
from prefect_pdfco.files.linkclient import link_client
from prefect_pdfco.files.links import check_type
from prefect_pdfco.files.names import content_type_for, sanitize_filename
from prefect_pdfco.files.tempfiles import transfer_task
from prefect_pdfco.files.transfer import CHUNK_SIZE, Digests, host_error, log_retries
from prefect_pdfco.ui.logs import run_logger

__all__ = ["MAX_UPLOAD_BYTES", "aupload_file", "upload_file"]

#: PDF.co's limit for a presigned upload: 2 GB (https://developer.pdf.co/api/file-upload/index.html).
MAX_UPLOAD_BYTES = 2 * 1024**3
PRESIGNED_URL_ENDPOINT = "/v1/file/upload/get-presigned-url"
#: The PUT's per-operation timeouts; the host may take a while to answer once a large body is in.
UPLOAD_TIMEOUT = httpx.Timeout(120.0, connect=10.0, pool=None)


def check_upload_args(path: object, name: object, *, caller: str) -> None:
    """Checks the arguments of the upload functions before any request.

    Raises:
        InvalidParametersError: ``path`` is not a str or path, or ``name`` not a str or None.
    """
    check_type(path, "path", (str, os.PathLike), "a local file path (str or os.PathLike)", caller=caller)
    check_type(name, "name", (str, type(None)), "a file name (str) or None", caller=caller)


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


def _read(handle: BinaryIO, size: int, digests: Digests) -> bytes:
    chunk = handle.read(size)
    if digests.md5 is not None:
        digests.update((chunk,))
    return chunk


async def _chunks(local: Path, size: int, digests: Digests) -> AsyncIterator[bytes]:
    """The first ``size`` bytes of the file, a chunk at a time (the only copy of the file in memory)."""
    remaining = size
    with open(local, "rb") as handle:  # noqa: ASYNC230  # opening costs no wait; reads hop to a thread
        while remaining > 0:
            chunk = await anyio.to_thread.run_sync(_read, handle, min(CHUNK_SIZE, remaining), digests)
            if not chunk:
                raise LocalFileError(str(local), f"the file shrank to {size - remaining} bytes while uploading")
            remaining -= len(chunk)
            yield chunk


async def _put_once(
    http: httpx.AsyncClient, presigned_url: str, local: Path, size: int, content_type: str, verify_etag: bool
) -> None:
    safe = safe_url(presigned_url)
    digests = Digests(verify_etag=verify_etag)
    headers = {"Content-Type": content_type, "Content-Length": str(size)}
    try:
        # Not redirected: the body streams from disk once per attempt, and a presigned PUT is never moved.
        response = await http.put(
            presigned_url,
            content=_chunks(local, size, digests),
            headers=headers,
            timeout=UPLOAD_TIMEOUT,
            follow_redirects=False,
        )
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
    # A single-part S3 upload answers the MD5 of what it stored: an end-to-end check, when asked for.
    digests.check_etag(response.headers.get("etag"), presigned_url, action="uploaded")


async def put_file(
    presigned_url: str,
    local: Path,
    size: int,
    content_type: str,
    *,
    http: httpx.AsyncClient | None = None,
    retry_policy: RetryPolicy = DEFAULT_RETRY_POLICY,
    verify_etag: bool = False,
) -> None:
    """PUTs the file to a presigned URL, streamed from disk, retrying transient failures.

    A PUT of the same bytes to the same presigned URL is idempotent, so connection errors and 5xx are retried
    whether or not the request reached the host; each attempt reads the file again from the start. With
    ``verify_etag``, the MD5 of what was sent is compared with the ETag the host answers (an ETag that states
    no MD5 is not compared).
    """
    client = await link_client(http, caller="upload")
    await call_with_retries(
        lambda: _put_once(client, presigned_url, local, size, content_type, verify_etag),
        idempotent=True,
        policy=retry_policy,
        on_retry=log_retries("Upload to", presigned_url),
    )


async def aupload_file(
    client: PdfcoClient,
    path: str | os.PathLike[str],
    *,
    name: str | None = None,
    http: httpx.AsyncClient | None = None,
    retry_policy: RetryPolicy = DEFAULT_RETRY_POLICY,
    verify_etag: bool = False,
) -> str:
    """The coroutine behind ``upload_file``, with a ``PdfcoClient`` you already opened.

    Args:
        client: An open ``PdfcoClient``; it asks PDF.co for the presigned URL (the only call with the key).
        path: The local file, at most 2 GB.
        name: The name PDF.co gives the file (default: the local file's name); sanitised.
        http: An httpx client for the PUT instead of the shared one; it must not carry an ``x-api-key`` header.
        retry_policy: Attempts and delays for the PUT.
        verify_etag: As for ``upload_file``.

    Returns:
        The file's URL on PDF.co's storage, to pass as an operation's ``url``.

    Raises:
        InvalidParametersError: An argument of the wrong type; no request is made (also a ``ValueError``).
        LocalFileNotFoundError, FileTooLargeError: Before any request.
        PdfcoAPIError: PDF.co refused the presigned URL request (key, credits...).
        ChecksumMismatchError: ``verify_etag=True`` and the host stored other bytes than were sent.
        FileTransferError: The file host refused the PUT.
        PdfcoConnectionError, ServerError: Transient failures that outlasted the retries.
    """
    if not isinstance(client, PdfcoClient):
        raise InvalidParametersError(
            "aupload_file", [f"client: expected an open PdfcoClient, got {type(client).__name__}"]
        )
    check_upload_args(path, name, caller="aupload_file")
    check_type(verify_etag, "verify_etag", (bool,), "True or False", caller="aupload_file")
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
    await put_file(
        presigned_url, local, size, content_type, http=http, retry_policy=retry_policy, verify_etag=verify_etag
    )
    run_logger().info("Uploaded %s (%d bytes, %s) to %s", upload_name, size, content_type, safe_url(url))
    return url


def _upload_run_name() -> str:
    parameters = runtime_task_run.parameters
    return "upload-" + sanitize_filename(parameters.get("name") or Path(str(parameters.get("path", ""))).name)


@transfer_task(task_run_name=_upload_run_name)
async def upload_file(
    credentials: PdfcoCredentials, path: str | os.PathLike[str], *, name: str | None = None, verify_etag: bool = False
) -> str:
    """Uploads a local file into PDF.co's temporary storage and returns the URL operations take as input.

    Always through a presigned URL: ``GET /v1/file/upload/get-presigned-url`` (with the API key), then a
    streamed PUT of the file to the file host (without it), with ``Content-Length`` and the Content-Type PDF.co
    pairs with the extension (``.pdf`` -> ``application/pdf``, else ``application/octet-stream``). The file is
    read in 1 MiB chunks, so memory does not grow with its size. The PUT is retried on transient failures.
    PDF.co deletes uploaded files after one hour. Its coroutine is ``aupload_file``, with an open client.

    Args:
        credentials: The PDF.co credentials block.
        path: The local file, at most 2 GB.
        name: The name PDF.co gives the file (default: the local file's name); sanitised.
        verify_etag: Compute the MD5 of the file while it is sent and compare it with the ETag the file host
            answers (S3's MD5 of what it stored, for a single-part upload): an end-to-end integrity check that
            costs an MD5 pass, about 1.4 s of one core per GiB (~0.6-0.8 GiB/s). Off by default.

    Returns:
        The file's URL on PDF.co's storage, to pass as an operation's ``url``.

    Raises:
        InvalidParametersError: ``credentials`` is not a ``PdfcoCredentials`` block, or ``path`` or ``name``
            has the wrong type; no request is made (also a ``ValueError``).
        LocalFileNotFoundError: No such file (also a ``FileNotFoundError``); no request is made.
        FileTooLargeError: Over 2 GB; no request is made.
        PdfcoAPIError: PDF.co refused to hand out an upload URL (key, credits...).
        ChecksumMismatchError: ``verify_etag=True`` and the host stored other bytes than were sent.
        FileTransferError: The file host refused the upload.

    Example:
        Upload a scan and read its page count:
        ```python
        from prefect import flow
        from prefect_pdfco import PdfcoCredentials, submit_job, upload_file, wait_for_job

        @flow
        def page_count(path: str) -> int | None:
            credentials = PdfcoCredentials.load("pdfco")
            url = upload_file(credentials, path)
            job = submit_job(credentials, "/v1/pdf/info", {"url": url})
            return wait_for_job(credentials, job.job_id).page_count

        page_count("scans/contract.pdf")
        ```
    """
    credentials = require_credentials(credentials, caller="upload_file")
    check_upload_args(path, name, caller="upload_file")
    async with shared_client(credentials) as client:
        return await aupload_file(client, path, name=name, verify_etag=verify_etag)
