"""Typed tasks that make PDFs (from HTML, web pages, office documents, images) and turn PDFs into text and data.

Every task takes the ``PdfcoCredentials`` block first and, besides its own arguments, ``extra`` (other parameters PDF.co
documents for the operation, by its names: ``{"expiration": 120}``), ``submit_key`` (a name for this submit, unique in
the flow run; by default the call's rank among identical calls) and ``resend_if_unknown`` (send again although an
earlier attempt may have been billed: check the job history first); where a task takes them and says no more, ``name``
is the output file name and ``password`` the PDF's password (never logged). Examples import ``flow`` from prefect and
every other name from prefect_pdfco.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

from pydantic import SecretStr

from prefect_pdfco._exceptions import InvalidParametersError
from prefect_pdfco._params import PageArg
from prefect_pdfco._prefect_task import pdfco_task
from prefect_pdfco._submit_guard import submit_operation
from prefect_pdfco.credentials import PdfcoCredentials
from prefect_pdfco.models import JobSubmission

__all__ = ["document_to_pdf", "generate_barcode", "html_to_pdf", "image_to_pdf", "pdf_to_csv"]
__all__ += ["pdf_to_html", "pdf_to_json", "pdf_to_text", "url_to_pdf"]


@pdfco_task(submits=True, task_run_name="html-to-pdf")
async def html_to_pdf(
    credentials: PdfcoCredentials,
    html: str | None = None,
    *,
    template_id: str | int | None = None,
    template_data: Mapping[str, Any] | Sequence[Any] | str | None = None,
    paper_size: str | None = None,
    orientation: Literal["Portrait", "Landscape"] | None = None,
    margins: str | None = None,
    print_background: bool | None = None,
    media_type: Literal["print", "screen", "none"] | None = None,
    name: str | None = None,
    extra: Mapping[str, Any] | None = None,
    submit_key: str | None = None,
    resend_if_unknown: bool = False,
) -> JobSubmission:
    """Renders HTML, or one of your PDF.co HTML templates, to a PDF (``/v1/pdf/convert/from/html``).

    Args:
        html: The HTML to render (the request stays under 4 MB); exactly one of ``html`` and ``template_id``.
        template_id: The id of an HTML template saved at app.pdf.co.
        template_data: The template's data: a mapping or list (sent as JSON), or JSON/CSV text.
        paper_size: ``Letter`` (PDF.co's default), ``A4``... or a custom size such as ``"200mm 300mm"``.
        orientation: ``Portrait`` or ``Landscape``.
        margins: CSS-style margins, e.g. ``"10mm"`` or ``"5mm 10mm 5mm 10mm"``.
        print_background: Whether to render backgrounds.
        media_type: The CSS media to apply: ``print``, ``screen`` or ``none``.
        name: The output file name, e.g. ``"report.pdf"``.

    Returns:
        The job: ``wait_for_job`` gives the PDF's link.

    Example:
        ```python
        @flow
        def render_report() -> str | None:
            credentials = PdfcoCredentials.load("pdfco")
            return wait_for_job(credentials, html_to_pdf(credentials, "<h1>Daily report</h1>", paper_size="A4")).url
        ```
    """
    if (html is None) == (template_id is None):
        raise InvalidParametersError("html_to_pdf", ["pass exactly one of html or template_id"])
    if template_data is not None and template_id is None:
        raise InvalidParametersError("html_to_pdf", ["template_data goes with template_id, not with html"])
    payload: dict[str, Any] = {"html": html, "templateId": template_id, "templateData": template_data}
    payload |= {"paperSize": paper_size, "orientation": orientation, "margins": margins, "name": name}
    payload |= {"printBackground": print_background, "mediaType": media_type}
    return await submit_operation(credentials, "html_to_pdf", payload, extra, submit_key, resend_if_unknown)


@pdfco_task(submits=True, task_run_name="url-to-pdf")
async def url_to_pdf(
    credentials: PdfcoCredentials,
    url: str,
    *,
    paper_size: str | None = None,
    orientation: Literal["Portrait", "Landscape"] | None = None,
    margins: str | None = None,
    print_background: bool | None = None,
    media_type: Literal["print", "screen", "none"] | None = None,
    name: str | None = None,
    extra: Mapping[str, Any] | None = None,
    submit_key: str | None = None,
    resend_if_unknown: bool = False,
) -> JobSubmission:
    """Renders a web page to a PDF (``/v1/pdf/convert/from/url``); PDF.co fetches it, so it must be public.

    Args:
        url: The page's http(s) link (behind basic auth: ``run_operation`` with ``httpusername``, ``httppassword``).
        paper_size: ``Letter`` (PDF.co's default), ``A4``... or a custom size such as ``"200mm 300mm"``.
        orientation: ``Portrait`` or ``Landscape``.
        margins: CSS-style margins, e.g. ``"10mm"`` or ``"5mm 10mm 5mm 10mm"``.
        print_background: Whether to render backgrounds.
        media_type: The CSS media to apply: ``print``, ``screen`` or ``none``.

    Returns:
        The job, whose result is the page as a PDF.

    Example:
        ```python
        @flow
        async def snapshot(page: str) -> str | None:
            credentials = await PdfcoCredentials.aload("pdfco")
            job = await url_to_pdf.aio(credentials, page, orientation="Landscape", media_type="screen")
            return (await wait_for_job.aio(credentials, job)).url
        ```
    """
    payload: dict[str, Any] = {"url": url, "paperSize": paper_size, "orientation": orientation, "margins": margins}
    payload |= {"printBackground": print_background, "mediaType": media_type, "name": name}
    return await submit_operation(credentials, "url_to_pdf", payload, extra, submit_key, resend_if_unknown)


@pdfco_task(submits=True, task_run_name="document-to-pdf")
async def document_to_pdf(
    credentials: PdfcoCredentials,
    url: str,
    *,
    name: str | None = None,
    extra: Mapping[str, Any] | None = None,
    submit_key: str | None = None,
    resend_if_unknown: bool = False,
) -> JobSubmission:
    """Converts a DOC, DOCX, RTF, TXT or XPS document to PDF (``/v1/pdf/convert/from/doc``).

    Args:
        url: The document's link (``upload_file`` gives one for a local file).

    Returns:
        The job; its result URL is the converted PDF.

    Example:
        ```python
        @flow
        def contract_to_pdf(path: str) -> str | None:
            credentials = PdfcoCredentials.load("pdfco")
            return wait_for_job(credentials, document_to_pdf(credentials, upload_file(credentials, path))).url
        ```
    """
    payload: dict[str, Any] = {"url": url, "name": name}
    return await submit_operation(credentials, "document_to_pdf", payload, extra, submit_key, resend_if_unknown)


@pdfco_task(submits=True, task_run_name="image-to-pdf")
async def image_to_pdf(
    credentials: PdfcoCredentials,
    urls: list[str] | tuple[str, ...],
    *,
    name: str | None = None,
    extra: Mapping[str, Any] | None = None,
    submit_key: str | None = None,
    resend_if_unknown: bool = False,
) -> JobSubmission:
    """Makes one PDF from images, a page per image in the order given (``/v1/pdf/convert/from/image``).

    Args:
        urls: The images' links (JPG, PNG, TIFF...), sent as one comma-separated ``url`` (encode commas as ``%2C``).

    Returns:
        The job; its result is one PDF, a page per image.

    Example:
        ```python
        @flow(retries=2)  # a retry gets back the job it already paid for
        def receipts_to_pdf(photos: list[str]) -> str | None:
            credentials = PdfcoCredentials.load("pdfco")
            return wait_for_job(credentials, image_to_pdf(credentials, photos, name="receipts.pdf")).url
        ```
    """
    payload: dict[str, Any] = {"url": urls, "name": name}
    return await submit_operation(credentials, "image_to_pdf", payload, extra, submit_key, resend_if_unknown)


@pdfco_task(submits=True, task_run_name="pdf-to-text")
async def pdf_to_text(
    credentials: PdfcoCredentials,
    url: str,
    *,
    pages: PageArg | None = None,
    lang: str | None = None,
    password: str | SecretStr | None = None,
    extra: Mapping[str, Any] | None = None,
    submit_key: str | None = None,
    resend_if_unknown: bool = False,
) -> JobSubmission:
    """Extracts text with its layout (``/v1/pdf/convert/to/text``); scanned pages are OCR'd, so poll slowly.

    Args:
        url: The PDF's link (``upload_file`` gives one for a local file).
        pages: **0-based** pages: ``"0,2-4,7-"``, ``"!0"`` (the last) or a list such as ``[0, "2-4"]``; all by default.
        lang: OCR language(s) for scanned pages: ``"eng"`` (the default), ``"eng+deu"``...

    Returns:
        The job; its result URL is a text file (``fetch_result_text`` reads it).

    Example:
        ```python
        @flow
        def first_pages(url: str) -> str:
            credentials = PdfcoCredentials.load("pdfco")
            return fetch_result_text(wait_for_job(credentials, pdf_to_text(credentials, url, pages="0-1")))
        ```
    """
    payload = {"url": url, "pages": pages, "lang": lang, "password": password}
    return await submit_operation(credentials, "pdf_to_text", payload, extra, submit_key, resend_if_unknown)


@pdfco_task(submits=True, task_run_name="pdf-to-json")
async def pdf_to_json(
    credentials: PdfcoCredentials,
    url: str,
    *,
    pages: PageArg | None = None,
    lang: str | None = None,
    password: str | SecretStr | None = None,
    extra: Mapping[str, Any] | None = None,
    submit_key: str | None = None,
    resend_if_unknown: bool = False,
) -> JobSubmission:
    """Converts a PDF to JSON: pages, rows and text runs with fonts and positions (``/v1/pdf/convert/to/json2``).

    Args:
        url: The PDF's link (``upload_file`` gives one for a local file).
        pages: **0-based** pages: ``"0,2-4,7-"``, ``"!0"`` (the last) or a list such as ``[0, "2-4"]``; all by default.
        lang: OCR language(s) for scanned pages: ``"eng"`` (the default), ``"eng+deu"``...

    Returns:
        The job, whose result URL is the JSON document (``fetch_result_json`` reads it).

    Example:
        ```python
        @flow
        def last_page_layout(url: str) -> object:
            credentials = PdfcoCredentials.load("pdfco")
            return fetch_result_json(wait_for_job(credentials, pdf_to_json(credentials, url, pages="!0")))
        ```
    """
    payload = {"url": url, "pages": pages, "lang": lang, "password": password}
    return await submit_operation(credentials, "pdf_to_json", payload, extra, submit_key, resend_if_unknown)


@pdfco_task(submits=True, task_run_name="pdf-to-csv")
async def pdf_to_csv(
    credentials: PdfcoCredentials,
    url: str,
    *,
    pages: PageArg | None = None,
    lang: str | None = None,
    rect: str | Sequence[float] | None = None,
    unwrap: bool | None = None,
    line_grouping: Literal[1, 2, 3, "1", "2", "3"] | None = None,
    password: str | SecretStr | None = None,
    extra: Mapping[str, Any] | None = None,
    submit_key: str | None = None,
    resend_if_unknown: bool = False,
) -> JobSubmission:
    """Extracts tables and text as CSV (``/v1/pdf/convert/to/csv``); pick one table with ``rect``.

    Args:
        url: The PDF's link (``upload_file`` gives one for a local file).
        pages: **0-based** pages: ``"0,2-4,7-"``, ``"!0"`` (the last) or a list such as ``[0, "2-4"]``; all by default.
        lang: OCR language(s) for scanned pages: ``"eng"`` (the default), ``"eng+deu"``...
        rect: Extract only this area (a table's box): ``"x, y, width, height"`` in points, or four numbers.
        unwrap: Join the lines of a table cell into one (with ``line_grouping``).
        line_grouping: How lines group into table cells: 1 by rows, 2 by columns, 3 join orphaned rows.

    Returns:
        The job; a CSV file is behind its result URL.

    Example:
        ```python
        @flow
        def statement_rows(url: str) -> list[str]:
            credentials = PdfcoCredentials.load("pdfco")
            rows = wait_for_job(credentials, pdf_to_csv(credentials, url, line_grouping=1))
            return fetch_result_text(rows).splitlines()
        ```
    """
    payload: dict[str, Any] = {"url": url, "pages": pages, "lang": lang, "rect": rect, "unwrap": unwrap}
    payload |= {"lineGrouping": line_grouping, "password": password}
    return await submit_operation(credentials, "pdf_to_csv", payload, extra, submit_key, resend_if_unknown)


@pdfco_task(submits=True, task_run_name="pdf-to-html")
async def pdf_to_html(
    credentials: PdfcoCredentials,
    url: str,
    *,
    pages: PageArg | None = None,
    simple: bool | None = None,
    columns: bool | None = None,
    password: str | SecretStr | None = None,
    extra: Mapping[str, Any] | None = None,
    submit_key: str | None = None,
    resend_if_unknown: bool = False,
) -> JobSubmission:
    """Converts a PDF to HTML whose text stays text, searchable and readable (``/v1/pdf/convert/to/html``).

    Args:
        url: The PDF's link (``upload_file`` gives one for a local file).
        pages: **0-based** pages, e.g. ``"0-2"``; all by default.
        simple: Plain HTML without the exact layout.
        columns: Keep text columns apart.

    Returns:
        The job; its result is an HTML file.

    Example:
        ```python
        @flow
        def publish(brochure: str) -> str | None:
            credentials = PdfcoCredentials.load("pdfco")
            return wait_for_job(credentials, pdf_to_html(credentials, brochure, simple=True)).url
        ```
    """
    payload = {"url": url, "pages": pages, "simple": simple, "columns": columns, "password": password}
    return await submit_operation(credentials, "pdf_to_html", payload, extra, submit_key, resend_if_unknown)


@pdfco_task(submits=True, task_run_name="generate-barcode")
async def generate_barcode(
    credentials: PdfcoCredentials,
    value: str,
    barcode_type: str = "QRCode",
    *,
    name: str | None = None,
    extra: Mapping[str, Any] | None = None,
    submit_key: str | None = None,
    resend_if_unknown: bool = False,
) -> JobSubmission:
    """Generates a barcode image (``/v1/barcode/generate``); other symbologies than QR codes restrict ``value``.

    Args:
        value: The data to encode.
        barcode_type: ``QRCode`` (the default), ``Code128``, ``DataMatrix``, ``EAN13``... (sent as ``type``).
        name: The output file name, e.g. ``"label.png"``.

    Returns:
        The job; its result URL is the image.

    Example:
        ```python
        @flow
        def ticket_code(ticket: str) -> str | None:
            credentials = PdfcoCredentials.load("pdfco")
            return wait_for_job(credentials, generate_barcode(credentials, ticket, name=f"{ticket}.png")).url
        ```
    """
    payload = {"value": value, "type": barcode_type, "name": name}
    return await submit_operation(credentials, "generate_barcode", payload, extra, submit_key, resend_if_unknown)
