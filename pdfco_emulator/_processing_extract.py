"""Text extraction endpoints: text, text-simple, json2, xml, csv and find.

Positions come from pypdf's text visitor (one callback per text-showing operator). Widths are computed
from the standard-14 font metrics fpdf2 ships when the font is one of them, and estimated at half an
em per character otherwise, so coordinates are close for simple documents and approximate in general.
"""

from __future__ import annotations

import csv
import io
import math
import re
from dataclasses import dataclass
from xml.etree import ElementTree

from fpdf.fonts import CORE_FONTS_CHARWIDTHS
from pypdf import PageObject, PdfReader

from . import _processing_core as core
from ._processing_core import InputFile, Params, ProcessingError, ProcessingResult
from ._processing_ranges import selected_pages

__all__ = [
    "TextChunk",
    "find",
    "layout_text",
    "page_chunks",
    "rows_of",
    "to_csv",
    "to_json2",
    "to_text",
    "to_text_simple",
    "to_xml",
]

# Base font name -> fpdf2 metrics key (standard-14 fonts only).
_CORE_METRICS = {
    "helvetica": "helvetica",
    "helvetica-bold": "helveticaB",
    "helvetica-oblique": "helveticaI",
    "helvetica-boldoblique": "helveticaBI",
    "arial": "helvetica",
    "times-roman": "times",
    "times-bold": "timesB",
    "times-italic": "timesI",
    "times-bolditalic": "timesBI",
    "courier": "courier",
    "courier-bold": "courierB",
    "courier-oblique": "courierI",
    "courier-boldoblique": "courierBI",
}


@dataclass
class TextChunk:
    """A run of text with its box in top-left-origin page coordinates (points)."""

    text: str
    left: float
    top: float
    width: float
    height: float
    font_name: str
    font_size: float
    page_index: int

    def text_width(self, text: str) -> float:
        """Width of a substring of this chunk, in points."""
        return _text_width(text, self.font_name, self.font_size)


def _text_width(text: str, font_name: str, size: float) -> float:
    metrics = CORE_FONTS_CHARWIDTHS.get(_CORE_METRICS.get(font_name.lower(), ""))
    if metrics is None:
        return len(text) * size * 0.5
    return sum(metrics.get(char, 500) for char in text) * size / 1000


def page_chunks(page: PageObject, page_index: int) -> list[TextChunk]:
    """The text runs of one page, with positions."""
    box = page.mediabox
    left0, top0 = float(box.left), float(box.top)
    chunks: list[TextChunk] = []

    def visit(text: str, cm: list[float], tm: list[float], font: object, size: float) -> None:
        stripped = text.strip()
        if not stripped:
            return
        # Text-space origin through the text matrix, then the current transformation matrix.
        x = tm[4] * cm[0] + tm[5] * cm[2] + cm[4]
        y = tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
        scale = math.hypot(tm[2], tm[3]) * math.hypot(cm[2], cm[3]) or 1.0
        font_size = float(size) * scale
        base = ""
        if isinstance(font, dict):
            base = str(font.get("/BaseFont", "")).lstrip("/")
            base = base.split("+", 1)[-1]  # drop subset prefixes such as ABCDEF+Helvetica
        # Leading spaces are separators pypdf inserts; shift right by their width.
        lead = text[: len(text) - len(text.lstrip())]
        x += _text_width(lead, base, font_size)
        chunks.append(
            TextChunk(
                text=stripped,
                left=round(x - left0, 2),
                # The baseline sits about 0.8 em below the top of the glyph box.
                top=round(top0 - y - font_size * 0.8, 2),
                width=round(_text_width(stripped, base, font_size), 2),
                height=round(font_size, 2),
                font_name=base or "Unknown",
                font_size=round(font_size, 2),
                page_index=page_index,
            )
        )

    page.extract_text(visitor_text=visit)
    return chunks


def layout_text(page: PageObject) -> str:
    """Text of a page with its layout (columns kept apart by runs of spaces)."""
    try:
        text = page.extract_text(extraction_mode="layout")
    except Exception:  # layout mode trips on some fonts; plain mode is the documented fallback
        text = page.extract_text()
    lines = [line.rstrip() for line in text.splitlines()]
    # Layout mode mirrors vertical gaps with empty lines; keep at most one in a row.
    squeezed: list[str] = []
    for line in lines:
        if line or (squeezed and squeezed[-1]):
            squeezed.append(line)
    while squeezed and not squeezed[-1]:
        squeezed.pop()
    return "\n".join(squeezed)


