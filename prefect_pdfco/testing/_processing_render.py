"""HTML and text to PDF with fpdf2, and the sample documents tests use.

fpdf2's ``write_html`` understands a small, safe subset of HTML. The input is re-serialized through an
allow-list first: scripts, styles and the ``<head>`` would otherwise be drawn as text, and ``<img>`` would
make fpdf2 read local files or fetch URLs, which an emulator bound to loopback must never do on a
caller's behalf. The core PDF fonts only cover Latin-1, so other characters are transliterated where an
obvious ASCII form exists and replaced with ``?`` otherwise, rather than failing the request.
"""

from __future__ import annotations

import datetime as _dt
import html
import io
import re
from html.parser import HTMLParser

from fpdf import FPDF
from pypdf import PdfReader

from ._processing_core import (
    InputFile,
    OutputFile,
    Params,
    ProcessingError,
    ProcessingResult,
    output_name,
    require_inputs,
)

__all__ = ["html_to_pdf", "make_sample_pdf", "render_html", "render_text", "url_to_pdf"]

# A fixed timestamp keeps generated files byte-identical across runs (fpdf2 is otherwise deterministic).
FIXED_DATE = _dt.datetime(2024, 1, 1, tzinfo=_dt.timezone.utc)

_TRANSLITERATIONS = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201a": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u2013": "-",
        "\u2014": "-",
        "\u2212": "-",
        "\u2026": "...",
        "\u2022": "*",
        "\u20ac": "EUR",
        "\u2122": "(TM)",
        "\u2009": " ",
        "\u200b": "",
        "\u00a0": " ",
    }
)


def latin1(text: str) -> str:
    """Make text drawable with the core PDF fonts (Latin-1 only)."""
    text = text.translate(_TRANSLITERATIONS)
    return text.encode("latin-1", errors="replace").decode("latin-1")


# Paper sizes in points. PDF.co also accepts custom "W H" sizes with units, handled by _parse_length.
_PAPER_SIZES: dict[str, tuple[float, float]] = {
    "letter": (612, 792),
    "legal": (612, 1008),
    "tabloid": (792, 1224),
    "ledger": (1224, 792),
    "a0": (2384, 3370),
    "a1": (1684, 2384),
    "a2": (1191, 1684),
    "a3": (842, 1191),
    "a4": (595, 842),
    "a5": (420, 595),
    "a6": (298, 420),
}
_UNITS = {"pt": 1.0, "px": 0.75, "mm": 72 / 25.4, "cm": 72 / 2.54, "in": 72.0, "": 0.75}


def _parse_length(text: str, what: str) -> float:
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(pt|px|mm|cm|in)?\s*", text, re.IGNORECASE)
    if match is None:
        raise ProcessingError(f"Invalid {what} '{text}': use a number with px, mm, cm, in or pt", 454)
    # A bare number is read as CSS pixels, as a browser-based renderer would.
    return float(match.group(1)) * _UNITS[(match.group(2) or "").lower()]


def page_format(params: Params) -> tuple[tuple[float, float], str, tuple[float, float, float, float]]:
    """Read ``paperSize``, ``orientation`` and ``margins``.

    Returns:
        ``((width, height), "P" | "L", (top, right, bottom, left))``, lengths in points.
    """
    size_text = (params.get_str("paperSize") or "Letter").strip()
    size = _PAPER_SIZES.get(size_text.lower())
    if size is None:
        parts = size_text.split()
        if len(parts) != 2:
            raise ProcessingError(f"Unknown paperSize '{size_text}'", 454)
        size = (_parse_length(parts[0], "paperSize"), _parse_length(parts[1], "paperSize"))
    orientation_text = (params.get_str("orientation") or "Portrait").strip().lower()
    if orientation_text not in ("portrait", "landscape"):
        raise ProcessingError(f"orientation must be Portrait or Landscape, not '{orientation_text}'", 454)
    margins_text = params.get_str("margins")
    if margins_text:
        values = [_parse_length(part, "margins") for part in margins_text.split()]
        if not 1 <= len(values) <= 4:
            raise ProcessingError(f"Invalid margins '{margins_text}'", 454)
        # CSS shorthand: 1, 2, 3 or 4 values (top right bottom left).
        top = values[0]
        right = values[1] if len(values) > 1 else top
        bottom = values[2] if len(values) > 2 else top
        left = values[3] if len(values) > 3 else right
        margins = (top, right, bottom, left)
    else:
        margins = (28.35, 28.35, 28.35, 28.35)  # 1 cm, fpdf2's default
    return size, "L" if orientation_text == "landscape" else "P", margins


