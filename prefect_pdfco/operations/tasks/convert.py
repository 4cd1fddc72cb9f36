"""Typed tasks that make PDFs: from HTML (or an HTML template), a web page, office documents and images."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from typing_extensions import Unpack

from prefect_pdfco.credentials import PdfcoCredentials
from prefect_pdfco.models import JobSubmission
from prefect_pdfco.operations.options import (
    Json,
    LayoutOptions,
    Link,
    LinkOptions,
    Links,
    OutputOptions,
    Sent,
    TemplateId,
)
from prefect_pdfco.operations.params import NonEmpty
from prefect_pdfco.operations.tasks._common import operation_task, submit_operation

__all__ = ["document_to_pdf", "html_to_pdf", "image_to_pdf", "url_to_pdf"]


class HtmlOptions(LayoutOptions, OutputOptions, total=False):
    """The options of ``html_to_pdf``: page layout, output and job options."""


class WebPageOptions(LayoutOptions, LinkOptions, total=False):
    """The options of ``url_to_pdf``: page layout, and the options of a linked input."""


def _one_source(values: Mapping[str, Any]) -> None:
    if (values["html"] is None) == (values["template_id"] is None):
        raise ValueError("pass exactly one of html or template_id")
    if values["template_data"] is not None and values["template_id"] is None:
        raise ValueError("template_data goes with template_id, not with html")


@operation_task
async def html_to_pdf(
    credentials: PdfcoCredentials,
    html: Annotated[str, Sent(NonEmpty)] | None = None,
    *,
    template_id: TemplateId | None = None,
    template_data: Json | None = None,
    **options: Unpack[HtmlOptions],
) -> JobSubmission:
    """Renders HTML, or one of your PDF.co HTML templates, to a PDF (``/v1/pdf/convert/from/html``).

    Args:
        credentials: The PDF.co credentials block.
        html: The HTML to render. Exactly one of ``html`` and ``template_id``. The whole request must stay under
            4 MB: put bigger pages online and use ``url_to_pdf``.
        template_id: The id of an HTML template saved at app.pdf.co.
        template_data: The template's data: a mapping or list (sent as JSON), or JSON/CSV text.

    Returns:
        The job: pass ``job_id`` to ``wait_for_job``; its result URL is the PDF.

    Raises:
        InvalidParametersError: Neither or both of ``html`` and ``template_id``, or another bad option (nothing
            is sent).

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
    return await submit_operation(credentials, "html_to_pdf", locals(), _one_source)


@operation_task
async def url_to_pdf(credentials: PdfcoCredentials, url: Link, **options: Unpack[WebPageOptions]) -> JobSubmission:
    """Renders a web page to a PDF (``/v1/pdf/convert/from/url``).

    Args:
        credentials: The PDF.co credentials block.
        url: The page's public http(s) link.
        http_username: User name for the page (HTTP basic auth).
        http_password: Password for the page; a ``SecretStr`` or a string (never logged).

    Returns:
        The job; its result URL is the PDF.

    Raises:
        InvalidParametersError: A bad option (nothing is sent).

    Example:
        In an async flow, ``.aio`` is the awaitable spelling of every task:
        ```python
        import asyncio

        from prefect import flow
        from prefect_pdfco import PdfcoCredentials, url_to_pdf, wait_for_job

        @flow
        async def snapshot(page: str) -> str | None:
            credentials = await PdfcoCredentials.aload("pdfco")
            job = await url_to_pdf.aio(credentials, page, orientation="Landscape", media_type="screen")
            result = await wait_for_job.aio(credentials, job.job_id)
            return result.url

        asyncio.run(snapshot("https://example.com/"))
        ```
    """
    return await submit_operation(credentials, "url_to_pdf", locals())


@operation_task
async def document_to_pdf(credentials: PdfcoCredentials, url: Link, **options: Unpack[LinkOptions]) -> JobSubmission:
    """Converts a DOC, DOCX, RTF, TXT or XPS document to PDF (``/v1/pdf/convert/from/doc``).

    Args:
        credentials: The PDF.co credentials block.
        url: The document's link (upload local files with ``upload_file`` first).

    Returns:
        The job; its result URL is the PDF.

    Raises:
        InvalidParametersError: A bad option (nothing is sent).

    Example:
        Upload a local document, convert it and keep the PDF beside the others:
        ```python
        from prefect import flow
        from prefect_pdfco import PdfcoCredentials, document_to_pdf, download_result, upload_file, wait_for_job

        @flow
        def contract_to_pdf(path: str) -> str:
            credentials = PdfcoCredentials.load("pdfco")
            link = upload_file(credentials, path)
            result = wait_for_job(credentials, document_to_pdf(credentials, link, name="contract.pdf").job_id)
            return download_result(result, "./contracts").path

        contract_to_pdf("contract.docx")
        ```
    """
    return await submit_operation(credentials, "document_to_pdf", locals())


@operation_task
async def image_to_pdf(credentials: PdfcoCredentials, urls: Links, **options: Unpack[LinkOptions]) -> JobSubmission:
    """Makes one PDF from images, a page per image in the order given (``/v1/pdf/convert/from/image``).

    Args:
        credentials: The PDF.co credentials block.
        urls: The images' links (JPG, PNG, TIFF...); sent comma-separated, so no link may contain a raw comma.

    Returns:
        The job; its result URL is the PDF.

    Raises:
        InvalidParametersError: No images, or a bad link or option (nothing is sent).

    Example:
        ```python
        from prefect import flow
        from prefect_pdfco import PdfcoCredentials, image_to_pdf, wait_for_job

        @flow(retries=2)
        def receipts_to_pdf(photos: list[str]) -> str | None:
            job = image_to_pdf(PdfcoCredentials.load("pdfco"), photos, expiration=120)
            done = wait_for_job(PdfcoCredentials.load("pdfco"), job.job_id)
            return done.url  # a retried flow run gets the same job back: paid once

        receipts_to_pdf(["https://example.com/r1.jpg", "https://example.com/r2.jpg"])
        ```
    """
    return await submit_operation(credentials, "image_to_pdf", locals())
