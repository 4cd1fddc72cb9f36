"""Page-level PDF operations with pypdf: merge, split, rotate, delete, security, compress.

``/v1/pdf/info`` lives in ``_processing_info``, ``/v1/pdf/edit/add`` in ``_processing_edit``.
"""

from __future__ import annotations

import io
from collections.abc import Mapping

from pypdf import PdfReader, PdfWriter
from pypdf.constants import UserAccessPermissions

from ._processing_core import (
    PERM_ASSEMBLE,
    PERM_MODIFY,
    InputFile,
    NotEmulated,
    OutputFile,
    Params,
    ProcessingError,
    ProcessingResult,
    open_pdf,
    output_name,
    read_pdf_input,
    require_inputs,
    split_name,
)
from ._processing_ranges import parse_page_ranges, selected_pages

__all__ = [
    "compress",
    "copy_pages",
    "delete_pages",
    "make_searchable",
    "merge",
    "pdf_result",
    "rotate",
    "security_add",
    "security_remove",
    "split",
]


def copy_pages(reader: PdfReader, pages: list[int] | None = None) -> PdfWriter:
    """A writer holding the reader's pages (or a subset) and its document info."""
    writer = PdfWriter()
    writer.append(reader, pages=pages, import_outline=pages is None)
    if reader.metadata:
        writer.add_metadata({key: value for key, value in reader.metadata.items()})
    return writer


def _bytes(writer: PdfWriter) -> bytes:
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def pdf_result(params: Params, writer: PdfWriter, page_count: int) -> ProcessingResult:
    data = _bytes(writer)
    return ProcessingResult([OutputFile(output_name(params, "result.pdf"), data, "application/pdf")], page_count)


def merge(params: Params, inputs: list[InputFile]) -> ProcessingResult:
    """``/v1/pdf/merge``: concatenate the inputs in the order given."""
    require_inputs(inputs)
    writer = PdfWriter()
    total = 0
    password = params.get_str("password")
    for position, source in enumerate(inputs):
        reader = open_pdf(source, password, require=PERM_ASSEMBLE, check_permissions=params.check_permissions())
        writer.append(reader)
        if position == 0 and reader.metadata:
            writer.add_metadata({key: value for key, value in reader.metadata.items()})
        total += len(reader.pages)
    return pdf_result(params, writer, total)


def split(params: Params, inputs: list[InputFile]) -> ProcessingResult:
    """``/v1/pdf/split``: one output per range of the 1-based ``pages`` (default ``*``, every page)."""
    reader = read_pdf_input(inputs, params, PERM_ASSEMBLE)
    count = len(reader.pages)
    groups = parse_page_ranges(params.get_str("pages", "*"), count, one_based=True, allow_star=True)
    stem, suffix = split_name(output_name(params, "result.pdf"))
    files = [
        OutputFile(f"{stem}-{number}{suffix or '.pdf'}", _bytes(copy_pages(reader, group)), "application/pdf")
        for number, group in enumerate(groups, start=1)
    ]
    # pageCount is the output's pages (PDF.co's result field), here the parts' pages together.
    return ProcessingResult(files, sum(len(group) for group in groups))


def rotate(params: Params, inputs: list[InputFile]) -> ProcessingResult:
    """``/v1/pdf/edit/rotate``: add ``angle`` (a multiple of 90) to the 0-based ``pages`` (default all)."""
    reader = read_pdf_input(inputs, params, PERM_ASSEMBLE)
    angle = params.get_int("angle")
    if angle is None:
        raise ProcessingError("Parameter 'angle' is required (90, 180, 270 or -90)", 454)
    if angle % 90:
        raise ProcessingError(f"angle must be a multiple of 90, got {angle}", 454)
    writer = copy_pages(reader)
    for index in selected_pages(params.get_str("pages"), len(reader.pages)):
        # pypdf adds to any existing /Rotate, as a viewer's "rotate page" does.
        writer.pages[index].rotate(angle % 360)
    return pdf_result(params, writer, len(reader.pages))


def delete_pages(params: Params, inputs: list[InputFile]) -> ProcessingResult:
    """``/v1/pdf/edit/delete-pages``: drop the 1-based ``pages``."""
    reader = read_pdf_input(inputs, params, PERM_ASSEMBLE)
    count = len(reader.pages)
    doomed = set(selected_pages(params.required_str("pages"), count, one_based=True))
    keep = [index for index in range(count) if index not in doomed]
    if not keep:
        raise ProcessingError("Cannot delete every page of the document", 450)
    return pdf_result(params, copy_pages(reader, keep), len(keep))  # pageCount: the pages the output keeps


