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


class AddToPdfOptions(PdfOptions, total=False):
    """The options of ``add_to_pdf``, and those of ``PdfOptions``.

    Attributes:
        annotations: Text to draw: ``TextAnnotation(text=..., x=..., y=..., pages="0")`` or mappings with
            PDF.co's keys.
        images: Images to place: ``ImageAnnotation(url=..., x=..., y=..., width=...)``.
        fields: Form field values: ``FormFieldValue(field_name="name", text="Jane")``.
    """

    annotations: Annotated[Sequence[TextAnnotation | Mapping[str, Any]], Sent(TextAnnotations)]
    images: Annotated[Sequence[ImageAnnotation | Mapping[str, Any]], Sent(ImageAnnotations)]
    fields: Annotated[Sequence[FormFieldValue | Mapping[str, Any]], Sent(FormFieldValues)]


@operation_task
async def add_to_pdf(credentials: PdfcoCredentials, url: Link, **options: Unpack[AddToPdfOptions]) -> JobSubmission:
    """Adds text, images and form field values to a PDF (``/v1/pdf/edit/add``).

    Coordinates are points from the page's top-left corner; pages count from 0.

    Args:
        url: The PDF's link.

    Returns:
        The job; the edited PDF is behind its result URL.

    Raises:
        InvalidParametersError: Nothing to add, or a bad item (nothing is sent).

    Example:
        Stamp an invoice as paid, in red on its first page:
        ```python
        from prefect import flow
        from prefect_pdfco import PdfcoCredentials, TextAnnotation, add_to_pdf, wait_for_job

        @flow
        def stamp(url: str, text: str = "PAID") -> str | None:
            credentials = PdfcoCredentials.load("pdfco")
            stamp = TextAnnotation(text=text, x=400, y=40, size=24, color="CC0000", pages="0")
            job = add_to_pdf(credentials, url, annotations=[stamp])
            return wait_for_job(credentials, job.job_id).url

        stamp("https://example.com/invoice.pdf")
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


class ReplaceTextOptions(PdfOptions, total=False):
    """The options of ``replace_text``, and those of ``PdfOptions``.

    Attributes:
        regex: Treat the search strings as regular expressions.
        case_sensitive: Match case.
        replacement_limit: Replace at most this many occurrences per search string (0: all).
        pages: 0-based pages to edit. Default: every page.
    """

    regex: bool
    case_sensitive: bool
    replacement_limit: Annotated[int, Sent(Annotated[int, Field(ge=0, strict=True)])]
    pages: PageRanges


@operation_task
async def replace_text(
    credentials: PdfcoCredentials, url: Link, search: _Strings, replace: _Strings, **options: Unpack[ReplaceTextOptions]
) -> JobSubmission:
    """Searches and replaces text (``/v1/pdf/edit/replace-text``).

    Several pairs go in one job: pass a list of search strings and one replacement each (or one for all).

    Args:
        url: The PDF's link.
        search: The text to find, or several (sent as ``searchStrings``).
        replace: Its replacement; with several search strings, one replacement for all or one each.

    Returns:
        The job; its result URL is the PDF with the text replaced.

    Raises:
        InvalidParametersError: An empty search string, mismatched lists... (nothing is sent).

    Example:
        Two names replaced in every brochure, one job each:
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


class CompressPdfOptions(PdfOptions, total=False):
    """The options of ``compress_pdf``, and those of ``PdfOptions``.

    Attributes:
        config: PDF.co's compression settings, e.g. ``{"images": {"color": {...}}, "save": {...}}``; PDF.co's
            defaults when omitted.
    """

    config: Mapping[str, Any]


@operation_task
async def compress_pdf(
    credentials: PdfcoCredentials, url: Link, **options: Unpack[CompressPdfOptions]
) -> JobSubmission:
    """Makes a PDF smaller (``/v2/pdf/compress``).

    This is PDF.co's newer compressor; the catalogue's ``optimize`` is the older one.

    Args:
        url: The PDF's link.

    Returns:
        The job; its result URL is the compressed PDF.

    Example:
        How many kilobytes the compressed copy takes:
        ```python
        from prefect import flow
        from prefect_pdfco import PdfcoCredentials, compress_pdf, download_result, wait_for_job

        @flow
        def shrink(scan: str) -> int:
            credentials = PdfcoCredentials.load("pdfco")
            job = compress_pdf(credentials, scan, name="small.pdf")
            small = download_result(wait_for_job(credentials, job.job_id, initial_poll_seconds=5), "./out")
            return small.size // 1024

        shrink(scan="https://example.com/scan.pdf")
        ```
    """
    return await submit_operation(credentials, "compress", locals())


class MakeSearchableOptions(PdfOptions, total=False):
    """The options of ``make_searchable``, and those of ``PdfOptions``.

    Attributes:
        lang: OCR language(s): ``"eng"`` (PDF.co's default), ``"deu"``, ``"eng+deu"``...
        pages: 0-based pages to OCR. Default: every page.
        rect: OCR only this area: ``"x, y, width, height"`` in points.
    """

    lang: OcrLanguages
    pages: PageRanges
    rect: Area


@operation_task
async def make_searchable(
    credentials: PdfcoCredentials, url: Link, **options: Unpack[MakeSearchableOptions]
) -> JobSubmission:
    """OCRs scanned pages into a searchable PDF: a text layer under the images (``/v1/pdf/makesearchable``).

    OCR is slow: PDF.co's knowledge base advises 60-100 s before the first check of a big scan
    (https://apidocs.pdf.co/kb/Background%20Job%20(job-check)/how-are-credits-spent-for-async-jobs);
    ``get_operation("make_searchable").poll_policy`` starts at 10 s.

    Args:
        url: The scanned PDF's (or image's) link.

    Returns:
        The job; its result URL is the searchable PDF.

    Raises:
        InvalidParametersError: A bad language code or option (nothing is sent).

    Example:
        The first check waits as long as the catalogue advises; the result lands in a storage block:
        ```python
        from prefect import flow
        from prefect.filesystems import LocalFileSystem
        from prefect_pdfco import PdfcoCredentials, download_result, get_operation, make_searchable, wait_for_job

        @flow
        def ocr(scan: str) -> str:
            credentials = PdfcoCredentials.load("pdfco")
            first_check = get_operation("make_searchable").poll_policy.initial_seconds
            job = make_searchable(credentials, scan, lang="eng+deu")
            done = wait_for_job(credentials, job.job_id, initial_poll_seconds=first_check)
            return download_result(done, LocalFileSystem.load("archive")).path

        ocr("https://example.com/scan.pdf")
        ```
    """
    return await submit_operation(credentials, "make_searchable", locals())
