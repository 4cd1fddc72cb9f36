"""``/v1/pdf/documentparser``: a deterministic emulation of PDF.co's template-based Document Parser.

Templates are JSON (an object or a string holding one). Both layouts PDF.co publishes are read:

* version 3: ``{"fields": {"total": {"type": "regex", "expression": "TOTAL{{Spaces}}({{Number}})",
  "dataType": "decimal", "pageIndex": 0}}, "tables": [{"name", "start": {"expression"},
  "end": {"expression"}, "row": {"expression": "(?<qty>{{Digits}})..."}, "columns": [...]}]}``
* version 4: ``{"objects": [{"name", "objectType": "field", "fieldProperties": {"fieldType": "macros",
  "expression": "TOTAL{{Spaces}}{{Number}}", "dataType": "decimal"}}, {"objectType": "table",
  "tableProperties": {"start", "end", "row"}}]}``

Field types: ``regex`` (value = group ``value``, else group 1, else the whole match), ``macros`` (value =
the last non-space macro), ``static`` (the expression itself) and ``rectangle`` (text inside
``[left, top, width, height]`` in points from the top-left, optionally narrowed by ``expression``).
Expressions are matched against the layout text of each page, line by line (``^``/``$`` are line anchors).
``templateId`` accepts the built-in id ``emulator-invoice``, which reads :func:`make_sample_invoice_pdf`
output. The result is ``{"objects": [...]}`` like PDF.co's: fields as ``{"name", "objectType": "field",
"value", "pageIndex", "rectangle"}`` and tables as ``{"name", "objectType": "table", "rows": [{column:
{"value", "pageIndex"}}]}``; ``outputFormat`` ``CSV`` gives the first table (or the fields) as CSV.
"""

from __future__ import annotations

import csv
import datetime as _dt
import io
import json
import re
from collections.abc import Mapping

from pypdf import PdfReader

from . import _processing_core as core
from ._processing_core import InputFile, Params, ProcessingError, ProcessingResult
from ._processing_extract import layout_text, page_chunks

__all__ = ["BUILTIN_TEMPLATES", "document_parser", "expand_macros", "parse_amount", "parse_date"]

_DATE = (
    r"(?:\d{4}-\d{1,2}-\d{1,2}|\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}"
    r"|(?:\d{1,2}\s+)?[A-Za-z]{3,9}\.?\s+\d{1,2}(?:st|nd|rd|th)?,?\s+\d{4}|\d{1,2}\s+[A-Za-z]{3,9}\.?\s+\d{4})"
)
_NUMBER = r"[-+]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?"
# PDF.co's documented macros, as regular expressions.
MACROS: dict[str, str] = {
    "spaces": r"[ \t]+",
    "space": r"[ \t]",
    "spacesoptional": r"[ \t]*",
    "number": _NUMBER,
    "integer": r"[-+]?\d+",
    "digits": r"\d+",
    "digit": r"\d",
    "letters": r"[A-Za-z]+",
    "letter": r"[A-Za-z]",
    "lettersordigits": r"[A-Za-z0-9]+",
    "lettersordigitsorsymbols": r"\S+",
    "word": r"\w+",
    "sentencewithsinglespaces": r"\S+(?: \S+)*",
    "sentencewithdoublespaces": r"\S+(?: {1,2}\S+)*",
    "anything": r".*",
    "anythinggreedy": r".*",
    "linestart": r"^",
    "lineend": r"$",
    "date": _DATE,
    "smartdate": _DATE,
    "currency": r"[$€£¥]?\s?" + _NUMBER,
    "email": r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+",
    "phone": r"\+?[\d(][\d\s().-]{6,}\d",
}
_WHITESPACE_MACROS = frozenset({"spaces", "space", "spacesoptional", "linestart", "lineend"})
_MACRO = re.compile(r"\{\{\s*(\w+)\s*\}\}")