_LINE_ENDINGS = {"crlf": "\r\n", "lf": "\n", "cr": "\r", "\r\n": "\r\n", "\n": "\n", "\r": "\r"}


def _line_ending(params: Params) -> str:
    value = params.get_str("lineEnding")
    if value is None:
        # PDF.co's documented text output uses CRLF line endings.
        return "\r\n"
    ending = _LINE_ENDINGS.get(value.lower()) or _LINE_ENDINGS.get(value)
    if ending is None:
        raise ProcessingError("lineEnding must be CRLF, LF or CR", 454)
    return ending


def _pages(params: Params, inputs: list[InputFile]) -> tuple[PdfReader, list[int]]:
    reader = core.read_pdf_input(inputs, params, core.PERM_EXTRACT)
    return reader, selected_pages(params.get_str("pages"), len(reader.pages))


def _rect(params: Params) -> tuple[float, float, float, float] | None:
    """``rect`` (``"x,y,width,height"`` in points from the top left), or None for the whole page."""
    text = params.get_str("rect")
    if text is None or not text.strip():
        return None
    try:
        x, y, width, height = (float(part) for part in text.replace(" ", ",").split(",") if part)
    except ValueError:
        raise ProcessingError(f"Invalid rect '{text}': use x,y,width,height in points", 454) from None
    return x, y, width, height


def _in_rect(chunks: list[TextChunk], rect: tuple[float, float, float, float] | None) -> list[TextChunk]:
    if rect is None:
        return chunks
    x, y, width, height = rect
    # A run belongs to the area when its middle does: runs crossing the edge go where most of them is.
    return [
        chunk
        for chunk in chunks
        if x <= chunk.left + chunk.width / 2 <= x + width and y <= chunk.top + chunk.height / 2 <= y + height
    ]


def _lines(chunks: list[TextChunk]) -> str:
    """Text of positioned runs, a line per row, runs apart by as many spaces as their gap holds."""
    lines: list[str] = []
    for row in rows_of(chunks):
        line, end = "", None
        for chunk in row:
            if end is not None:
                gap = chunk.left - end
                line += " " * max(1, round(gap / (chunk.font_size * 0.5))) if gap > chunk.font_size * 0.4 else " "
            line += chunk.text
            end = chunk.left + chunk.width
        lines.append(line)
    return "\n".join(lines)


def _page_text(page: PageObject, index: int, rect: tuple[float, float, float, float] | None) -> str:
    return layout_text(page) if rect is None else _lines(_in_rect(page_chunks(page, index), rect))


def _text_result(params: Params, texts: list[str], count: int) -> ProcessingResult:
    ending = _line_ending(params)
    # Pages are separated by a form feed, as layout-preserving text extractors conventionally do.
    body = "\f".join(ending.join(text.split("\n")) + ending for text in texts)
    return ProcessingResult([core.text_file(core.output_name(params, "result.txt"), body)], count, body=body)


def to_text(params: Params, inputs: list[InputFile]) -> ProcessingResult:
    """``/v1/pdf/convert/to/text``: layout-preserving text of the 0-based ``pages``."""
    reader, pages = _pages(params, inputs)
    rect = _rect(params)
    return _text_result(params, [_page_text(reader.pages[index], index, rect) for index in pages], len(pages))


def to_text_simple(params: Params, inputs: list[InputFile]) -> ProcessingResult:
    """``/v1/pdf/convert/to/text-simple``: plain text in reading order."""
    reader, pages = _pages(params, inputs)
    texts = [reader.pages[index].extract_text().strip("\n") for index in pages]
    return _text_result(params, texts, len(pages))


def rows_of(chunks: list[TextChunk]) -> list[list[TextChunk]]:
    """Group chunks into rows by vertical position, each row sorted left to right."""
    rows: list[list[TextChunk]] = []
    for chunk in sorted(chunks, key=lambda c: (c.top, c.left)):
        if rows and abs(rows[-1][0].top - chunk.top) <= max(2.0, chunk.height * 0.3):
            rows[-1].append(chunk)
        else:
            rows.append([chunk])
    return [sorted(row, key=lambda c: c.left) for row in rows]


