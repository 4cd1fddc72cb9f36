"""``/v1/pdf/edit/add``: text stamped on pages, images placed, form fields filled and new fields created.

``annotations`` (or ``annotationsString``) draw text as real page text (``/v1/pdf/find`` finds it); an annotation
whose ``type`` is ``TextField``, ``Checkbox`` or ``CheckboxChecked`` creates a fillable field named by its ``id``
instead, as PDF.co's form creation does. ``images`` (or ``imagesString``) place the images at their ``url``, fetched
like any input (the server resolves them after the document: ``inputs[1:]``). ``fields`` (or ``fieldsString``) fill
existing form fields by their full name, as ``/v1/pdf/info/fields`` lists them; a name the document lacks is a 454.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Mapping, Sequence

from fpdf import FPDF
from PIL import Image
from pypdf import PdfReader, PdfWriter, Transformation
from pypdf.generic import (
    ArrayObject,
    BooleanObject,
    DictionaryObject,
    FloatObject,
    NameObject,
    NumberObject,
    TextStringObject,
)

from ._processing_core import PERM_ANNOTATE, InputFile, Params, ProcessingError, ProcessingResult, read_pdf_input
from ._processing_output import field_name, inherited, widgets_of
from ._processing_pages import copy_pages, pdf_result
from ._processing_ranges import selected_pages
from ._processing_render import FIXED_DATE, latin1, make_sample_pdf

__all__ = ["edit_add", "image_urls", "make_sample_form_pdf"]

_FONT_FAMILIES = {
    "arial": "Helvetica",
    "helvetica": "Helvetica",
    "times": "Times",
    "times new roman": "Times",
    "courier": "Courier",
    "courier new": "Courier",
}
_FORM_TYPES = {"textfield": "/Tx", "checkbox": "/Btn", "checkboxchecked": "/Btn"}
_TRUE = frozenset({"true", "1", "yes", "on", "x", "checked"})


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
            item.update(size=size, fontBold="bold" in styles, fontItalic="italic" in styles)
            item["fontUnderline"] = "underline" in styles
        if len(parts) > 5:
            item["fontName"] = parts[5]
        if len(parts) > 6:
            item["color"] = parts[6]
        items.append(item)
    return items


def _parse_images_string(text: str) -> list[dict[str, object]]:
    """Parse ``imagesString``: ``x;y;pages;url[;link;width;height]`` items joined by ``|``."""
    items: list[dict[str, object]] = []
    for chunk in filter(str.strip, text.split("|")):
        parts = chunk.split(";")
        if len(parts) < 4:
            raise ProcessingError(f"Invalid imagesString item '{chunk}': expected x;y;pages;url", 454)
        item: dict[str, object] = {"x": parts[0], "y": parts[1], "pages": parts[2], "url": parts[3]}
        item.update({key: parts[n] for n, key in ((5, "width"), (6, "height")) if len(parts) > n and parts[n]})
        items.append(item)
    return items


def _parse_fields_string(text: str) -> list[dict[str, object]]:
    """Parse ``fieldsString``: ``page;fieldName;value`` items joined by ``|``."""
    items: list[dict[str, object]] = []
    for chunk in filter(str.strip, text.split("|")):
        parts = chunk.split(";", 2)
        if len(parts) < 3:
            raise ProcessingError(f"Invalid fieldsString item '{chunk}': expected page;fieldName;value", 454)
        items.append({"pages": parts[0], "fieldName": parts[1], "text": parts[2]})
    return items


def _objects(
    params: Params, name: str, parse_string: Callable[[str], list[dict[str, object]]]
) -> list[dict[str, object]]:
    """A list parameter (JSON, or its ``*String`` form), each object's keys lower-cased."""
    raw = params.get_json(name)
    if raw is None:
        string = params.get_str(f"{name}String")
        raw = parse_string(string) if string else []
    if isinstance(raw, Mapping):
        raw = [raw]
    if not isinstance(raw, list) or not all(isinstance(item, Mapping) for item in raw):
        raise ProcessingError(f"'{name}' must be a list of objects", 454)
    return [{str(key).lower(): value for key, value in item.items()} for item in raw]


def image_urls(values: Mapping[str, object]) -> list[str]:
    """The image links of an ``/v1/pdf/edit/add`` request, in order: the server fetches them as extra inputs."""
    try:
        images = _objects(Params(values), "images", _parse_images_string)
    except ProcessingError:
        return []  # the handler reports the malformed parameter
    return [str(image.get("url") or "").strip() for image in images]


