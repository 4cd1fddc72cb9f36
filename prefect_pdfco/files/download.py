"""Results out of PDF.co: the download tasks, each also a plain coroutine.

- ``download_result`` lands one result in a directory or a Prefect storage block; ``download_result_files``
  expands multi-file results (async split's JSON list of links, or ``urls``) and lands every part.
- ``fetch_result_text`` and ``fetch_result_json`` read text-like results into memory, up to a limit.

Every download streams in batches of 1 MiB (memory does not grow with the file), lands atomically through a
temporary file, resumes an interrupted transfer with a Range request, and retries transient failures. Digests
are a choice, off by default so that a download runs at disk speed: ``fingerprint=True`` computes the SHA-256
(``DownloadedFile.sha256``, about 0.85 s of one core per GiB), ``verify_etag=True`` checks the MD5 that S3's
ETag states for a single-part object (about 1.4 s of one core per GiB), the integrity check there is: PDF.co
sends no checksum of its own. The temporary file goes on error, cancellation and SIGTERM; a SIGKILL's leftovers are
swept by the next download into the same place. Result links are fetched without the API key, through one
connection pool per process and event loop (``linkclient``), never from link-local or cloud metadata addresses
(see ``allowed_result_hosts`` on the credentials block). A destination that cannot take the file raises
``DestinationError``: the link still works, so only the download needs to run again.

For code that already runs in an event loop and wants no task run per file, each task's own function is public
as a coroutine: ``adownload_result`` is ``download_result.fn``, and so are ``adownload_result_files``,
``afetch_result_text`` and ``afetch_result_json``.

Example:
    Land the results of many jobs at once from an async flow:
    ```python
    import asyncio
    from prefect import flow
    from prefect_pdfco import JobResult, PdfcoCredentials, wait_for_jobs
    from prefect_pdfco.files import adownload_result

    @flow
    async def land_all(job_ids: list[str]) -> list[str]:
        credentials = await PdfcoCredentials.aload("pdfco")
        outcomes = await wait_for_jobs.aio(credentials, job_ids)
        done = [outcome for outcome in outcomes if isinstance(outcome, JobResult)]
        landed = await asyncio.gather(*(adownload_result(result, "out/") for result in done))
        return [file.path for file in landed]
    ```
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from prefect.runtime import task_run as runtime_task_run

from prefect_pdfco._retry import DEFAULT_RETRY_POLICY, RetryPolicy
from prefect_pdfco.credentials import PdfcoCredentials
from prefect_pdfco.files.landing import land, land_parts
from prefect_pdfco.files.linkclient import link_client
from prefect_pdfco.files.links import (
    Checks,
    DownloadedFile,
    ResultRef,
    check_download_args,
    decode_text,
    fetch_bytes,
    parse_json,
    part_links,
    result_link,
)
from prefect_pdfco.files.names import filename_from_url, sanitize_filename
from prefect_pdfco.files.storage import Destination
from prefect_pdfco.files.tempfiles import transfer_task
from prefect_pdfco.models import JobResult
from prefect_pdfco.ui import artifacts as _artifacts

__all__ = [
    "MAX_FETCH_BYTES",
    "DownloadedFile",
    "ResultRef",
    "adownload_result",
    "adownload_result_files",
    "afetch_result_json",
    "afetch_result_text",
    "download_result",
    "download_result_files",
    "fetch_result_json",
    "fetch_result_text",
]

#: The default limit of ``fetch_result_text`` and ``fetch_result_json``: larger results belong in a file.
MAX_FETCH_BYTES = 50 * 1024 * 1024


def _run_name(prefix: str) -> Any:
    def name() -> str:
        result = runtime_task_run.parameters.get("result")
        if isinstance(result, JobResult):
            return f"{prefix}-{result.job_id}"
        return f"{prefix}-{filename_from_url(result) if isinstance(result, str) else 'result'}"

    return name


def _job_id(result: ResultRef) -> str | None:
    return result.job_id if isinstance(result, JobResult) else None


# --- the tasks ------------------------------------------------------------------------------------------------


@transfer_task(task_run_name=_run_name("download"))
async def download_result(
    result: ResultRef,
    destination: Destination,
    *,
    filename: str | None = None,
    credentials: PdfcoCredentials | None = None,
    http: httpx.AsyncClient | None = None,
    retry_policy: RetryPolicy = DEFAULT_RETRY_POLICY,
    fingerprint: bool = False,
    verify_etag: bool = False,
    durable: bool = False,
) -> DownloadedFile:
    """Downloads one result file into a directory or a Prefect storage block.

    Streams in chunks to a temporary file that is renamed (or handed to the block) only once complete, so no
    partial file is ever left. A broken transfer resumes with a Range request; connection errors and 5xx are
    retried. A result whose ``output_link_valid_till`` (or the link's own signed expiry, ``X-Amz-Date`` plus
    ``X-Amz-Expires``) has passed on this machine's clock is refused without a request. The link is fetched
    without the API key, never from a link-local or cloud metadata address (after DNS resolution and at every
    redirect, at most 5), and its name is sanitised so the file stays inside the destination (an existing file
    of that name is replaced). Its coroutine is ``adownload_result``.

    Args:
        result: A ``JobResult`` (from ``wait_for_job`` or ``check_job``) or a result URL.
        destination: A directory (created if missing), or a storage block: ``LocalFileSystem``,
            ``RemoteFileSystem``, or an object-storage block with ``upload_from_path`` such as prefect-aws's
            ``S3Bucket``. Other blocks with only ``write_path`` get the file's bytes in one piece.
        filename: The file name to use instead of the link's last path segment; sanitised the same way.
        credentials: A credentials block whose ``allowed_result_hosts`` applies (its API key is not used).
        http: An httpx client to use instead of the process's shared one (it must not carry an ``x-api-key``
            header); only the link itself is checked against the allowed hosts then, not its redirects.
        retry_policy: Attempts and delays for transient failures.
        fingerprint: Compute the file's SHA-256 while it streams (``DownloadedFile.sha256``, else None), for
            lineage or deduplication. Costs about 0.85 s of one core per GiB (SHA-256 runs at ~1.2 GiB/s);
            off by default, so that a download runs at the speed of the network and the disk.
        verify_etag: Check the file's MD5 against the one S3 states in its ETag (a single-part object: 32 hex
            digits without ``-``); a difference raises ``ChecksumMismatchError`` and keeps nothing. Costs an MD5
            pass, about 1.4 s of one core per GiB (~0.6-0.8 GiB/s). An ETag that states no MD5 (multipart) is
            logged as unverifiable and the file lands; ``DownloadedFile.etag_verified`` says which happened.
        durable: In a directory, fsync the file before renaming it into place, so that even a crash of the
            machine (power, kernel) cannot leave the name pointing at a partial file. Off by default: the
            rename is atomic for every reader and survives the process's death either way, and the fsync costs
            the disk's write time of the whole file after the last byte arrived (a 1 GiB download then lands
            at about half the speed here: ``benchmarks/download_throughput.py``). Blocks get the staged file
            either way.

    Returns:
        Where the file landed, its size, and its SHA-256 when ``fingerprint=True``.

    Raises:
        InvalidParametersError: An argument of the wrong type (``result`` not a ``JobResult`` or URL...).
        DestinationError: The destination cannot take the file (not a directory, read-only, disk full...); the
            link still works until it expires, so only the download needs to run again.
        ResultExpiredError: The link has expired (before or during the request); names the expiry time.
        ResultNotReadyError: The job has no result yet (not ``success``, or 404 from the file host).
        ChecksumMismatchError: ``verify_etag=True`` and the MD5 differs from the ETag's.
        FileTransferError: The file host refused the link.
        PdfcoConnectionError, ServerError: The transfer kept failing after the retries.

    Example:
        Convert a web page and keep the PDF:
        ```python
        from prefect import flow
        from prefect_pdfco import PdfcoCredentials, download_result, url_to_pdf, wait_for_job

        @flow
        def snapshot(page: str) -> str:
            credentials = PdfcoCredentials.load("pdfco")
            result = wait_for_job(credentials, url_to_pdf(credentials, page, name="page.pdf").job_id)
            return download_result(result, "out/").path

        snapshot("https://example.com")
        ```
    """
    ref, policy = check_download_args(
        "download_result",
        result,
        destination=destination,
        filename=filename,
        retry_policy=retry_policy,
        credentials=credentials,
        fingerprint=fingerprint,
        verify_etag=verify_etag,
        durable=durable,
    )
    url, valid_till = result_link(ref)
    name = sanitize_filename(filename) if filename is not None else filename_from_url(url)
    client = await link_client(http, policy=policy)
    landed = await land(
        client,
        url,
        destination,
        name,
        valid_till=valid_till,
        retry_policy=retry_policy,
        policy=policy,
        job_id=_job_id(ref),
        checks=Checks(fingerprint, verify_etag, durable),
    )
    await _artifacts.record_download(_job_id(ref), Path(landed.path).name, landed.size)
    return landed


@transfer_task(task_run_name=_run_name("download-files"))
async def download_result_files(
    result: ResultRef,
    destination: Destination,
    *,
    credentials: PdfcoCredentials | None = None,
    http: httpx.AsyncClient | None = None,
    retry_policy: RetryPolicy = DEFAULT_RETRY_POLICY,
    fingerprint: bool = False,
    verify_etag: bool = False,
    durable: bool = False,
) -> list[DownloadedFile]:
    """Downloads every file of a result: each part of a split, or the one file of anything else.

    The parts come from ``urls`` when the result lists them, else from the JSON list of links that an async
    split's result URL points to. Parts download one after the other, each like ``download_result`` does,
    under their links' sanitised names (``-2``, ``-3``... when two parts share one). Its coroutine is
    ``adownload_result_files``.

    Args:
        result: A ``JobResult`` or a result URL.
        destination: A directory or a Prefect storage block (as for ``download_result``).
        credentials, http, retry_policy, fingerprint, verify_etag, durable: As for ``download_result`` (each
            part).

    Returns:
        One ``DownloadedFile`` per part, in order.

    Raises:
        DestinationError, ResultExpiredError, ResultNotReadyError, ChecksumMismatchError, FileTransferError: As
            for ``download_result``.

    Example:
        Split a PDF into single pages:
        ```python
        from prefect import flow
        from prefect_pdfco import PdfcoCredentials, download_result_files, split_pdf, wait_for_job

        @flow
        def pages(url: str) -> list[str]:
            credentials = PdfcoCredentials.load("pdfco")
            job = split_pdf(credentials, url, pages="*")
            parts = download_result_files(wait_for_job(credentials, job.job_id), "pages/")
            return [part.path for part in parts]

        pages("https://example.com/report.pdf")
        ```
    """
    ref, policy = check_download_args(
        "download_result_files",
        result,
        destination=destination,
        retry_policy=retry_policy,
        credentials=credentials,
        fingerprint=fingerprint,
        verify_etag=verify_etag,
        durable=durable,
    )
    checks = Checks(fingerprint, verify_etag, durable)
    client = await link_client(http, policy=policy)
    parts = await part_links(client, ref, retry_policy=retry_policy, policy=policy, checks=checks)
    landed = await land_parts(
        client, parts, destination, retry_policy=retry_policy, policy=policy, job_id=_job_id(ref), checks=checks
    )
    for item in landed:
        await _artifacts.record_download(_job_id(ref), Path(item.path).name, item.size)
    return landed


async def _fetch(
    caller: str, result: ResultRef, max_bytes: int, encoding: str | None, http: Any, retry_policy: Any, credentials: Any
) -> tuple[bytes, str, str | None]:
    """The checked, whole content of a result's one link, its URL and declared Content-Type."""
    ref, policy = check_download_args(
        caller, result, max_bytes=max_bytes, encoding=encoding, retry_policy=retry_policy, credentials=credentials
    )
    url, valid_till = result_link(ref)
    client = await link_client(http, policy=policy)
    content, done = await fetch_bytes(
        client, url, valid_till=valid_till, retry_policy=retry_policy, max_bytes=max_bytes, policy=policy
    )
    return content, url, done.content_type


