"""PDF to HTML; to JPG, PNG, WEBP (an image per page) or TIFF (pypdfium2); unsearchable PDFs; form fields (pypdf).

These are the endpoints PDF.co's own clients lean on beside the ones our library calls: its MCP server converts
to HTML and images through them and reads form fields through ``/v1/pdf/info/fields``
(observed running ``pdfco-mcp`` 0.0.11, https://pypi.org/project/pdfco-mcp/).
"""

from __future__ import annotations

import html
import io
import threading

from fpdf import FPDF
from PIL import Image
from pypdf import PageObject, PdfReader
from pypdf.generic import ArrayObject, DictionaryObject, NameObject

from . import _processing_core as core
from ._processing_core import InputFile, OutputFile, Params, ProcessingError, ProcessingResult
from ._processing_extract import layout_text, page_chunks
from ._processing_info import document_info
from ._processing_ranges import selected_pages
from ._processing_render import FIXED_DATE

__all__ = [
    "field_name",
    "info_fields",
    "inherited",
    "make_unsearchable",
    "to_html",
    "to_jpg",
    "to_png",
    "to_tiff",
    "to_webp",
    "widgets_of",
]

# PDFium is not thread-safe, and jobs run in worker threads: one render at a time.
_PDFIUM_LOCK = threading.Lock()
# PDF.co does not document the resolution of its images; 150 dpi reads well and keeps the files small.
_RENDER_DPI = 150
# Output extension: Pillow's format name and the content type the link serves.
_IMAGE_FORMATS = {"jpg": ("JPEG", "image/jpeg"), "png": ("PNG", "image/png"), "webp": ("WEBP", "image/webp")}


def _pages(params: Params, inputs: list[InputFile]) -> tuple[PdfReader, list[int]]:
    reader = core.read_pdf_input(inputs, params, core.PERM_EXTRACT)
    return reader, selected_pages(params.get_str("pages"), len(reader.pages))


# --- images ----------------------------------------------------------------------------------------------


def _page_images(params: Params, inputs: list[InputFile]) -> list[Image.Image]:
    """The selected pages (0-based ``pages``) rendered at 150 dpi, after pypdf's password and page checks."""
    try:
        import pypdfium2 as pdfium  # type: ignore[import-untyped,unused-ignore]
    except ImportError:  # pragma: no cover - pypdfium2 ships with the emulator extra
        raise ProcessingError("PDF to image needs pypdfium2: pip install 'prefect-pdfco[emulator]'", 500) from None
    _, pages = _pages(params, inputs)  # the password, permission and page checks, with pypdf's error codes
    images: list[Image.Image] = []
    with _PDFIUM_LOCK:
        document = pdfium.PdfDocument(inputs[0].content, password=params.get_str("password"))
        try:
            for index in pages:
                page = document[index]
                try:
                    # pypdfium2 annotates scale as int; it is a float factor (150 dpi is 150/72).
                    bitmap = page.render(scale=_RENDER_DPI / 72)  # pyright: ignore[reportArgumentType]
                    images.append(bitmap.to_pil().convert("RGB"))
                finally:
                    page.close()
        finally:
            document.close()
    return images


def _render(params: Params, inputs: list[InputFile], extension: str) -> ProcessingResult:
    """One image per selected page, named ``<name>-1.<ext>``, ``-2``..., like split's parts."""
    stem, suffix = core.split_name(core.output_name(params, f"result.{extension}"))
    pil_format, content_type = _IMAGE_FORMATS[extension]
    files: list[OutputFile] = []
    for number, image in enumerate(_page_images(params, inputs), start=1):
        buffer = io.BytesIO()
        image.save(buffer, format=pil_format, dpi=(_RENDER_DPI, _RENDER_DPI))
        files.append(OutputFile(f"{stem}-{number}{suffix or '.' + extension}", buffer.getvalue(), content_type))
    return ProcessingResult(files, len(files))


