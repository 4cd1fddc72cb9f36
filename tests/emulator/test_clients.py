"""What PDF.co's own clients expect of the emulator, over real HTTP: the calls its samples and MCP server make.

PDF to JPG/PNG/HTML, form fields, the text search samples' sync ``body``, a submit without its input refused at
once and ``pageCount`` as the output's pages.
"""

from __future__ import annotations

import io
import json
from typing import Any

import httpx
import pytest
from PIL import Image
from pypdf import PdfWriter

from pdfco_emulator import PdfcoEmulator, make_sample_form_pdf, make_sample_pdf
from tests.emulator._support import upload
from tests.emulator._support import wait as finished

EMULATOR_OPTIONS = {"job_duration": 0}  # the work is real; jobs take no emulated time

SAMPLE = make_sample_pdf(3)


def image(content: bytes) -> Image.Image:
    return Image.open(io.BytesIO(content))


def letter_at_150_dpi(picture: Image.Image) -> bool:
    """8.5 x 11 in at 150 dpi: 1275 x 1650 pixels (PDFium rounds the edge up)."""
    width, height = picture.size
    return width == 1275 and height in (1650, 1651)


def test_pdf_to_png_sync_gives_urls_one_image_per_page(api: httpx.Client) -> None:
    url = upload(api, SAMPLE)
    body = api.post("/v1/pdf/convert/to/png", json={"url": url}).json()
    assert "url" not in body and len(body["urls"]) == 3 and body["pageCount"] == 3 and body["name"] == "result-1.png"
    first = httpx.get(body["urls"][0])
    assert first.headers["content-type"] == "image/png" and "/result-1.png" in body["urls"][0]
    assert letter_at_150_dpi(image(first.content))
    one = api.post("/v1/pdf/convert/to/png", json={"url": url, "pages": "!0", "name": "last.png"}).json()
    # One page is still a list: the samples read urls whatever the count.
    assert len(one["urls"]) == 1 and "/last-1.png" in one["urls"][0] and one["pageCount"] == 1


def test_pdf_to_jpg_async_result_is_a_json_list_of_links(api: httpx.Client) -> None:
    url = upload(api, SAMPLE)
    submit = api.post("/v1/pdf/convert/to/jpg", json={"url": url, "pages": "0-1", "async": True}).json()
    assert submit["name"] == "result.jpg" and submit["url"].split("?")[0].endswith("/result.json")
    result = finished(api, submit["jobId"])
    assert result["status"] == "success" and result["pageCount"] == 2
    links = httpx.get(result["url"]).json()
    assert isinstance(links, list) and len(links) == 2
    pictures = [httpx.get(link) for link in links]
    assert all(p.headers["content-type"] == "image/jpeg" and image(p.content).format == "JPEG" for p in pictures)


def test_pdf_to_webp_and_the_older_optimizer(api: httpx.Client) -> None:
    url = upload(api, SAMPLE)
    webp = api.post("/v1/pdf/convert/to/webp", json={"url": url, "pages": "0"}).json()
    picture = httpx.get(webp["urls"][0])
    assert picture.headers["content-type"] == "image/webp" and image(picture.content).format == "WEBP"
    optimized = api.post("/v1/pdf/optimize", json={"url": url, "name": "small.pdf"}).json()
    assert optimized["name"] == "small.pdf" and optimized["pageCount"] == 3
    assert httpx.get(optimized["url"]).content.startswith(b"%PDF-")


def test_protected_pdf_renders_with_its_password(api: httpx.Client) -> None:
    writer = PdfWriter(clone_from=io.BytesIO(SAMPLE))
    writer.encrypt(user_password="open", owner_password="owner", algorithm="AES-128")
    buffer = io.BytesIO()
    writer.write(buffer)
    url = upload(api, buffer.getvalue())
    refused = api.post("/v1/pdf/convert/to/png", json={"url": url})
    assert refused.status_code == 400 and refused.json()["errorCode"] == 441
    body = api.post("/v1/pdf/convert/to/png", json={"url": url, "password": "open", "pages": "0"}).json()
    assert letter_at_150_dpi(image(httpx.get(body["urls"][0]).content))


def test_pdf_to_html_positioned_and_simple(api: httpx.Client) -> None:
    url = upload(api, SAMPLE)
    body = api.post("/v1/pdf/convert/to/html", json={"url": url, "pages": "1", "inline": True}).json()
    assert body["name"] == "result.html" and body["pageCount"] == 1
    page = httpx.get(body["url"])
    assert page.headers["content-type"].startswith("text/html") and page.text == body["body"]
    assert 'id="page1"' in page.text and ">Page 2</span>" in page.text and "Page 1" not in page.text
    assert "<title>Sample document</title>" in page.text
    simple = api.post("/v1/pdf/convert/to/html", json={"url": url, "simple": True, "columns": True}).json()
    assert "<p>Page 1</p>" in httpx.get(simple["url"]).text and "body" not in simple