def to_json2(params: Params, inputs: list[InputFile]) -> ProcessingResult:
    """``/v1/pdf/convert/to/json2``: pages, rows and text runs with font and position.

    The shape follows the XML-derived JSON of PDF.co's engine (``@`` attributes, ``#text`` content), with
    ``page`` always a list.
    """
    reader, pages = _pages(params, inputs)
    rect = _rect(params)
    page_items: list[dict[str, object]] = []
    for index in pages:
        page = reader.pages[index]
        rows = rows_of(_in_rect(page_chunks(page, index), rect))
        page_items.append(
            {
                "@index": str(index),
                "@width": f"{float(page.mediabox.width):g}",
                "@height": f"{float(page.mediabox.height):g}",
                "row": [
                    {
                        "column": [
                            {
                                "text": {
                                    "@fontName": chunk.font_name,
                                    "@fontSize": f"{chunk.font_size:g}",
                                    "@x": f"{chunk.left:g}",
                                    "@y": f"{chunk.top:g}",
                                    "@width": f"{chunk.width:g}",
                                    "@height": f"{chunk.height:g}",
                                    "#text": chunk.text,
                                }
                            }
                            for chunk in row
                        ]
                    }
                    for row in rows
                ],
            }
        )
    body: dict[str, object] = {"document": {"page": page_items}}
    return ProcessingResult([core.json_file(core.output_name(params, "result.json"), body)], len(pages), body=body)


def to_xml(params: Params, inputs: list[InputFile]) -> ProcessingResult:
    """``/v1/pdf/convert/to/xml``: json2's document as the XML it mirrors (``@`` attributes, ``#text`` content)."""
    result = to_json2(params, inputs)
    assert isinstance(result.body, dict)
    root = ElementTree.Element("document")
    for page in result.body["document"]["page"]:
        page_element = ElementTree.SubElement(root, "page", {k[1:]: v for k, v in page.items() if k.startswith("@")})
        for row in page["row"]:
            row_element = ElementTree.SubElement(page_element, "row")
            for column in row["column"]:
                text = column["text"]
                attributes = {key[1:]: value for key, value in text.items() if key.startswith("@")}
                ElementTree.SubElement(ElementTree.SubElement(row_element, "column"), "text", attributes).text = text[
                    "#text"
                ]
    body = '<?xml version="1.0" encoding="utf-8"?>\n' + ElementTree.tostring(root, encoding="unicode")
    name = core.output_name(params, "result.xml")
    return ProcessingResult([core.text_file(name, body, "application/xml")], result.page_count, body=body)


def to_csv(params: Params, inputs: list[InputFile]) -> ProcessingResult:
    """``/v1/pdf/convert/to/csv``: one CSV row per text line, columns split on runs of 2+ spaces."""
    reader, pages = _pages(params, inputs)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    rect = _rect(params)
    for index in pages:
        for line in _page_text(reader.pages[index], index, rect).split("\n"):
            if line.strip():
                writer.writerow(re.split(r"\s{2,}", line.strip()))
    body = buffer.getvalue()
    name = core.output_name(params, "result.csv")
    return ProcessingResult([core.text_file(name, body, "text/csv")], len(pages), body=body)


def find(params: Params, inputs: list[InputFile]) -> ProcessingResult:
    """``/v1/pdf/find``: occurrences of ``searchString`` with approximate boxes.

    ``regexSearch`` makes it a regular expression; ``caseSensitive`` defaults to true;
    ``wordMatchingMode`` ``ExactMatch`` requires whole words. Matches are searched within each text run.
    """
    needle = params.required_str("searchString")
    flags = 0 if params.get_bool("caseSensitive", True) else re.IGNORECASE
    pattern_text = needle if params.get_bool("regexSearch") else re.escape(needle)
    if (params.get_str("wordMatchingMode") or "None").strip().lower() == "exactmatch":
        pattern_text = rf"(?<!\w)(?:{pattern_text})(?!\w)"
    try:
        pattern = re.compile(pattern_text, flags)
    except re.error as exc:
        raise ProcessingError(f"Invalid regular expression in searchString: {exc}", 454) from None
    reader, pages = _pages(params, inputs)
    found: list[dict[str, object]] = []
    for index in pages:
        for chunk in page_chunks(reader.pages[index], index):
            for match in pattern.finditer(chunk.text):
                if not match.group(0):
                    continue
                found.append(
                    {
                        "text": match.group(0),
                        "left": round(chunk.left + chunk.text_width(chunk.text[: match.start()]), 2),
                        "top": chunk.top,
                        "width": round(chunk.text_width(match.group(0)), 2),
                        "height": chunk.height,
                        "pageIndex": index,
                    }
                )
    name = core.output_name(params, "result.json")
    return ProcessingResult([core.json_file(name, found)], len(pages), body=found)
