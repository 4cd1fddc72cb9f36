"""Typed tasks that change PDFs: merge, split, rotate and delete pages; add text, images and field values; replace text.

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

from pydantic import BaseModel, ConfigDict, Field, SecretStr
from pydantic.alias_generators import to_camel

from prefect_pdfco._exceptions import InvalidParametersError
from prefect_pdfco._params import PageArg
from prefect_pdfco._prefect_task import pdfco_task
from prefect_pdfco._submit_guard import submit_operation
from prefect_pdfco.credentials import PdfcoCredentials
from prefect_pdfco.models import JobSubmission

__all__ = ["FormFieldValue", "ImageAnnotation", "TextAnnotation", "add_to_pdf", "compress_pdf"]
__all__ += ["delete_pages", "merge_pdfs", "replace_text", "rotate_pages", "split_pdf"]


class _Item(BaseModel):
    # Sent with PDF.co's camelCase keys; further PDF.co options pass through as given (e.g. fontStrikeout=True).
    model_config = ConfigDict(extra="allow", frozen=True, populate_by_name=True, alias_generator=to_camel)


class TextAnnotation(_Item):
    """Text to draw on pages (``annotations`` of ``add_to_pdf``): points from the top-left corner, 0-based pages."""

    text: str = Field(min_length=1)
    x: float
    y: float
    pages: PageArg | None = None
    size: float | None = Field(None, gt=0)
    color: str | None = Field(None, pattern=r"^#?[0-9a-fA-F]{6}$")
    font_name: str | None = None
    font_bold: bool | None = None
    font_italic: bool | None = None
    font_underline: bool | None = None
    link: str | None = None
    width: float | None = Field(None, gt=0)
    height: float | None = Field(None, gt=0)
    alignment: Literal["left", "center", "right"] | None = None


class ImageAnnotation(_Item):
    """An image to place on pages (``images`` of ``add_to_pdf``): a link, a ``filetoken://`` link or base64 data."""

    url: str = Field(min_length=1)
    x: float
    y: float
    width: float | None = Field(None, gt=0)
    height: float | None = Field(None, gt=0)
    pages: PageArg | None = None
    link: str | None = None
    keep_aspect_ratio: bool | None = None


class FormFieldValue(_Item):
    """A value for a form field, found by its name (``fields`` of ``add_to_pdf``)."""

    field_name: str = Field(min_length=1)
    text: str
    pages: PageArg | None = None
    size: float | None = Field(None, gt=0)
    font_name: str | None = None


@pdfco_task(submits=True, task_run_name="merge-pdfs")
async def merge_pdfs(
    credentials: PdfcoCredentials,
    urls: list[str] | tuple[str, ...],
    *,
    name: str | None = None,
    extra: Mapping[str, Any] | None = None,
    submit_key: str | None = None,
    resend_if_unknown: bool = False,
) -> JobSubmission:
    """Merges PDFs into one, in the order given (``/v1/pdf/merge``); unlock protected ones first (``remove_password``).

    Args:
        urls: The PDFs' links, sent as one comma-separated ``url`` (encode a comma inside a link as ``%2C``).

    Returns:
        The job; its result URL is the merged PDF.

    Example:
        ```python
        @flow
        def bundle(cover: str, report: str) -> str | None:
            credentials = PdfcoCredentials.load("pdfco")
            return wait_for_job(credentials, merge_pdfs(credentials, [cover, report], name="q3.pdf")).url
        ```
    """
    payload: dict[str, Any] = {"url": urls, "name": name}
    return await submit_operation(credentials, "merge", payload, extra, submit_key, resend_if_unknown)


