"""Typed tasks that make PDFs: from HTML (or an HTML template), a web page, office documents and images."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import SecretStr

from prefect_pdfco.credentials import PdfcoCredentials
from prefect_pdfco.models import JobSubmission
from prefect_pdfco.operations.models import HtmlToPdfParams, MultiUrlParams, UrlToPdfParams
from prefect_pdfco.operations.params import UrlInputParams
from prefect_pdfco.operations.tasks._common import operation_task, submit_operation

__all__ = ["document_to_pdf", "html_to_pdf", "image_to_pdf", "url_to_pdf"]


@operation_task
async def html_to_pdf(
    credentials: PdfcoCredentials,
    html: str | None = None,
    *,
    template_id: str | int | None = None,
    template_data: Mapping[str, Any] | Sequence[Any] | str | None = None,
    paper_size: str | None = None,
    orientation: str | None = None,
    margins: str | None = None,
    print_background: bool | None = None,
    media_type: str | None = None,
    header: str | None = None,
    footer: str | None = None,
    do_not_wait_full_load: bool | None = None,
    name: str | None = None,
    expiration: int | None = None,
    callback: str | None = None,
    profiles: Mapping[str, Any] | str | None = None,
    extra: dict[str, Any] | None = None,
) -> JobSubmission:
    """Renders HTML, or one of your PDF.co HTML templates, to a PDF (``/v1/pdf/convert/from/html``).

    Args:
        credentials: The PDF.co credentials block.
        html: The HTML to render. Exactly one of ``html`` and ``template_id``. The whole request must stay under
            4 MB: put bigger pages online and use ``url_to_pdf``.
        template_id: The id of an HTML template saved at app.pdf.co.
        template_data: The template's data: a mapping or list (sent as JSON), or JSON/CSV text.
        paper_size: ``Letter`` (PDF.co's default), ``A4``... or a custom ``"200mm 300mm"``.
        orientation: ``Portrait`` or ``Landscape``.
        margins: CSS-style margins, e.g. ``"10mm"`` or ``"5mm 10mm 5mm 10mm"``.
        print_background: Whether to render backgrounds.
        media_type: The CSS media to apply: ``print``, ``screen`` or ``none``.
        header: HTML drawn at the top of every page.
        footer: HTML drawn at the bottom of every page.
        do_not_wait_full_load: Render without waiting for every resource of the page to load.
        name: The output file name.
        expiration: Minutes the result link lives (1-1440; over 60 needs a Business 2 plan or above).
        callback: A URL PDF.co POSTs to when the job ends.
        profiles: Extra engine options (mapping or PDF.co's JSON-ish text).
        extra: PDF.co parameters not modelled here, sent as given (they win over the ones above).

    Returns:
        The job: pass ``job_id`` to ``wait_for_job``; its result URL is the PDF.

    Raises:
        InvalidParametersError: Neither or both of ``html`` and ``template_id``, or another bad option (nothing
            is sent).
        PdfcoAPIError: PDF.co refused the job.
        PdfcoConnectionError: No answer (the job may exist: it is not re-sent).

    Example:
        ```python
        from prefect import flow
        from prefect_pdfco import PdfcoCredentials, html_to_pdf, wait_for_job

        @flow
        def render_report() -> str | None:
            credentials = PdfcoCredentials.load("pdfco")
            job = html_to_pdf(credentials, "<h1>Daily report</h1>", paper_size="A4", name="report.pdf")
            return wait_for_job(credentials, job.job_id).url

        render_report()
        ```
    """
    return await submit_operation(credentials, "html_to_pdf", HtmlToPdfParams, locals())


@operation_task
async def url_to_pdf(
    credentials: PdfcoCredentials,
    url: str,
    *,
    paper_size: str | None = None,
    orientation: str | None = None,
    margins: str | None = None,
    print_background: bool | None = None,
    media_type: str | None = None,
    header: str | None = None,
    footer: str | None = None,
    do_not_wait_full_load: bool | None = None,
    http_username: str | None = None,
    http_password: str | SecretStr | None = None,
    name: str | None = None,
    expiration: int | None = None,
    callback: str | None = None,
    profiles: Mapping[str, Any] | str | None = None,
    extra: dict[str, Any] | None = None,
) -> JobSubmission:
    """Renders a web page to a PDF (``/v1/pdf/convert/from/url``).

    Args:
        credentials: The PDF.co credentials block.
        url: The page's public http(s) link.
        paper_size: ``Letter`` (PDF.co's default), ``A4``... or a custom ``"200mm 300mm"``.
        orientation: ``Portrait`` or ``Landscape``.
        margins: CSS-style margins, e.g. ``"10mm"``.
        print_background: Whether to render backgrounds.
        media_type: The CSS media to apply: ``print``, ``screen`` or ``none``.
        header: HTML drawn at the top of every page.
        footer: HTML drawn at the bottom of every page.
        do_not_wait_full_load: Render without waiting for every resource of the page to load.
        http_username: User name for the page (HTTP basic auth).
        http_password: Password for the page; a ``SecretStr`` or a string (never logged).
        name: The output file name.
        expiration: Minutes the result link lives (1-1440).
        callback: A URL PDF.co POSTs to when the job ends.
        profiles: Extra engine options.
        extra: PDF.co parameters not modelled here, sent as given.

    Returns:
        The job; its result URL is the PDF.

    Raises:
        InvalidParametersError: A bad option (nothing is sent).
        PdfcoAPIError: PDF.co refused the job.
        PdfcoConnectionError: No answer (the job may exist: it is not re-sent).

    Example:
        ```python
        from prefect import flow
        from prefect_pdfco import PdfcoCredentials, url_to_pdf, wait_for_job

        @flow
        def snapshot(page: str) -> str | None:
            credentials = PdfcoCredentials.load("pdfco")
            job = url_to_pdf(credentials, page, orientation="Landscape")
            return wait_for_job(credentials, job.job_id).url

        snapshot("https://example.com/")
        ```
    """
    return await submit_operation(credentials, "url_to_pdf", UrlToPdfParams, locals())


@operation_task
async def document_to_pdf(
    credentials: PdfcoCredentials,
    url: str,
    *,
    http_username: str | None = None,
    http_password: str | SecretStr | None = None,
    name: str | None = None,
    expiration: int | None = None,
    callback: str | None = None,
    profiles: Mapping[str, Any] | str | None = None,
    extra: dict[str, Any] | None = None,
) -> JobSubmission:
    """Converts a DOC, DOCX, RTF, TXT or XPS document to PDF (``/v1/pdf/convert/from/doc``).

    Args:
        credentials: The PDF.co credentials block.
        url: The document's link (upload local files with ``upload_file`` first).
        http_username: User name for fetching ``url`` (HTTP basic auth).
        http_password: Password for fetching ``url`` (never logged).
        name: The output file name.
        expiration: Minutes the result link lives (1-1440).
        callback: A URL PDF.co POSTs to when the job ends.
        profiles: Extra engine options.
        extra: PDF.co parameters not modelled here, sent as given.

    Returns:
        The job; its result URL is the PDF.

    Raises:
        InvalidParametersError: A bad option (nothing is sent).
        PdfcoAPIError: PDF.co refused the job.
        PdfcoConnectionError: No answer (the job may exist: it is not re-sent).

    Example:
        ```python
        from prefect import flow
        from prefect_pdfco import PdfcoCredentials, document_to_pdf, wait_for_job

        @flow
        def contract_to_pdf(docx_url: str) -> str | None:
            credentials = PdfcoCredentials.load("pdfco")
            job = document_to_pdf(credentials, docx_url, name="contract.pdf")
            return wait_for_job(credentials, job.job_id).url

        contract_to_pdf("https://example.com/contract.docx")
        ```
    """
    return await submit_operation(credentials, "document_to_pdf", UrlInputParams, locals())


@operation_task
async def image_to_pdf(
    credentials: PdfcoCredentials,
    urls: Sequence[str],
    *,
    http_username: str | None = None,
    http_password: str | SecretStr | None = None,
    name: str | None = None,
    expiration: int | None = None,
    callback: str | None = None,
    profiles: Mapping[str, Any] | str | None = None,
    extra: dict[str, Any] | None = None,
) -> JobSubmission:
    """Makes one PDF from images, a page per image in the order given (``/v1/pdf/convert/from/image``).

    Args:
        credentials: The PDF.co credentials block.
        urls: The images' links (JPG, PNG, TIFF...); sent comma-separated, so no link may contain a raw comma.
        http_username: User name for fetching the images (HTTP basic auth).
        http_password: Password for fetching the images (never logged).
        name: The output file name.
        expiration: Minutes the result link lives (1-1440).
        callback: A URL PDF.co POSTs to when the job ends.
        profiles: Extra engine options.
        extra: PDF.co parameters not modelled here, sent as given.

    Returns:
        The job; its result URL is the PDF.

    Raises:
        InvalidParametersError: No images, or a bad link or option (nothing is sent).
        PdfcoAPIError: PDF.co refused the job.
        PdfcoConnectionError: No answer (the job may exist: it is not re-sent).

    Example:
        ```python
        from prefect import flow
        from prefect_pdfco import PdfcoCredentials, image_to_pdf, wait_for_job

        @flow
        def scans_to_pdf(images: list[str]) -> str | None:
            credentials = PdfcoCredentials.load("pdfco")
            job = image_to_pdf(credentials, images, name="scans.pdf")
            return wait_for_job(credentials, job.job_id).url

        scans_to_pdf(["https://example.com/p1.png", "https://example.com/p2.png"])
        ```
    """
    return await submit_operation(credentials, "image_to_pdf", MultiUrlParams, locals())
