"""Typed tasks that change what is on the pages: add text, images and field values; replace text; compress; OCR."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Annotated, Any

from pydantic import Field
from typing_extensions import Unpack

from prefect_pdfco.credentials import PdfcoCredentials
from prefect_pdfco.models import JobSubmission
from prefect_pdfco.operations.models import (
    FormFieldValue,
    FormFieldValues,
    ImageAnnotation,
    ImageAnnotations,
    TextAnnotation,
    TextAnnotations,
)
from prefect_pdfco.operations.options import Area, Link, OcrLanguages, PageRanges, PdfOptions, Sent
from prefect_pdfco.operations.tasks._common import operation_task, submit_operation

__all__ = ["add_to_pdf", "compress_pdf", "make_searchable", "replace_text"]


def _something_to_add(values: Mapping[str, Any]) -> None:
    if not (values["annotations"] or values["images"] or values["fields"]):
        raise ValueError("nothing to add: pass annotations, images and/or fields")


@operation_task
async def add_to_pdf(
    credentials: PdfcoCredentials,
    url: Link,
    *,
    annotations: Annotated[Sequence[TextAnnotation | Mapping[str, Any]], Sent(TextAnnotations)] | None = None,
    images: Annotated[Sequence[ImageAnnotation | Mapping[str, Any]], Sent(ImageAnnotations)] | None = None,
    fields: Annotated[Sequence[FormFieldValue | Mapping[str, Any]], Sent(FormFieldValues)] | None = None,
    **options: Unpack[PdfOptions],
) -> JobSubmission:
    """Adds text, images and form field values to a PDF (``/v1/pdf/edit/add``).

    Args:
        credentials: The PDF.co credentials block.
        url: The PDF's link.
        annotations: Text to draw: ``TextAnnotation(text=..., x=..., y=..., pages="0")`` or mappings with
            PDF.co's keys. Coordinates are points from the page's top-left corner; pages count from 0.
        images: Images to place: ``ImageAnnotation(url=..., x=..., y=..., width=...)``.
        fields: Form field values: ``FormFieldValue(field_name="name", text="Jane")``.

    Returns:
        The job; its result URL is the edited PDF.

    Raises:
        InvalidParametersError: Nothing to add, or a bad item (nothing is sent).

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
    return await submit_operation(credentials, "add_to_pdf", locals(), _something_to_add)


#: Search or replacement strings: one, or several (sent by ``_pairs``, as one pair or as two arrays).
_Strings = Annotated[str | Sequence[str], Sent(str | list[str], exclude=True)]


def _pairs(values: Mapping[str, Any]) -> dict[str, Any]:
    search, replace = values["search"], values["replace"]
    if isinstance(search, str) and isinstance(replace, str):
        if not search:
            raise ValueError("search: pass the text (or texts) to find, none empty")
        return {"searchString": search, "replaceString": replace}
    # Several pairs go as two parallel arrays; one replacement string serves every search string.
    searches = [search] if isinstance(search, str) else list(search)
    if not searches or not all(searches):
        raise ValueError("search: pass the text (or texts) to find, none empty")
    if isinstance(replace, list) and len(replace) != len(searches):
        raise ValueError(f"replace: {len(replace)} replacement(s) for {len(searches)} search string(s)")
    replaces = [replace] * len(searches) if isinstance(replace, str) else list(replace)
    return {"searchStrings": searches, "replaceStrings": replaces}


@operation_task
async def replace_text(
    credentials: PdfcoCredentials,
    url: Link,
    search: _Strings,
    replace: _Strings,
    *,
    regex: bool | None = None,
    case_sensitive: bool | None = None,
    replacement_limit: Annotated[int, Sent(Annotated[int, Field(ge=0, strict=True)])] | None = None,
    pages: PageRanges | None = None,
    **options: Unpack[PdfOptions],
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

    Returns:
        The job; its result URL is the edited PDF.

    Raises:
        InvalidParametersError: An empty search string, mismatched lists... (nothing is sent).

    Example:
        ```python
        from prefect import flow
        from prefect_pdfco import PdfcoCredentials, replace_text, wait_for_job

        @flow
        def rebrand(brochures: list[str]) -> list[str | None]:
            credentials = PdfcoCredentials.load("pdfco")
            pairs = {"search": ["ACME Inc.", "ACME"], "replace": ["Globex Corp.", "Globex"]}
            jobs = [replace_text(credentials, brochure, **pairs) for brochure in brochures]
            return [wait_for_job(credentials, job.job_id).url for job in jobs]

        rebrand(["https://example.com/brochure.pdf"])
        ```
    """
    return await submit_operation(credentials, "replace_text", locals(), _pairs)


@operation_task
async def compress_pdf(
    credentials: PdfcoCredentials,
    url: Link,
    *,
    config: Mapping[str, Any] | None = None,
    **options: Unpack[PdfOptions],
) -> JobSubmission:
    """Makes a PDF smaller (``/v2/pdf/compress``).

    Args:
        credentials: The PDF.co credentials block.
        url: The PDF's link.
        config: PDF.co's compression settings, e.g. ``{"images": {"color": {...}}, "save": {...}}``; PDF.co's
            defaults when omitted.

    Returns:
        The job; its result URL is the compressed PDF.

    Raises:
        InvalidParametersError: A bad option (nothing is sent).

    Example:
        ```python
        from prefect import flow
        from prefect_pdfco import PdfcoCredentials, compress_pdf, download_result, wait_for_job

        @flow
        def shrink(scan: str) -> int:
            credentials = PdfcoCredentials.load("pdfco")
            job = compress_pdf(credentials, scan, name="small.pdf")
            small = download_result(wait_for_job(credentials, job.job_id, initial_poll_seconds=5), "./out")
            return small.size

        shrink("https://example.com/scan.pdf")
        ```
    """
    return await submit_operation(credentials, "compress", locals())


@operation_task
async def make_searchable(
    credentials: PdfcoCredentials,
    url: Link,
    *,
    lang: OcrLanguages | None = None,
    pages: PageRanges | None = None,
    rect: Area | None = None,
    **options: Unpack[PdfOptions],
) -> JobSubmission:
    """OCRs scanned pages into a searchable PDF: a text layer under the images (``/v1/pdf/makesearchable``).

    Args:
        credentials: The PDF.co credentials block.
        url: The scanned PDF's (or image's) link.
        lang: OCR language(s): ``"eng"`` (PDF.co's default), ``"deu"``, ``"eng+deu"``...
        pages: 0-based pages to OCR. Default: every page.
        rect: OCR only this area: ``"x, y, width, height"`` in points.

    Returns:
        The job; its result URL is the searchable PDF. OCR is slow: PDF.co's knowledge base advises 60-100 s
        before the first check of a big scan
        (https://apidocs.pdf.co/kb/Background%20Job%20(job-check)/how-are-credits-spent-for-async-jobs);
        ``get_operation("make_searchable").poll_policy`` starts at 10 s.

    Raises:
        InvalidParametersError: A bad language code or option (nothing is sent).

    Example:
        ```python
        from prefect import flow
        from prefect_pdfco import PdfcoCredentials, get_operation, make_searchable, wait_for_job

        @flow
        def ocr(scan: str) -> str | None:
            credentials = PdfcoCredentials.load("pdfco")
            first_check = get_operation("make_searchable").poll_policy.initial_seconds
            job = make_searchable(credentials, scan, lang="eng+deu")
            return wait_for_job(credentials, job.job_id, initial_poll_seconds=first_check).url

        ocr("https://example.com/scan.pdf")
        ```
    """
    return await submit_operation(credentials, "make_searchable", locals())
