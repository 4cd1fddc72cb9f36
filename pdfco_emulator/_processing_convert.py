"""Documents to PDF: text, CSV, HTML, images, Word ``.docx`` and PDFs, for the convert-from and merge2 endpoints.

``/v1/pdf/convert/from/doc`` and ``/v1/pdf/merge2`` take any document the emulator can read, judged by its
bytes first and its name second (PDF.co's samples upload everything as ``application/octet-stream``, so the
content type says little): a PDF passes through unchanged, text becomes pages of text, CSV a table, HTML is
rendered as by the HTML converter, an image fills a page of its own size, and a ``.docx`` is read with
python-docx (paragraphs, headings, lists, tables, bold and italics) and rendered through the same HTML path.
Formats PDF.co converts and the emulator does not (``.doc``, ``.rtf``, spreadsheets, presentations, e-mail)
raise :class:`NotEmulated` naming the format. ``/csv`` and ``/image`` accept only their own kind, as their
names say. PDF.co does not document how it lays out these conversions; the layouts here are the emulator's.
"""

from __future__ import annotations

import csv
import html
import io
import re
import zipfile

from fpdf import FPDF
from PIL import Image, ImageOps, UnidentifiedImageError
from pypdf import PdfWriter

from . import _processing_core as core
from ._processing_core import InputFile, NotEmulated, OutputFile, Params, ProcessingError, ProcessingResult
from ._processing_html import render_html
from ._processing_render import latin1, new_document, render_text

__all__ = ["csv_to_pdf", "doc_to_pdf", "document_kind", "document_to_pdf", "image_to_pdf", "merge2"]

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP_MAGIC = b"PK\x03\x04"
# Office formats PDF.co converts and the emulator does not, by what their bytes or names show.
_UNSUPPORTED = {
    "ole": "a legacy Office file (.doc, .xls, .ppt or .msg)",
    "rtf": "an RTF document",
    "xlsx": "an Excel workbook (.xlsx)",
    "pptx": "a PowerPoint presentation (.pptx)",
    "odf": "an OpenDocument file (.odt, .ods or .odp)",
    "zip": "a ZIP archive",
    "email": "an e-mail message (.eml)",
    "xps": "an XPS document",
    "svg": "an SVG image",
}
_CONVERTS = "text (.txt), CSV, HTML, images (PNG, JPEG, GIF, BMP, TIFF, WEBP), Word .docx and PDF files"
_TEXT_SUFFIXES = (".txt", ".text", ".log", ".md", ".json", ".xml")
# Text-based formats known by their names.
_NAMED_KINDS = {".eml": "email", ".svg": "svg"}
_CSV_SUFFIXES = (".csv", ".tsv")
_HTML_SUFFIXES = (".html", ".htm", ".xhtml")
# Word's built-in heading styles: "Title" and "Heading 1" to "Heading 9".
_HEADING = re.compile(r"(?:Title|Heading (\d+))")
# Images without a DPI of their own are laid out as a browser shows them: 96 pixels per inch.
_DEFAULT_DPI = 96.0


def _suffix(source: InputFile) -> str:
    name = source.name.lower()
    return name[name.rfind(".") :] if "." in name else ""


def _zip_kind(data: bytes) -> str:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, ValueError):
        return "binary"
    if "word/document.xml" in names:
        return "docx"
    if "xl/workbook.xml" in names:
        return "xlsx"
    if "ppt/presentation.xml" in names:
        return "pptx"
    if "mimetype" in names and "content.xml" in names:
        return "odf"
    if "FixedDocSeq.fdseq" in names or any(name.endswith(".fdseq") for name in names):
        return "xps"
    return "zip"


def _is_image(data: bytes) -> bool:
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.verify()
    except Exception:  # Pillow signals "not an image" with many exception types
        return False
    return True


