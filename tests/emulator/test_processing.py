"""The emulator's document processing, called directly (no server): round trips with real PDFs."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping
from pathlib import Path

import pytest
from pypdf import PdfReader

from pdfco_emulator._processing import (
    DOCUMENTED_ENDPOINTS,
    EMULATED_ENDPOINTS,
    InputFile,
    NotEmulated,
    ProcessingError,
    ProcessingResult,
    make_sample_invoice_pdf,
    make_sample_pdf,
    normalize_endpoint,
    parse_invoice_text,
    parse_page_ranges,
    process,
)
from pdfco_emulator._processing_core import Params

SAMPLE = make_sample_pdf(3)
INVOICE = make_sample_invoice_pdf()


def pdf(data: bytes, name: str = "input.pdf") -> InputFile:
    return InputFile(name=name, content=data, content_type="application/pdf")


def run(endpoint: str, params: Mapping[str, object] | None = None, *inputs: bytes) -> ProcessingResult:
    return process(endpoint, params or {}, [pdf(data, f"in{i}.pdf") for i, data in enumerate(inputs)])


def reader(data: bytes, password: str | None = None) -> PdfReader:
    result = PdfReader(io.BytesIO(data))
    if password is not None:
        result.decrypt(password)
    return result


def page_texts(data: bytes) -> list[str]:
    return [page.extract_text() for page in reader(data).pages]


def error_code(endpoint: str, params: Mapping[str, object], *inputs: bytes) -> int:
    with pytest.raises(ProcessingError) as caught:
        run(endpoint, params, *inputs)
    return caught.value.code


# --------------------------------------------------------------------------------------------------
# Page ranges and parameters
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "one_based", "expected"),
    [
        (None, False, [[0, 1, 2, 3, 4]]),
        ("", True, [[0, 1, 2, 3, 4]]),
        ("0", False, [[0]]),
        ("1", True, [[0]]),
        ("0, 2-3", False, [[0], [2, 3]]),
        ("1-2,3-", True, [[0, 1], [2, 3, 4]]),
        ("2-", False, [[2, 3, 4]]),
        ("!0", False, [[4]]),
        ("!0", True, [[4]]),  # PDF.co documents "!0" as the last page for both bases
        ("1-!1", False, [[1, 2, 3]]),
        ("!1-", True, [[3, 4]]),
        (" 1 , 3 ,", True, [[0], [2]]),  # spaces and a stray trailing comma are tolerated
    ],
)
def test_page_ranges_parse(spec: str | None, one_based: bool, expected: list[list[int]]) -> None:
    assert parse_page_ranges(spec, 5, one_based=one_based) == expected


def test_page_ranges_star_splits_every_page_only_when_allowed() -> None:
    assert parse_page_ranges("*", 3, one_based=True, allow_star=True) == [[0], [1], [2]]
    with pytest.raises(ProcessingError) as caught:
        parse_page_ranges("*", 3)
    assert caught.value.code == 450


@pytest.mark.parametrize(
    ("spec", "one_based", "code"),
    [
        ("5", False, 449),
        ("0", True, 449),
        ("6", True, 449),
        ("1-9", True, 449),
        ("!5", False, 449),
        ("3-1", False, 450),
        ("a", False, 450),
        ("1-2-3", False, 450),
        ("-2", False, 450),
        (",", False, 450),
    ],
)
def test_page_ranges_errors(spec: str, one_based: bool, code: int) -> None:
    with pytest.raises(ProcessingError) as caught:
        parse_page_ranges(spec, 5, one_based=one_based)
    assert caught.value.code == code


def test_params_are_case_insensitive_and_coerce_strings() -> None:
    params = Params({"OwnerPassword": "x", "async": "true", "inline": "False", "angle": "90", "flag": 1})
    assert params.get_str("ownerpassword") == "x"
    assert params.get_bool("ASYNC") is True
    assert params.get_bool("inline", True) is False
    assert params.get_bool("missing", True) is True
    assert params.get_int("Angle") == 90
    assert params.get_bool("flag") is True
    with pytest.raises(ProcessingError) as caught:
        Params({"async": "maybe"}).get_bool("async")
    assert caught.value.code == 454
    with pytest.raises(ProcessingError):
        Params({"angle": "ninety"}).get_int("angle")


def test_endpoint_catalogue_and_not_emulated() -> None:
    assert "/v1/pdf/merge" in EMULATED_ENDPOINTS
    assert EMULATED_ENDPOINTS <= DOCUMENTED_ENDPOINTS
    assert normalize_endpoint("/AI-Invoice-Parser/") == "/v1/ai-invoice-parser"
    with pytest.raises(NotEmulated) as caught:
        process("/v1/pdf/convert/to/xls", {}, [])
    assert caught.value.documented and "/v1/pdf/convert/to/xls" in str(caught.value)
    with pytest.raises(NotEmulated) as unknown:
        process("/v1/pdf/teleport", {}, [])
    assert not unknown.value.documented


# --------------------------------------------------------------------------------------------------
# Sample documents and input validation
# --------------------------------------------------------------------------------------------------


def test_sample_pdf_is_deterministic_and_readable() -> None:
    assert make_sample_pdf(3) == SAMPLE
    assert page_texts(SAMPLE) == ["Page 1", "Page 2", "Page 3"]
    assert page_texts(make_sample_pdf(2, text="Doc {n} of {pages}")) == ["Doc 1 of 2", "Doc 2 of 2"]
    with pytest.raises(ValueError):
        make_sample_pdf(0)


@pytest.mark.parametrize("data", [b"", b"hello world", b"%PDF-1.7\n not really", SAMPLE[: len(SAMPLE) // 2]])
def test_damaged_or_non_pdf_input_is_442(data: bytes) -> None:
    assert error_code("/v1/pdf/convert/to/text", {}, data) == 442


def test_missing_input_is_446() -> None:
    assert error_code("/v1/pdf/merge", {}) == 446
    assert error_code("/v1/pdf/info", {}) == 446


# --------------------------------------------------------------------------------------------------
# HTML / URL to PDF
# --------------------------------------------------------------------------------------------------


def test_html_to_pdf_round_trip_keeps_words_and_drops_non_content(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOPSECRET")
    markup = (
        "<html><head><title>Quarterly report</title><style>h1 {color: red}</style>"
        "<script>alert('x')</script></head><body><h1>Revenue grew</h1>"
        f'<p>Strong <b>quarter</b> for <i>everyone</i>.</p><img src="{secret}" alt="chart">'
        "<div>Second block</div><table><tr><th>Region</th><th>Sales</th></tr>"
        "<tr><td>North</td><td>42</td></tr></table><ul><li>alpha</li><li>beta</li></ul></body></html>"
    )
    result = process("/v1/pdf/convert/from/html", {"html": markup, "name": "report"}, [])
    (output,) = result.files
    assert output.name == "report.pdf" and output.content_type == "application/pdf"
    assert result.page_count == 1 and result.body is None
    text = process("/v1/pdf/convert/to/text-simple", {}, [pdf(output.content)]).body
    assert isinstance(text, str)
    for word in ("Revenue grew", "Strong", "quarter", "everyone", "Second block", "North", "42", "alpha", "beta"):
        assert word in text
    for hidden in ("alert", "color", "TOPSECRET"):
        assert hidden not in text
    assert reader(output.content).metadata.title == "Quarterly report"  # type: ignore[union-attr]


def test_html_to_pdf_page_setup_and_unicode() -> None:
    result = process(
        "/v1/pdf/convert/from/html",
        {
            "html": "<p>Caf\u00e9 \u201cquotes\u201d \u20ac5 \u041f\u0440\u0438\u0432\u0435\u0442</p>",
            "paperSize": "A4",
            "orientation": "Landscape",
            "margins": "10mm 20px",
        },
        [],
    )
    page = reader(result.files[0].content).pages[0]
    assert (float(page.mediabox.width), float(page.mediabox.height)) == (842, 595)
    text = page.extract_text()
    assert 'Caf\u00e9 "quotes" EUR5' in text
    assert "??????" in text  # Cyrillic is outside the core fonts: replaced, not a crash


def test_html_to_pdf_long_text_spans_pages_and_plain_text_works() -> None:
    long_html = "".join(f"<p>Paragraph number {n}</p>" for n in range(120))
    result = process("/v1/pdf/convert/from/html", {"html": long_html}, [])
    assert result.page_count > 1
    plain = process("/v1/pdf/convert/from/html", {"text": "just text\nsecond line", "paperSize": "200mm 100mm"}, [])
    page = reader(plain.files[0].content).pages[0]
    assert "just text" in page.extract_text() and "second line" in page.extract_text()
    assert round(float(page.mediabox.width)) == 567


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"templateId": "1", "templateData": "{}"}, 454),
        ({}, 454),
        ({"html": "<script>only()</script>"}, 448),
        ({"html": "<p>x</p>", "paperSize": "Napkin"}, 454),
        ({"html": "<p>x</p>", "orientation": "sideways"}, 454),
        ({"html": "<p>x</p>", "margins": "1 2 3 4 5"}, 454),
    ],
)
def test_html_to_pdf_errors(params: dict[str, object], code: int) -> None:
    with pytest.raises(ProcessingError) as caught:
        process("/v1/pdf/convert/from/html", params, [])
    assert caught.value.code == code


def test_url_to_pdf_renders_the_fetched_page() -> None:
    page = InputFile("index.html", "<h1>Fetched page</h1><p>caf\u00e9</p>".encode(), "text/html; charset=utf-8")
    result = process("/v1/pdf/convert/from/url", {}, [page])
    text = page_texts(result.files[0].content)[0]
    assert "Fetched page" in text and "caf\u00e9" in text
    assert error_code("/v1/pdf/convert/from/url", {}) == 446


# --------------------------------------------------------------------------------------------------
# Extraction
# --------------------------------------------------------------------------------------------------


def test_text_with_layout_uses_crlf_and_form_feeds_between_pages() -> None:
    result = run("/v1/pdf/convert/to/text", {}, SAMPLE)
    assert result.body == "Page 1\r\n\fPage 2\r\n\fPage 3\r\n"
    assert result.page_count == 3
    assert result.files[0].name == "result.txt" and result.files[0].content.decode() == result.body
    assert run("/v1/pdf/convert/to/text", {"pages": "1-"}, SAMPLE).body == "Page 2\r\n\fPage 3\r\n"


def test_text_simple_pages_and_line_ending() -> None:
    result = run("/v1/pdf/convert/to/text-simple", {"pages": "!0", "lineEnding": "LF", "name": "last"}, SAMPLE)
    assert result.body == "Page 3\n" and result.page_count == 1
    assert result.files[0].name == "last.txt"
    assert error_code("/v1/pdf/convert/to/text-simple", {"lineEnding": "weird"}, SAMPLE) == 454
    assert error_code("/v1/pdf/convert/to/text-simple", {"pages": "3"}, SAMPLE) == 449


def test_layout_text_keeps_invoice_columns_apart() -> None:
    text = run("/v1/pdf/convert/to/text", {}, INVOICE).body
    assert isinstance(text, str)
    row = next(line for line in text.split("\r\n") if line.startswith("Widget A"))
    assert row.split() == ["Widget", "A", "2", "10.00", "20.00"] and "   " in row


def test_json2_lists_pages_rows_and_positioned_text() -> None:
    result = run("/v1/pdf/convert/to/json2", {"pages": "0,2"}, SAMPLE)
    body = result.body
    assert isinstance(body, dict)
    pages = body["document"]["page"]
    assert [page["@index"] for page in pages] == ["0", "2"]
    text = pages[1]["row"][0]["column"][0]["text"]
    assert text["#text"] == "Page 3" and text["@fontName"] == "Helvetica" and text["@fontSize"] == "14"
    assert float(text["@x"]) == pytest.approx(28.35, abs=5) and float(text["@width"]) > 30
    assert json.loads(result.files[0].content) == body
    assert run("/v1/pdf/convert/to/json", {}, SAMPLE).body == run("/v1/pdf/convert/to/json2", {}, SAMPLE).body


def test_csv_rows_split_columns_on_wide_gaps() -> None:
    result = run("/v1/pdf/convert/to/csv", {}, INVOICE)
    assert isinstance(result.body, str)
    rows = list(csv.reader(io.StringIO(result.body)))
    assert ["Description", "Qty", "Unit Price", "Amount"] in rows
    assert ["Support plan (1 yr)", "3", "50.00", "150.00"] in rows
    assert ["1540 Long Street, Jacksonville, FL 32099"] in rows  # commas quoted, not split
    assert result.files[0].name == "result.csv" and result.files[0].content_type.startswith("text/csv")


def test_find_plain_regex_case_and_whole_words() -> None:
    found = run("/v1/pdf/find", {"searchString": "Page 2"}, SAMPLE).body
    assert found == [
        {
            "text": "Page 2",
            "left": pytest.approx(28.35, abs=5),
            "top": pytest.approx(28.35, abs=8),
            "width": pytest.approx(44, abs=4),
            "height": 14.0,
            "pageIndex": 1,
        }
    ]
    amounts = run("/v1/pdf/find", {"searchString": r"\d+\.\d{2}", "regexSearch": True}, INVOICE).body
    assert isinstance(amounts, list)
    assert [item["text"] for item in amounts][:4] == ["10.00", "20.00", "99.95", "99.95"]
    assert amounts[0]["left"] < amounts[1]["left"] and amounts[0]["top"] < amounts[2]["top"]
    assert run("/v1/pdf/find", {"searchString": "page"}, SAMPLE).body == []
    assert len(run("/v1/pdf/find", {"searchString": "page", "caseSensitive": "false"}, SAMPLE).body) == 3  # type: ignore[arg-type]
    assert run("/v1/pdf/find", {"searchString": "Pag", "wordMatchingMode": "ExactMatch"}, SAMPLE).body == []
    assert error_code("/v1/pdf/find", {}, SAMPLE) == 454
    assert error_code("/v1/pdf/find", {"searchString": "(", "regexSearch": "true"}, SAMPLE) == 454


def test_info_matches_pdfco_shape() -> None:
    result = run("/v1/pdf/info", {}, SAMPLE)
    info = result.fields["info"]
    assert isinstance(info, dict)
    assert info["PageCount"] == 3 and result.page_count == 3
    assert info["Title"] == "Sample document" and info["Author"] == "pdfco-emulator"
    assert info["CreationDate"] == "1/1/2024 12:00:00 AM"
    assert info["Encrypted"] is False and info["EncryptionAlgorithm"] == 0
    assert info["PageRectangle"]["Width"] == 612 and info["PageRectangle"]["Bottom"] == 792
    assert info["PageRectangle"]["Size"] == "612, 792"
    assert all(info[key] is True for key in info if key.startswith("Permission"))
    assert json.loads(result.files[0].content) == {"info": info}


# --------------------------------------------------------------------------------------------------
# Page operations
# --------------------------------------------------------------------------------------------------


def test_merge_keeps_input_order() -> None:
    other = make_sample_pdf(2, text="Other {n}")
    result = run("/v1/pdf/merge", {"name": "joined.pdf"}, other, SAMPLE)
    assert result.page_count == 5 and result.files[0].name == "joined.pdf"
    assert page_texts(result.files[0].content) == ["Other 1", "Other 2", "Page 1", "Page 2", "Page 3"]
    assert run("/v1/pdf/merge", {}, other, SAMPLE).files[0].content == result.files[0].content  # deterministic
    assert error_code("/v1/pdf/merge", {}, SAMPLE, b"not a pdf") == 442


def test_split_by_ranges_star_and_default() -> None:
    five = make_sample_pdf(5)
    parts = run("/v1/pdf/split", {"pages": "1-2,3-", "name": "part.pdf"}, five).files
    assert [part.name for part in parts] == ["part-1.pdf", "part-2.pdf"]
    assert [page_texts(part.content) for part in parts] == [["Page 1", "Page 2"], ["Page 3", "Page 4", "Page 5"]]
    every = run("/v1/pdf/split", {"pages": "*"}, SAMPLE)
    assert [len(reader(part.content).pages) for part in every.files] == [1, 1, 1]
    assert [part.name for part in every.files] == ["result-1.pdf", "result-2.pdf", "result-3.pdf"]
    assert len(run("/v1/pdf/split", {}, SAMPLE).files) == 3  # no pages: every page on its own
    assert page_texts(run("/v1/pdf/split", {"pages": "!0"}, SAMPLE).files[0].content) == ["Page 3"]
    assert error_code("/v1/pdf/split", {"pages": "4"}, SAMPLE) == 449
    assert error_code("/v1/pdf/split", {"pages": "2-1"}, SAMPLE) == 450


def test_rotate_sets_rotate_on_selected_pages() -> None:
    rotated = run("/v1/pdf/edit/rotate", {"angle": 90, "pages": "1-"}, SAMPLE).files[0].content
    assert [page.get("/Rotate", 0) for page in reader(rotated).pages] == [0, 90, 90]
    again = run("/v1/pdf/edit/rotate", {"angle": "-90"}, rotated).files[0].content
    assert [page.get("/Rotate", 0) % 360 for page in reader(again).pages] == [270, 0, 0]
    assert page_texts(rotated) == ["Page 1", "Page 2", "Page 3"]
    assert error_code("/v1/pdf/edit/rotate", {}, SAMPLE) == 454
    assert error_code("/v1/pdf/edit/rotate", {"angle": 45}, SAMPLE) == 454


def test_delete_pages_is_one_based() -> None:
    result = run("/v1/pdf/edit/delete-pages", {"pages": "1,3"}, SAMPLE)
    assert page_texts(result.files[0].content) == ["Page 2"] and result.page_count == 1  # the output's pages
    assert page_texts(run("/v1/pdf/edit/delete-pages", {"pages": "2-"}, SAMPLE).files[0].content) == ["Page 1"]
    assert error_code("/v1/pdf/edit/delete-pages", {}, SAMPLE) == 454
    assert error_code("/v1/pdf/edit/delete-pages", {"pages": "0"}, SAMPLE) == 449
    assert error_code("/v1/pdf/edit/delete-pages", {"pages": "1-"}, SAMPLE) == 450


def test_edit_add_stamps_extractable_text() -> None:
    annotations = [
        {"text": "APPROVED", "x": 300, "y": 400, "size": 24, "pages": "0", "color": "#CC0000", "fontBold": True},
        {"text": "line one\nline two", "x": 50, "y": 700, "size": 10, "pages": "1-"},
    ]
    result = run("/v1/pdf/edit/add", {"annotations": json.dumps(annotations)}, SAMPLE)
    texts = page_texts(result.files[0].content)
    assert "Page 1" in texts[0] and "APPROVED" in texts[0] and "line one" not in texts[0]
    assert all("line one" in text and "line two" in text for text in texts[1:])
    found = run("/v1/pdf/find", {"searchString": "APPROVED"}, result.files[0].content).body
    assert isinstance(found, list) and found[0]["pageIndex"] == 0
    assert found[0]["left"] == pytest.approx(300, abs=2) and found[0]["top"] == pytest.approx(400, abs=4)


def test_edit_add_annotations_string_and_errors() -> None:
    result = run("/v1/pdf/edit/add", {"annotationsString": "10;20;!0;Final page;14+bold;Arial;0000FF"}, SAMPLE)
    assert [("Final page" in text) for text in page_texts(result.files[0].content)] == [False, False, True]
    first_only = run("/v1/pdf/edit/add", {"annotations": [{"text": "Zero", "pages": 0}]}, SAMPLE)  # int pages
    assert [("Zero" in text) for text in page_texts(first_only.files[0].content)] == [True, False, False]
    assert error_code("/v1/pdf/edit/add", {}, SAMPLE) == 454
    assert error_code("/v1/pdf/edit/add", {"annotations": [{"text": "x", "color": "red"}]}, SAMPLE) == 454
    assert error_code("/v1/pdf/edit/add", {"annotations": [{"x": 1}]}, SAMPLE) == 454
    # An image the server could not hand over (it fetches images as inputs after the document) is missing.
    assert error_code("/v1/pdf/edit/add", {"images": [{"url": "http://x/y.png"}]}, SAMPLE) == 446


# --------------------------------------------------------------------------------------------------
# Security and compression
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("algorithm", "code"), [("RC4_40bit", 1), ("RC4_128bit", 2), ("AES_128bit", 3), ("AES_256bit", 4)]
)
def test_security_add_requires_the_password(algorithm: str, code: int) -> None:
    params = {"ownerPassword": "owner-pw", "userPassword": "user-pw", "encryptionAlgorithm": algorithm}
    protected = run("/v1/pdf/security/add", params, SAMPLE).files[0].content
    assert reader(protected).is_encrypted
    assert error_code("/v1/pdf/convert/to/text", {}, protected) == 441
    assert error_code("/v1/pdf/convert/to/text", {"password": "nope"}, protected) == 441
    assert run("/v1/pdf/convert/to/text-simple", {"password": "user-pw"}, protected).body == (
        "Page 1\r\n\fPage 2\r\n\fPage 3\r\n"
    )
    info = run("/v1/pdf/info", {"password": "user-pw"}, protected).fields["info"]
    assert isinstance(info, dict) and info["Encrypted"] is True and info["EncryptionAlgorithm"] == code
    opened = run("/v1/pdf/security/remove", {"password": "owner-pw"}, protected).files[0].content
    assert not reader(opened).is_encrypted and page_texts(opened) == ["Page 1", "Page 2", "Page 3"]
    assert error_code("/v1/pdf/security/remove", {"password": "wrong"}, protected) == 441


def test_security_permissions_are_enforced_for_the_user_password() -> None:
    params = {
        "OwnerPassword": "o",
        "EncryptionAlgorithm": "AES_128bit",
        "allowContentExtraction": "false",
        "allowAssemblyDocument": False,
        "allowPrintDocument": True,
    }
    protected = run("/v1/pdf/security/add", params, SAMPLE).files[0].content
    info = run("/v1/pdf/info", {}, protected).fields["info"]  # empty user password: opens without one
    assert isinstance(info, dict)
    assert info["PermissionContentExtraction"] is False and info["PermissionAssemble"] is False
    assert info["PermissionPrinting"] is True
    assert error_code("/v1/pdf/convert/to/text", {}, protected) == 443
    assert error_code("/v1/pdf/split", {}, protected) == 443
    assert run("/v1/pdf/convert/to/text", {"password": "o"}, protected).page_count == 3  # owner may
    bypass = {"profiles": "{'CheckPermissions': false}"}
    assert run("/v1/pdf/convert/to/text", bypass, protected).page_count == 3


def test_security_add_errors() -> None:
    assert error_code("/v1/pdf/security/add", {}, SAMPLE) == 454
    assert error_code("/v1/pdf/security/add", {"ownerPassword": "x", "EncryptionAlgorithm": "ROT13"}, SAMPLE) == 454


def test_security_remove_of_unprotected_pdf_is_a_copy() -> None:
    assert page_texts(run("/v1/pdf/security/remove", {}, SAMPLE).files[0].content) == ["Page 1", "Page 2", "Page 3"]


def test_compress_never_grows_and_keeps_content() -> None:
    bulky = make_sample_pdf(6, text="Repeated paragraph {n}. " * 5)
    result = run("/v2/pdf/compress", {"config": {"images": {"color": {"skip": False}}}}, bulky)
    assert len(result.files[0].content) <= len(bulky) and result.page_count == 6
    assert page_texts(result.files[0].content)[5].startswith("Repeated paragraph 6.")
    assert error_code("/v2/pdf/compress", {"config": "[1]"}, bulky) == 454


# --------------------------------------------------------------------------------------------------
# Document parser and invoice parser
# --------------------------------------------------------------------------------------------------


def test_document_parser_builtin_template() -> None:
    body = run("/v1/pdf/documentparser", {"templateId": "emulator-invoice"}, INVOICE).body
    assert isinstance(body, dict)
    fields = {obj["name"]: obj for obj in body["objects"] if obj["objectType"] == "field"}
    assert fields["invoiceId"]["value"] == "INV-1001" and fields["invoiceId"]["pageIndex"] == 0
    assert fields["dateIssued"]["value"] == "2025-01-05"
    assert fields["total"]["value"] == 296.95
    (table,) = [obj for obj in body["objects"] if obj["objectType"] == "table"]
    assert [row["description"]["value"] for row in table["rows"]] == ["Widget A", "Gadget B", "Support plan (1 yr)"]
    assert table["rows"][2]["quantity"] == {"pageIndex": 0, "value": 3}
    assert table["rows"][2]["amount"]["value"] == 150.0


def test_document_parser_v3_and_v4_templates() -> None:
    v3 = {
        "templateVersion": 3,
        "fields": {
            "number": {"expression": r"Invoice Number:\s*(\S+)"},
            "due": {"type": "regex", "expression": "Due Date: ({{SmartDate}})", "dataType": "date"},
            "company": {"type": "static", "expression": "Emulated Inc."},
            "missing": {"expression": "Nothing here (\\d+)"},
        },
    }
    body = run("/v1/pdf/documentparser", {"template": json.dumps(v3)}, INVOICE).body
    assert isinstance(body, dict)
    values = {obj["name"]: obj["value"] for obj in body["objects"]}
    assert values == {"number": "INV-1001", "due": "2025-02-04", "company": "Emulated Inc.", "missing": None}
    v4 = {
        "templateVersion": 4,
        "objects": [
            {
                "name": "subtotal",
                "objectType": "field",
                "fieldProperties": {
                    "fieldType": "macros",
                    "expression": "Subtotal:{{Spaces}}{{Number}}",
                    "dataType": "decimal",
                },
            },
            {
                "name": "billTo",
                "objectType": "field",
                "fieldProperties": {"fieldType": "rectangle", "rectangle": [20, 170, 300, 14], "pageIndex": 0},
            },
        ],
    }
    body = run("/v1/pdf/documentparser", {"template": v4}, INVOICE).body
    assert isinstance(body, dict)
    values = {obj["name"]: obj["value"] for obj in body["objects"]}
    assert values["subtotal"] == 269.95
    assert values["billTo"] == "Bill To: Lanny Lane Ltd."


def test_document_parser_csv_and_errors() -> None:
    result = run("/v1/pdf/documentparser", {"templateId": "emulator-invoice", "outputFormat": "CSV"}, INVOICE)
    assert isinstance(result.body, str)
    rows = list(csv.reader(io.StringIO(result.body)))
    assert rows[0] == ["description", "quantity", "unitPrice", "amount"]
    assert rows[1] == ["Widget A", "2", "10.0", "20.0"] and len(rows) == 4
    assert result.files[0].name == "result.csv"
    assert error_code("/v1/pdf/documentparser", {}, INVOICE) == 454
    assert error_code("/v1/pdf/documentparser", {"templateId": "12345"}, INVOICE) == 447
    assert error_code("/v1/pdf/documentparser", {"template": "fields: yaml"}, INVOICE) == 447
    assert (
        error_code("/v1/pdf/documentparser", {"template": {"fields": {"x": {"expression": "{{Bogus}}"}}}}, INVOICE)
        == 447
    )
    assert (
        error_code("/v1/pdf/documentparser", {"templateId": "emulator-invoice", "outputFormat": "XML"}, INVOICE) == 454
    )


def test_invoice_parser_reads_the_sample_invoice_exactly() -> None:
    result = run("/v1/ai-invoice-parser", {}, INVOICE)
    body = result.body
    assert isinstance(body, dict) and result.page_count == 1
    assert body["invoice"] == {
        "invoiceNo": "INV-1001",
        "invoiceDate": "2025-01-05",
        "dueDate": "2025-02-04",
        "poNo": None,
    }
    assert body["vendor"]["name"] == "ACME Supplies Inc."
    assert body["vendor"]["address"] == {
        "streetAddress": "1540 Long Street",
        "city": "Jacksonville",
        "state": "FL",
        "postalCode": "32099",
        "country": None,
    }
    assert body["vendor"]["contactInformation"]["phone"] == "352-200-0371"
    assert body["customer"]["billTo"]["name"] == "Lanny Lane Ltd."
    assert body["customer"]["billTo"]["address"]["city"] == "Columbia"
    assert body["paymentDetails"] == {"subtotal": "269.95", "tax": "27.00", "total": "296.95", "currency": "USD"}
    assert body["lineItems"] == [
        {"description": "Widget A", "quantity": "2", "unitPrice": "10.00", "total": "20.00"},
        {"description": "Gadget B", "quantity": "1", "unitPrice": "99.95", "total": "99.95"},
        {"description": "Support plan (1 yr)", "quantity": "3", "unitPrice": "50.00", "total": "150.00"},
    ]
    assert json.loads(result.files[0].content) == body and result.files[0].name == "result.json"


def test_invoice_parser_with_custom_invoice_and_fields() -> None:
    custom = make_sample_invoice_pdf(
        invoice_number="2024/77-B",
        invoice_date="2024-12-31",
        vendor="Globex GmbH",
        customer="Initech LLC",
        currency="EUR",
        items=[("Consulting days", 12, "1250.00"), ("Travel", 1, "480.50")],
        tax_rate="0.19",
    )
    body = run("/v1/ai-invoice-parser", {"customField": "invoiceDate,storeNumber"}, custom).body
    assert isinstance(body, dict)
    assert body["invoice"]["invoiceNo"] == "2024/77-B"
    assert body["vendor"]["name"] == "Globex GmbH" and body["customer"]["billTo"]["name"] == "Initech LLC"
    assert body["paymentDetails"] == {
        "subtotal": "15,480.50",
        "tax": "2,941.30",
        "total": "18,421.80",
        "currency": "EUR",
    }
    assert [item["total"] for item in body["lineItems"]] == ["15,000.00", "480.50"]
    assert body["customFields"] == {"invoiceDate": "2024-12-31", "storeNumber": None}


def test_invoice_text_rules_handle_other_layouts() -> None:
    text = """Invoice
From: Northwind Traders
Invoice # 8841
Date: Jan 5, 2025
Payment Due: 02/04/2025
PO Number: PO-7
Ship To: Warehouse 9
Item description   Quantity   Price   Amount
Paper A4   10   $4.50   $45.00
Grand Total: $45.00
"""
    body = parse_invoice_text(text)
    assert body["vendor"]["name"] == "Northwind Traders"  # type: ignore[index]
    assert body["invoice"] == {
        "invoiceNo": "8841",
        "invoiceDate": "Jan 5, 2025",
        "dueDate": "02/04/2025",
        "poNo": "PO-7",
    }
    assert body["customer"]["shipTo"]["name"] == "Warehouse 9"  # type: ignore[index]
    assert body["paymentDetails"]["total"] == "45.00" and body["paymentDetails"]["currency"] == "USD"  # type: ignore[index]
    assert body["lineItems"] == [{"description": "Paper A4", "quantity": "10", "unitPrice": "4.50", "total": "45.00"}]


def test_invoice_parser_rejects_more_than_100_pages() -> None:
    assert error_code("/v1/ai-invoice-parser", {}, make_sample_pdf(101)) == 400
