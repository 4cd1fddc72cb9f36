"""Typed tasks that rearrange pages: merge, split, rotate, delete.

Mind the page numbering: split and delete-pages count from 1, rotate (like most endpoints) from 0.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field
from typing_extensions import Unpack

from prefect_pdfco.credentials import PdfcoCredentials
from prefect_pdfco.models import JobSubmission
from prefect_pdfco.operations.options import (
    Link,
    LinkOptions,
    Links,
    PageRanges,
    PageRangesFrom1,
    PdfOptions,
    Sent,
    SplitRanges,
)
from prefect_pdfco.operations.tasks._common import operation_task, submit_operation

__all__ = ["delete_pages", "merge_pdfs", "rotate_pages", "split_pdf"]


def _quarter_turns(value: int) -> int:
    if value % 90 or value == 0 or abs(value) >= 360:
        raise ValueError("expected 90, 180, 270 or their negatives (-90 turns counter-clockwise)")
    return value


#: Degrees clockwise, a non-zero multiple of 90 under a full turn.
QuarterTurns = Annotated[int, Sent(Annotated[int, Field(strict=True), AfterValidator(_quarter_turns)])]


@operation_task
async def merge_pdfs(credentials: PdfcoCredentials, urls: Links, **options: Unpack[LinkOptions]) -> JobSubmission:
    """Merges PDFs into one, in the order given (``/v1/pdf/merge``).

    PDF.co's merge takes no password: unlock protected inputs with ``remove_password`` first.

    Args:
        urls: The PDFs' links, e.g. result URLs of earlier jobs; sent as one comma-separated ``url``, so no
            link may contain a raw comma.

    Returns:
        The job; its result URL is the merged PDF.

    Raises:
        InvalidParametersError: No inputs, or a link PDF.co cannot fetch (nothing is sent).

    Example:
        Put a cover made from HTML in front of a report:
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
    return await submit_operation(credentials, "merge", locals())


@operation_task
async def split_pdf(
    credentials: PdfcoCredentials, url: Link, pages: SplitRanges = "*", **options: Unpack[PdfOptions]
) -> JobSubmission:
    """Splits a PDF into parts, one per page range (``/v1/pdf/split``).

    Pages count from 1 here (as in delete-pages), unlike rotate and most other endpoints.

    Args:
        url: The PDF's link.
        pages: **1-based** ranges, one part each: ``"1-2,3-"`` gives two parts; ``"*"`` (the default) one part
            per page; ``"!1"`` counts from the end.
        name: The base name of the parts (``part.pdf`` gives ``part-1.pdf``, ``part-2.pdf``...).

    Returns:
        The job. Its result URL is a JSON file holding the list of part links (PDF.co's async split), not a
        PDF: expand it with ``download_result_files``.

    Raises:
        InvalidParametersError: Bad pages syntax, or page 0 (nothing is sent).
        PdfcoAPIError: PDF.co refused the job (449: a page past the end).

    Example:
        One file per chapter, in a local folder:
        ```python
        from prefect import flow
        from prefect_pdfco import PdfcoCredentials, download_result_files, split_pdf, wait_for_job

        @flow
        def chapters(book: str) -> list[str]:
            credentials = PdfcoCredentials.load("pdfco")
            parts = wait_for_job(credentials, split_pdf(credentials, book, "1-10,11-20,21-").job_id)
            return [part.path for part in download_result_files(parts, "./chapters")]

        chapters("https://example.com/book.pdf")
        ```
    """
    return await submit_operation(credentials, "split", locals())


class RotatePagesOptions(PdfOptions, total=False):
    """The options of ``rotate_pages``, and those of ``PdfOptions``.

    Attributes:
        pages: **0-based** pages to rotate, e.g. ``"0,2"`` or ``"!0"`` (the last). Default: every page.
    """

    pages: PageRanges


@operation_task
async def rotate_pages(
    credentials: PdfcoCredentials, url: Link, angle: QuarterTurns, **options: Unpack[RotatePagesOptions]
) -> JobSubmission:
    """Rotates pages by a quarter turn or more (``/v1/pdf/edit/rotate``).

    Pages count from 0 here (``"0"`` is the first page), unlike split and delete-pages.

    Args:
        url: The PDF's link.
        angle: Degrees clockwise: 90, 180 or 270 (or -90, -180, -270 counter-clockwise).

    Returns:
        The job; the rotated PDF is its result.

    Raises:
        InvalidParametersError: An angle that is not a non-zero multiple of 90 under 360, bad pages syntax...

    Example:
        Several documents at once, each its own task run:
        ```python
        from prefect import flow, unmapped
        from prefect_pdfco import PdfcoCredentials, rotate_pages, wait_for_jobs

        @flow
        def upright(scans: list[str]) -> list[object]:
            credentials = PdfcoCredentials.load("pdfco")
            futures = rotate_pages.map(unmapped(credentials), scans, 90, pages=unmapped("1"))
            return wait_for_jobs(credentials, [future.result().job_id for future in futures])

        upright(["https://example.com/scan-1.pdf", "https://example.com/scan-2.pdf"])
        ```
    """
    return await submit_operation(credentials, "rotate", locals())


@operation_task
async def delete_pages(
    credentials: PdfcoCredentials, url: Link, pages: PageRangesFrom1, **options: Unpack[PdfOptions]
) -> JobSubmission:
    """Deletes pages (``/v1/pdf/edit/delete-pages``).

    Pages count from 1 here, like split; a document needs at least one page left.

    Args:
        url: The PDF's link.
        pages: **1-based** pages to delete, e.g. ``"1"`` (the first), ``"2-3"``, ``"!0"`` (the last).

    Returns:
        The job; what it leaves is the PDF without those pages.

    Raises:
        InvalidParametersError: Bad pages syntax, or page 0 (nothing is sent).
        PdfcoAPIError: PDF.co refused the job (e.g. deleting every page).

    Example:
        Chain jobs by link: the text of a report without its cover page.
        ```python
        from prefect import flow
        from prefect_pdfco import PdfcoCredentials, delete_pages, fetch_result_text, pdf_to_text, wait_for_job

        @flow
        def text_without_cover(url: str, cover: str = "1") -> str:
            credentials = PdfcoCredentials.load("pdfco")
            trimmed = wait_for_job(credentials, delete_pages(credentials, url, cover).job_id)
            text = wait_for_job(credentials, pdf_to_text(credentials, str(trimmed.url)).job_id)
            return fetch_result_text(text)

        text_without_cover("https://example.com/report.pdf")
        ```
    """
    return await submit_operation(credentials, "delete_pages", locals())