def _decode(data: bytes) -> str | None:
    """The text of a text file, or None when the bytes are binary."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", errors="replace")
    if b"\x00" in data[:8192]:
        return None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")  # Windows' own text files, as Notepad writes them


def document_kind(source: InputFile) -> str:
    """What a document is: ``pdf``, ``docx``, ``image``, ``html``, ``csv``, ``text``, a key of the formats the
    emulator does not convert, or ``binary`` (none of these)."""
    data = source.content
    head = data[:1024]
    if b"%PDF-" in head:
        return "pdf"
    if data.startswith(_ZIP_MAGIC):
        return _zip_kind(data)
    if data.startswith(_OLE_MAGIC):
        return "ole"
    if head.lstrip().startswith(b"{\\rtf"):
        return "rtf"
    suffix, text = _suffix(source), _decode(head)
    if text is not None:
        # Named text first: a text file can look like one of Pillow's text-based image formats (XBM starts "#define").
        start = text.lstrip().lower()
        if suffix in _CSV_SUFFIXES or (source.content_type or "").lower() in ("text/csv", "text/tab-separated-values"):
            return "csv"
        if suffix in _HTML_SUFFIXES or start.startswith(("<!doctype html", "<html")):
            return "html"
        if suffix in _NAMED_KINDS:
            return _NAMED_KINDS[suffix]
        if suffix in _TEXT_SUFFIXES:
            return "text"
    if _is_image(data):
        return "image"
    return "binary" if text is None else "text"


def _refuse(source: InputFile, kind: str, endpoint: str) -> NotEmulated | ProcessingError:
    if kind in _UNSUPPORTED:
        return NotEmulated(
            endpoint,
            f"'{source.name}' is {_UNSUPPORTED[kind]}, which the emulator does not convert (it converts {_CONVERTS})",
        )
    return ProcessingError(f"'{source.name}' is not a document the emulator can read (it converts {_CONVERTS})", 442)


# --- text and tables -------------------------------------------------------------------------------------


def _text(source: InputFile) -> str:
    text = _decode(source.content)
    if text is None:
        raise ProcessingError(f"'{source.name}' is not a text file", 442)
    return text


def _csv_rows(text: str) -> list[list[str]]:
    sample = text[:4096]
    try:
        dialect: type[csv.Dialect] = csv.Sniffer().sniff(sample, delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel
    rows = [row for row in csv.reader(io.StringIO(text), dialect) if any(cell.strip() for cell in row)]
    width = max((len(row) for row in rows), default=0)
    return [row + [""] * (width - len(row)) for row in rows]


def _render_table(rows: list[list[str]], source_text: str) -> bytes:
    """A table with the first row as its heading; wide tables go landscape in a smaller font."""
    if not rows:
        return render_text(source_text)
    wide = len(rows[0]) > 6
    pdf = new_document(orientation="L" if wide else "P")
    pdf.set_font("Helvetica", size=8 if wide else 10)
    pdf.add_page()
    try:
        with pdf.table(line_height=pdf.font_size * 1.5) as table:
            for cells in rows:
                row = table.row()
                for cell in cells:
                    row.cell(latin1(cell))
        return bytes(pdf.output())
    except ValueError:  # fpdf2 refuses a cell taller than a page (one long unbroken value in a narrow column)
        return render_text(source_text)


def _image_pages(sources: list[InputFile], pdf: FPDF) -> None:
    for source in sources:
        try:
            with Image.open(io.BytesIO(source.content)) as opened:
                image = ImageOps.exif_transpose(opened)  # photos stand the way the camera held them
                image.load()
        except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as exc:
            raise ProcessingError(f"'{source.name}' is not an image the emulator can read: {exc}", 442) from exc
        if image.mode not in ("RGB", "RGBA", "L", "LA", "CMYK", "1"):
            image = image.convert("RGBA" if "transparency" in image.info or "A" in image.mode else "RGB")
        dpi = image.info.get("dpi") or (_DEFAULT_DPI, _DEFAULT_DPI)
        dpi_x, dpi_y = (float(value) or _DEFAULT_DPI for value in dpi)
        width, height = image.width * 72.0 / dpi_x, image.height * 72.0 / dpi_y
        pdf.add_page(format=(width, height))
        pdf.image(image, x=0, y=0, w=width, h=height)


def _images_pdf(sources: list[InputFile]) -> bytes:
    pdf = new_document(margins=(0, 0, 0, 0))
    _image_pages(sources, pdf)
    return bytes(pdf.output())


# --- Word ------------------------------------------------------------------------------------------------


def _docx_html(source: InputFile) -> str:
    """The document's paragraphs and tables as the small HTML the renderer draws."""
    try:
        import docx  # type: ignore[import-untyped,unused-ignore]
        from docx.table import Table  # type: ignore[import-untyped,unused-ignore]
    except ImportError:  # pragma: no cover - python-docx ships with the emulator extra
        raise NotEmulated(
            "/v1/pdf/convert/from/doc",
            "Word .docx conversion needs python-docx: pip install 'prefect-pdfco[emulator]'",
        ) from None
    try:
        document = docx.Document(io.BytesIO(source.content))
    except Exception as exc:  # python-docx raises KeyError, ValueError, lxml errors... for broken packages
        raise ProcessingError(f"'{source.name}' is damaged or not a Word document: {exc}", 442) from exc
    parts: list[str] = []
    open_list: str | None = None
    for block in document.iter_inner_content():
        if isinstance(block, Table):
            cells = (
                "".join(f"<tr>{''.join(f'<td>{html.escape(cell.text)}</td>' for cell in row.cells)}</tr>")
                for row in block.rows
            )
            parts.extend(["</" + open_list + ">"] if open_list else [])
            open_list = None
            parts.append(f'<table border="1">{"".join(cells)}</table>')
            continue
        style = (block.style.name if block.style is not None else "") or ""
        tag = "ul" if style.startswith("List Bullet") else "ol" if style.startswith("List Number") else None
        if tag != open_list:
            parts.extend([f"</{open_list}>"] if open_list else [])
            parts.extend([f"<{tag}>"] if tag else [])
            open_list = tag
        text = "".join(_run_html(run.text, bool(run.bold), bool(run.italic), bool(run.underline)) for run in block.runs)
        if tag:
            parts.append(f"<li>{text}</li>")
        elif heading := _HEADING.fullmatch(style):
            level = min(6, int(heading.group(1) or 1))
            parts.append(f"<h{level}>{text}</h{level}>")
        else:
            parts.append(f"<p>{text}</p>" if text.strip() else "<br>")
    parts.extend([f"</{open_list}>"] if open_list else [])
    return "".join(parts) or "<p> </p>"


