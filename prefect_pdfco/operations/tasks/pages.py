"""Typed tasks that rearrange pages: merge, split, rotate, delete.

Mind the page numbering: split and delete-pages count from 1, rotate (like most endpoints) from 0.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import SecretStr

from prefect_pdfco.credentials import PdfcoCredentials
from prefect_pdfco.models import JobSubmission
from prefect_pdfco.operations.models import DeletePagesParams, MultiUrlParams, RotatePagesParams, SplitPdfParams
from prefect_pdfco.operations.tasks._common import PageArg, operation_task, submit_operation

__all__ = ["delete_pages", "merge_pdfs", "rotate_pages", "split_pdf"]


@operation_task
async def merge_pdfs(
    credentials: PdfcoCredentials,
    urls: Sequence[str],
    *,
    password: str | SecretStr | None = None,
    http_username: str | None = None,
    http_password: str | SecretStr | None = None,
    name: str | None = None,
    expiration: int | None = None,
    callback: str | None = None,
    profiles: Mapping[str, Any] | str | None = None,
    extra: dict[str, Any] | None = None,
) -> JobSubmission:
    """Merges PDFs into one, in the order given (``/v1/pdf/merge``).

    Args:
        credentials: The PDF.co credentials block.
        urls: The PDFs' links, e.g. result URLs of earlier jobs. PDF.co takes them as one comma-separated
            ``url``, so no link may contain a raw comma.
        password: The inputs' password, when they are protected (never logged).
        http_username: User name for fetching the inputs.
        http_password: Password for fetching the inputs (never logged).
        name: The output file name.
        expiration: Minutes the result link lives (1-1440).
        callback: A URL PDF.co POSTs to when the job ends.
        profiles: Extra engine options.
        extra: PDF.co parameters not modelled here, sent as given.

    Returns:
        The job; its result URL is the merged PDF.

    Raises:
        InvalidParametersError: No inputs, or a bad link or option (nothing is sent).
        PdfcoAPIError: PDF.co refused the job.
        PdfcoConnectionError: No answer (the job may exist: it is not re-sent).

    Example:
        ```python
        from prefect import flow
        from prefect_pdfco import PdfcoCredentials, html_to_pdf, merge_pdfs, wait_for_job

        @flow
        def cover_and_report(report_url: str) -> str | None:
            credentials = PdfcoCredentials.load("pdfco")
            cover = html_to_pdf(credentials, "<h1>Q3 report</h1>")
            cover_url = wait_for_job(credentials, cover.job_id).url
            job = merge_pdfs(credentials, [cover_url, report_url], name="q3.pdf")
            return wait_for_job(credentials, job.job_id).url

        cover_and_report("https://example.com/report.pdf")
        ```
    """
    return await submit_operation(credentials, "merge", MultiUrlParams, locals())


@operation_task
async def split_pdf(
    credentials: PdfcoCredentials,
    url: str,
    pages: PageArg = "*",
    *,
    password: str | SecretStr | None = None,
    http_username: str | None = None,
    http_password: str | SecretStr | None = None,
    name: str | None = None,
    expiration: int | None = None,
    callback: str | None = None,
    profiles: Mapping[str, Any] | str | None = None,
    extra: dict[str, Any] | None = None,
) -> JobSubmission:
    """Splits a PDF into parts, one per page range (``/v1/pdf/split``).

    Args:
        credentials: The PDF.co credentials block.
        url: The PDF's link.
        pages: **1-based** ranges, one part each: ``"1-2,3-"`` gives two parts; ``"*"`` (the default) one part
            per page; ``"!1"`` counts from the end.
        password: The PDF's password (never logged).
        http_username: User name for fetching ``url``.
        http_password: Password for fetching ``url`` (never logged).
        name: The base name of the parts (``part.pdf`` gives ``part-1.pdf``, ``part-2.pdf``...).
        expiration: Minutes the part links live (1-1440).
        callback: A URL PDF.co POSTs to when the job ends.
        profiles: Extra engine options.
        extra: PDF.co parameters not modelled here, sent as given.

    Returns:
        The job. Its result URL is a JSON file holding the list of part links (PDF.co's async split), not a
        PDF: expand it with ``download_result_files``.

    Raises:
        InvalidParametersError: Bad pages syntax, or page 0 (nothing is sent).
        PdfcoAPIError: PDF.co refused the job (449: a page past the end).
        PdfcoConnectionError: No answer (the job may exist: it is not re-sent).

    Example:
        ```python
        from prefect import flow
        from prefect_pdfco import PdfcoCredentials, split_pdf, wait_for_job

        @flow
        def chapters(url: str) -> str | None:
            credentials = PdfcoCredentials.load("pdfco")
            job = split_pdf(credentials, url, "1-10,11-20,21-", name="chapter.pdf")
            return wait_for_job(credentials, job.job_id).url  # a JSON list of three links

        chapters("https://example.com/book.pdf")
        ```
    """
    return await submit_operation(credentials, "split", SplitPdfParams, locals())


@operation_task
async def rotate_pages(
    credentials: PdfcoCredentials,
    url: str,
    angle: int,
    *,
    pages: PageArg | None = None,
    password: str | SecretStr | None = None,
    http_username: str | None = None,
    http_password: str | SecretStr | None = None,
    name: str | None = None,
    expiration: int | None = None,
    callback: str | None = None,
    profiles: Mapping[str, Any] | str | None = None,
    extra: dict[str, Any] | None = None,
) -> JobSubmission:
    """Rotates pages by a quarter turn or more (``/v1/pdf/edit/rotate``).

    Args:
        credentials: The PDF.co credentials block.
        url: The PDF's link.
        angle: Degrees clockwise: 90, 180 or 270 (or -90, -180, -270 counter-clockwise).
        pages: **0-based** pages to rotate, e.g. ``"0,2"`` or ``"!0"`` (the last). Default: every page.
        password: The PDF's password (never logged).
        http_username: User name for fetching ``url``.
        http_password: Password for fetching ``url`` (never logged).
        name: The output file name.
        expiration: Minutes the result link lives (1-1440).
        callback: A URL PDF.co POSTs to when the job ends.
        profiles: Extra engine options.
        extra: PDF.co parameters not modelled here, sent as given.

    Returns:
        The job; its result URL is the rotated PDF.

    Raises:
        InvalidParametersError: An angle that is not a non-zero multiple of 90 under 360, bad pages syntax...
        PdfcoAPIError: PDF.co refused the job.
        PdfcoConnectionError: No answer (the job may exist: it is not re-sent).

    Example:
        ```python
        from prefect import flow
        from prefect_pdfco import PdfcoCredentials, rotate_pages, wait_for_job

        @flow
        def fix_scan(url: str) -> str | None:
            credentials = PdfcoCredentials.load("pdfco")
            job = rotate_pages(credentials, url, 90, pages="1")
            return wait_for_job(credentials, job.job_id).url

        fix_scan("https://example.com/scan.pdf")
        ```
    """
    return await submit_operation(credentials, "rotate", RotatePagesParams, locals())


@operation_task
async def delete_pages(
    credentials: PdfcoCredentials,
    url: str,
    pages: PageArg,
    *,
    password: str | SecretStr | None = None,
    http_username: str | None = None,
    http_password: str | SecretStr | None = None,
    name: str | None = None,
    expiration: int | None = None,
    callback: str | None = None,
    profiles: Mapping[str, Any] | str | None = None,
    extra: dict[str, Any] | None = None,
) -> JobSubmission:
    """Deletes pages (``/v1/pdf/edit/delete-pages``).

    Args:
        credentials: The PDF.co credentials block.
        url: The PDF's link.
        pages: **1-based** pages to delete, e.g. ``"1"`` (the first), ``"2-3"``, ``"!0"`` (the last).
        password: The PDF's password (never logged).
        http_username: User name for fetching ``url``.
        http_password: Password for fetching ``url`` (never logged).
        name: The output file name.
        expiration: Minutes the result link lives (1-1440).
        callback: A URL PDF.co POSTs to when the job ends.
        profiles: Extra engine options.
        extra: PDF.co parameters not modelled here, sent as given.

    Returns:
        The job; its result URL is the PDF without those pages.

    Raises:
        InvalidParametersError: Bad pages syntax, or page 0 (nothing is sent).
        PdfcoAPIError: PDF.co refused the job (e.g. deleting every page).
        PdfcoConnectionError: No answer (the job may exist: it is not re-sent).

    Example:
        ```python
        from prefect import flow
        from prefect_pdfco import PdfcoCredentials, delete_pages, wait_for_job

        @flow
        def drop_cover(url: str) -> str | None:
            credentials = PdfcoCredentials.load("pdfco")
            job = delete_pages(credentials, url, "1")
            return wait_for_job(credentials, job.job_id).url

        drop_cover("https://example.com/report.pdf")
        ```
    """
    return await submit_operation(credentials, "delete_pages", DeletePagesParams, locals())