@pdfco_task(submits=True, task_run_name="split-pdf")
async def split_pdf(
    credentials: PdfcoCredentials,
    url: str,
    pages: PageArg = "*",
    *,
    password: str | SecretStr | None = None,
    name: str | None = None,
    extra: Mapping[str, Any] | None = None,
    submit_key: str | None = None,
    resend_if_unknown: bool = False,
) -> JobSubmission:
    """Splits a PDF into parts, one per page range (``/v1/pdf/split``).

    Args:
        url: The PDF's link.
        pages: **1-based** ranges, one part each: ``"1-2,3-"`` gives two parts; ``"*"`` (the default) a part per page.
        name: The base name of the parts (``part.pdf`` gives ``part-1.pdf``, ``part-2.pdf``...).

    Returns:
        The job; its result URL is a JSON list of the parts' links (``download_result_files`` fetches them).

    Example:
        ```python
        @flow
        def chapters(book: str) -> list[str]:
            credentials = PdfcoCredentials.load("pdfco")
            parts = wait_for_job(credentials, split_pdf(credentials, book, "1-10,11-20,21-"))
            return [part.path for part in download_result_files(parts, "./chapters")]
        ```
    """
    payload: dict[str, Any] = {"url": url, "pages": pages, "password": password, "name": name}
    return await submit_operation(credentials, "split", payload, extra, submit_key, resend_if_unknown)


@pdfco_task(submits=True, task_run_name="rotate-pages")
async def rotate_pages(
    credentials: PdfcoCredentials,
    url: str,
    angle: Literal[90, 180, 270, -90, -180, -270],
    *,
    pages: PageArg | None = None,
    password: str | SecretStr | None = None,
    name: str | None = None,
    extra: Mapping[str, Any] | None = None,
    submit_key: str | None = None,
    resend_if_unknown: bool = False,
) -> JobSubmission:
    """Rotates pages by quarter turns (``/v1/pdf/edit/rotate``).

    Args:
        url: The PDF's link.
        angle: Degrees clockwise: 90, 180 or 270 (negative: counter-clockwise).
        pages: **0-based** pages to rotate, e.g. ``"0,2"`` or ``"!0"`` (the last); all by default.

    Returns:
        The job; the rotated PDF is its result.

    Example:
        ```python
        @flow
        def upright(scans: list[str]) -> list[JobResult | JobError]:
            credentials = PdfcoCredentials.load("pdfco")
            return wait_for_jobs(credentials, [rotate_pages(credentials, scan, 90, pages="0") for scan in scans])
        ```
    """
    payload: dict[str, Any] = {"url": url, "angle": angle, "pages": pages, "password": password, "name": name}
    return await submit_operation(credentials, "rotate", payload, extra, submit_key, resend_if_unknown)


@pdfco_task(submits=True, task_run_name="delete-pages")
async def delete_pages(
    credentials: PdfcoCredentials,
    url: str,
    pages: PageArg,
    *,
    password: str | SecretStr | None = None,
    name: str | None = None,
    extra: Mapping[str, Any] | None = None,
    submit_key: str | None = None,
    resend_if_unknown: bool = False,
) -> JobSubmission:
    """Deletes pages (``/v1/pdf/edit/delete-pages``); at least one page must be left.

    Args:
        url: The PDF's link.
        pages: **1-based** pages to delete, e.g. ``"1"`` (the first), ``"2-3"``, ``"!1"`` (the last).

    Returns:
        The job; its result is the PDF without those pages.

    Example:
        ```python
        @flow
        def without_cover(report: str) -> str | None:
            credentials = PdfcoCredentials.load("pdfco")
            return wait_for_job(credentials, delete_pages(credentials, report, "1")).url
        ```
    """
    payload: dict[str, Any] = {"url": url, "pages": pages, "password": password, "name": name}
    return await submit_operation(credentials, "delete_pages", payload, extra, submit_key, resend_if_unknown)