def expand_macros(expression: str, *, capture: bool = False) -> tuple[str, str | None]:
    """Turn ``{{Macro}}`` references into regex.

    Args:
        expression: Template expression.
        capture: Wrap each non-space macro in a named group, for ``macros`` fields.

    Returns:
        The regex and the name of the group holding the last non-space macro (``capture`` only).

    Raises:
        ProcessingError: 447 for an unknown macro.
    """
    last: str | None = None
    counter = 0

    def replace(match: re.Match[str]) -> str:
        nonlocal last, counter
        key = match.group(1).lower()
        if key not in MACROS:
            raise ProcessingError(f"Invalid template: unknown macro '{{{{{match.group(1)}}}}}'", 447)
        if not capture or key in _WHITESPACE_MACROS:
            return f"(?:{MACROS[key]})" if key not in ("linestart", "lineend") else MACROS[key]
        counter += 1
        last = f"m{counter}"
        return f"(?P<{last}>{MACROS[key]})"

    # .NET-style named groups (?<name>...) become Python's (?P<name>...).
    regex = re.sub(r"\(\?<(?![=!])(\w+)>", r"(?P<\1>", _MACRO.sub(replace, expression))
    return regex, last


def parse_amount(text: str) -> float | None:
    """``"$1,234.50"`` -> ``1234.5``; ``None`` when there is no number."""
    match = re.search(_NUMBER, text.replace(" ", ""))
    return float(match.group(0).replace(",", "")) if match else None


_DATE_FORMATS = ("%Y-%m-%d", "%m/%d/%Y", "%m/%d/%y", "%d.%m.%Y", "%b %d, %Y", "%B %d, %Y", "%d %b %Y", "%d %B %Y")


def parse_date(text: str) -> str | None:
    """An ISO date for the common formats (US month-first for slashes), else ``None``."""
    cleaned = re.sub(r"(?<=\d)(st|nd|rd|th)\b", "", text.strip())
    cleaned = re.sub(r"\s+", " ", re.sub(r"([A-Za-z]{3,9})\.", r"\1", cleaned))
    for layout in _DATE_FORMATS:
        try:
            # strptime matches month names case-insensitively, so "JAN 5, 2025" parses too.
            return _dt.datetime.strptime(cleaned, layout).date().isoformat()
        except ValueError:
            continue
    return None


def _typed(value: str, data_type: str) -> object:
    kind = data_type.lower()
    if kind in ("decimal", "number", "currency"):
        number = parse_amount(value)
        return number if number is not None else value
    if kind == "integer":
        number = parse_amount(value)
        return int(number) if number is not None else value
    if kind == "date":
        return parse_date(value) or value
    return value.strip()


# A built-in template matching make_sample_invoice_pdf's layout.
BUILTIN_TEMPLATES: dict[str, dict[str, object]] = {
    "emulator-invoice": {
        "templateName": "Emulator sample invoice",
        "templateVersion": 3,
        "fields": {
            "invoiceId": {"type": "regex", "expression": r"Invoice Number:{{Spaces}}({{LettersOrDigitsOrSymbols}})"},
            "dateIssued": {
                "type": "regex",
                "expression": r"Invoice Date:{{Spaces}}({{SmartDate}})",
                "dataType": "date",
            },
            "total": {
                "type": "regex",
                "expression": r"^{{SpacesOptional}}Total:.*?({{Number}}){{SpacesOptional}}$",
                "dataType": "decimal",
            },
        },
        "tables": [
            {
                "name": "lineItems",
                "start": {"expression": r"Description{{Spaces}}Qty"},
                "end": {"expression": r"Subtotal"},
                "row": {
                    "expression": r"^\s*(?<description>\S.*?)\s+(?<quantity>{{Digits}})\s+(?<unitPrice>{{Number}})"
                    r"\s+(?<amount>{{Number}})\s*$"
                },
                "columns": [
                    {"name": "quantity", "type": "integer"},
                    {"name": "unitPrice", "type": "decimal"},
                    {"name": "amount", "type": "decimal"},
                ],
            }
        ],
    }
}


