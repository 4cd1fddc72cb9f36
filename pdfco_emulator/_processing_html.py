"""HTML and web pages to PDF with fpdf2: ``/v1/pdf/convert/from/html`` and ``/v1/pdf/convert/from/url``.

fpdf2's ``write_html`` understands a small, safe subset of HTML. The input is re-serialized through an
allow-list first: scripts, styles and the ``<head>`` would otherwise be drawn as text, and ``<img>`` would
make fpdf2 read local files or fetch URLs, which an emulator bound to loopback must never do on a
caller's behalf.
"""

from __future__ import annotations

import html
import io
import re
from html.parser import HTMLParser

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
from ._processing_render import latin1, new_document, page_format, render_text

__all__ = ["html_to_pdf", "render_html", "url_to_pdf"]


_HEADINGS = frozenset(f"h{level}" for level in range(1, 7))
_ALLOWED_TAGS = _HEADINGS | frozenset(
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
_BLOCK_TAGS = _HEADINGS | frozenset(
    {
        "p",
        "div",
        "br",
        "hr",
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


_VOID = frozenset({"br", "hr", "img", "meta", "link", "input", "col", "wbr", "area", "base", "embed", "source"})
# A page break in CSS: the legacy property and its CSS3 name, with the values that force one.
_BREAK = re.compile(r"(?:page-)?break-(before|after)\s*:\s*(always|page|left|right|recto|verso)\b", re.I)
_RULE = re.compile(r"([^{}]+)\{([^{}]*)\}")
_SIMPLE_SELECTOR = re.compile(r"^([a-z][a-z0-9]*)?(?:\.([\w-]+)|#([\w-]+))?$", re.I)
_TAG = re.compile(r"<[^>]*>")
#: Where a rendering splits into pages.
PAGE_BREAK = "\x00page-break\x00"


def _breaks(declarations: str) -> set[str]:
    """``{"before", "after"}``: the forced page breaks a CSS declaration block asks for."""
    return {match.group(1).lower() for match in _BREAK.finditer(declarations)}


class _Sanitizer(HTMLParser):
    """Re-serialize HTML keeping only tags fpdf2 renders safely; also collects plain text and page breaks.

    A page break (``page-break-before/after`` or ``break-before/after`` forcing a page, inline or from a
    ``<style>`` rule with a simple selector: ``p``, ``.class``, ``div.class``, ``#id``) becomes ``PAGE_BREAK``,
    with the tags open there closed before it and opened again after it, so each page's markup is balanced.
    """

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.text_parts: list[str] = []
        self.title: str | None = None
        self._dropping = 0
        self._in_title = False
        self._open: list[str] = []
        self._open_markup: list[str] = []
        self._css: list[str] = []
        self._rules: list[tuple[tuple[str | None, str | None, str | None], set[str]]] = []
        self._after: list[tuple[str, bool]] = []

    def _page_break(self) -> None:
        closing = "".join(f"</{tag}>" for tag in reversed(self._open))
        self.parts.append(closing + PAGE_BREAK + "".join(self._open_markup))

    def _wanted_breaks(self, tag: str, attrs: dict[str, str | None]) -> set[str]:
        wanted = _breaks(attrs.get("style") or "")
        classes = set((attrs.get("class") or "").split())
        for (name, cls, ident), breaks in self._rules:
            if (name in (None, tag)) and (cls is None or cls in classes) and (ident in (None, attrs.get("id"))):
                wanted |= breaks
        return wanted

    def _read_css(self) -> None:
        for selectors, declarations in _RULE.findall(re.sub(r"/\*.*?\*/", "", "".join(self._css), flags=re.S)):
            breaks = _breaks(declarations)
            for selector in selectors.split(","):
                match = _SIMPLE_SELECTOR.match(selector.strip())
                if breaks and match is not None and any(match.groups()):
                    name = match.group(1).lower() if match.group(1) else None
                    self._rules.append(((name, match.group(2), match.group(3)), breaks))
        self._css.clear()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "title":
            self._in_title = True
            self.title = ""
        if tag in _DROPPED_WITH_CONTENT:
            self._dropping += 1
            return
        if self._dropping:
            return
        breaks = self._wanted_breaks(tag, dict(attrs))
        if "before" in breaks:
            self._page_break()
        if tag not in _VOID:
            self._after.append((tag, "after" in breaks))
        self._start(tag, attrs)
        if tag in _VOID and "after" in breaks:
            self._page_break()

    def _start(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
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
            self._open_markup.append(f"<{tag}{kept}>")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag in self._open and self._open[-1] == tag:
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        if tag == "style" and self._dropping == 1:
            self._read_css()
        if tag in _DROPPED_WITH_CONTENT:
            self._dropping = max(0, self._dropping - 1)
            return
        if self._dropping:
            return
        self._end(tag)
        while self._after and any(name == tag for name, _ in self._after):
            name, after = self._after.pop()
            if name == tag:
                if after:
                    self._page_break()
                break

    def _end(self, tag: str) -> None:
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
                self._open_markup.pop()
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
            if self.lasttag == "style":
                self._css.append(data)
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
    # A forced break before the first content (or after the last) makes no empty page, as in a browser.
    pages = [page for page in safe.split(PAGE_BREAK) if _TAG.sub("", page).strip() or "<hr" in page]
    try:
        for page in pages or [safe]:
            pdf.add_page()
            pdf.write_html(page)
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