@transfer_task(task_run_name=_run_name("fetch-text"))
async def fetch_result_text(
    result: ResultRef,
    *,
    max_bytes: int = MAX_FETCH_BYTES,
    encoding: str | None = None,
    credentials: PdfcoCredentials | None = None,
    http: httpx.AsyncClient | None = None,
    retry_policy: RetryPolicy = DEFAULT_RETRY_POLICY,
) -> str:
    """Reads a text result (PDF to text, CSV, HTML, XML...) into a string.

    Refuses a result over ``max_bytes`` (from its Content-Length before reading, else as soon as it is
    exceeded); download those to a file instead. Decodes with ``encoding``, else the declared charset, else
    UTF-8; undecodable bytes become U+FFFD. Retries, resumption and expiry checks as for ``download_result``.
    Its coroutine is ``afetch_result_text``.

    Args:
        result: A ``JobResult`` or a result URL.
        max_bytes: The most bytes to hold in memory (50 MB by default).
        encoding: The text's encoding, when you know better than the file host.
        credentials, http, retry_policy: As for ``download_result``.

    Returns:
        The text.

    Raises:
        ResultTooLargeError: Over ``max_bytes``.
        ResultExpiredError, ResultNotReadyError, FileTransferError: As for ``download_result``.

    Example:
        Count the words of a PDF:
        ```python
        from prefect import flow
        from prefect_pdfco import PdfcoCredentials, fetch_result_text, pdf_to_text, wait_for_job

        @flow
        def word_count(url: str) -> int:
            credentials = PdfcoCredentials.load("pdfco")
            result = wait_for_job(credentials, pdf_to_text(credentials, url).job_id)
            return len(fetch_result_text(result).split())

        word_count("https://example.com/report.pdf")
        ```
    """
    content, _, content_type = await _fetch(
        "fetch_result_text", result, max_bytes, encoding, http, retry_policy, credentials
    )
    return decode_text(content, content_type, encoding)


