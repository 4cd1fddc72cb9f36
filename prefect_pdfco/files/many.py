"""Many results landed in one task run: ``download_results``, the download step of a batch of typed tasks.

A task run per file costs tens of milliseconds of Prefect's own work and API traffic; a batch of hundreds of
results lands here in one, ``max_concurrency`` files at once through the process's shared link client, each
as ``download_result`` lands it (streamed, atomic, resumed, guarded). One failed file does not stop the others.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from prefect_pdfco._retry import DEFAULT_RETRY_POLICY, RetryPolicy
from prefect_pdfco.credentials import PdfcoCredentials
from prefect_pdfco.exceptions import InvalidParametersError, PdfcoError
from prefect_pdfco.files.download import adownload_result
from prefect_pdfco.files.links import DownloadedFile, ResultRef
from prefect_pdfco.files.storage import Destination
from prefect_pdfco.files.tempfiles import transfer_task
from prefect_pdfco.ui.logs import per_item_quiet, run_logger

__all__ = ["adownload_results", "download_results"]

#: Files in flight at once by default.
DEFAULT_DOWNLOADS_IN_FLIGHT = 16


def _run_name() -> str:
    from prefect.runtime import task_run

    results = task_run.parameters.get("results")
    return f"download-results-{len(results)}" if isinstance(results, Sequence) else "download-results"


@transfer_task(task_run_name=_run_name)
async def download_results(
    results: Sequence[ResultRef | PdfcoError],
    destination: Destination,
    *,
    credentials: PdfcoCredentials | None = None,
    max_concurrency: int = DEFAULT_DOWNLOADS_IN_FLIGHT,
    retry_policy: RetryPolicy = DEFAULT_RETRY_POLICY,
    fingerprint: bool = False,
    verify_etag: bool = False,
    durable: bool = False,
) -> list[DownloadedFile | PdfcoError]:
    """Downloads many results into one destination in one task run, ``max_concurrency`` at once.

    Each file lands as ``download_result`` lands it (streamed to a temporary file, renamed once complete,
    resumed and retried, never from a forbidden host); a file that fails leaves its typed error in its place
    and the others still land. The log gets one line for the lot (and one per failure), not one per file. Its
    coroutine is ``adownload_results``.

    Args:
        results: ``JobResult``s or result URLs, one file each; a ``JobError`` (as ``wait_for_jobs`` returns for a
            job that failed) is handed back in its place.
        destination: A directory or a Prefect storage block (as for ``download_result``).
        credentials: A credentials block whose ``allowed_result_hosts`` applies (its API key is not used).
        max_concurrency: Files in flight at once.
        retry_policy: Attempts and delays for transient failures of each file.
        fingerprint, verify_etag, durable: As for ``download_result``: the SHA-256 of each file, a check of each
            file's MD5 against S3's ETag (each priced there, both off by default), an fsync before each rename
            (on by default).

    Returns:
        In the order of ``results``, where each file landed, or the typed error its download ended with.

    Raises:
        InvalidParametersError: ``results`` is not a list, or ``max_concurrency`` is not a positive int.

    Example:
        Convert many pages with a typed task and land every PDF:
        ```python
        import asyncio
        from prefect import flow
        from prefect_pdfco import PdfcoCredentials, download_results, html_to_pdf, wait_for_jobs

        @flow
        async def pages(htmls: list[str]) -> int:
            credentials = await PdfcoCredentials.aload("pdfco")
            jobs = await asyncio.gather(*(html_to_pdf.aio(credentials, html) for html in htmls))
            results = await wait_for_jobs.aio(credentials, [job.job_id for job in jobs])
            files = await download_results.aio(results, "out/")  # a failed job's error stays in its place
            return sum(1 for file in files if not isinstance(file, Exception))

        asyncio.run(pages(["<h1>One</h1>", "<h1>Two</h1>"]))
        ```
    """
    if isinstance(results, (str, bytes)) or not isinstance(results, Sequence):
        raise InvalidParametersError("download_results", ["results: expected a list of JobResults or URLs"])
    if isinstance(max_concurrency, bool) or not isinstance(max_concurrency, int) or max_concurrency < 1:
        raise InvalidParametersError(
            "download_results", [f"max_concurrency: expected a positive int, got {max_concurrency!r}"]
        )
    slots = asyncio.Semaphore(max_concurrency)

    async def one(result: ResultRef | PdfcoError) -> DownloadedFile | PdfcoError:
        if isinstance(result, PdfcoError):
            return result
        async with slots:
            try:
                return await adownload_result(
                    result,
                    destination,
                    credentials=credentials,
                    retry_policy=retry_policy,
                    fingerprint=fingerprint,
                    verify_etag=verify_etag,
                    durable=durable,
                )
            except PdfcoError as error:
                return error

    quiet = per_item_quiet.set(True)
    try:
        landed = list(await asyncio.gather(*(one(result) for result in results)))
    finally:
        per_item_quiet.reset(quiet)
    failed = [outcome for outcome in landed if isinstance(outcome, PdfcoError)]
    logger = run_logger()
    logger.info("Downloaded %d of %d results", len(landed) - len(failed), len(landed))
    for error in failed[:20]:
        logger.warning("Download failed: %s", error)
    return landed


adownload_results = download_results.fn
