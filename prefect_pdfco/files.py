"""Files in and out of PDF.co as tasks: uploads, and results landed in a directory or a Prefect storage block.

Examples import ``flow`` from prefect and every other name from prefect_pdfco. See docs/design/links.md.
"""

from __future__ import annotations

import asyncio
import inspect
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

import anyio.to_thread
import httpx
from prefect.filesystems import LocalFileSystem, RemoteFileSystem, WritableFileSystem
from typing_extensions import Unpack

from prefect_pdfco import _download, _ui
from prefect_pdfco._download import Landing
from prefect_pdfco._exceptions import DestinationError, InvalidParametersError, PdfcoError, escape_control
from prefect_pdfco._linkguard import LinkPolicy, new_link_client
from prefect_pdfco._operations import OutputKind
from prefect_pdfco._prefect_task import pdfco_task
from prefect_pdfco._transfer import Links
from prefect_pdfco._util import LoopCache, check_number, safe_url
from prefect_pdfco.credentials import PdfcoCredentials, require_credentials, shared_client
from prefect_pdfco.models import DownloadedFile, JobResult

if TYPE_CHECKING:
    from prefect_pdfco._client import PdfcoClient

    #: A directory, or a Prefect storage block (LocalFileSystem, RemoteFileSystem, S3Bucket, GcsBucket...).
    Destination: TypeAlias = str | os.PathLike[str] | WritableFileSystem
else:
    Destination = Any  # Prefect validates flow parameters with pydantic, which cannot check every block: we do.

__all__ = ["download_result", "download_result_files", "download_results"]
__all__ += ["fetch_result_json", "fetch_result_text", "upload_file"]

MAX_FETCH_BYTES = 50 * 1024 * 1024  # what fetch_result_text and fetch_result_json hold in memory by default

_links: LoopCache[LinkPolicy, httpx.AsyncClient] = LoopCache(
    new_link_client, lambda c: c.aclose(), lambda c: c.is_closed
)


async def _links_for(credentials: PdfcoCredentials | None, caller: str, results: Iterable[object]) -> Links:
    """The keyless link client of the credentials (their ``allowed_result_hosts``), else the process's default."""
    for result in results:
        if not isinstance(result, (JobResult, str)):
            got = type(result).__name__
            raise InvalidParametersError(caller, [f"result: expected a JobResult or a result URL, got {got}"])
    if credentials is None:
        return Links(await _links.get(LinkPolicy()))
    client = await shared_client(require_credentials(credentials, caller))
    return Links(client.link_client, client.retry_policy, client.clock)


def _directory(destination: object, caller: str) -> Path | None:
    """The local directory a destination is, or None for a block that takes files itself."""
    if isinstance(destination, (str, os.PathLike)):
        return Path(os.fspath(destination)).expanduser()
    if isinstance(destination, LocalFileSystem):
        return Path(destination.basepath).expanduser() if destination.basepath else Path.cwd()
    if callable(getattr(destination, "upload_from_path", None)) or callable(getattr(destination, "write_path", None)):
        return None
    got = type(destination).__name__
    raise InvalidParametersError(
        caller, [f"destination: expected a directory or a storage block (S3Bucket...), got {got}"]
    )


async def land_result(
    client: PdfcoClient | Links,
    result: JobResult | str,
    destination: Destination,
    *,
    output: OutputKind = OutputKind.FILE,
    **landing: Unpack[Landing],
) -> list[DownloadedFile]:
    """Lands a result's file(s) in ``destination`` under names the call or batch has not used yet."""
    links = client if isinstance(client, Links) else Links(client.link_client, client.retry_policy, client.clock)
    parts = output is OutputKind.FILES or (isinstance(result, JobResult) and bool(result.urls))
    directory = _directory(destination, "download_result")
    if directory is not None:
        files = await _download.land(links, result, directory, parts=parts, **landing)
    else:
        async with _download.stage(links, result, parts=parts, **landing) as staged:
            files = [await _deliver(destination, file) for file in staged]
    for file in files:
        _ui.downloaded(file.job_id, Path(file.path).name, file.size)
    return files