def _pages_of(item: Mapping[str, object], count: int) -> list[int]:
    pages = item.get("pages")
    return selected_pages(None if pages is None or pages == "" else str(pages), count)


def _stamp(reader: PdfReader, texts: list[dict[str, object]], images: list[tuple[dict[str, object], bytes]]) -> bytes:
    """One overlay page per page touched: the text annotations and images, positioned from the top left."""
    count = len(reader.pages)
    touched = sorted({i for item in texts for i in _pages_of(item, count)} | {
        i for item, _ in images for i in _pages_of(item, count)
    })  # fmt: skip
    overlay = FPDF(unit="pt")
    overlay.set_creation_date(FIXED_DATE)
    for index in touched:
        box = reader.pages[index].mediabox
        overlay.add_page(format=(float(box.width), float(box.height)))
        overlay.set_auto_page_break(False)
        for item, data in images:
            if index in _pages_of(item, count):
                with Image.open(io.BytesIO(data)) as picture:
                    natural = (picture.width * 0.75, picture.height * 0.75)  # 96 dpi, as a browser lays it out
                width = _number(item.get("width"), "width", natural[0])
                height = _number(item.get("height"), "height", natural[1])
                x, y = _number(item.get("x"), "x", 0.0), _number(item.get("y"), "y", 0.0)
                overlay.image(io.BytesIO(data), x=x, y=y, w=width, h=height)
        for note in texts:
            if index not in _pages_of(note, count):
                continue
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
            x, y = _number(note.get("x"), "x", 0.0), _number(note.get("y"), "y", 0.0)
            text = str(note["text"]).replace("{{$$newLine}}", "\n")
            for line_number, line in enumerate(text.split("\n")):
                # PDF.co's y is the top of the text; fpdf2 places the baseline, about 0.8 em lower.
                overlay.text(x, y + size * 0.8 + line_number * size * 1.2, latin1(line))
    return bytes(overlay.output()) if touched else b""


def _fill(writer: PdfWriter, fields: list[dict[str, object]]) -> None:
    """Sets each named field's value (a check box's ``True``/``False`` ticks or clears it)."""
    wanted = {str(item.get("fieldname") or ""): str(item.get("text") or "") for item in fields}
    if "" in wanted:
        raise ProcessingError("Every field needs a 'fieldName'", 454)
    found: set[str] = set()
    for page in writer.pages:
        for widget in widgets_of(page):
            name = field_name(widget)
            if name not in wanted:
                continue
            found.add(name)
            parent = widget.get("/Parent")
            owner = parent.get_object() if parent is not None and "/T" not in widget else widget
            target = owner if isinstance(owner, DictionaryObject) else widget  # the field holds /V, kids share it
            if str(inherited(widget, "/FT")) == "/Btn":
                looks = widget.get("/AP")
                looks = looks.get_object() if looks is not None else None
                normal = looks.get("/N") if isinstance(looks, DictionaryObject) else None
                normal = normal.get_object() if normal is not None else None
                states = list(normal) if isinstance(normal, DictionaryObject) else []
                on = next((key for key in states if key != "/Off"), "/Yes")
                value = NameObject(on if wanted[name].strip().lower() in _TRUE else "/Off")
                target[NameObject("/V")] = value
                widget[NameObject("/AS")] = value
            else:
                target[NameObject("/V")] = TextStringObject(wanted[name])
    missing = [name for name in wanted if name not in found]
    if missing:
        raise ProcessingError(f"No form field named {', '.join(map(repr, missing))} in the document", 454)
    acro = writer._root_object.get("/AcroForm")
    if isinstance(acro, DictionaryObject):
        acro[NameObject("/NeedAppearances")] = BooleanObject(True)  # viewers draw the new values


