"""fpdf2 documents for everything the emulator draws: page format, Latin-1 text, plain text, sample PDFs.

The core PDF fonts only cover Latin-1, so other characters are transliterated where an obvious ASCII form
exists and replaced with ``?`` otherwise, rather than failing the request. HTML to PDF builds on this in
``_processing_html``.
"""

from __future__ import annotations

import datetime as _dt
import re

from fpdf import FPDF

from ._processing_core import Params, ProcessingError

__all__ = ["FIXED_DATE", "latin1", "make_sample_pdf", "new_document", "page_format", "render_text"]

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
    pdf.set_creator("PDF.co emulator (pdfco-emulator)")
    pdf.set_producer("PDF.co emulator (pdfco-emulator) with fpdf2")
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
    pdf.set_author("pdfco-emulator")
    pdf.set_font("Helvetica", size=14)
    width = pdf.w - pdf.l_margin - pdf.r_margin
    for number in range(1, pages + 1):
        pdf.add_page()
        body = text.replace("{n}", str(number)).replace("{pages}", str(pages))
        for line in body.split("\n"):
            pdf.multi_cell(width, 20, latin1(line), new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