async def _deliver(block: Any, file: DownloadedFile) -> DownloadedFile:
    """Hands a staged file to a storage block: streamed from disk where the block can, else as bytes."""
    name = Path(file.path).name
    try:
        if callable(getattr(block, "upload_from_path", None)):
            where = await _call_block(block, "upload_from_path", file.path, name)
        elif isinstance(block, RemoteFileSystem):
            where = f"{block.basepath.rstrip('/')}/{name}"
            await anyio.to_thread.run_sync(block.filesystem.put_file, file.path, where)
        else:
            where = await _call_block(block, "write_path", name, await anyio.Path(file.path).read_bytes())
    except Exception as error:
        text = f"the {type(block).__name__} block refused {escape_control(name)} ({type(error).__name__}: {error})"
        text += "; the result's link still works until it expires: run the download again"
        raise DestinationError(text, destination=type(block).__name__, url=file.url, job_id=file.job_id) from error
    return file.model_copy(update={"path": where if isinstance(where, str) and where else name})


async def _call_block(block: Any, method: str, *args: Any) -> Any:
    """A block method without blocking the loop: its async twin when it has one, else the sync one in a thread."""
    twin = getattr(block, f"a{method}", None)
    if twin is not None and inspect.iscoroutinefunction(twin):
        return await twin(*args)
    result = await anyio.to_thread.run_sync(lambda: getattr(block, method)(*args))
    return await result if inspect.isawaitable(result) else result


@pdfco_task(task_run_name="download-result")
async def download_result(
    result: JobResult | str,
    destination: Destination = ".",
    *,
    filename: str | None = None,
    credentials: PdfcoCredentials | None = None,
    fingerprint: bool = False,
    verify_etag: bool = False,
    durable: bool = False,
) -> DownloadedFile:
    """Downloads one result file into a directory or a Prefect storage block; a file of the same name is replaced.

    How it streams, resumes and lands whole: design note Result links and files.

    Args:
        result: A ``JobResult`` (from ``wait_for_job`` or ``check_job``) or a result URL.
        destination: A directory (created if missing), or a storage block (``RemoteFileSystem``, ``S3Bucket``...).
        filename: The name instead of the link's last path segment; sanitised the same way.
        credentials: A credentials block whose ``allowed_result_hosts`` applies (its key is never sent to links).
        fingerprint: Compute the SHA-256 while streaming (``DownloadedFile.sha256``; ~0.85 s of CPU per GiB).
        verify_etag: Check the MD5 S3's ETag states (~1.4 s of CPU per GiB).
        durable: fsync before the rename, so even a power cut leaves no partial file (the disk's write time).

    Returns:
        Where the file landed, its size and the digests asked for.

    Raises:
        ResultExpiredError, ResultNotReadyError, ChecksumMismatchError, FileTransferError: The link failed.
        DestinationError: The destination cannot take the file; the link still works.

    Example:
        ```python
        @flow
        def report() -> str:
            credentials = PdfcoCredentials.load("pdfco")
            result = wait_for_job(credentials, html_to_pdf(credentials, "<h1>Report</h1>", name="report.pdf"))
            return download_result(result, "./output").path
        ```
    """
    links = await _links_for(credentials, "download_result", [result])
    checks: Landing = {"filename": filename, "fingerprint": fingerprint, "verify_etag": verify_etag, "durable": durable}
    files = await land_result(links, result, destination, **checks)
    _ui.run_logger().info("Downloaded %s (%s bytes)", escape_control(Path(files[0].path).name), f"{files[0].size:,}")
    return files[0]