def _run_html(text: str, bold: bool, italic: bool, underline: bool) -> str:
    markup = html.escape(text)
    for tag, on in (("b", bold), ("i", italic), ("u", underline)):
        markup = f"<{tag}>{markup}</{tag}>" if on and markup else markup
    return markup


# --- the endpoints ---------------------------------------------------------------------------------------


def document_to_pdf(source: InputFile, params: Params, endpoint: str) -> tuple[bytes, int]:
    """One document as PDF bytes and their page count.

    Raises:
        NotEmulated: A format PDF.co converts and the emulator does not.
        ProcessingError: 442 for bytes that are no document at all, 441/443 for a protected PDF.
    """
    kind = document_kind(source)
    if kind == "pdf":
        # A PDF given as a document passes through as it is: it already is the result.
        reader = core.open_pdf(source, None, require=core.PERM_ASSEMBLE, check_permissions=params.check_permissions())
        return source.content, len(reader.pages)
    if kind == "docx":
        data = render_html(_docx_html(source), Params({}))
    elif kind == "image":
        data = _images_pdf([source])
    elif kind == "html":
        data = render_html(_text(source), Params({}))
    elif kind == "csv":
        text = _text(source)
        data = _render_table(_csv_rows(text), text)
    elif kind == "text":
        data = render_text(_text(source))
    else:
        raise _refuse(source, kind, endpoint)
    return data, _page_count(data)


def _page_count(data: bytes) -> int:
    return len(core.open_pdf(InputFile("result.pdf", data), None).pages)


def _pdf_result(params: Params, data: bytes, pages: int) -> ProcessingResult:
    return ProcessingResult([OutputFile(core.output_name(params, "result.pdf"), data, "application/pdf")], pages)


def doc_to_pdf(params: Params, inputs: list[InputFile]) -> ProcessingResult:
    """``/v1/pdf/convert/from/doc``: one document (any kind the emulator reads, see the module docstring)."""
    core.require_inputs(inputs)
    return _pdf_result(params, *document_to_pdf(inputs[0], params, "/v1/pdf/convert/from/doc"))


def csv_to_pdf(params: Params, inputs: list[InputFile]) -> ProcessingResult:
    """``/v1/pdf/convert/from/csv``: a CSV (comma, semicolon, tab or pipe separated) as a table."""
    core.require_inputs(inputs)
    source = inputs[0]
    kind = document_kind(source)
    if kind in _UNSUPPORTED:
        raise _refuse(source, kind, "/v1/pdf/convert/from/csv")
    if kind not in ("csv", "text"):
        raise ProcessingError(f"'{source.name}' is not a CSV file", 442)
    text = _text(source)
    data = _render_table(_csv_rows(text), text)
    return _pdf_result(params, data, _page_count(data))


def image_to_pdf(params: Params, inputs: list[InputFile]) -> ProcessingResult:
    """``/v1/pdf/convert/from/image``: each image (``url`` is comma-separated) on a page of its own size."""
    core.require_inputs(inputs)
    data = _images_pdf(inputs)
    return _pdf_result(params, data, len(inputs))


def merge2(params: Params, inputs: list[InputFile]) -> ProcessingResult:
    """``/v1/pdf/merge2``: documents of any kind the emulator reads, each made a PDF, joined in order."""
    core.require_inputs(inputs)
    writer = PdfWriter()
    total = 0
    for source in inputs:
        data, pages = document_to_pdf(source, params, "/v1/pdf/merge2")
        writer.append(core.open_pdf(InputFile(source.name, data), None, check_permissions=False))
        total += pages
    buffer = io.BytesIO()
    writer.write(buffer)
    return _pdf_result(params, buffer.getvalue(), total)
