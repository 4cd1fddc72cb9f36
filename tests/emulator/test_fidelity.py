"""Tables, page breaks, areas and the whole of ``/v1/pdf/edit/add``, over real HTTP."""

from __future__ import annotations

import csv
import io
import json

import httpx
import pytest
from PIL import Image
from pypdf import PdfReader

from pdfco_emulator import PdfcoEmulator, make_sample_form_pdf, make_sample_invoice_pdf, make_sample_table_pdf
from tests.emulator._support import fetched_texts, upload, wait

EMULATOR_OPTIONS = {"job_duration": 0}


@pytest.mark.parametrize("ruled", [True, False])
def test_find_table_finds_the_sample_table_and_nothing_else(api: httpx.Client, ruled: bool) -> None:
    url = upload(api, make_sample_table_pdf(ruled=ruled))
    # The official sample: a form post, no inline, empty pages and password, then json["body"]["tables"].
    answer = api.post("/v1/pdf/find/table", data={"password": "", "pages": "", "url": url})
    body = answer.json()
    assert answer.status_code == 200 and body["error"] is False and body["pageCount"] == 1
    (table,) = body["body"]["tables"]
    assert table["PageIndex"] == 0 and len(table["Columns"]) == 5
    x, y, width, height = (float(part) for part in table["rect"].split(","))
    assert (x, y, width, height) == (table["X"], table["Y"], table["Width"], table["Height"])
    assert 30 < x < 40 and 80 < y < 90 and width > 400 and 70 < height < 100
    assert json.loads(httpx.get(body["url"]).content) == body["body"]
    # What the "Get Search Table Data" sample does next: the table's area read with rect.
    inside = api.post("/v1/pdf/convert/to/csv", data={"pages": "0", "url": url, "rect": table["rect"]}).json()
    rows = list(csv.reader(io.StringIO(httpx.get(inside["url"]).text)))
    assert rows[0] == ["Region", "Q1", "Q2", "Q3", "Q4"] and rows[-1] == ["West", "870", "910", "1,005", "1,130"]
    assert len(rows) == 5  # the title and the paragraphs around the table are outside the area


def test_find_table_async_and_documents_without_tables(api: httpx.Client) -> None:
    invoice = upload(api, make_sample_invoice_pdf())
    job = api.post("/v1/pdf/find/table", json={"url": invoice, "async": True}).json()
    result = wait(api, job["jobId"])
    assert result["status"] == "success"
    (table,) = httpx.get(result["url"]).json()["tables"]
    assert table["PageIndex"] == 0 and len(table["Columns"]) >= 3
    damaged = api.post("/v1/pdf/find/table", json={"url": upload(api, b"not a pdf")})
    assert damaged.status_code == 400 and damaged.json()["status"] == 442
    html = api.post("/v1/pdf/convert/from/html", json={"html": "<p>Just a paragraph.</p><p>And another.</p>"})
    none = api.post("/v1/pdf/find/table", json={"url": html.json()["url"]}).json()
    assert none["body"] == {"tables": []}
    with pytest.raises(ValueError, match="two lines"):
        make_sample_table_pdf([["a", "b"]])


def test_json2_and_text_read_only_the_area_in_rect(api: httpx.Client) -> None:
    url = upload(api, make_sample_invoice_pdf())
    table = api.post("/v1/pdf/find/table", json={"url": url}).json()["body"]["tables"][0]
    json2 = api.post("/v1/pdf/convert/to/json2", json={"url": url, "rect": table["rect"], "inline": True}).json()
    words = [column["text"]["#text"] for row in json2["body"]["document"]["page"][0]["row"] for column in row["column"]]
    assert words[:4] == ["Description", "Qty", "Unit Price", "Amount"] and "INVOICE" not in words
    text = api.post("/v1/pdf/convert/to/text", json={"url": url, "rect": table["rect"], "inline": True}).json()
    lines = text["body"].split("\r\n")
    assert lines[1].split() == ["Widget", "A", "2", "10.00", "20.00"] and "Subtotal" not in text["body"]
    bad = api.post("/v1/pdf/convert/to/text", json={"url": url, "rect": "1,2,three"})
    assert bad.status_code == 400 and bad.json()["status"] == 454