@transfer_task(task_run_name=_run_name("fetch-json"))
async def fetch_result_json(
    result: ResultRef,
    *,
    max_bytes: int = MAX_FETCH_BYTES,
    credentials: PdfcoCredentials | None = None,
    http: httpx.AsyncClient | None = None,
    retry_policy: RetryPolicy = DEFAULT_RETRY_POLICY,
) -> Any:
    """Reads a JSON result (PDF to JSON, document parser, an async split's list of links...) and parses it.

    Same limits and checks as ``fetch_result_text``. Its coroutine is ``afetch_result_json``.

    Args:
        result: A ``JobResult`` or a result URL.
        max_bytes: The most bytes to hold in memory (50 MB by default).
        credentials, http, retry_policy: As for ``download_result``.

    Returns:
        The parsed JSON.

    Raises:
        UnexpectedResponseError: The content is not JSON.
        ResultTooLargeError, ResultExpiredError, ResultNotReadyError: As for ``fetch_result_text``.

    Example:
        Read an invoice's number:
        ```python
        from prefect import flow
        from prefect_pdfco import PdfcoCredentials, fetch_result_json, parse_invoice, wait_for_job

        @flow
        def invoice_number(url: str) -> str:
            credentials = PdfcoCredentials.load("pdfco")
            fields = fetch_result_json(wait_for_job(credentials, parse_invoice(credentials, url).job_id))
            return str(fields["invoice"]["invoiceNo"])

        invoice_number("https://example.com/invoice.pdf")
        ```
    """
    content, url, _ = await _fetch("fetch_result_json", result, max_bytes, None, http, retry_policy, credentials)
    return parse_json(content, url)


# The coroutines: each download task's own function, for code that already runs in an event loop.
adownload_result = download_result.fn
adownload_result_files = download_result_files.fn
afetch_result_text = fetch_result_text.fn
afetch_result_json = fetch_result_json.fn