@pdfco_task(submits=True, task_run_name="add-to-pdf")
async def add_to_pdf(
    credentials: PdfcoCredentials,
    url: str,
    *,
    annotations: Sequence[TextAnnotation | Mapping[str, Any]] = (),
    images: Sequence[ImageAnnotation | Mapping[str, Any]] = (),
    fields: Sequence[FormFieldValue | Mapping[str, Any]] = (),
    password: str | SecretStr | None = None,
    name: str | None = None,
    extra: Mapping[str, Any] | None = None,
    submit_key: str | None = None,
    resend_if_unknown: bool = False,
) -> JobSubmission:
    """Adds text, images and form field values to a PDF (``/v1/pdf/edit/add``).

    Args:
        url: The PDF's link.
        annotations: Text to draw: ``TextAnnotation(text=..., x=..., y=..., pages="0")`` or PDF.co's mappings.
        images: Images to place: ``ImageAnnotation(url=..., x=..., y=..., width=...)``.
        fields: Form field values: ``FormFieldValue(field_name="name", text="Jane")``.

    Returns:
        The job; the edited PDF is behind its result URL.

    Example:
        ```python
        @flow
        def stamp(invoice: str) -> str | None:
            credentials = PdfcoCredentials.load("pdfco")
            paid = TextAnnotation(text="PAID", x=400, y=40, size=24, color="CC0000", pages="0")
            return wait_for_job(credentials, add_to_pdf(credentials, invoice, annotations=[paid])).url
        ```
    """
    if not (annotations or images or fields):
        raise InvalidParametersError("add_to_pdf", ["nothing to add: pass annotations, images and/or fields"])
    payload: dict[str, Any] = {"url": url, "annotations": annotations, "images": images, "fields": fields}
    payload |= {"password": password, "name": name}
    return await submit_operation(credentials, "add_to_pdf", payload, extra, submit_key, resend_if_unknown)


@pdfco_task(submits=True, task_run_name="replace-text")
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
    name: str | None = None,
    extra: Mapping[str, Any] | None = None,
    submit_key: str | None = None,
    resend_if_unknown: bool = False,
) -> JobSubmission:
    """Searches and replaces text (``/v1/pdf/edit/replace-text``), one pair or several in one job.

    Args:
        url: The PDF's link.
        search: The text to find, or several (sent as ``searchStrings``).
        replace: Its replacement; with several search strings, one replacement for all or one each.
        regex: Treat the search strings as regular expressions.
        case_sensitive: Match case.
        replacement_limit: Replace at most this many occurrences per search string (0: all).
        pages: **0-based** pages to edit; all by default.

    Returns:
        The job; its result URL is the PDF with the text replaced.

    Example:
        ```python
        @flow
        def rebrand(brochure: str) -> str | None:
            credentials = PdfcoCredentials.load("pdfco")
            return wait_for_job(credentials, replace_text(credentials, brochure, ["ACME Inc.", "ACME"], "Globex")).url
        ```
    """
    if isinstance(search, str) and isinstance(replace, str):
        pairs: dict[str, Any] = {"searchString": search, "replaceString": replace}
    else:
        searches = [search] if isinstance(search, str) else list(search)
        replaces = [replace] * len(searches) if isinstance(replace, str) else list(replace)
        if len(replaces) != len(searches) or not all(searches):
            problem = f"replace: {len(replaces)} replacement(s) for {len(searches)} search string(s), none empty"
            raise InvalidParametersError("replace_text", [problem])
        pairs = {"searchStrings": searches, "replaceStrings": replaces}
    payload = {"url": url, **pairs, "regex": regex, "caseSensitive": case_sensitive, "pages": pages}
    payload |= {"replacementLimit": replacement_limit, "password": password, "name": name}
    return await submit_operation(credentials, "replace_text", payload, extra, submit_key, resend_if_unknown)


@pdfco_task(submits=True, task_run_name="compress-pdf")
async def compress_pdf(
    credentials: PdfcoCredentials,
    url: str,
    *,
    config: Mapping[str, Any] | None = None,
    password: str | SecretStr | None = None,
    name: str | None = None,
    extra: Mapping[str, Any] | None = None,
    submit_key: str | None = None,
    resend_if_unknown: bool = False,
) -> JobSubmission:
    """Makes a PDF smaller with PDF.co's newer compressor (``/v2/pdf/compress``).

    Args:
        url: The PDF's link.
        config: PDF.co's compression settings, e.g. ``{"images": {"color": {...}}}``; PDF.co's defaults if None.

    Returns:
        The job; its result URL is the compressed PDF.

    Example:
        ```python
        @flow
        def shrink(scan: str) -> int:
            credentials = PdfcoCredentials.load("pdfco")
            return download_result(wait_for_job(credentials, compress_pdf(credentials, scan)), "./out").size
        ```
    """
    payload: dict[str, Any] = {"url": url, "config": config, "password": password, "name": name}
    return await submit_operation(credentials, "compress", payload, extra, submit_key, resend_if_unknown)
