"""``/v1/pdf/info``: a document's info and permissions in the object PDF.co returns (pypdf)."""

from __future__ import annotations

import datetime as _dt

from pypdf import PdfReader
from pypdf.constants import UserAccessPermissions
from pypdf.generic import DictionaryObject

from ._processing_core import InputFile, Params, ProcessingResult, json_file, output_name, read_pdf_input

__all__ = ["document_info", "info"]


def _pdfco_date(value: _dt.datetime | None) -> str:
    """Format like PDF.co's .NET engine: ``8/15/2001 2:50:36 PM``."""
    if value is None:
        return ""
    hour = value.hour % 12 or 12
    meridiem = "AM" if value.hour < 12 else "PM"
    return f"{value.month}/{value.day}/{value.year} {hour}:{value.minute:02d}:{value.second:02d} {meridiem}"


def _safe_date(getter: object) -> _dt.datetime | None:
    # pypdf raises on malformed date strings; PDF.co still answers, so a bad date reads as empty.
    try:
        value = getter() if callable(getter) else None
    except (ValueError, TypeError):
        return None
    return value if isinstance(value, _dt.datetime) else None


# EncryptionAlgorithm codes in the info response; PDF.co documents 0 for unencrypted only, the
# others are this emulator's numbering in the order PDF.co lists the algorithms.
_ALGORITHM_CODES = {"RC4-40": 1, "RC4-128": 2, "AES-128": 3, "AES-256": 4}


def _algorithm_code(reader: PdfReader) -> int:
    if not reader.is_encrypted:
        return 0
    encrypt = reader.trailer["/Encrypt"].get_object()
    if not isinstance(encrypt, DictionaryObject):
        return 0
    version, length = int(encrypt.get("/V", 0)), int(encrypt.get("/Length", 40))
    if version >= 5:
        return _ALGORITHM_CODES["AES-256"]
    if version == 4:
        filters = encrypt.get("/CF")
        filters = filters.get_object() if filters is not None else None
        std = filters.get("/StdCF") if isinstance(filters, DictionaryObject) else None
        std = std.get_object() if std is not None else None
        method = str(std.get("/CFM", "")) if isinstance(std, DictionaryObject) else ""
        return _ALGORITHM_CODES["AES-128"] if method == "/AESV2" else _ALGORITHM_CODES["RC4-128"]
    return _ALGORITHM_CODES["RC4-128"] if length > 40 else _ALGORITHM_CODES["RC4-40"]


def document_info(reader: PdfReader) -> dict[str, object]:
    """The ``info`` object of ``/v1/pdf/info`` (and of ``/v1/pdf/info/fields``), shaped like PDF.co's."""
    metadata = reader.metadata
    box = reader.pages[0].mediabox
    width, height = float(box.width), float(box.height)
    left, top = float(box.left), float(box.bottom)
    granted = reader.user_access_permissions if reader.is_encrypted else None

    def allowed(bit: UserAccessPermissions) -> bool:
        return granted is None or bool(granted & bit)

    def meta(key: str) -> str:
        value = metadata.get(key) if metadata else None
        return str(value) if value is not None else ""

    return {
        "PageCount": len(reader.pages),
        "Author": meta("/Author"),
        "Title": meta("/Title"),
        "Producer": meta("/Producer"),
        "Subject": meta("/Subject"),
        "CreationDate": _pdfco_date(_safe_date(lambda: metadata.creation_date if metadata else None)),
        "Bookmarks": "",
        "Keywords": meta("/Keywords"),
        "Creator": meta("/Creator"),
        "Encrypted": reader.is_encrypted,
        # .NET RectangleF semantics, as in PDF.co's example: Top is the origin, Bottom = Top + Height.
        "PageRectangle": {
            "Location": {"IsEmpty": left == 0 and top == 0, "X": left, "Y": top},
            "Size": f"{width:g}, {height:g}",
            "X": left,
            "Y": top,
            "Width": width,
            "Height": height,
            "Left": left,
            "Top": top,
            "Right": left + width,
            "Bottom": top + height,
            "IsEmpty": width == 0 or height == 0,
        },
        "ModificationDate": _pdfco_date(_safe_date(lambda: metadata.modification_date if metadata else None)),
        "EncryptionAlgorithm": _algorithm_code(reader),
        "PermissionPrinting": allowed(UserAccessPermissions.PRINT),
        "PermissionModifyDocument": allowed(UserAccessPermissions.MODIFY),
        "PermissionContentExtraction": allowed(UserAccessPermissions.EXTRACT),
        "PermissionModifyAnnotations": allowed(UserAccessPermissions.ADD_OR_MODIFY),
        "PermissionFillForms": allowed(UserAccessPermissions.FILL_FORM_FIELDS),
        "PermissionAccessibility": allowed(UserAccessPermissions.EXTRACT_TEXT_AND_GRAPHICS),
        "PermissionAssemble": allowed(UserAccessPermissions.ASSEMBLE_DOC),
        "PermissionHighQualityPrint": allowed(UserAccessPermissions.PRINT_TO_REPRESENTATION),
    }


def info(params: Params, inputs: list[InputFile]) -> ProcessingResult:
    """``/v1/pdf/info``: document info and permissions in an ``info`` object shaped like PDF.co's."""
    reader = read_pdf_input(inputs, params)
    details = document_info(reader)
    name = output_name(params, "result.json")
    return ProcessingResult([json_file(name, {"info": details})], len(reader.pages), fields={"info": details})
