"""Typed tasks that make PDFs: from HTML (or an HTML template), a web page, office documents and images."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from typing_extensions import TypedDict, Unpack

from prefect_pdfco.credentials import PdfcoCredentials
from prefect_pdfco.models import JobSubmission
from prefect_pdfco.operations.options import Json, Link, LinkOptions, Links, OutputOptions, Sent, TemplateId, Text
from prefect_pdfco.operations.params import MediaType, Orientation
from prefect_pdfco.operations.tasks._common import operation_task, submit_operation

__all__ = ["document_to_pdf", "html_to_pdf", "image_to_pdf", "url_to_pdf"]


class LayoutOptions(TypedDict, total=False):
    """How HTML (a string, a template or a web page) is laid out on PDF pages.

    Attributes:
        paper_size: ``Letter`` (PDF.co's default), ``A4``... or a custom ``"200mm 300mm"``.
        orientation: ``Portrait`` or ``Landscape``.
        margins: CSS-style margins, e.g. ``"10mm"`` or ``"5mm 10mm 5mm 10mm"``.
        print_background: Whether to render backgrounds.
        media_type: The CSS media to apply: ``print``, ``screen`` or ``none``.
        header: HTML drawn at the top of every page.
        footer: HTML drawn at the bottom of every page.
        do_not_wait_full_load: Render without waiting for every resource of the page to load.
    """

    paper_size: str
    orientation: Annotated[str, Sent(Orientation)]
    margins: str
    print_background: bool
    media_type: Annotated[str, Sent(MediaType)]
    header: str
    footer: str
    do_not_wait_full_load: Annotated[bool, Sent(name="DoNotWaitFullLoad")]


class UrlToPdfOptions(LayoutOptions, LinkOptions, total=False):
    """The options of ``url_to_pdf``: page layout, and the options of a linked input."""


def _one_source(values: Mapping[str, Any]) -> None:
    if (values["html"] is None) == (values["template_id"] is None):
        raise ValueError("pass exactly one of html or template_id")
    if values["template_data"] is not None and values["template_id"] is None:
        raise ValueError("template_data goes with template_id, not with html")


class HtmlToPdfOptions(LayoutOptions, OutputOptions, total=False):
    """The options of ``html_to_pdf``: a template and its data, page layout, output and job options.

    Attributes:
        template_id: The id of an HTML template saved at app.pdf.co.
        template_data: The template's data: a mapping or list (sent as JSON), or JSON/CSV text.
    """

    template_id: TemplateId
    template_data: Json


@operation_task
async def html_to_pdf(
    credentials: PdfcoCredentials,
    html: Text | None = None,
    **options: Unpack[HtmlToPdfOptions],
) -> JobSubmission:
    """Renders HTML, or one of your PDF.co HTML templates, to a PDF (``/v1/pdf/convert/from/html``).

    The whole request must stay under 4 MB: put bigger pages online and render them with ``url_to_pdf``.

    Args:
        html: The HTML to render. Exactly one of ``html`` and ``template_id``.

    Returns:
        The job: pass its ``job_id`` to ``wait_for_job`` for the PDF's link.

    Raises:
        InvalidParametersError: Neither or both of ``html`` and ``template_id``, or another bad option (nothing
            is sent).

    Example:
        A report rendered from HTML built in the flow:
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
async def url_to_pdf(credentials: PdfcoCredentials, url: Link, **options: Unpack[UrlToPdfOptions]) -> JobSubmission:
    """Renders a web page to a PDF (``/v1/pdf/convert/from/url``).

    PDF.co fetches the page itself: it must be reachable from the internet (behind basic auth at most).

    Args:
        url: The page's public http(s) link.
        http_username: User name for the page (HTTP basic auth).
        http_password: Password for the page; a ``SecretStr`` or a string (never logged).

    Returns:
        The job, whose result is the page as a PDF.

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

    Local files go up first with ``upload_file``: the link it returns is what this task takes.

    Args:
        url: The document's link.

    Returns:
        The job; its result URL is the converted PDF.

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

    PDF.co takes the links as one comma-separated ``url``: percent-encode a comma inside a link (``%2C``).

    Args:
        urls: The images' links (JPG, PNG, TIFF...).

    Returns:
        The job; its result is one PDF, a page per image.

    Raises:
        InvalidParametersError: No images, or a link PDF.co cannot fetch (nothing is sent).

    Example:
        A flow that may be retried: the retry gets the job it already paid for.
        ```python
        from prefect import flow
        from prefect_pdfco import PdfcoCredentials, image_to_pdf, wait_for_job

        @flow(retries=2)
        def receipts_to_pdf(photos: list[str]) -> str | None:
            job = image_to_pdf(PdfcoCredentials.load("pdfco"), photos, expiration=120)
            done = wait_for_job(PdfcoCredentials.load("pdfco"), job.job_id)
            return done.url

        receipts_to_pdf(["https://example.com/r1.jpg", "https://example.com/r2.jpg"])
        ```
    """
    return await submit_operation(credentials, "image_to_pdf", locals())
