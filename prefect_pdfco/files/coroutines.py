"""The coroutines behind the ``files`` tasks, and the ``DownloadedFile`` they return (re-exported by ``files``).

For code that already runs in an event loop and wants no task run per transfer (``run_operation`` for one):
each takes an optional ``http`` client to reuse (it must not carry an ``x-api-key`` header) and a
``retry_policy``. Arguments are checked before anything else happens: a wrong type raises
``InvalidParametersError`` naming the argument, never an ``AttributeError`` from deep inside.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict

from prefect_pdfco._netguard import DEFAULT_LINK_POLICY, LinkPolicy
from prefect_pdfco._redact import escape_control, safe_url
from prefect_pdfco._retry import DEFAULT_RETRY_POLICY, RetryPolicy
from prefect_pdfco._validate import require_credentials
from prefect_pdfco.client import PdfcoClient
from prefect_pdfco.credentials import PdfcoCredentials
from prefect_pdfco.exceptions import InvalidParametersError
from prefect_pdfco.files.download import download_client
from prefect_pdfco.files.links import (
    Landed,
    ResultRef,
    check_result_ref,
    decode_text,
    fetch_bytes,
    land,
    land_parts,
    parse_json,
    part_links,
    result_link,
)
from prefect_pdfco.files.names import filename_from_url, sanitize_filename
from prefect_pdfco.files.storage import Destination, resolve_destination
from prefect_pdfco.files.upload import upload_path
from prefect_pdfco.models import JobResult
from prefect_pdfco.ui import artifacts as _artifacts
from prefect_pdfco.ui.logs import run_logger

__all__ = [
    "MAX_FETCH_BYTES",
    "DownloadedFile",
    "adownload_result",
    "adownload_result_files",
    "afetch_result_json",
    "afetch_result_text",
    "aupload_file",
    "check_upload_args",
    "link_policy",
]

#: The default limit of ``fetch_result_text`` and ``fetch_result_json``: larger results belong in a file.
MAX_FETCH_BYTES = 50 * 1024 * 1024


class DownloadedFile(BaseModel):
    """A file that landed in full at its destination.

    Attributes:
        path: The absolute local path, or the path within the storage block (as the block reports it).
        size: Its size in bytes.
        sha256: The hex SHA-256 of its content, computed while it streamed.
        url: The link it came from, in safe form (scheme, host and path: never the signed query string).
        content_type: The Content-Type the file host declared, when it did.
    """

    model_config = ConfigDict(frozen=True)

    path: str
    size: int
    sha256: str
    url: str
    content_type: str | None = None


def _job_id(result: ResultRef) -> str | None:
    return result.job_id if isinstance(result, JobResult) else None


def _check_type(value: object, name: str, kinds: tuple[type, ...], expected: str, *, caller: str) -> None:
    if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
        raise InvalidParametersError(caller, [f"{name}: expected {expected}, got {type(value).__name__}"])


def link_policy(credentials: object, *, caller: str) -> LinkPolicy:
    """Where result links may lead: the block's ``allowed_result_hosts``, else the default (see ``_netguard``).

    Raises:
        InvalidParametersError: ``credentials`` is neither None nor a ``PdfcoCredentials`` block.
    """
    if credentials is None:
        return DEFAULT_LINK_POLICY
    return LinkPolicy.from_entries(require_credentials(credentials, caller=caller).allowed_result_hosts)


_NO_DESTINATION = object()


def _check_download_args(
    caller: str,
    result: object,
    *,
    retry_policy: object,
    credentials: object,
    destination: object = _NO_DESTINATION,
    filename: object = None,
    max_bytes: object = 1,
    encoding: object = None,
) -> tuple[ResultRef, LinkPolicy]:
    """Checks the arguments of the download functions before any request and any file; returns the result
    reference and the link policy."""
    ref = check_result_ref(result, caller=caller)
    if destination is not _NO_DESTINATION:
        resolve_destination(destination, caller=caller)
    _check_type(filename, "filename", (str, type(None)), "a file name (str) or None", caller=caller)
    _check_type(encoding, "encoding", (str, type(None)), "an encoding name (str) or None", caller=caller)
    _check_type(max_bytes, "max_bytes", (int,), "a number of bytes (int)", caller=caller)
    if max_bytes <= 0:  # type: ignore[operator]
        raise InvalidParametersError(caller, [f"max_bytes: must be more than zero, got {max_bytes}"])
    _check_type(retry_policy, "retry_policy", (RetryPolicy,), "a RetryPolicy", caller=caller)
    return ref, link_policy(credentials, caller=caller)


def check_upload_args(path: object, name: object, *, caller: str) -> None:
    """Checks the arguments of the upload functions before any request.

    Raises:
        InvalidParametersError: ``path`` is not a str or path, or ``name`` not a str or None.
    """
    _check_type(path, "path", (str, os.PathLike), "a local file path (str or os.PathLike)", caller=caller)
    _check_type(name, "name", (str, type(None)), "a file name (str) or None", caller=caller)


def _downloaded(landed: Landed) -> DownloadedFile:
    done, url = landed.transfer, safe_url(landed.url)
    where = escape_control(landed.where)
    run_logger().info("Downloaded %s to %s (%d bytes, sha256 %s)", url, where, done.size, done.sha256)
    return DownloadedFile(
        path=landed.where, size=done.size, sha256=done.sha256, url=url, content_type=done.content_type
    )


async def aupload_file(
    client: PdfcoClient,
    path: str | os.PathLike[str],
    *,
    name: str | None = None,
    http: httpx.AsyncClient | None = None,
    retry_policy: RetryPolicy = DEFAULT_RETRY_POLICY,
) -> str:
    """The coroutine behind ``upload_file``, with a client you already opened.

    Args:
        client: An open ``PdfcoClient``; it asks PDF.co for the presigned URL (the only call with the key).
        path: The local file, at most 2 GB.
        name: The name PDF.co gives the file (default: the local file's name); sanitised.
        http: An httpx client for the PUT, to reuse; it must not carry an ``x-api-key`` header.
        retry_policy: Attempts and delays for the PUT.

    Example:
        ```python
        import asyncio
        from prefect import flow
        from prefect_pdfco import PdfcoCredentials
        from prefect_pdfco.files import aupload_file

        @flow
        async def upload_all(paths: list[str]) -> list[str]:
            credentials = await PdfcoCredentials.load("pdfco")
            async with credentials.get_client() as client:
                return [await aupload_file(client, path) for path in paths]

        asyncio.run(upload_all(["a.pdf", "b.pdf"]))
        ```
    """
    if not isinstance(client, PdfcoClient):
        raise InvalidParametersError(
            "aupload_file", [f"client: expected an open PdfcoClient, got {type(client).__name__}"]
        )
    check_upload_args(path, name, caller="aupload_file")
    return await upload_path(client, path, name=name, http=http, retry_policy=retry_policy)


async def adownload_result(
    result: ResultRef,
    destination: Destination,
    *,
    filename: str | None = None,
    http: httpx.AsyncClient | None = None,
    retry_policy: RetryPolicy = DEFAULT_RETRY_POLICY,
    credentials: PdfcoCredentials | None = None,
) -> DownloadedFile:
    """The coroutine behind ``download_result`` (same rules), plus ``http`` and ``retry_policy``.

    Args:
        result: A ``JobResult`` or a result URL.
        destination: A directory, or a Prefect storage block.
        filename: The file name to use instead of the link's; sanitised the same way.
        http: An httpx client to reuse; it must not carry an ``x-api-key`` header. Only the link itself is
            checked against the allowed hosts then: its redirects follow your client's settings.
        retry_policy: Attempts and delays for transient failures.
        credentials: A block whose ``allowed_result_hosts`` applies; its API key is not used.

    Example:
        ```python
        import asyncio
        from prefect import flow
        from prefect_pdfco import PdfcoCredentials, submit_job, wait_for_job
        from prefect_pdfco.files import adownload_result

        @flow
        async def snapshot(page: str) -> str:
            credentials = await PdfcoCredentials.load("pdfco")
            job = await submit_job(credentials, "/v1/pdf/convert/from/url", {"url": page})
            result = await wait_for_job(credentials, job.job_id)
            return (await adownload_result(result, "out/", filename="page.pdf")).path

        asyncio.run(snapshot("https://example.com"))
        ```
    """
    result, policy = _check_download_args(
        "download_result",
        result,
        destination=destination,
        filename=filename,
        retry_policy=retry_policy,
        credentials=credentials,
    )
    url, valid_till = result_link(result)
    name = sanitize_filename(filename) if filename is not None else filename_from_url(url)
    async with download_client(http, policy=policy) as client:
        landed = await land(
            client,
            url,
            destination,
            name,
            valid_till=valid_till,
            retry_policy=retry_policy,
            policy=policy,
            job_id=_job_id(result),
        )
    downloaded = _downloaded(landed)
    await _artifacts.record_download(_job_id(result), Path(downloaded.path).name, downloaded.size)
    return downloaded


async def adownload_result_files(
    result: ResultRef,
    destination: Destination,
    *,
    http: httpx.AsyncClient | None = None,
    retry_policy: RetryPolicy = DEFAULT_RETRY_POLICY,
    credentials: PdfcoCredentials | None = None,
) -> list[DownloadedFile]:
    """The coroutine behind ``download_result_files`` (same rules), plus ``http`` and ``retry_policy``.

    Args:
        result: A ``JobResult`` or a result URL.
        destination: A directory, or a Prefect storage block.
        http: An httpx client to reuse; it must not carry an ``x-api-key`` header.
        retry_policy: Attempts and delays for transient failures.
        credentials: A block whose ``allowed_result_hosts`` applies; its API key is not used.

    Example:
        ```python
        import asyncio
        from prefect import flow
        from prefect_pdfco import PdfcoCredentials, submit_job, wait_for_job
        from prefect_pdfco.files import adownload_result_files

        @flow
        async def split_pages(url: str) -> int:
            credentials = await PdfcoCredentials.load("pdfco")
            job = await submit_job(credentials, "/v1/pdf/split", {"url": url, "pages": "*"})
            result = await wait_for_job(credentials, job.job_id)
            return len(await adownload_result_files(result, "pages/"))

        asyncio.run(split_pages("https://example.com/report.pdf"))
        ```
    """
    result, policy = _check_download_args(
        "download_result_files", result, destination=destination, retry_policy=retry_policy, credentials=credentials
    )
    async with download_client(http, policy=policy) as client:
        parts = await part_links(client, result, retry_policy=retry_policy, policy=policy)
        landed = await land_parts(
            client, parts, destination, retry_policy=retry_policy, policy=policy, job_id=_job_id(result)
        )
    downloaded = [_downloaded(item) for item in landed]
    for item in downloaded:
        await _artifacts.record_download(_job_id(result), Path(item.path).name, item.size)
    return downloaded


async def afetch_result_text(
    result: ResultRef,
    *,
    max_bytes: int = MAX_FETCH_BYTES,
    encoding: str | None = None,
    http: httpx.AsyncClient | None = None,
    retry_policy: RetryPolicy = DEFAULT_RETRY_POLICY,
    credentials: PdfcoCredentials | None = None,
) -> str:
    """The coroutine behind ``fetch_result_text`` (same rules), plus ``http`` and ``retry_policy``.

    Args:
        result: A ``JobResult`` or a result URL.
        max_bytes: The most bytes to hold in memory.
        encoding: The text's encoding, when you know better than the file host.
        http: An httpx client to reuse; it must not carry an ``x-api-key`` header.
        retry_policy: Attempts and delays for transient failures.
        credentials: A block whose ``allowed_result_hosts`` applies; its API key is not used.

    Example:
        ```python
        import asyncio
        from prefect import flow
        from prefect_pdfco import PdfcoCredentials, submit_job, wait_for_job
        from prefect_pdfco.files import afetch_result_text

        @flow
        async def word_count(url: str) -> int:
            credentials = await PdfcoCredentials.load("pdfco")
            job = await submit_job(credentials, "/v1/pdf/convert/to/text-simple", {"url": url})
            result = await wait_for_job(credentials, job.job_id)
            return len((await afetch_result_text(result)).split())

        asyncio.run(word_count("https://example.com/report.pdf"))
        ```
    """
    result, policy = _check_download_args(
        "fetch_result_text",
        result,
        max_bytes=max_bytes,
        encoding=encoding,
        retry_policy=retry_policy,
        credentials=credentials,
    )
    url, valid_till = result_link(result)
    async with download_client(http, policy=policy) as client:
        content, done = await fetch_bytes(
            client, url, valid_till=valid_till, retry_policy=retry_policy, max_bytes=max_bytes, policy=policy
        )
    return decode_text(content, done.content_type, encoding)


async def afetch_result_json(
    result: ResultRef,
    *,
    max_bytes: int = MAX_FETCH_BYTES,
    http: httpx.AsyncClient | None = None,
    retry_policy: RetryPolicy = DEFAULT_RETRY_POLICY,
    credentials: PdfcoCredentials | None = None,
) -> Any:
    """The coroutine behind ``fetch_result_json`` (same rules), plus ``http`` and ``retry_policy``.

    Args:
        result: A ``JobResult`` or a result URL.
        max_bytes: The most bytes to hold in memory.
        http: An httpx client to reuse; it must not carry an ``x-api-key`` header.
        retry_policy: Attempts and delays for transient failures.
        credentials: A block whose ``allowed_result_hosts`` applies; its API key is not used.

    Example:
        ```python
        import asyncio
        from prefect import flow
        from prefect_pdfco import PdfcoCredentials, submit_job, wait_for_job
        from prefect_pdfco.files import afetch_result_json

        @flow
        async def tables(url: str) -> object:
            credentials = await PdfcoCredentials.load("pdfco")
            job = await submit_job(credentials, "/v1/pdf/convert/to/json2", {"url": url})
            return await afetch_result_json(await wait_for_job(credentials, job.job_id))

        asyncio.run(tables("https://example.com/report.pdf"))
        ```
    """
    result, policy = _check_download_args(
        "fetch_result_json", result, max_bytes=max_bytes, retry_policy=retry_policy, credentials=credentials
    )
    url, valid_till = result_link(result)
    async with download_client(http, policy=policy) as client:
        content, _ = await fetch_bytes(
            client, url, valid_till=valid_till, retry_policy=retry_policy, max_bytes=max_bytes, policy=policy
        )
    return parse_json(content, url)
