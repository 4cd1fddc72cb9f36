"""Page-level PDF operations with pypdf: merge, split, rotate, delete, stamp text, security, compress.

``/v1/pdf/info`` lives in ``_processing_info``.
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping

from fpdf import FPDF
from pypdf import PdfReader, PdfWriter, Transformation
from pypdf.constants import UserAccessPermissions

from ._processing_core import (
    PERM_ANNOTATE,
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
from ._processing_render import FIXED_DATE, latin1

__all__ = [
    "compress",
    "delete_pages",
    "edit_add",
    "merge",
    "rotate",
    "security_add",
    "security_remove",
    "split",
]


def _copy(reader: PdfReader, pages: list[int] | None = None) -> PdfWriter:
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


def _pdf_result(params: Params, writer: PdfWriter, page_count: int) -> ProcessingResult:
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
    return _pdf_result(params, writer, total)


def split(params: Params, inputs: list[InputFile]) -> ProcessingResult:
    """``/v1/pdf/split``: one output per range of the 1-based ``pages`` (default ``*``, every page)."""
    reader = read_pdf_input(inputs, params, PERM_ASSEMBLE)
    count = len(reader.pages)
    groups = parse_page_ranges(params.get_str("pages", "*"), count, one_based=True, allow_star=True)
    stem, suffix = split_name(output_name(params, "result.pdf"))
    files = [
        OutputFile(f"{stem}-{number}{suffix or '.pdf'}", _bytes(_copy(reader, group)), "application/pdf")
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
    writer = _copy(reader)
    for index in selected_pages(params.get_str("pages"), len(reader.pages)):
        # pypdf adds to any existing /Rotate, as a viewer's "rotate page" does.
        writer.pages[index].rotate(angle % 360)
    return _pdf_result(params, writer, len(reader.pages))


def delete_pages(params: Params, inputs: list[InputFile]) -> ProcessingResult:
    """``/v1/pdf/edit/delete-pages``: drop the 1-based ``pages``."""
    reader = read_pdf_input(inputs, params, PERM_ASSEMBLE)
    count = len(reader.pages)
    doomed = set(selected_pages(params.required_str("pages"), count, one_based=True))
    keep = [index for index in range(count) if index not in doomed]
    if not keep:
        raise ProcessingError("Cannot delete every page of the document", 450)
    return _pdf_result(params, _copy(reader, keep), len(keep))  # pageCount: the pages the output keeps


# --------------------------------------------------------------------------------------------------
# edit/add: text annotations
# --------------------------------------------------------------------------------------------------

_FONT_FAMILIES = {
    "arial": "Helvetica",
    "helvetica": "Helvetica",
    "times": "Times",
    "times new roman": "Times",
    "courier": "Courier",
    "courier new": "Courier",
}


def _color(value: object) -> tuple[int, int, int]:
    text = str(value or "000000").strip().lstrip("#")
    if not re.fullmatch(r"[0-9a-fA-F]{6}", text):
        raise ProcessingError(f"Invalid annotation color '{value}': use RRGGBB hex", 454)
    return int(text[0:2], 16), int(text[2:4], 16), int(text[4:6], 16)


def _number(value: object, what: str, default: float) -> float:
    if value is None or value == "":
        return default
    try:
        return float(str(value))
    except ValueError:
        raise ProcessingError(f"Invalid annotation {what} '{value}'", 454) from None


def _parse_annotations_string(text: str) -> list[dict[str, object]]:
    """Parse ``annotationsString``: ``x;y;pages;text;size[+bold+italic];font;color;...`` items joined by ``|``."""
    items: list[dict[str, object]] = []
    for chunk in text.split("|"):
        if not chunk.strip():
            continue
        parts = chunk.split(";")
        if len(parts) < 4:
            raise ProcessingError(f"Invalid annotationsString item '{chunk}': expected x;y;pages;text", 454)
        item: dict[str, object] = {"x": parts[0], "y": parts[1], "pages": parts[2], "text": parts[3]}
        if len(parts) > 4 and parts[4].strip():
            size, *styles = parts[4].lower().split("+")
            item["size"] = size
            item["fontBold"] = "bold" in styles
            item["fontItalic"] = "italic" in styles
            item["fontUnderline"] = "underline" in styles
        if len(parts) > 5:
            item["fontName"] = parts[5]
        if len(parts) > 6:
            item["color"] = parts[6]
        items.append(item)
    return items


def _annotations(params: Params) -> list[dict[str, object]]:
    raw = params.get_json("annotations")
    if raw is None:
        string = params.get_str("annotationsString")
        return _parse_annotations_string(string) if string else []
    if isinstance(raw, Mapping):
        raw = [raw]
    if not isinstance(raw, list) or not all(isinstance(item, Mapping) for item in raw):
        raise ProcessingError("'annotations' must be a list of objects", 454)
    return [{str(key): value for key, value in item.items()} for item in raw]


def edit_add(params: Params, inputs: list[InputFile]) -> ProcessingResult:
    """``/v1/pdf/edit/add``: draw text annotations on pages, as real (extractable) page text."""
    for feature in ("images", "imagesString", "fields", "fieldsString"):
        if params.has(feature) and params.raw(feature) not in ([], "[]"):
            raise NotEmulated("/v1/pdf/edit/add", f"'{feature}' is not emulated (the emulator adds text annotations)")
    items = _annotations(params)
    if not items:
        raise ProcessingError("Nothing to add: pass 'annotations' (or 'annotationsString')", 454)
    reader = read_pdf_input(inputs, params, PERM_ANNOTATE)
    count = len(reader.pages)
    per_page: dict[int, list[dict[str, object]]] = {}
    for item in items:
        # Case-insensitive keys, as for top-level parameters.
        normalized = {key.lower(): value for key, value in item.items()}
        if not str(normalized.get("text") or ""):
            raise ProcessingError("Every annotation needs a 'text'", 454)
        pages = normalized.get("pages")
        for index in selected_pages(None if pages is None or pages == "" else str(pages), count):
            per_page.setdefault(index, []).append(normalized)

    overlay = FPDF(unit="pt")
    overlay.set_creation_date(FIXED_DATE)
    order = sorted(per_page)
    for index in order:
        box = reader.pages[index].mediabox
        overlay.add_page(format=(float(box.width), float(box.height)))
        overlay.set_auto_page_break(False)
        for note in per_page[index]:
            family = _FONT_FAMILIES.get(str(note.get("fontname") or "helvetica").strip().lower(), "Helvetica")
            flags = Params(note)
            style = "".join(
                letter
                for letter, key in (("B", "fontbold"), ("I", "fontitalic"), ("U", "fontunderline"))
                if flags.get_bool(key)
            )
            size = _number(note.get("size"), "size", 12.0)
            overlay.set_font(family, style=style, size=size)
            overlay.set_text_color(*_color(note.get("color")))
            x = _number(note.get("x"), "x", 0.0)
            y = _number(note.get("y"), "y", 0.0)
            text = str(note["text"]).replace("{{$$newLine}}", "\n")
            for line_number, line in enumerate(text.split("\n")):
                # PDF.co's y is the top of the text; fpdf2 places the baseline, about 0.8 em lower.
                overlay.text(x, y + size * 0.8 + line_number * size * 1.2, latin1(line))
    stamps = PdfReader(io.BytesIO(bytes(overlay.output())))
    writer = _copy(reader)
    for position, index in enumerate(order):
        box = writer.pages[index].mediabox
        writer.pages[index].merge_transformed_page(
            stamps.pages[position], Transformation().translate(float(box.left), float(box.bottom))
        )
    return _pdf_result(params, writer, count)


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
    writer = _copy(reader)
    writer.encrypt(user_password=user, owner_password=owner or None, algorithm=algorithm, permissions_flag=permissions)
    return _pdf_result(params, writer, len(reader.pages))


def security_remove(params: Params, inputs: list[InputFile]) -> ProcessingResult:
    """``/v1/pdf/security/remove``: decrypt with ``password`` (user or owner) and save unprotected."""
    reader = read_pdf_input(inputs, params)
    return _pdf_result(params, _copy(reader), len(reader.pages))


# --------------------------------------------------------------------------------------------------
# Compression
# --------------------------------------------------------------------------------------------------


def compress(params: Params, inputs: list[InputFile]) -> ProcessingResult:
    """``/v2/pdf/compress``: lossless recompression; never returns a larger file than it was given."""
    config = params.get_json("config")
    if config is not None and not isinstance(config, Mapping):
        raise ProcessingError("'config' must be a JSON object", 454)
    reader = read_pdf_input(inputs, params, PERM_MODIFY)
    writer = _copy(reader)
    for page in writer.pages:
        page.compress_content_streams(level=9)
    writer.compress_identical_objects(remove_duplicates=True, remove_unreferenced=True)
    data = _bytes(writer)
    if not reader.is_encrypted and len(data) >= len(inputs[0].content):
        # Already as small as this emulator can make it (images are not resampled): keep the original.
        data = inputs[0].content
    name = output_name(params, "result.pdf")
    return ProcessingResult([OutputFile(name, data, "application/pdf")], len(reader.pages))