def to_tiff(params: Params, inputs: list[InputFile]) -> ProcessingResult:
    """``/v1/pdf/convert/to/tiff``: one multi-page TIFF of the selected pages (PDF.co's samples read one ``url``)."""
    first, *rest = _page_images(params, inputs)
    buffer = io.BytesIO()
    first.save(buffer, format="TIFF", save_all=True, append_images=rest, compression="tiff_deflate")
    name = core.output_name(params, "result.tiff")
    return ProcessingResult([OutputFile(name, buffer.getvalue(), "image/tiff")], 1 + len(rest))


def make_unsearchable(params: Params, inputs: list[InputFile]) -> ProcessingResult:
    """``/v1/pdf/makeunsearchable``: every selected page replaced by its picture, so no text is left to find."""
    reader = core.read_pdf_input(inputs, params, core.PERM_MODIFY)
    boxes = [reader.pages[index].mediabox for index in selected_pages(params.get_str("pages"), len(reader.pages))]
    pdf = FPDF(unit="pt")
    pdf.set_creation_date(FIXED_DATE)
    for image, box in zip(_page_images(params, inputs), boxes, strict=True):
        width, height = float(box.width), float(box.height)
        pdf.add_page(format=(width, height))
        pdf.image(image, x=0, y=0, w=width, h=height)
    data = bytes(pdf.output())
    name = core.output_name(params, "result.pdf")
    return ProcessingResult([OutputFile(name, data, "application/pdf")], len(boxes))


def to_jpg(params: Params, inputs: list[InputFile]) -> ProcessingResult:
    """``/v1/pdf/convert/to/jpg``: a JPEG per page."""
    return _render(params, inputs, "jpg")


def to_png(params: Params, inputs: list[InputFile]) -> ProcessingResult:
    """``/v1/pdf/convert/to/png``: a PNG per page."""
    return _render(params, inputs, "png")


def to_webp(params: Params, inputs: list[InputFile]) -> ProcessingResult:
    """``/v1/pdf/convert/to/webp``: a WEBP per page."""
    return _render(params, inputs, "webp")


# --- HTML ------------------------------------------------------------------------------------------------

_STYLE = (
    "body{background:#eee;margin:0;padding:8px}"
    ".page{position:relative;background:#fff;margin:0 auto 8px;overflow:hidden}"
    ".page span{position:absolute;white-space:pre}"
)


def to_html(params: Params, inputs: list[InputFile]) -> ProcessingResult:
    """``/v1/pdf/convert/to/html``: each page a box holding its text runs where they stand.

    ``simple: true`` gives plain HTML instead: a paragraph per text line, pages apart. ``columns`` (keep columns
    apart in simple mode) is accepted; the layout text already keeps columns apart with spaces.
    """
    reader, pages = _pages(params, inputs)
    simple = params.get_bool("simple")
    blocks: list[str] = []
    for index in pages:
        page = reader.pages[index]
        if simple:
            lines = [line.strip() for line in layout_text(page).split("\n")]
            blocks.append("".join(f"<p>{html.escape(line)}</p>" for line in lines if line) + "<hr>")
            continue
        box = page.mediabox
        spans = "".join(
            f'<span style="left:{chunk.left:g}pt;top:{chunk.top:g}pt;font-size:{chunk.font_size:g}pt;'
            f'font-family:{html.escape(_css_family(chunk.font_name), quote=True)}">{html.escape(chunk.text)}</span>'
            for chunk in page_chunks(page, index)
        )
        blocks.append(
            f'<div class="page" id="page{index}" style="width:{float(box.width):g}pt;height:{float(box.height):g}pt">'
            f"{spans}</div>"
        )
    metadata = reader.metadata
    title = html.escape(str((metadata.get("/Title") if metadata else None) or "Document"))
    style = "" if simple else f"<style>{_STYLE}</style>"
    markup = (
        f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>{title}</title>{style}</head>'
        f"<body>{''.join(blocks)}</body></html>"
    )
    name = core.output_name(params, "result.html")
    return ProcessingResult([core.text_file(name, markup, "text/html")], len(pages), body=markup)


def _css_family(font_name: str) -> str:
    name = font_name.lower()
    if "courier" in name:
        return "Courier New, monospace"
    if "times" in name:
        return "Times New Roman, serif"
    return "Helvetica, Arial, sans-serif"


# --- form fields -----------------------------------------------------------------------------------------

