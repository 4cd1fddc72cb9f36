"""PDF.co's page syntax (``N``, ``N-M``, ``N-``, ``!N``, split's ``*``) parsed into 0-based page indexes."""

from __future__ import annotations

import re

from ._processing_core import ProcessingError

__all__ = ["parse_page_ranges", "selected_pages"]

_RANGE_TOKEN = re.compile(r"^(!?\d+)(?:\s*-\s*(!?\d*))?$")


def parse_page_ranges(
    spec: str | None, page_count: int, *, one_based: bool = False, allow_star: bool = False
) -> list[list[int]]:
    """Parse PDF.co's page syntax into groups of 0-based page indexes.

    The syntax is comma-separated ``N``, ``N-M``, ``N-`` (to the last page) and ``!N`` (counted from the
    end: ``!0`` is the last page, as PDF.co's docs say for both bases). Numbers are 0-based for most
    endpoints and 1-based for split and delete-pages. ``*`` (split only) means every page on its own.
    Each token yields one group, which is what split needs; other endpoints flatten the groups.

    Args:
        spec: The ``pages`` parameter; ``None`` or blank selects every page as one group.
        page_count: Number of pages in the document.
        one_based: Whether plain numbers count from 1.
        allow_star: Whether ``*`` is accepted.

    Returns:
        One list of page indexes per token, in the order given.

    Raises:
        ProcessingError: 450 for malformed syntax or reversed ranges, 449 for pages outside the document.
    """
    if spec is None or not spec.strip():
        return [list(range(page_count))]
    base = 1 if one_based else 0
    groups: list[list[int]] = []

    def resolve(term: str) -> int:
        index = page_count - 1 - int(term[1:]) if term.startswith("!") else int(term) - base
        if index < 0 or index >= page_count:
            raise ProcessingError(
                f"Page '{term}' is out of range: the document has {page_count} page(s)"
                f" and page numbers start at {base}",
                449,
            )
        return index

    for part in spec.split(","):
        token = part.strip()
        if not token:
            # Tolerate stray commas ("1,2,"): PDF.co's own samples are loose about separators.
            continue
        if token.startswith("*") and token.strip("*") == "":
            if not allow_star:
                raise ProcessingError("'*' is only accepted by /v1/pdf/split", 450)
            groups.extend([index] for index in range(page_count))
            continue
        match = _RANGE_TOKEN.match(token)
        if match is None:
            raise ProcessingError(f"Invalid page range '{token}' in '{spec}'", 450)
        start_term, end_term = match.group(1), match.group(2)
        start = resolve(start_term)
        if end_term is None:
            groups.append([start])
            continue
        end = page_count - 1 if end_term == "" else resolve(end_term)
        if end < start:
            raise ProcessingError(f"Invalid page range '{token}': it ends before it starts", 450)
        groups.append(list(range(start, end + 1)))
    if not groups:
        raise ProcessingError(f"Invalid page range '{spec}'", 450)
    return groups


def selected_pages(spec: str | None, page_count: int, *, one_based: bool = False) -> list[int]:
    """Flatten a page spec into unique 0-based indexes, in first-mention order."""
    seen: dict[int, None] = {}
    for group in parse_page_ranges(spec, page_count, one_based=one_based):
        for index in group:
            seen.setdefault(index, None)
    return list(seen)
