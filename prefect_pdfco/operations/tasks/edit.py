"""Typed tasks that change what is on the pages: add text, images and field values; replace text; compress; OCR."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import SecretStr

from prefect_pdfco.credentials import PdfcoCredentials
from prefect_pdfco.models import JobSubmission
from prefect_pdfco.operations.models import (
    AddToPdfParams,
    CompressPdfParams,
    FormFieldValue,
    ImageAnnotation,
    MakeSearchableParams,
    ReplaceTextParams,
    TextAnnotation,
)
from prefect_pdfco.operations.tasks._common import PageArg, operation_task, submit_operation

__all__ = ["add_to_pdf", "compress_pdf", "make_searchable", "replace_text"]


@operation_task
async def add_to_pdf(
    credentials: PdfcoCredentials,
    url: str,
    *,
    annotations: Sequence[TextAnnotation | Mapping[str, Any]] | None = None,
    images: Sequence[ImageAnnotation | Mapping[str, Any]] | None = None,
    fields: Sequence[FormFieldValue | Mapping[str, Any]] | None = None,
    password: str | SecretStr | None = None,
    http_username: str | None = None,
    http_password: str | SecretStr | None = None,
    name: str | None = None,
    expiration: int | None = None,
    callback: str | None = None,
    profiles: Mapping[str, Any] | str | None = None,
    extra: dict[str, Any] | None = None,
) -> JobSubmission:
    """Adds text, images and form field values to a PDF (``/v1/pdf/edit/add``).

    Args:
        credentials: The PDF.co credentials block.
        url: The PDF's link.
        annotations: Text to draw: ``TextAnnotation(text=..., x=..., y=..., pages="0")`` or mappings with
            PDF.co's keys. Coordinates are points from the page's top-left corner; pages count from 0.
        images: Images to place: ``ImageAnnotation(url=..., x=..., y=..., width=...)``.
        fields: Form field values: ``FormFieldValue(field_name="name", text="Jane")``.
        password: The PDF's password (never logged).
        http_username: User name for fetching ``url``.
        http_password: Password for fetching ``url`` (never logged).
        name: The output file name.
        expiration: Minutes the result link lives (1-1440).
        callback: A URL PDF.co POSTs to when the job ends.
        profiles: Extra engine options.
        extra: PDF.co parameters not modelled here, sent as given.

    Returns:
        The job; its result URL is the edited PDF.

    Raises:
        InvalidParametersError: Nothing to add, or a bad item (nothing is sent).
        PdfcoAPIError: PDF.co refused the job.
        PdfcoConnectionError: No answer (the job may exist: it is not re-sent).

    Example:
        ```python
        from prefect import flow
        from prefect_pdfco import PdfcoCredentials, TextAnnotation, add_to_pdf, wait_for_job

        @flow
        def stamp_paid(url: str) -> str | None:
            credentials = PdfcoCredentials.load("pdfco")
            stamp = TextAnnotation(text="PAID", x=400, y=40, size=24, color="CC0000", pages="0")
            job = add_to_pdf(credentials, url, annotations=[stamp])
            return wait_for_job(credentials, job.job_id).url

        stamp_paid("https://example.com/invoice.pdf")
        ```
    """
    return await submit_operation(credentials, "add_to_pdf", AddToPdfParams, locals())


@operation_task
async def replace_text(
    credentials: PdfcoCredentials,
    url: str,
    search: str | Sequence[str],
    replace: str | Sequence[str],
    *,
    regex: bool | None = None,
    case_sensitive: bool | None = None,
    replacement_limit: int | None = None,
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
    """Searches and replaces text (``/v1/pdf/edit/replace-text``).

    Args:
        credentials: The PDF.co credentials block.
        url: The PDF's link.
        search: The text to find, or several (sent as ``searchStrings``).
        replace: Its replacement; with several search strings, one replacement for all or one each.
        regex: Treat the search strings as regular expressions.
        case_sensitive: Match case.
        replacement_limit: Replace at most this many occurrences per search string (0: all).
        pages: 0-based pages to edit. Default: every page.
        password: The PDF's password (never logged).
        http_username: User name for fetching ``url``.
        http_password: Password for fetching ``url`` (never logged).
        name: The output file name.
        expiration: Minutes the result link lives (1-1440).
        callback: A URL PDF.co POSTs to when the job ends.
        profiles: Extra engine options.
        extra: PDF.co parameters not modelled here, sent as given.

    Returns:
        The job; its result URL is the edited PDF.

    Raises:
        InvalidParametersError: An empty search string, mismatched lists... (nothing is sent).
        PdfcoAPIError: PDF.co refused the job.
        PdfcoConnectionError: No answer (the job may exist: it is not re-sent).

    Example:
        ```python
        from prefect import flow
        from prefect_pdfco import PdfcoCredentials, replace_text, wait_for_job

        @flow
        def rebrand(url: str) -> str | None:
            credentials = PdfcoCredentials.load("pdfco")
            job = replace_text(credentials, url, ["ACME Inc.", "ACME"], ["Globex Corp.", "Globex"])
            return wait_for_job(credentials, job.job_id).url

        rebrand("https://example.com/brochure.pdf")
        ```
    """
    return await submit_operation(credentials, "replace_text", ReplaceTextParams, locals())


@operation_task
async def compress_pdf(
    credentials: PdfcoCredentials,
    url: str,
    *,
    config: Mapping[str, Any] | None = None,
    password: str | SecretStr | None = None,
    http_username: str | None = None,
    http_password: str | SecretStr | None = None,
    name: str | None = None,
    expiration: int | None = None,
    callback: str | None = None,
    profiles: Mapping[str, Any] | str | None = None,
    extra: dict[str, Any] | None = None,
) -> JobSubmission:
    """Makes a PDF smaller (``/v2/pdf/compress``).

    Args:
        credentials: The PDF.co credentials block.
        url: The PDF's link.
        config: PDF.co's compression settings, e.g. ``{"images": {"color": {...}}, "save": {...}}``; PDF.co's
            defaults when omitted.
        password: The PDF's password (never logged).
        http_username: User name for fetching ``url``.
        http_password: Password for fetching ``url`` (never logged).
        name: The output file name.
        expiration: Minutes the result link lives (1-1440).
        callback: A URL PDF.co POSTs to when the job ends.
        profiles: Extra engine options.
        extra: PDF.co parameters not modelled here, sent as given.

    Returns:
        The job; its result URL is the compressed PDF.

    Raises:
        InvalidParametersError: A bad option (nothing is sent).
        PdfcoAPIError: PDF.co refused the job.
        PdfcoConnectionError: No answer (the job may exist: it is not re-sent).

    Example:
        ```python
        from prefect import flow
        from prefect_pdfco import PdfcoCredentials, compress_pdf, wait_for_job

        @flow
        def shrink(url: str) -> str | None:
            credentials = PdfcoCredentials.load("pdfco")
            job = compress_pdf(credentials, url, name="small.pdf")
            return wait_for_job(credentials, job.job_id, initial_poll_seconds=5).url

        shrink("https://example.com/scan.pdf")
        ```
    """
    return await submit_operation(credentials, "compress", CompressPdfParams, locals())


@operation_task
async def make_searchable(
    credentials: PdfcoCredentials,
    url: str,
    *,
    lang: str | None = None,
    pages: PageArg | None = None,
    rect: str | Sequence[float] | None = None,
    password: str | SecretStr | None = None,
    http_username: str | None = None,
    http_password: str | SecretStr | None = None,
    name: str | None = None,
    expiration: int | None = None,
    callback: str | None = None,
    profiles: Mapping[str, Any] | str | None = None,
    extra: dict[str, Any] | None = None,
) -> JobSubmission:
    """OCRs scanned pages into a searchable PDF: a text layer under the images (``/v1/pdf/makesearchable``).

    Args:
        credentials: The PDF.co credentials block.
        url: The scanned PDF's (or image's) link.
        lang: OCR language(s): ``"eng"`` (PDF.co's default), ``"deu"``, ``"eng+deu"``...
        pages: 0-based pages to OCR. Default: every page.
        rect: OCR only this area: ``"x, y, width, height"`` in points.
        password: The PDF's password (never logged).
        http_username: User name for fetching ``url``.
        http_password: Password for fetching ``url`` (never logged).
        name: The output file name.
        expiration: Minutes the result link lives (1-1440).
        callback: A URL PDF.co POSTs to when the job ends.
        profiles: Extra engine options.
        extra: PDF.co parameters not modelled here, sent as given.

    Returns:
        The job; its result URL is the searchable PDF. OCR is slow: PDF.co's KB advises 60-100 s before the
        first check of a big scan; ``get_operation("make_searchable").poll_policy`` starts at 10 s.

    Raises:
        InvalidParametersError: A bad language code or option (nothing is sent).
        PdfcoAPIError: PDF.co refused the job.
        PdfcoConnectionError: No answer (the job may exist: it is not re-sent).

    Example:
        ```python
        from prefect import flow
        from prefect_pdfco import PdfcoCredentials, make_searchable, wait_for_job

        @flow
        def ocr(url: str) -> str | None:
            credentials = PdfcoCredentials.load("pdfco")
            job = make_searchable(credentials, url, lang="eng+deu")
            return wait_for_job(credentials, job.job_id, initial_poll_seconds=10).url

        ocr("https://example.com/scan.pdf")
        ```
    """
    return await submit_operation(credentials, "make_searchable", MakeSearchableParams, locals())
