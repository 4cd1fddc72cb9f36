"""``/v1/pdf/find/table``: tables found by their aligned text, and a sample PDF that holds one.

PDF.co finds tables with a model; the emulator finds them by layout, which is what a ruled or aligned text table
is: two or more consecutive lines of two or more cells each, whose cells fall into shared columns. A cell is a
run of text set apart from its neighbours by a gap wider than a space. The answer follows PDF.co's: ``body`` is
``{"tables": [{"PageIndex", "X", "Y", "Width", "Height", "Columns", "rect"}]}`` with points from the page's top
left corner; PDF.co's samples read ``PageIndex`` and ``rect`` (``"x,y,width,height"``, the form the extraction
endpoints take as ``rect``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from . import _processing_core as core
from ._processing_core import InputFile, Params, ProcessingResult
from ._processing_extract import TextChunk, page_chunks, rows_of
from ._processing_ranges import selected_pages
from ._processing_render import latin1, new_document

__all__ = ["Cell", "cells_of", "find_table", "find_tables", "make_sample_table_pdf"]

# Lines of a table sit closer than this many line heights apart (top to top).
_ROW_SPACING = 3.0
# Text runs closer than this many points apart belong to one cell (a word gap); wider gaps part cells.
_WORD_GAP = 0.45


@dataclass
class Cell:
    """Adjacent text runs of one line that read as one cell, with their box (points, top-left origin)."""

    text: str
    left: float
    top: float
    right: float
    bottom: float


def cells_of(row: Sequence[TextChunk]) -> list[Cell]:
    """The cells of one line: runs closer than about half an em are one cell."""
    cells: list[Cell] = []
    for chunk in row:
        right, bottom = chunk.left + chunk.width, chunk.top + chunk.height
        last = cells[-1] if cells else None
        if last is not None and chunk.left - last.right <= max(2.0, chunk.font_size * _WORD_GAP):
            last.text += " " + chunk.text
            last.right, last.bottom = max(last.right, right), max(last.bottom, bottom)
            last.top = min(last.top, chunk.top)
        else:
            cells.append(Cell(chunk.text, chunk.left, chunk.top, right, bottom))
    return cells


def _columns(lines: list[list[Cell]]) -> list[tuple[float, float]]:
    """Column spans: the cells' horizontal spans, overlapping ones merged."""
    spans = sorted((cell.left, cell.right) for line in lines for cell in line)
    merged: list[tuple[float, float]] = []
    for left, right in spans:
        if merged and left <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], right))
        else:
            merged.append((left, right))
    return merged


def _is_table(lines: list[list[Cell]]) -> bool:
    columns = _columns(lines)
    if len(lines) < 2 or len(columns) < 2:
        return False
    # Every line must spread over at least two columns: one wide cell is a paragraph, not a row.
    for line in lines:
        used = {next(i for i, (left, right) in enumerate(columns) if left <= cell.left <= right) for cell in line}
        if len(used) < 2:
            return False
    return True


def _table(index: int, lines: list[list[Cell]]) -> dict[str, object]:
    cells = [cell for line in lines for cell in line]
    x, y = min(c.left for c in cells), min(c.top for c in cells)
    width, height = max(c.right for c in cells) - x, max(c.bottom for c in cells) - y
    x, y, width, height = (round(value, 2) for value in (x, y, width, height))
    return {
        "PageIndex": index,
        "X": x,
        "Y": y,
        "Width": width,
        "Height": height,
        "Columns": [round(left, 2) for left, _ in _columns(lines)],
        "rect": f"{x:g},{y:g},{width:g},{height:g}",
    }


def find_tables(chunks: list[TextChunk], index: int) -> list[dict[str, object]]:
    """The tables of one page, top to bottom."""
    found: list[dict[str, object]] = []
    run: list[list[Cell]] = []
    last_top, last_height = 0.0, 0.0

    def close() -> None:
        if _is_table(run):
            found.append(_table(index, run))
        run.clear()

    for row in rows_of(chunks):
        cells = cells_of(row)
        top, height = min(c.top for c in cells), max(c.bottom - c.top for c in cells)
        near = bool(run) and top - last_top <= _ROW_SPACING * max(height, last_height)
        if len(cells) < 2 or not near:
            close()
        if len(cells) >= 2:
            run.append(cells)
        last_top, last_height = top, height
    close()
    return found


def find_table(params: Params, inputs: list[InputFile]) -> ProcessingResult:
    """``/v1/pdf/find/table``: the tables of the 0-based ``pages``, as ``{"tables": [...]}``."""
    reader = core.read_pdf_input(inputs, params, core.PERM_EXTRACT)
    pages = selected_pages(params.get_str("pages"), len(reader.pages))
    tables = [table for index in pages for table in find_tables(page_chunks(reader.pages[index], index), index)]
    body: dict[str, object] = {"tables": tables}
    return ProcessingResult([core.json_file(core.output_name(params, "result.json"), body)], len(pages), body=body)


_SALES = (
    ("Region", "Q1", "Q2", "Q3", "Q4"),
    ("North", "1,200", "1,350", "1,410", "1,580"),
    ("South", "980", "1,020", "1,100", "1,240"),
    ("East", "1,510", "1,490", "1,620", "1,700"),
    ("West", "870", "910", "1,005", "1,130"),
)


def make_sample_table_pdf(
    rows: Sequence[Sequence[str]] = _SALES, *, ruled: bool = True, title: str = "Quarterly sales"
) -> bytes:
    """Build a deterministic one-page PDF with a title, one table and a closing paragraph.

    ``/v1/pdf/find/table`` finds the table (header line included) and nothing else; ``/v1/pdf/convert/to/csv``
    reads its rows back.

    Args:
        rows: The table's lines, the first one its heading; every line has the same number of cells.
        ruled: Draw the grid (a ruled table); False leaves only the aligned text.
        title: The heading above the table.

    Returns:
        PDF bytes; identical for identical arguments.
    """
    if len(rows) < 2 or len({len(row) for row in rows}) != 1 or len(rows[0]) < 2:
        raise ValueError("a table needs at least two lines of the same number (2 or more) of cells")
    pdf = new_document(title=title)
    pdf.add_page()
    width = pdf.w - pdf.l_margin - pdf.r_margin
    pdf.set_font("Helvetica", style="B", size=16)
    pdf.cell(width, 24, latin1(title), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=11)
    pdf.multi_cell(width, 16, "Figures in thousands of units, by region.", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(12)
    with pdf.table(borders_layout="ALL" if ruled else "NONE", line_height=18, text_align="LEFT") as table:
        for cells in rows:
            line = table.row()
            for cell in cells:
                line.cell(latin1(cell))
    pdf.ln(16)
    pdf.multi_cell(width, 16, "Totals are audited once a year.", new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