def _load_template(params: Params) -> Mapping[str, object]:
    template_id = params.get_str("templateId")
    raw = params.raw("template")
    if raw is None or raw == "":
        if not template_id:
            raise ProcessingError("Pass 'template' (JSON) or 'templateId'", 454)
        template = BUILTIN_TEMPLATES.get(template_id.strip())
        if template is None:
            raise ProcessingError(
                f"Template '{template_id}' not found; the emulator has {sorted(BUILTIN_TEMPLATES)}", 447
            )
        return template
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError:
            raise ProcessingError("Invalid template: the emulator reads JSON templates only", 447) from None
    if isinstance(raw, list) and raw and isinstance(raw[0], Mapping):
        raw = raw[0]  # a template file may hold several templates; use the first
    if not isinstance(raw, Mapping):
        raise ProcessingError("Invalid template: expected a JSON object", 447)
    return raw


def _specs(template: Mapping[str, object]) -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    """Normalize v3 and v4 templates into field and table specs."""
    fields: list[dict[str, object]] = []
    tables: list[dict[str, object]] = []
    raw_fields = template.get("fields")
    if isinstance(raw_fields, Mapping):
        for name, spec in raw_fields.items():
            entry: dict[str, object] = dict(spec) if isinstance(spec, Mapping) else {"expression": str(spec)}
            entry["name"] = str(name)
            fields.append(entry)
    raw_tables = template.get("tables")
    if isinstance(raw_tables, list):
        tables.extend(dict(spec) for spec in raw_tables if isinstance(spec, Mapping))
    raw_objects = template.get("objects")
    if isinstance(raw_objects, list):
        for item in raw_objects:
            if not isinstance(item, Mapping):
                continue
            kind = str(item.get("objectType", "field")).lower()
            props = item.get("tableProperties" if kind == "table" else "fieldProperties") or {}
            entry = dict(props) if isinstance(props, Mapping) else {}
            entry["name"] = str(item.get("name", f"{kind}{len(fields) + len(tables) + 1}"))
            if "fieldType" in entry:
                entry["type"] = entry.pop("fieldType")
            (tables if kind == "table" else fields).append(entry)
    if not fields and not tables:
        raise ProcessingError("Invalid template: no fields, tables or objects", 447)
    return fields, tables


def _compile(expression: object, *, capture: bool = False) -> tuple[re.Pattern[str], str | None]:
    regex, last = expand_macros(str(expression or ""), capture=capture)
    try:
        return re.compile(regex, re.MULTILINE), last
    except re.error as exc:
        raise ProcessingError(f"Invalid template expression '{expression}': {exc}", 447) from None


def _value_of(match: re.Match[str], last_macro: str | None) -> str:
    groups = match.groupdict()
    if groups.get("value") is not None:
        return str(groups["value"])
    if last_macro and groups.get(last_macro) is not None:
        return str(groups[last_macro])
    if match.re.groups and match.group(1) is not None:
        return str(match.group(1))
    return match.group(0)


def _field(spec: Mapping[str, object], pages: list[tuple[int, str]], reader: PdfReader) -> dict[str, object]:
    kind = str(spec.get("type", "regex")).lower()
    data_type = str(spec.get("dataType", "string"))
    page_filter = spec.get("pageIndex")
    candidates = [(index, text) for index, text in pages if page_filter in (None, "", index, str(index))]
    result: dict[str, object] = {
        "name": spec["name"],
        "objectType": "field",
        "value": None,
        "pageIndex": candidates[0][0] if candidates else 0,
        "rectangle": [0.0, 0.0, 0.0, 0.0],
    }
    if kind == "static":
        result["value"] = _typed(str(spec.get("expression", "")), data_type)
        return result
    if kind == "rectangle":
        rect = spec.get("rectangle") or spec.get("rect")
        if not (isinstance(rect, list) and len(rect) == 4):
            raise ProcessingError(f"Invalid template: field '{spec['name']}' needs rectangle [x, y, w, h]", 447)
        left, top, width, height = (float(v) for v in rect)
        result["rectangle"] = [left, top, width, height]
        pattern = _compile(spec["expression"])[0] if spec.get("expression") else None
        for index, _text in candidates:
            inside = [
                chunk
                for chunk in page_chunks(reader.pages[index], index)
                if left <= chunk.left < left + width and top <= chunk.top < top + height
            ]
            text = "\n".join(chunk.text for chunk in sorted(inside, key=lambda c: (round(c.top), c.left)))
            if pattern is not None:
                match = pattern.search(text)
                text = _value_of(match, None) if match else ""
            if text:
                result.update(value=_typed(text, data_type), pageIndex=index)
                break
        return result
    if kind not in ("regex", "macros"):
        raise ProcessingError(f"Invalid template: unsupported field type '{kind}'", 447)
    pattern, last = _compile(spec.get("expression"), capture=kind == "macros")
    for index, text in candidates:
        match = pattern.search(text)
        if match:
            result.update(value=_typed(_value_of(match, last), data_type), pageIndex=index)
            break
    return result