def test_form_fields_as_the_forms_info_reader_sample_reads_them(api: httpx.Client) -> None:
    url = upload(api, make_sample_form_pdf(pages=2), "form.pdf")
    # The official Python sample: a form post with async "False" and a name, then info.FieldsInfo.Fields.
    answer = api.post("/v1/pdf/info/fields", data={"async": "False", "name": "result.pdf", "url": url})
    assert answer.status_code == 200, answer.text
    info = answer.json()["info"]
    assert info["PageCount"] == 2 and info["Encrypted"] is False
    assert [f["FieldName"] + "=>" + f["Value"] for f in info["FieldsInfo"]["Fields"]] == [
        "customer=>ACME Inc.",
        "agree=>Yes",
    ]
    customer, agree = info["FieldsInfo"]["Fields"]
    assert customer["Type"] == "EditBox" and agree["Type"] == "CheckBox" and agree["PageIndex"] == 0
    assert (customer["Left"], customer["Top"], customer["Width"], customer["Height"]) == (50, 72, 200, 20)
    assert (agree["Left"], agree["Top"]) == (50, 102)
    job = api.post("/v1/pdf/info/fields", json={"url": url, "async": True}).json()
    result = finished(api, job["jobId"])
    assert json.loads(httpx.get(result["url"]).content)["info"]["FieldsInfo"] == info["FieldsInfo"]
    plain = api.post("/v1/pdf/info/fields", json={"url": upload(api, SAMPLE)}).json()
    assert plain["info"]["FieldsInfo"] == {"Fields": []}


def test_sync_find_answers_body_the_way_the_samples_read_it(api: httpx.Client) -> None:
    url = upload(api, make_sample_pdf(2, text="Total 100.00 and 25.50"))
    # The official "PDF Text Search" sample: a form post, no inline, empty pages and password, then json["body"].
    form = {"password": "", "pages": "", "url": url, "searchString": r"\d{1,}\.\d\d", "regexSearch": "True"}
    body = api.post("/v1/pdf/find", data=form).json()
    assert body["error"] is False and "url" in body
    assert [(item["text"], item["pageIndex"]) for item in body["body"]] == [
        ("100.00", 0),
        ("25.50", 0),
        ("100.00", 1),
        ("25.50", 1),
    ]
    assert all(isinstance(item["left"], float) and isinstance(item["top"], float) for item in body["body"])


@pytest.mark.parametrize(
    ("path", "payload", "missing"),
    [
        ("/v1/pdf/merge", {}, "url"),
        ("/v1/pdf/convert/to/text", {"url": "  "}, "url"),
        ("/v1/pdf/merge2", {"url": " , "}, "url"),
        ("/v1/pdf/convert/from/html", {"name": "x.pdf"}, "html"),
        ("/v1/ai-invoice-parser", {}, "url"),
    ],
)
def test_a_submit_without_its_input_is_refused_at_once(
    api: httpx.Client, emu: PdfcoEmulator, path: str, payload: dict[str, Any], missing: str
) -> None:
    before = emu.stats()
    for extra in ({"async": True}, {}):
        if path == "/v1/ai-invoice-parser" and extra:
            continue  # always asynchronous: it takes no async flag
        answer = api.post(path, json={**payload, **extra})
        body = answer.json()
        assert answer.status_code == 400 and body["status"] == 400 and body["error"] is True
        assert body["message"].startswith(f"Parameter '{missing}' is required")
    after = emu.stats()
    assert after["jobs_submitted"] == before["jobs_submitted"]
    assert after["remaining_credits"] == before["remaining_credits"]


def test_page_count_is_the_output_documents(api: httpx.Client) -> None:
    url = upload(api, SAMPLE)
    deleted = api.post("/v1/pdf/edit/delete-pages", json={"url": url, "pages": "1,3"}).json()
    assert deleted["pageCount"] == 1 and deleted["credits"] == 2  # billed per page of the result
    split = api.post("/v1/pdf/split", json={"url": url, "pages": "2"}).json()
    assert split["pageCount"] == 1 and len(split["urls"]) == 1
    job = api.post("/v1/pdf/edit/delete-pages", json={"url": url, "pages": "2-", "async": True}).json()
    assert finished(api, job["jobId"])["pageCount"] == 1