def test_html_page_breaks_start_new_pages(api: httpx.Client) -> None:
    # The README's split example: two paragraphs, the second after a forced page break.
    html = "<p>1</p><p style='page-break-before: always'>2</p>"
    body = api.post("/v1/pdf/convert/from/html", json={"html": html}).json()
    assert body["pageCount"] == 2 and fetched_texts(body["url"]) == ["1", "2"]
    split = api.post("/v1/pdf/split", json={"url": body["url"], "pages": "*"}).json()
    assert len(split["urls"]) == 2
    styled = (
        "<style>.cover { page-break-after: always } h2 { break-before: page }</style>"
        "<div class='cover'><h1>Report</h1></div><p>Intro</p><h2>Part A</h2><p>a</p><h2>Part B</h2><p>b</p>"
    )
    pages = fetched_texts(api.post("/v1/pdf/convert/from/html", json={"html": styled}).json()["url"])
    assert pages == ["Report", "Intro", "Part A\na", "Part B\nb"]


def test_edit_add_fills_form_fields_by_name(api: httpx.Client) -> None:
    name = "topmostSubform[0].Page1[0].f1_02[0]"  # PDF.co's full field names hold dots and brackets
    url = upload(api, make_sample_form_pdf(((name, ""), ("agree", False))), "form.pdf")
    fields = [{"fieldName": name, "pages": "1", "text": "John A."}, {"fieldName": "agree", "text": "True"}]
    notes = [{"text": "Filled by the emulator", "x": 10, "y": 10, "size": 8, "pages": "0-"}]
    filled = api.post("/v1/pdf/edit/add", json={"url": url, "fields": fields, "annotations": notes}).json()
    assert filled["error"] is False, filled
    info = api.post("/v1/pdf/info/fields", json={"url": filled["url"]}).json()["info"]["FieldsInfo"]["Fields"]
    assert {field["FieldName"]: field["Value"] for field in info} == {name: "John A.", "agree": "Yes"}
    assert "Filled by the emulator" in fetched_texts(filled["url"])[0]
    missing = api.post("/v1/pdf/edit/add", json={"url": url, "fields": [{"fieldName": "nope", "text": "x"}]})
    assert missing.status_code == 400 and missing.json()["status"] == 454 and "'nope'" in missing.json()["message"]
    # The fieldsString form: page;fieldName;value items.
    string = api.post("/v1/pdf/edit/add", json={"url": url, "fieldsString": f"0;{name};Jane"}).json()
    info = api.post("/v1/pdf/info/fields", json={"url": string["url"]}).json()["info"]["FieldsInfo"]["Fields"]
    assert info[0]["Value"] == "Jane"


def test_edit_add_creates_fillable_fields(api: httpx.Client) -> None:
    url = upload(api, make_sample_table_pdf())
    forms = [
        {"text": "prefilled", "x": 10, "y": 30, "size": 12, "pages": "0-", "type": "TextField", "id": "name"},
        {"x": 100, "y": 150, "size": 12, "pages": "0-", "type": "Checkbox", "id": "ok"},
    ]
    body = api.post("/v1/pdf/edit/add", json={"url": url, "annotations": forms}).json()
    fields = api.post("/v1/pdf/info/fields", json={"url": body["url"]}).json()["info"]["FieldsInfo"]["Fields"]
    assert [(f["FieldName"], f["Type"], f["Value"]) for f in fields] == [
        ("name", "EditBox", "prefilled"),
        ("ok", "CheckBox", "Off"),
    ]
    assert (fields[0]["Left"], fields[0]["Top"]) == (10, 30)


def test_edit_add_places_images_from_links(api: httpx.Client, emu: PdfcoEmulator) -> None:
    picture = io.BytesIO()
    Image.new("RGB", (60, 30), (0, 90, 200)).save(picture, "PNG")
    emu.add_remote_file("https://example.com/logo.png", picture.getvalue())
    url = upload(api, make_sample_table_pdf())
    images = [{"url": "https://example.com/logo.png", "x": 400, "y": 20, "width": 120, "height": 60, "pages": "0"}]
    body = api.post("/v1/pdf/edit/add", json={"url": url, "images": images}).json()
    assert body["error"] is False, body
    page = PdfReader(io.BytesIO(httpx.get(body["url"]).content)).pages[0]
    (placed,) = page.images
    assert placed.image is not None and placed.image.size == (60, 30)
    outside = [{"url": "https://example.org/elsewhere.png", "x": 1, "y": 1}]
    refused = api.post("/v1/pdf/edit/add", json={"url": url, "images": outside})
    assert refused.status_code == 400 and "loopback" in refused.json()["message"]