# --------------------------------------------------------------------------------------------------
# Security
# --------------------------------------------------------------------------------------------------

_ALGORITHMS = {
    "rc4_40bit": "RC4-40",
    "rc4_128bit": "RC4-128",
    "aes_128bit": "AES-128",
    "aes_256bit": "AES-256",
}
# PDF.co permission flags and the PDF permission bits they control.
_PERMISSION_FLAGS = {
    "allowPrintDocument": UserAccessPermissions.PRINT,
    "allowModifyDocument": UserAccessPermissions.MODIFY,
    "allowContentExtraction": UserAccessPermissions.EXTRACT,
    "allowModifyAnnotations": UserAccessPermissions.ADD_OR_MODIFY,
    "allowFillForms": UserAccessPermissions.FILL_FORM_FIELDS,
    "allowAccessibilitySupport": UserAccessPermissions.EXTRACT_TEXT_AND_GRAPHICS,
    "allowAssemblyDocument": UserAccessPermissions.ASSEMBLE_DOC,
}


def security_add(params: Params, inputs: list[InputFile]) -> ProcessingResult:
    """``/v1/pdf/security/add``: encrypt with ``ownerPassword``/``userPassword`` and permission flags."""
    owner = params.get_str("ownerPassword")
    user = params.get_str("userPassword") or ""
    if not owner and not user:
        raise ProcessingError("Pass 'ownerPassword' and/or 'userPassword'", 454)
    algorithm_name = (params.get_str("EncryptionAlgorithm") or "AES_128bit").strip()
    algorithm = _ALGORITHMS.get(algorithm_name.lower())
    if algorithm is None:
        raise ProcessingError(
            f"Unknown EncryptionAlgorithm '{algorithm_name}': use RC4_40bit, RC4_128bit, AES_128bit or AES_256bit",
            454,
        )
    permissions = UserAccessPermissions.all()
    for flag, bit in _PERMISSION_FLAGS.items():
        if not params.get_bool(flag, True):
            permissions &= ~bit
    quality = (params.get_str("printQuality") or "HighResolution").strip().lower()
    if quality not in ("highresolution", "lowresolution"):
        raise ProcessingError("printQuality must be HighResolution or LowResolution", 454)
    if quality == "lowresolution" or not permissions & UserAccessPermissions.PRINT:
        permissions &= ~UserAccessPermissions.PRINT_TO_REPRESENTATION
    reader = read_pdf_input(inputs, params, PERM_MODIFY)
    writer = copy_pages(reader)
    writer.encrypt(user_password=user, owner_password=owner or None, algorithm=algorithm, permissions_flag=permissions)
    return pdf_result(params, writer, len(reader.pages))


def security_remove(params: Params, inputs: list[InputFile]) -> ProcessingResult:
    """``/v1/pdf/security/remove``: decrypt with ``password`` (user or owner) and save unprotected."""
    reader = read_pdf_input(inputs, params)
    return pdf_result(params, copy_pages(reader), len(reader.pages))


# --------------------------------------------------------------------------------------------------
# Compression
# --------------------------------------------------------------------------------------------------


def compress(params: Params, inputs: list[InputFile]) -> ProcessingResult:
    """``/v2/pdf/compress``: lossless recompression; never returns a larger file than it was given."""
    config = params.get_json("config")
    if config is not None and not isinstance(config, Mapping):
        raise ProcessingError("'config' must be a JSON object", 454)
    reader = read_pdf_input(inputs, params, PERM_MODIFY)
    writer = copy_pages(reader)
    for page in writer.pages:
        page.compress_content_streams(level=9)
    writer.compress_identical_objects(remove_duplicates=True, remove_unreferenced=True)
    data = _bytes(writer)
    if not reader.is_encrypted and len(data) >= len(inputs[0].content):
        # Already as small as this emulator can make it (images are not resampled): keep the original.
        data = inputs[0].content
    name = output_name(params, "result.pdf")
    return ProcessingResult([OutputFile(name, data, "application/pdf")], len(reader.pages))


def make_searchable(params: Params, inputs: list[InputFile]) -> ProcessingResult:
    """``/v1/pdf/makesearchable``, for documents whose pages already carry text: they come back as they are.

    There is no OCR here: a selected page without text is refused as not emulated rather than returned unread.
    """
    reader = read_pdf_input(inputs, params, PERM_MODIFY)
    for index in selected_pages(params.get_str("pages"), len(reader.pages)):
        if not reader.pages[index].extract_text().strip():
            raise NotEmulated("/v1/pdf/makesearchable", f"page {index} has no text layer and the emulator has no OCR")
    return pdf_result(params, copy_pages(reader), len(reader.pages))