def _create(writer: PdfWriter, forms: list[dict[str, object]]) -> None:
    """Adds a text box or check box per form annotation, named by its ``id``, to the pages it names."""
    acro = writer._root_object.setdefault(NameObject("/AcroForm"), DictionaryObject())
    acro_fields = acro.setdefault(NameObject("/Fields"), ArrayObject())
    acro[NameObject("/NeedAppearances")] = BooleanObject(True)
    acro.setdefault(NameObject("/DA"), TextStringObject("/Helv 0 Tf 0 g"))
    for number, form in enumerate(forms, start=1):
        kind = _FORM_TYPES[str(form.get("type")).lower()]
        size = _number(form.get("size"), "size", 12.0)
        text = str(form.get("text") or "")
        for index in _pages_of(form, len(writer.pages)):
            page = writer.pages[index]
            box = page.mediabox
            x = float(box.left) + _number(form.get("x"), "x", 0.0)
            top = float(box.top) - _number(form.get("y"), "y", 0.0)
            width = size * 1.2 if kind == "/Btn" else _number(form.get("width"), "width", max(100.0, len(text) * size))
            height = size * 1.2 if kind == "/Btn" else _number(form.get("height"), "height", size * 1.6)
            widget = DictionaryObject(
                {
                    NameObject("/Type"): NameObject("/Annot"),
                    NameObject("/Subtype"): NameObject("/Widget"),
                    NameObject("/FT"): NameObject(kind),
                    NameObject("/T"): TextStringObject(str(form.get("id") or f"field{number}")),
                    NameObject("/F"): NumberObject(4),
                    NameObject("/Rect"): ArrayObject(FloatObject(v) for v in (x, top - height, x + width, top)),
                    NameObject("/DA"): TextStringObject(f"/Helv {size:g} Tf 0 g"),
                }
            )
            if kind == "/Btn":
                checked = text.strip().lower() in _TRUE or str(form.get("type")).lower() == "checkboxchecked"
                state = NameObject("/Yes" if checked else "/Off")
                widget.update({NameObject("/V"): state, NameObject("/AS"): state})
            else:
                widget[NameObject("/V")] = TextStringObject(text)
            ref = writer._add_object(widget)
            page.setdefault(NameObject("/Annots"), ArrayObject()).append(ref)
            acro_fields.append(ref)


def edit_add(params: Params, inputs: list[InputFile]) -> ProcessingResult:
    """``/v1/pdf/edit/add``: text, images, new form fields and filled form fields (see the module docstring)."""
    annotations = _objects(params, "annotations", _parse_annotations_string)
    images = _objects(params, "images", _parse_images_string)
    fields = _objects(params, "fields", _parse_fields_string)
    forms = [item for item in annotations if str(item.get("type") or "").lower() in _FORM_TYPES]
    texts = [item for item in annotations if item not in forms]
    if not (annotations or images or fields):
        raise ProcessingError("Nothing to add: pass 'annotations', 'images' or 'fields'", 454)
    if any(not str(note.get("text") or "") for note in texts):
        raise ProcessingError("Every annotation needs a 'text'", 454)
    if any(not str(image.get("url") or "").strip() for image in images):
        raise ProcessingError("Every image needs a 'url'", 454)
    if len(inputs) < 1 + len(images):
        raise ProcessingError("An image could not be fetched: pass each image's link in its 'url'", 446)
    reader = read_pdf_input(inputs, params, PERM_ANNOTATE)
    placed = list(zip(images, (source.content for source in inputs[1:]), strict=False))
    stamps = _stamp(reader, texts, placed)
    writer = PdfWriter(clone_from=reader) if fields else copy_pages(reader)
    if stamps:
        overlay = PdfReader(io.BytesIO(stamps))
        touched = sorted({i for item in (*texts, *images) for i in _pages_of(item, len(reader.pages))})
        for position, index in enumerate(touched):
            box = writer.pages[index].mediabox
            writer.pages[index].merge_transformed_page(
                overlay.pages[position], Transformation().translate(float(box.left), float(box.bottom))
            )
    if fields:
        _fill(writer, fields)
    if forms:
        _create(writer, forms)
    return pdf_result(params, writer, len(reader.pages))


def make_sample_form_pdf(
    fields: Sequence[tuple[str, str | bool]] = (("customer", "ACME Inc."), ("agree", True)), *, pages: int = 1
) -> bytes:
    """Build a deterministic PDF with a fillable form: a text box per text field, a check box per boolean.

    The fields stand on the first page, one under the other (text boxes 200 x 20 points at x 50, y 72, then every
    30 points); ``/v1/pdf/info/fields`` lists them and ``/v1/pdf/edit/add`` fills them by name.

    Args:
        fields: ``(name, value)`` pairs: a string makes a text box holding it, a bool a (ticked) check box. Names
            may hold dots, as PDF.co's full field names do (``topmostSubform[0].Page1[0].f1_02[0]``).
        pages: Pages of the document (``make_sample_pdf``'s "Page N").

    Returns:
        PDF bytes; identical for identical arguments.
    """
    writer = PdfWriter(clone_from=io.BytesIO(make_sample_pdf(pages)))
    forms: list[dict[str, object]] = [
        {"type": "checkbox" if isinstance(value, bool) else "textfield", "id": name, "x": 50, "y": 72 + 30 * n,
         "pages": "0", "width": 200, "height": 20, "size": 10, "text": str(value)}
        for n, (name, value) in enumerate(fields)
    ]  # fmt: skip
    _create(writer, forms)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()