@pdfco_task(task_run_name="download-result-files")
async def download_result_files(
    result: JobResult | str,
    destination: Destination = ".",
    *,
    credentials: PdfcoCredentials | None = None,
    fingerprint: bool = False,
    verify_etag: bool = False,
    durable: bool = False,
) -> list[DownloadedFile]:
    """Downloads every file of a result (each part of a split, each page image), each as ``download_result`` lands one.

    The parts are the result's ``urls``, else the links in the JSON list an async split answers; ``fingerprint``,
    ``verify_etag`` and ``durable`` are as for ``download_result``.

    Args:
        result: A ``JobResult`` or a result URL.
        destination: A directory or a storage block (as for ``download_result``).
        credentials: A credentials block whose ``allowed_result_hosts`` applies.

    Returns:
        One ``DownloadedFile`` per part, in order.

    Example:
        ```python
        @flow
        def pages(url: str) -> int:
            credentials = PdfcoCredentials.load("pdfco")
            parts = wait_for_job(credentials, split_pdf(credentials, url, pages="*"))
            return len(download_result_files(parts, "./pages"))
        ```
    """
    links = await _links_for(credentials, "download_result_files", [result])
    checks: Landing = {"fingerprint": fingerprint, "verify_etag": verify_etag, "durable": durable}
    files = await land_result(links, result, destination, output=OutputKind.FILES, **checks)
    _ui.run_logger().info("Downloaded %d file(s), %s bytes", len(files), f"{sum(f.size for f in files):,}")
    return files


@pdfco_task(task_run_name="download-results")
async def download_results(
    results: Sequence[JobResult | str | PdfcoError],
    destination: Destination = ".",
    *,
    credentials: PdfcoCredentials | None = None,
    max_concurrency: int = 16,
    fingerprint: bool = False,
    verify_etag: bool = False,
    durable: bool = False,
) -> list[DownloadedFile | PdfcoError]:
    """Downloads many results into one destination in one task run, ``max_concurrency`` at once.

    A later result that shares a name lands as ``name-<index>.ext``; a failure is handed back in its place.
    ``fingerprint``, ``verify_etag`` and ``durable`` are as for ``download_result``.

    Args:
        results: ``JobResult``s or result URLs (one file each), or errors to pass through.
        destination: A directory or a storage block (as for ``download_result``).
        credentials: A credentials block whose ``allowed_result_hosts`` applies.
        max_concurrency: Files in flight at once.

    Returns:
        In order: each landed file, or the typed error of its result.

    Example:
        ```python
        @flow
        def pages() -> int:
            credentials = PdfcoCredentials.load("pdfco")
            jobs = [html_to_pdf(credentials, f"<h1>{n}</h1>") for n in range(3)]
            return len(download_results(wait_for_jobs(credentials, jobs), "./pages"))
        ```
    """
    if isinstance(results, (str, bytes)) or not isinstance(results, Sequence):
        raise InvalidParametersError("download_results", [f"results: expected a list, got {type(results).__name__}"])
    check_number(max_concurrency, "max_concurrency", caller="download_results", maximum=1000)
    links = await _links_for(credentials, "download_results", [r for r in results if not isinstance(r, PdfcoError)])
    _directory(destination, "download_results")
    checks: Landing = {"fingerprint": fingerprint, "verify_etag": verify_etag, "durable": durable}
    slots, taken = asyncio.Semaphore(int(max_concurrency)), set[str]()

    async def one(index: int, result: JobResult | str | PdfcoError) -> DownloadedFile | PdfcoError:
        if isinstance(result, PdfcoError):
            return result
        async with slots:
            try:
                landing: Landing = {**checks, "taken": taken, "index": index}
                files = await land_result(links, result, destination, **landing)
            except PdfcoError as error:
                where = safe_url(str(getattr(result, "url", result)))
                _ui.run_logger().warning("Result %d (%s): %s", index, where, error)
                return error
        return files[0]

    landed = await asyncio.gather(*(one(index, result) for index, result in enumerate(results)))
    failed = sum(isinstance(item, PdfcoError) for item in landed)
    _ui.run_logger().info(
        "Downloaded %d of %d result(s)%s", len(landed) - failed, len(landed), f"; {failed} failed" if failed else ""
    )
    await _ui.publish_table()
    return list(landed)