def _table(spec: Mapping[str, object], pages: list[tuple[int, str]]) -> dict[str, object]:
    def expression(key: str) -> object:
        part = spec.get(key)
        return part.get("expression") if isinstance(part, Mapping) else part

    start = _compile(expression("start"))[0] if expression("start") else None
    end = _compile(expression("end"))[0] if expression("end") else None
    if not expression("row"):
        raise ProcessingError(f"Invalid template: table '{spec.get('name')}' needs a row expression", 447)
    row_pattern = _compile(expression("row"))[0]
    columns = spec.get("columns")
    types = {
        str(column.get("name")): str(column.get("type", "string"))
        for column in (columns if isinstance(columns, list) else [])
        if isinstance(column, Mapping)
    }
    rows: list[dict[str, object]] = []
    inside = start is None
    for index, text in pages:
        for line in text.split("\n"):
            if not inside:
                inside = bool(start and start.search(line))
                continue
            if end is not None and end.search(line):
                inside = start is None  # look for the next table start (tables may repeat per page)
                continue
            match = row_pattern.search(line)
            if match:
                cells = {k: v for k, v in match.groupdict().items() if v is not None and not re.fullmatch(r"m\d+", k)}
                rows.append(
                    {k: {"pageIndex": index, "value": _typed(v, types.get(k, "string"))} for k, v in cells.items()}
                )
    return {"name": spec.get("name", "table"), "objectType": "table", "rows": rows}


def document_parser(params: Params, inputs: list[InputFile]) -> ProcessingResult:
    """``/v1/pdf/documentparser``: apply a template and return the extracted objects."""
    template = _load_template(params)
    field_specs, table_specs = _specs(template)
    output_format = (params.get_str("outputFormat") or "JSON").strip().upper()
    if output_format not in ("JSON", "CSV"):
        raise ProcessingError(f"outputFormat '{output_format}' is not emulated: use JSON or CSV", 454)
    reader = core.read_pdf_input(inputs, params, core.PERM_EXTRACT)
    pages = [(index, layout_text(page)) for index, page in enumerate(reader.pages)]
    objects: list[dict[str, object]] = [_field(spec, pages, reader) for spec in field_specs]
    objects += [_table(spec, pages) for spec in table_specs]
    count = len(reader.pages)
    if output_format == "JSON":
        body: dict[str, object] = {"objects": objects}
        return ProcessingResult([core.json_file(core.output_name(params, "result.json"), body)], count, body=body)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    headers = params.get_bool("generateCsvHeaders", True)
    tables = [obj for obj in objects if obj["objectType"] == "table"]
    if tables:
        rows = tables[0]["rows"]
        assert isinstance(rows, list)
        columns = list(dict.fromkeys(key for row in rows for key in row))
        if headers:
            writer.writerow(columns)
        for row in rows:
            writer.writerow([row[c]["value"] if c in row else "" for c in columns])
    else:
        if headers:
            writer.writerow([obj["name"] for obj in objects])
        writer.writerow(["" if obj["value"] is None else obj["value"] for obj in objects])
    text = buffer.getvalue()
    return ProcessingResult(
        [core.text_file(core.output_name(params, "result.csv"), text, "text/csv")], count, body=text
    )