# Field flags (PDF 32000-1, 12.7.4): buttons are push buttons or radio buttons unless both are clear.
_PUSHBUTTON, _RADIO, _COMBO = 1 << 16, 1 << 15, 1 << 17


def _field_type(kind: str, flags: int) -> str:
    """PDF.co's words for field kinds ("fillable edit boxes, check-boxes, radio buttons, combo-boxes")."""
    if kind == "/Tx":
        return "EditBox"
    if kind == "/Btn":
        return "Button" if flags & _PUSHBUTTON else "RadioButton" if flags & _RADIO else "CheckBox"
    if kind == "/Ch":
        return "ComboBox" if flags & _COMBO else "ListBox"
    return "Signature" if kind == "/Sig" else "Unknown"


def inherited(widget: DictionaryObject, key: str) -> object | None:
    """A field attribute, looked up through the widget's parents (the field tree shares them)."""
    node: DictionaryObject | None = widget
    for _ in range(32):  # a guard against cyclic /Parent chains in broken files
        if node is None:
            return None
        if key in node:
            return node[key]
        parent = node.get("/Parent")
        node = parent.get_object() if parent is not None else None
    return None


def field_name(widget: DictionaryObject) -> str:
    parts: list[str] = []
    node: DictionaryObject | None = widget
    for _ in range(32):
        if node is None:
            break
        if "/T" in node:
            parts.append(str(node["/T"]))
        parent = node.get("/Parent")
        node = parent.get_object() if parent is not None else None
    return ".".join(reversed(parts))


def _value(raw: object | None) -> str:
    if raw is None:
        return ""
    if isinstance(raw, ArrayObject):
        return ",".join(_value(item) for item in raw)
    return str(raw)[1:] if isinstance(raw, NameObject) else str(raw)  # /Yes reads "Yes", /Off "Off"


def widgets_of(page: PageObject) -> list[DictionaryObject]:
    """The form-field widgets on a page, in their order there."""
    widgets: list[DictionaryObject] = []
    for ref in page.get("/Annots") or []:
        widget = ref.get_object()
        is_widget = isinstance(widget, DictionaryObject) and widget.get("/Subtype") == "/Widget"
        if is_widget and inherited(widget, "/FT") is not None:
            widgets.append(widget)
    return widgets


def _widgets(reader: PdfReader) -> list[dict[str, object]]:
    fields: list[dict[str, object]] = []
    for index, page in enumerate(reader.pages):
        box = page.mediabox
        for widget in widgets_of(page):
            kind = inherited(widget, "/FT")
            flags = int(str(inherited(widget, "/Ff") or 0))
            x1, y1, x2, y2 = (float(v) for v in widget.get("/Rect", [0, 0, 0, 0]))
            fields.append(
                {
                    # 0-based, as every PDF.co page index but split's and delete-pages' (PDF.co shows no example).
                    "PageIndex": index,
                    "Type": _field_type(str(kind), flags),
                    "FieldName": field_name(widget),
                    "AltFieldName": _value(inherited(widget, "/TU")),
                    "Value": _value(inherited(widget, "/V")),
                    "Left": round(min(x1, x2) - float(box.left), 2),
                    "Top": round(float(box.top) - max(y1, y2), 2),
                    "Width": round(abs(x2 - x1), 2),
                    "Height": round(abs(y2 - y1), 2),
                }
            )
    return fields


def info_fields(params: Params, inputs: list[InputFile]) -> ProcessingResult:
    """``/v1/pdf/info/fields``: ``/v1/pdf/info``'s object plus ``FieldsInfo.Fields``, one entry per widget.

    PDF.co's sample reads ``json["info"]["FieldsInfo"]["Fields"]`` and each field's ``FieldName`` and ``Value``
    (a string); ``Type``, ``AltFieldName`` and ``PageIndex`` are the names its Zapier page lists, the box is in
    points from the page's top left corner, as ``/v1/pdf/find`` gives it.
    """
    reader = core.read_pdf_input(inputs, params)
    details = document_info(reader)
    details["FieldsInfo"] = {"Fields": _widgets(reader)}
    name = core.output_name(params, "result.json")
    return ProcessingResult([core.json_file(name, {"info": details})], len(reader.pages), fields={"info": details})