async def _fetch(
    result: JobResult | str, max_bytes: int, credentials: PdfcoCredentials | None, caller: str
) -> tuple[bytes, str | None, str]:
    limit = int(check_number(max_bytes, "max_bytes", caller=caller))
    links = await _links_for(credentials, caller, [result])
    url, valid_till, _ = _download.result_link(result)
    content, content_type = await _download.fetch(links, url, max_bytes=limit, valid_till=valid_till)
    return content, content_type, url


@pdfco_task(task_run_name="fetch-result-text")
async def fetch_result_text(
    result: JobResult | str,
    *,
    max_bytes: int = MAX_FETCH_BYTES,
    encoding: str | None = None,
    credentials: PdfcoCredentials | None = None,
) -> str:
    """Reads a text result (PDF to text, CSV, HTML, XML...) into a string, refusing one over ``max_bytes``.

    Args:
        result: A ``JobResult`` or a result URL.
        max_bytes: The most bytes to hold in memory (50 MB by default); download bigger results to a file.
        encoding: The text's encoding, else the declared charset, else UTF-8 (bad bytes become U+FFFD).
        credentials: A credentials block whose ``allowed_result_hosts`` applies.

    Returns:
        The text, decoded.

    Example:
        ```python
        @flow
        def words(url: str) -> int:
            credentials = PdfcoCredentials.load("pdfco")
            return len(fetch_result_text(wait_for_job(credentials, pdf_to_text(credentials, url))).split())
        ```
    """
    content, content_type, _ = await _fetch(result, max_bytes, credentials, "fetch_result_text")
    return _download.decode_text(content, content_type, encoding)


@pdfco_task(task_run_name="fetch-result-json")
async def fetch_result_json(
    result: JobResult | str, *, max_bytes: int = MAX_FETCH_BYTES, credentials: PdfcoCredentials | None = None
) -> Any:
    """Reads a JSON result (PDF to JSON, a parser's fields, an async split's list of links) and parses it.

    Args:
        result: A ``JobResult`` or a result URL.
        max_bytes: The most bytes to hold in memory (50 MB by default).
        credentials: A credentials block whose ``allowed_result_hosts`` applies.

    Returns:
        The parsed JSON.

    Example:
        ```python
        @flow
        def invoice_total(url: str) -> object:
            credentials = PdfcoCredentials.load("pdfco")
            return fetch_result_json(wait_for_job(credentials, parse_invoice(credentials, url)))
        ```
    """
    content, _, url = await _fetch(result, max_bytes, credentials, "fetch_result_json")
    return _download.decode_json(content, url)


@pdfco_task(task_run_name="upload-file")
async def upload_file(
    credentials: PdfcoCredentials, path: str | os.PathLike[str], *, name: str | None = None, verify_etag: bool = False
) -> str:
    """Uploads a local file (up to 2 GB) into PDF.co's temporary storage, where it stays an hour.

    Args:
        credentials: The PDF.co credentials block.
        path: The local file.
        name: The name PDF.co gives the file (default: the local file's name).
        verify_etag: Compare the file's MD5 with the ETag the file host answers (~1.4 s of CPU per GiB).

    Returns:
        The uploaded file's URL: pass it as ``url`` to an operation.

    Raises:
        LocalFileNotFoundError, FileTooLargeError: The file cannot be uploaded; nothing was sent.

    Example:
        ```python
        @flow
        def contract(path: str) -> str | None:
            credentials = PdfcoCredentials.load("pdfco")
            return wait_for_job(credentials, document_to_pdf(credentials, upload_file(credentials, path))).url
        ```
    """
    client = await shared_client(require_credentials(credentials, "upload_file"))
    url = await client.upload(path, name=name, verify_etag=verify_etag)  # the path is checked there
    _ui.run_logger().info("Uploaded %s to PDF.co's temporary storage (kept an hour)", escape_control(Path(path).name))
    return url
