"""Files in and out of PDF.co: uploads to its temporary storage, streamed downloads of results.

- ``upload_file`` puts a local file (up to 2 GB) into PDF.co's temporary storage through a presigned URL and
  returns the URL that operations take as input.
- ``download_result`` lands one result in a directory or a Prefect storage block; ``download_result_files``
  expands multi-file results (async split's JSON list of links, or ``urls``) and lands every part.
- ``fetch_result_text`` and ``fetch_result_json`` read text-like results into memory, up to a limit.

Every transfer streams in chunks (memory does not grow with the file), lands atomically through a temporary
file, computes size and SHA-256 on the way, resumes an interrupted download with a Range request, and retries
transient failures. The temporary file goes on error, cancellation and SIGTERM; a SIGKILL's leftovers are
swept by the next download into the same place. Result links are fetched by a client that has no API key and
never connects to link-local or cloud metadata addresses (see ``allowed_result_hosts`` on the credentials
block). A destination that cannot take the file raises ``DestinationError``: the link still works, so only the
download needs to run again. The ``a``-prefixed coroutines
(``adownload_result``...) do the work, for code that already runs in an event loop; the tasks wrap them and
work from sync and async flows alike.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

from prefect.cache_policies import NO_CACHE
from prefect.runtime import task_run as runtime_task_run
from typing_extensions import ParamSpec

from prefect_pdfco._tasks import SyncCompatibleTask
from prefect_pdfco._validate import require_credentials
from prefect_pdfco.credentials import PdfcoCredentials
from prefect_pdfco.files.coroutines import (
    MAX_FETCH_BYTES,
    DownloadedFile,
    adownload_result,
    adownload_result_files,
    afetch_result_json,
    afetch_result_text,
    aupload_file,
    check_upload_args,
)
from prefect_pdfco.files.links import ResultRef
from prefect_pdfco.files.names import filename_from_url, sanitize_filename
from prefect_pdfco.files.storage import Destination
from prefect_pdfco.files.tempfiles import termination_cleanup
from prefect_pdfco.files.upload import MAX_UPLOAD_BYTES, upload_path
from prefect_pdfco.models import JobResult

__all__ = [
    "MAX_FETCH_BYTES",
    "MAX_UPLOAD_BYTES",
    "DownloadedFile",
    "ResultRef",
    "adownload_result",
    "adownload_result_files",
    "afetch_result_json",
    "afetch_result_text",
    "aupload_file",
    "download_result",
    "download_result_files",
    "fetch_result_json",
    "fetch_result_text",
    "upload_file",
]

# Transfers retry inside the task (resuming where they broke off): a Prefect retry would start from zero.
# NO_CACHE: a download's effect is a file that may since have been deleted, and a cache key would hash the
# credentials block. Results are not persisted: a fetched text can be 50 MB.
_TASK_OPTIONS: dict[str, Any] = {"retries": 0, "cache_policy": NO_CACHE, "persist_result": False}
P = ParamSpec("P")
R = TypeVar("R")


class _TransferTask(SyncCompatibleTask[P, R]):
    """A file task that, called from the main thread, arms the SIGTERM clean-up of temporary files for the
    duration of the call: from a sync flow the transfer itself runs in Prefect's event-loop thread, where no
    signal handler can be installed (see ``_tempfiles``)."""

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:  # type: ignore[override]
        with termination_cleanup():
            return super().__call__(*args, **kwargs)


def _transfer_task(**options: Any) -> Callable[[Callable[P, Coroutine[Any, Any, R]]], _TransferTask[P, R]]:
    def decorator(fn: Callable[P, Coroutine[Any, Any, R]]) -> _TransferTask[P, R]:
        return _TransferTask(fn=fn, **options)

    return decorator


def _run_name(prefix: str) -> Any:
    def name() -> str:
        result = runtime_task_run.parameters.get("result")
        if isinstance(result, JobResult):
            return f"{prefix}-{result.job_id}"
        return f"{prefix}-{filename_from_url(result) if isinstance(result, str) else 'result'}"

    return name


def _upload_run_name() -> str:
    parameters = runtime_task_run.parameters
    return "upload-" + sanitize_filename(parameters.get("name") or Path(str(parameters.get("path", ""))).name)


# --- the tasks ------------------------------------------------------------------------------------------------


@_transfer_task(task_run_name=_upload_run_name, **_TASK_OPTIONS)
async def upload_file(credentials: PdfcoCredentials, path: str | os.PathLike[str], *, name: str | None = None) -> str:
    """Uploads a local file into PDF.co's temporary storage and returns the URL operations take as input.

    Always through a presigned URL: ``GET /v1/file/upload/get-presigned-url`` (with the API key), then a
    streamed PUT of the file to the file host (without it), with ``Content-Length`` and the Content-Type PDF.co
    pairs with the extension (``.pdf`` -> ``application/pdf``, else ``application/octet-stream``). The file is
    read in 64 KB chunks, so memory does not grow with its size. The PUT is retried on transient failures.
    PDF.co deletes uploaded files after one hour.

    Args:
        credentials: The PDF.co credentials block.
        path: The local file, at most 2 GB.
        name: The name PDF.co gives the file (default: the local file's name); sanitised.

    Returns:
        The file's URL on PDF.co's storage, to pass as an operation's ``url``.

    Raises:
        InvalidParametersError: ``credentials`` is not a ``PdfcoCredentials`` block, or ``path`` or ``name``
            has the wrong type; no request is made (also a ``ValueError``).
        LocalFileNotFoundError: No such file (also a ``FileNotFoundError``); no request is made.
        FileTooLargeError: Over 2 GB; no request is made.
        PdfcoAPIError: PDF.co refused to hand out an upload URL (key, credits...).
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
    async with credentials.get_client() as client:
        return await upload_path(client, path, name=name)


@_transfer_task(task_run_name=_run_name("download"), **_TASK_OPTIONS)
async def download_result(
    result: ResultRef,
    destination: Destination,
    *,
    filename: str | None = None,
    credentials: PdfcoCredentials | None = None,
) -> DownloadedFile:
    """Downloads one result file into a directory or a Prefect storage block.

    Streams in chunks to a temporary file that is renamed (or handed to the block) only once complete, so no
    partial file is ever left. A broken transfer resumes with a Range request; connection errors and 5xx are
    retried. A result whose ``output_link_valid_till`` (or the link's own signed expiry, ``X-Amz-Date`` plus
    ``X-Amz-Expires``) has passed on this machine's clock is refused without a request. The link is fetched
    without the API key, never from a link-local or cloud metadata address (after DNS resolution and at every
    redirect, at most 5), and its name is sanitised so the file stays inside the destination (an existing file
    of that name is replaced).

    Args:
        result: A ``JobResult`` (from ``wait_for_job`` or ``check_job``) or a result URL.
        destination: A directory (created if missing), or a storage block: ``LocalFileSystem``,
            ``RemoteFileSystem``, or an object-storage block with ``upload_from_path`` such as prefect-aws's
            ``S3Bucket``. Other blocks with only ``write_path`` get the file's bytes in one piece.
        filename: The file name to use instead of the link's last path segment; sanitised the same way.
        credentials: A credentials block whose ``allowed_result_hosts`` applies (its API key is not used).

    Returns:
        Where the file landed, its size and SHA-256.

    Raises:
        InvalidParametersError: An argument of the wrong type (``result`` not a ``JobResult`` or URL...).
        DestinationError: The destination cannot take the file (not a directory, read-only, disk full...); the
            link still works until it expires, so only the download needs to run again.
        ResultExpiredError: The link has expired (before or during the request); names the expiry time.
        ResultNotReadyError: The job has no result yet (not ``success``, or 404 from the file host).
        FileTransferError: The file host refused the link.
        PdfcoConnectionError, ServerError: The transfer kept failing after the retries.

    Example:
        Convert a web page and keep the PDF:
        ```python
        from prefect import flow
        from prefect_pdfco import PdfcoCredentials, download_result, submit_job, wait_for_job

        @flow
        def snapshot(page: str) -> str:
            credentials = PdfcoCredentials.load("pdfco")
            job = submit_job(credentials, "/v1/pdf/convert/from/url", {"url": page, "name": "page.pdf"})
            result = wait_for_job(credentials, job.job_id)
            return download_result(result, "out/").path

        snapshot("https://example.com")
        ```
    """
    return await adownload_result(result, destination, filename=filename, credentials=credentials)


@_transfer_task(task_run_name=_run_name("download-files"), **_TASK_OPTIONS)
async def download_result_files(
    result: ResultRef, destination: Destination, *, credentials: PdfcoCredentials | None = None
) -> list[DownloadedFile]:
    """Downloads every file of a result: each part of a split, or the one file of anything else.

    The parts come from ``urls`` when the result lists them, else from the JSON list of links that an async
    split's result URL points to. Parts download one after the other, each like ``download_result`` does,
    under their links' sanitised names (``-2``, ``-3``... when two parts share one).

    Args:
        result: A ``JobResult`` or a result URL.
        destination: A directory or a Prefect storage block (as for ``download_result``).
        credentials: A credentials block whose ``allowed_result_hosts`` applies (its API key is not used).

    Returns:
        One ``DownloadedFile`` per part, in order.

    Raises:
        DestinationError, ResultExpiredError, ResultNotReadyError, FileTransferError: As for
            ``download_result``.

    Example:
        Split a PDF into single pages:
        ```python
        from prefect import flow
        from prefect_pdfco import PdfcoCredentials, download_result_files, submit_job, wait_for_job

        @flow
        def pages(url: str) -> list[str]:
            credentials = PdfcoCredentials.load("pdfco")
            job = submit_job(credentials, "/v1/pdf/split", {"url": url, "pages": "*"})
            parts = download_result_files(wait_for_job(credentials, job.job_id), "pages/")
            return [part.path for part in parts]

        pages("https://example.com/report.pdf")
        ```
    """
    return await adownload_result_files(result, destination, credentials=credentials)


@_transfer_task(task_run_name=_run_name("fetch-text"), **_TASK_OPTIONS)
async def fetch_result_text(
    result: ResultRef,
    *,
    max_bytes: int = MAX_FETCH_BYTES,
    encoding: str | None = None,
    credentials: PdfcoCredentials | None = None,
) -> str:
    """Reads a text result (PDF to text, CSV, HTML, XML...) into a string.

    Refuses a result over ``max_bytes`` (from its Content-Length before reading, else as soon as it is
    exceeded); download those to a file instead. Decodes with ``encoding``, else the declared charset, else
    UTF-8; undecodable bytes become U+FFFD. Retries, resumption and expiry checks as for ``download_result``.

    Args:
        result: A ``JobResult`` or a result URL.
        max_bytes: The most bytes to hold in memory (50 MB by default).
        encoding: The text's encoding, when you know better than the file host.
        credentials: A credentials block whose ``allowed_result_hosts`` applies (its API key is not used).

    Returns:
        The text.

    Raises:
        ResultTooLargeError: Over ``max_bytes``.
        ResultExpiredError, ResultNotReadyError, FileTransferError: As for ``download_result``.

    Example:
        ```python
        from prefect import flow
        from prefect_pdfco import PdfcoCredentials, fetch_result_text, submit_job, wait_for_job

        @flow
        def pdf_text(url: str) -> str:
            credentials = PdfcoCredentials.load("pdfco")
            job = submit_job(credentials, "/v1/pdf/convert/to/text-simple", {"url": url})
            return fetch_result_text(wait_for_job(credentials, job.job_id))

        pdf_text("https://example.com/report.pdf")
        ```
    """
    return await afetch_result_text(result, max_bytes=max_bytes, encoding=encoding, credentials=credentials)


@_transfer_task(task_run_name=_run_name("fetch-json"), **_TASK_OPTIONS)
async def fetch_result_json(
    result: ResultRef, *, max_bytes: int = MAX_FETCH_BYTES, credentials: PdfcoCredentials | None = None
) -> Any:
    """Reads a JSON result (PDF to JSON, document parser, an async split's list of links...) and parses it.

    Args:
        result: A ``JobResult`` or a result URL.
        max_bytes: The most bytes to hold in memory (50 MB by default).
        credentials: A credentials block whose ``allowed_result_hosts`` applies (its API key is not used).

    Returns:
        The parsed JSON.

    Raises:
        UnexpectedResponseError: The content is not JSON.
        ResultTooLargeError, ResultExpiredError, ResultNotReadyError: As for ``fetch_result_text``.

    Example:
        ```python
        from prefect import flow
        from prefect_pdfco import PdfcoCredentials, fetch_result_json, submit_job, wait_for_job

        @flow
        def tables(url: str) -> object:
            credentials = PdfcoCredentials.load("pdfco")
            job = submit_job(credentials, "/v1/pdf/convert/to/json2", {"url": url})
            return fetch_result_json(wait_for_job(credentials, job.job_id))

        tables("https://example.com/report.pdf")
        ```
    """
    return await afetch_result_json(result, max_bytes=max_bytes, credentials=credentials)
