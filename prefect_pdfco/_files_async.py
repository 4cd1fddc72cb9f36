"""The coroutines behind the ``files`` tasks, and the ``DownloadedFile`` they return (re-exported by ``files``).

For code that already runs in an event loop and wants no task run per transfer (``run_operation`` for one):
each takes an optional ``http`` client to reuse (it must not carry an ``x-api-key`` header) and a
``retry_policy``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict

from prefect_pdfco import _artifacts
from prefect_pdfco._download import download_client
from prefect_pdfco._logging import run_logger
from prefect_pdfco._names import filename_from_url, sanitize_filename
from prefect_pdfco._redact import safe_url
from prefect_pdfco._retry import DEFAULT_RETRY_POLICY, RetryPolicy
from prefect_pdfco._storage import Destination
from prefect_pdfco._transfers import (
    Landed,
    ResultRef,
    decode_text,
    fetch_bytes,
    land,
    land_parts,
    parse_json,
    part_links,
    result_link,
)
from prefect_pdfco._upload import upload_path
from prefect_pdfco.client import PdfcoClient
from prefect_pdfco.models import JobResult

__all__ = [
    "MAX_FETCH_BYTES",
    "DownloadedFile",
    "adownload_result",
    "adownload_result_files",
    "afetch_result_json",
    "afetch_result_text",
    "aupload_file",
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


def _downloaded(landed: Landed) -> DownloadedFile:
    done, url = landed.transfer, safe_url(landed.url)
    run_logger().info("Downloaded %s to %s (%d bytes, sha256 %s)", url, landed.where, done.size, done.sha256)
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
    return await upload_path(client, path, name=name, http=http, retry_policy=retry_policy)


async def adownload_result(
    result: ResultRef,
    destination: Destination,
    *,
    filename: str | None = None,
    http: httpx.AsyncClient | None = None,
    retry_policy: RetryPolicy = DEFAULT_RETRY_POLICY,
) -> DownloadedFile:
    """The coroutine behind ``download_result`` (same rules), plus ``http`` and ``retry_policy``.

    Args:
        result: A ``JobResult`` or a result URL.
        destination: A directory, or a Prefect storage block.
        filename: The file name to use instead of the link's; sanitised the same way.
        http: An httpx client to reuse; it must not carry an ``x-api-key`` header.
        retry_policy: Attempts and delays for transient failures.

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
    url, valid_till = result_link(result)
    name = sanitize_filename(filename) if filename is not None else filename_from_url(url)
    async with download_client(http) as client:
        landed = await land(client, url, destination, name, valid_till=valid_till, retry_policy=retry_policy)
    downloaded = _downloaded(landed)
    await _artifacts.record_download(_job_id(result), Path(downloaded.path).name, downloaded.size)
    return downloaded


async def adownload_result_files(
    result: ResultRef,
    destination: Destination,
    *,
    http: httpx.AsyncClient | None = None,
    retry_policy: RetryPolicy = DEFAULT_RETRY_POLICY,
) -> list[DownloadedFile]:
    """The coroutine behind ``download_result_files`` (same rules), plus ``http`` and ``retry_policy``.

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
    async with download_client(http) as client:
        parts = await part_links(client, result, retry_policy=retry_policy)
        landed = await land_parts(client, parts, destination, retry_policy=retry_policy)
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
) -> str:
    """The coroutine behind ``fetch_result_text`` (same rules), plus ``http`` and ``retry_policy``.

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
    url, valid_till = result_link(result)
    async with download_client(http) as client:
        content, done = await fetch_bytes(
            client, url, valid_till=valid_till, retry_policy=retry_policy, max_bytes=max_bytes
        )
    return decode_text(content, done.content_type, encoding)


async def afetch_result_json(
    result: ResultRef,
    *,
    max_bytes: int = MAX_FETCH_BYTES,
    http: httpx.AsyncClient | None = None,
    retry_policy: RetryPolicy = DEFAULT_RETRY_POLICY,
) -> Any:
    """The coroutine behind ``fetch_result_json`` (same rules), plus ``http`` and ``retry_policy``.

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
    url, valid_till = result_link(result)
    async with download_client(http) as client:
        content, _ = await fetch_bytes(
            client, url, valid_till=valid_till, retry_policy=retry_policy, max_bytes=max_bytes
        )
    return parse_json(content, url)
