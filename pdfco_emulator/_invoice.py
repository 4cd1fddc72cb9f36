"""``/v1/ai-invoice-parser``: a deterministic, rule-based stand-in for PDF.co's AI invoice parser.

No model is involved. The layout text of the document is scanned with labelled-value rules:

* ``invoice.invoiceNo``: ``Invoice No|Number|Num|#`` followed by the number; ``invoice.invoiceDate``:
  ``Invoice Date`` (else a ``Date`` not preceded by ``Due``); ``invoice.dueDate``: ``Due Date`` or
  ``Payment Due``; ``invoice.poNo``: ``PO No|Number|#``.
* ``vendor.name``: a ``Vendor:``/``From:``/``Seller:``/``Supplier:`` label, else the first line that is
  not a label, a title or a number; its address is the following ``street, city, ST zip`` line.
  ``vendor.contactInformation``: ``Phone``/``Tel``, ``Fax`` and the first e-mail address.
* ``customer.billTo``/``customer.shipTo``: ``Bill To:``/``Ship To:`` (name on the same or the next line,
  address on the line after the name).
* ``paymentDetails``: ``Subtotal``, ``Tax``/``VAT``/``GST``, ``Total``/``Amount Due``/``Balance Due``;
  ``currency`` from a ``Currency:`` label, an ISO code next to an amount, or a currency symbol.
* ``lineItems``: after a header naming ``Description`` and ``Qty``/``Quantity``, every line ending in
  quantity, unit price and amount, until the totals.

Values are strings as printed (amounts without currency symbols or codes), like the documented sample
(``"invoiceDate": "JAN 5, 2025"``); anything not found is ``null``. The body follows the documented
sections (``vendor``, ``customer``, ``invoice``, ``paymentDetails``) plus ``lineItems`` and, when the
``customField`` parameter names extra fields, ``customFields``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from decimal import Decimal

from ._processing_core import (
    PERM_EXTRACT,
    InputFile,
    Params,
    ProcessingError,
    ProcessingResult,
    json_file,
    output_name,
    read_pdf_input,
)
from ._processing_extract import layout_text
from ._processing_render import latin1, new_document

__all__ = ["invoice_parser", "make_sample_invoice_pdf", "parse_invoice_text"]

_AMOUNT = r"[-(]?[$€£¥]?\s?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d{1,2})?\)?"
_DATE = (
    r"\d{4}-\d{1,2}-\d{1,2}|\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}"
    r"|[A-Za-z]{3,9}\.?\s+\d{1,2},?\s+\d{4}|\d{1,2}\s+[A-Za-z]{3,9}\.?\s+\d{4}"
)
_SYMBOLS = {"$": "USD", "€": "EUR", "£": "GBP", "¥": "JPY"}
_CODES = ("USD", "EUR", "GBP", "CAD", "AUD", "JPY", "CHF", "CNY", "INR", "NZD", "SEK", "NOK", "DKK", "MXN")
_ADDRESS = re.compile(
    r"^(?P<street>[^,]+),\s*(?P<city>[^,]+),\s*(?P<state>[A-Za-z]{2})\s+(?P<zip>\d{5}(?:-\d{4})?)"
    r"(?:,\s*(?P<country>[A-Za-z ]+))?$"
)
_LABEL_LINE = re.compile(r"^[A-Za-z][A-Za-z .#/]*:")
_TOTALS = re.compile(r"^\s*(sub-?\s?total|total|tax|vat|gst|amount due|balance due|grand total)\b", re.I)
_ITEM = re.compile(
    rf"^\s*(?P<description>\S.*?)\s+(?P<quantity>\d+(?:\.\d+)?)\s+(?P<unitPrice>{_AMOUNT})\s+(?P<total>{_AMOUNT})\s*$"
)


def _search(pattern: str, text: str) -> str | None:
    match = re.search(pattern, text, re.IGNORECASE | re.MULTILINE)
    return match.group(1).strip() if match else None


def _amount(label: str, text: str) -> str | None:
    # The amount is the last number on the labelled line ("Tax (10%): 27.00" -> "27.00").
    match = re.search(rf"^\s*(?:{label})\b[^\n]*", text, re.IGNORECASE | re.MULTILINE)
    if not match:
        return None
    amounts = re.findall(_AMOUNT, match.group(0))
    if not amounts:
        return None
    return re.sub(r"[$€£¥\s]", "", amounts[-1]) or None


def _address(line: str | None) -> dict[str, str | None] | None:
    match = _ADDRESS.match(line.strip()) if line else None
    if match is None:
        return None
    return {
        "streetAddress": match.group("street").strip(),
        "city": match.group("city").strip(),
        "state": match.group("state").upper(),
        "postalCode": match.group("zip"),
        "country": (match.group("country") or "").strip() or None,
    }


def _party(label: str, lines: Sequence[str]) -> dict[str, object] | None:
    for position, line in enumerate(lines):
        match = re.match(rf"^\s*{label}\s*:?\s*(.*)$", line, re.IGNORECASE)
        if not match:
            continue
        rest = [candidate.strip() for candidate in lines[position + 1 : position + 3]]
        name = match.group(1).strip() or (rest.pop(0) if rest else "")
        address = _address(rest[0]) if rest else None
        return {"name": name or None, "address": address}
    return None


def parse_invoice_text(text: str, custom_fields: Sequence[str] = ()) -> dict[str, object]:
    """Extract invoice data from document text with the rules described in the module docstring.

    Args:
        text: Text of the invoice (layout-preserving extraction works best).
        custom_fields: Extra camelCase field names to look up as labels (``storeNumber`` -> ``Store Number:``).

    Returns:
        The parser body.
    """
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    vendor_name = _search(r"^\s*(?:vendor|from|seller|supplier)\s*:\s*(.+)$", text)
    vendor_index = -1
    if vendor_name is None:
        for position, line in enumerate(lines):
            if re.search(r"invoice|receipt|statement", line, re.I) or _LABEL_LINE.match(line):
                continue
            if re.fullmatch(r"[\d\W]+", line):
                continue
            vendor_name, vendor_index = line, position
            break
    vendor_address = None
    if vendor_index >= 0 and vendor_index + 1 < len(lines):
        vendor_address = _address(lines[vendor_index + 1])

    invoice_no = _search(r"invoice\s*(?:no\.?|number|num\.?|#)\s*[:#]?\s*([A-Za-z0-9][\w\-/.]*)", text)
    invoice_date = _search(rf"invoice\s+date\s*:?\s*({_DATE})", text) or _search(
        rf"(?<!due )\bdate\s*:?\s*({_DATE})", text
    )
    due_date = _search(rf"(?:due\s+date|payment\s+due)\s*:?\s*({_DATE})", text)
    po_number = _search(r"\bP\.?\s?O\.?\s*(?:no\.?|number|#)\s*[:#]?\s*([\w\-/]+)", text)

    currency = _search(r"currency\s*:?\s*([A-Z]{3})\b", text)
    if currency is None:
        codes = re.findall(rf"\b({'|'.join(_CODES)})\b", text)
        symbols = [symbol for symbol in _SYMBOLS if symbol in text]
        currency = codes[0] if codes else (_SYMBOLS[symbols[0]] if symbols else None)

    items: list[dict[str, str]] = []
    in_table = False
    for line in lines:
        if not in_table:
            in_table = bool(re.search(r"description", line, re.I) and re.search(r"\bqty\b|quantity", line, re.I))
            continue
        if _TOTALS.match(line):
            break
        match = _ITEM.match(line)
        if match:
            items.append(
                {
                    "description": match.group("description").strip(),
                    "quantity": match.group("quantity"),
                    "unitPrice": re.sub(r"[$€£¥\s]", "", match.group("unitPrice")),
                    "total": re.sub(r"[$€£¥\s]", "", match.group("total")),
                }
            )

    body: dict[str, object] = {
        "vendor": {
            "name": vendor_name,
            "address": vendor_address,
            "contactInformation": {
                "phone": _search(r"(?:phone|tel)\.?\s*:?\s*(\+?[\d(][\d\s().-]{6,}\d)", text),
                "fax": _search(r"fax\s*:?\s*(\+?[\d(][\d\s().-]{6,}\d)", text),
                "email": _search(r"([\w.+-]+@[\w-]+(?:\.[\w-]+)+)", text),
            },
        },
        "customer": {"billTo": _party(r"bill(?:ed)?\s+to", lines), "shipTo": _party(r"ship\s+to", lines)},
        "invoice": {"invoiceNo": invoice_no, "invoiceDate": invoice_date, "dueDate": due_date, "poNo": po_number},
        "paymentDetails": {
            "subtotal": _amount(r"sub-?\s?total", text),
            "tax": _amount(r"tax|vat|gst|sales\s+tax", text),
            "total": _amount(r"total(?!\s*:?\s*$)|grand\s+total|amount\s+due|balance\s+due|total\s+due", text),
            "currency": currency,
        },
        "lineItems": items,
    }
    if custom_fields:
        found: dict[str, str | None] = {}
        for name in custom_fields:
            label = re.sub(r"(?<!^)(?=[A-Z])", r"\\s*", name.strip())
            found[name] = _search(rf"\b{label}\s*[:#]?\s*(.+)$", text) if label else None
        body["customFields"] = found
    return body


def _custom_field_names(params: Params) -> list[str]:
    raw = params.raw("customField")
    if raw is None or raw == "":
        return []
    if isinstance(raw, str):
        decoded = params.get_json("customField") if raw.strip().startswith(("[", "{", '"')) else raw
        raw = decoded
    if isinstance(raw, str):
        return [name.strip() for name in raw.split(",") if name.strip()]
    if isinstance(raw, list):
        return [str(name).strip() for name in raw if str(name).strip()]
    if isinstance(raw, dict):
        return [str(name) for name in raw]
    raise ProcessingError("customField must be a comma-separated list of field names", 454)


def invoice_parser(params: Params, inputs: list[InputFile]) -> ProcessingResult:
    """``/v1/ai-invoice-parser``: the rule-based invoice extraction, as a JSON body and file."""
    reader = read_pdf_input(inputs, params, PERM_EXTRACT)
    count = len(reader.pages)
    if count > 100:
        raise ProcessingError("The AI invoice parser accepts at most 100 pages per PDF", 400)
    text = "\n".join(layout_text(page) for page in reader.pages)
    body = parse_invoice_text(text, _custom_field_names(params))
    return ProcessingResult([json_file(output_name(params, "result.json"), body)], count, body=body)


def make_sample_invoice_pdf(
    *,
    invoice_number: str = "INV-1001",
    invoice_date: str = "2025-01-05",
    due_date: str = "2025-02-04",
    vendor: str = "ACME Supplies Inc.",
    vendor_address: str = "1540 Long Street, Jacksonville, FL 32099",
    customer: str = "Lanny Lane Ltd.",
    customer_address: str = "82 Gorby Lane, Columbia, IN 39429",
    currency: str = "USD",
    items: Sequence[tuple[str, int, str]] = (
        ("Widget A", 2, "10.00"),
        ("Gadget B", 1, "99.95"),
        ("Support plan (1 yr)", 3, "50.00"),
    ),
    tax_rate: str = "0.10",
) -> bytes:
    """Build a deterministic one-page invoice that ``/v1/ai-invoice-parser`` reads back exactly.

    With the defaults the parser returns invoice ``INV-1001`` dated ``2025-01-05`` (due ``2025-02-04``),
    vendor ``ACME Supplies Inc.``, customer ``Lanny Lane Ltd.``, three line items, subtotal ``269.95``,
    tax ``27.00`` and total ``296.95`` in ``USD``.

    Args:
        invoice_number: Printed after ``Invoice Number:``.
        invoice_date: Printed after ``Invoice Date:``.
        due_date: Printed after ``Due Date:``.
        vendor: Vendor name (first line).
        vendor_address: ``street, city, ST zip`` line under the vendor name.
        customer: Printed after ``Bill To:``.
        customer_address: Line under the customer name.
        currency: ISO code printed with the total.
        items: ``(description, quantity, unit price)`` rows; amounts are computed.
        tax_rate: Tax rate as a decimal string (``"0.10"`` = 10%).

    Returns:
        PDF bytes; identical for identical arguments.
    """
    cent = Decimal("0.01")
    rows = [(desc, qty, Decimal(price), (Decimal(price) * qty).quantize(cent)) for desc, qty, price in items]
    subtotal = sum((row[3] for row in rows), Decimal("0")).quantize(cent)
    rate = Decimal(tax_rate)
    tax = (subtotal * rate).quantize(cent)
    total = subtotal + tax

    def money(value: Decimal) -> str:
        return f"{value:,.2f}"

    pdf = new_document(title=f"Invoice {invoice_number}")
    pdf.set_author(vendor)
    pdf.add_page()
    width = pdf.w - pdf.l_margin - pdf.r_margin

    def line(text: str, size: float = 11, style: str = "", gap: float = 16) -> None:
        pdf.set_font("Helvetica", style=style, size=size)
        pdf.cell(width, gap, latin1(text), new_x="LMARGIN", new_y="NEXT")

    line(vendor, 16, "B", 22)
    line(vendor_address)
    line("Phone: 352-200-0371")
    pdf.ln(8)
    line("INVOICE", 20, "B", 26)
    line(f"Invoice Number: {invoice_number}")
    line(f"Invoice Date: {invoice_date}")
    line(f"Due Date: {due_date}")
    pdf.ln(8)
    line(f"Bill To: {customer}")
    line(customer_address)
    pdf.ln(12)
    columns = (width * 0.52, width * 0.12, width * 0.18, width * 0.18)
    for cells, style in [(("Description", "Qty", "Unit Price", "Amount"), "B")] + [
        ((desc, str(qty), money(price), money(amount)), "") for desc, qty, price, amount in rows
    ]:
        pdf.set_font("Helvetica", style=style, size=11)
        for position, (cell_width, cell) in enumerate(zip(columns, cells, strict=True)):
            last = position == len(cells) - 1
            pdf.cell(
                cell_width,
                18,
                latin1(cell),
                align="L" if position == 0 else "R",
                new_x="LMARGIN" if last else "RIGHT",
                new_y="NEXT" if last else "TOP",
            )
    pdf.ln(10)
    percent = (rate * 100).normalize()
    line(f"Subtotal: {money(subtotal)}")
    line(f"Tax ({percent:f}%): {money(tax)}")
    line(f"Total: {currency} {money(total)}", 12, "B", 18)
    return bytes(pdf.output())