def new_document(
    size: tuple[float, float] = _PAPER_SIZES["letter"],
    orientation: str = "P",
    margins: tuple[float, float, float, float] = (28.35, 28.35, 28.35, 28.35),
    title: str | None = None,
) -> FPDF:
    """A blank fpdf2 document in points with the core Helvetica font selected."""
    pdf = FPDF(orientation=orientation, unit="pt", format=size)
    pdf.set_creation_date(FIXED_DATE)
    pdf.set_creator("PDF.co emulator (prefect-pdfco)")
    pdf.set_producer("PDF.co emulator (prefect-pdfco) with fpdf2")
    if title:
        pdf.set_title(latin1(title))
    top, right, bottom, left = margins
    pdf.set_margins(left=left, top=top, right=right)
    pdf.set_auto_page_break(auto=True, margin=bottom)
    pdf.set_font("Helvetica", size=11)
    return pdf


def render_text(text: str, pdf: FPDF | None = None) -> bytes:
    """Render plain text, one paragraph per line, wrapping long lines."""
    pdf = pdf or new_document()
    pdf.add_page()
    width = pdf.w - pdf.l_margin - pdf.r_margin
    for line in text.replace("\r\n", "\n").split("\n"):
        pdf.multi_cell(width, 14, latin1(line), new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


# ---------------------------------------------------------------------------------------------------
# HTML sanitizing
# ---------------------------------------------------------------------------------------------------

_ALLOWED_TAGS = frozenset(
    {
        "a",
        "b",
        "strong",
        "i",
        "em",
        "u",
        "p",
        "br",
        "hr",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "ul",
        "ol",
        "li",
        "table",
        "thead",
        "tbody",
        "tfoot",
        "tr",
        "th",
        "td",
        "pre",
        "code",
        "blockquote",
        "center",
        "sup",
        "sub",
        "font",
        "dl",
        "dt",
        "dd",
    }
)
# Tags whose content is never page text.
_DROPPED_WITH_CONTENT = frozenset(
    {
        "head",
        "script",
        "style",
        "noscript",
        "template",
        "svg",
        "iframe",
        "object",
        "embed",
        "select",
        "textarea",
        "canvas",
        "math",
    }
)
_ALLOWED_ATTRS = frozenset({"href", "align", "border", "width", "color", "face", "size", "bgcolor"})
_BLOCK_TAGS = frozenset(
    {
        "p",
        "div",
        "br",
        "hr",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "li",
        "tr",
        "table",
        "ul",
        "ol",
        "pre",
        "blockquote",
        "section",
        "article",
        "header",
        "footer",
        "dt",
        "dd",
        "center",
        "form",
    }
)


class _Sanitizer(HTMLParser):
    """Re-serialize HTML keeping only tags fpdf2 renders safely; also collects plain text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.text_parts: list[str] = []
        self.title: str | None = None
        self._dropping = 0
        self._in_title = False
        self._open: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "title":
            self._in_title = True
            self.title = ""
        if tag in _DROPPED_WITH_CONTENT:
            self._dropping += 1
            return
        if self._dropping:
            return
        if tag in _BLOCK_TAGS:
            self.text_parts.append("\n")
            if tag not in _ALLOWED_TAGS:
                self._line_break()
        if tag == "img":
            alt = dict(attrs).get("alt")
            if alt:
                self.handle_data(alt)
            return
        if tag not in _ALLOWED_TAGS:
            return
        kept = "".join(
            f' {name}="{html.escape(latin1(value or ""), quote=True)}"'
            for name, value in attrs
            if name in _ALLOWED_ATTRS and not (value or "").lower().startswith(("javascript:", "file:"))
        )
        self.parts.append(f"<{tag}{kept}>")
        if tag not in ("br", "hr"):
            self._open.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag in self._open and self._open[-1] == tag:
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        if tag in _DROPPED_WITH_CONTENT:
            self._dropping = max(0, self._dropping - 1)
            return
        if self._dropping or tag not in _ALLOWED_TAGS or tag in ("br", "hr"):
            if tag in _BLOCK_TAGS:
                self.text_parts.append("\n")
                if not self._dropping and tag not in _ALLOWED_TAGS:
                    self._line_break()
            return
        # Close only tags we opened, and anything left open inside them, so fpdf2 sees balanced markup.
        if tag in self._open:
            while self._open:
                open_tag = self._open.pop()
                self.parts.append(f"</{open_tag}>")
                if open_tag == tag:
                    break
        if tag in _BLOCK_TAGS:
            self.text_parts.append("\n")

    def _line_break(self) -> None:
        # <div> and friends are not fpdf2 tags; a <br> keeps their text on separate lines, but only
        # after text, so nested blocks do not stack up empty lines.
        last = next((part for part in reversed(self.parts) if part.strip()), "<")
        if not last.startswith("<"):
            self.parts.append("<br>")

    def handle_data(self, data: str) -> None:
        if self._in_title and self.title is not None:
            self.title += data
        if self._dropping:
            return
        self.parts.append(html.escape(latin1(data), quote=False))
        self.text_parts.append(data)

    def result(self) -> str:
        return "".join(self.parts) + "".join(f"</{tag}>" for tag in reversed(self._open))

    def plain_text(self) -> str:
        text = re.sub(r"[ \t\r\f\v]+", " ", "".join(self.text_parts))
        return re.sub(r"\n\s*\n+", "\n", text).strip()


def render_html(markup: str, params: Params) -> bytes:
    """Render HTML to PDF bytes.

    Raises:
        ProcessingError: 448 when the HTML holds nothing renderable.
    """
    sanitizer = _Sanitizer()
    sanitizer.feed(markup)
    sanitizer.close()
    safe, plain = sanitizer.result(), sanitizer.plain_text()
    if not plain and "<hr" not in safe:
        raise ProcessingError("Invalid HTML: the document has no renderable content", 448)
    size, orientation, margins = page_format(params)
    title = (sanitizer.title or "").strip() or None
    pdf = new_document(size, orientation, margins, title)
    pdf.add_page()
    try:
        pdf.write_html(safe)
        return bytes(pdf.output())
    except Exception:  # fpdf2 rejects some table layouts; fall back to the text rather than failing
        return render_text(plain, new_document(size, orientation, margins, title))


def _page_count(pdf_bytes: bytes) -> int:
    return len(PdfReader(io.BytesIO(pdf_bytes)).pages)


def html_to_pdf(params: Params, inputs: list[InputFile]) -> ProcessingResult:
    """``/v1/pdf/convert/from/html``: ``html`` (or plain ``text``) to PDF."""
    del inputs  # HTML comes inline; the server resolves no url for this endpoint.
    if params.has("templateId"):
        raise ProcessingError("HTML templates (templateId) are not emulated; send 'html' instead", 454)
    markup = params.get_str("html")
    if markup is not None:
        data = render_html(markup, params)
    else:
        text = params.get_str("text")
        if text is None:
            raise ProcessingError("Parameter 'html' is required", 454)
        size, orientation, margins = page_format(params)
        data = render_text(text, new_document(size, orientation, margins))
    name = output_name(params, "result.pdf")
    return ProcessingResult(files=[OutputFile(name, data, "application/pdf")], page_count=_page_count(data))


def url_to_pdf(params: Params, inputs: list[InputFile]) -> ProcessingResult:
    """``/v1/pdf/convert/from/url``: the fetched page (one text/html input) to PDF."""
    require_inputs(inputs)
    source = inputs[0]
    content_type = (source.content_type or "text/html").lower()
    charset_match = re.search(r"charset=([\w-]+)", content_type)
    try:
        text = source.content.decode(charset_match.group(1) if charset_match else "utf-8", errors="replace")
    except LookupError:
        text = source.content.decode("utf-8", errors="replace")
    if content_type.startswith("text/plain"):
        size, orientation, margins = page_format(params)
        data = render_text(text, new_document(size, orientation, margins))
    else:
        data = render_html(text, params)
    name = output_name(params, "result.pdf")
    return ProcessingResult(files=[OutputFile(name, data, "application/pdf")], page_count=_page_count(data))


def make_sample_pdf(pages: int = 3, *, text: str = "Page {n}") -> bytes:
    """Build a small, deterministic PDF whose pages show their own text.

    Args:
        pages: Number of pages (at least 1).
        text: Text of each page; ``{n}`` is replaced by the 1-based page number and ``{pages}`` by the
            page count. Newlines start new lines.

    Returns:
        PDF bytes; identical for identical arguments.
    """
    if pages < 1:
        raise ValueError("pages must be at least 1")
    pdf = new_document(title="Sample document")
    pdf.set_author("prefect-pdfco")
    pdf.set_font("Helvetica", size=14)
    width = pdf.w - pdf.l_margin - pdf.r_margin
    for number in range(1, pages + 1):
        pdf.add_page()
        body = text.replace("{n}", str(number)).replace("{pages}", str(pages))
        for line in body.split("\n"):
            pdf.multi_cell(width, 20, latin1(line), new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
