"""PDF.co's own MCP server (``pdfco-mcp`` 0.0.11, unchanged) against a strict emulator: every tool it has for an
endpoint the emulator serves, called through MCP, each result checked for its content.

Its base URL is a module constant (``pdfco.mcp.services.client.__BASE_URL``); setting it is configuration, as the
key passed to each tool is. Tools for endpoints the emulator does not serve are listed in ``NOT_SERVED``.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image
from pypdf import PdfReader

from pdfco_emulator import (
    PdfcoEmulator,
    make_sample_form_pdf,
    make_sample_invoice_pdf,
    make_sample_pdf,
    make_sample_table_pdf,
)
from tests.emulator._support import fetched_texts, texts

mcp_client = pytest.importorskip("pdfco.mcp.services.client", reason="pip install pdfco-mcp==0.0.11")
fastmcp = pytest.importorskip("fastmcp")

#: The tools whose endpoints the emulator does not serve (see the emulator's README).
NOT_SERVED = {
    "email_to_pdf": "/v1/pdf/convert/from/email",
    "excel_to_csv": "/v1/xls/convert/to/csv",
    "excel_to_html": "/v1/xls/convert/to/html",
    "excel_to_json": "/v1/xls/convert/to/json",
    "excel_to_pdf": "/v1/xls/convert/to/pdf",
    "excel_to_txt": "/v1/xls/convert/to/txt",
    "excel_to_xml": "/v1/xls/convert/to/xml",
    "extract_attachments": "/v1/pdf/attachments/extract",
    "pdf_to_xls": "/v1/pdf/convert/to/xls",
    "pdf_to_xlsx": "/v1/pdf/convert/to/xlsx",
}
CALLED: set[str] = set()


@pytest.fixture(scope="module")
def emu() -> Iterator[PdfcoEmulator]:
    with PdfcoEmulator(api_key="mcp-key", job_duration=0, strict=True) as emulator:
        yield emulator


@pytest.fixture(scope="module")
def server(emu: PdfcoEmulator) -> Iterator[Any]:
    from pdfco.mcp import server
    from pdfco.mcp.tools.apis import (  # noqa: F401 - importing them registers the tools
        conversion,
        document,
        editing,
        extraction,
        file,
        form,
        job,
        modification,
        search,
        searchable,
        security,
    )

    attribute = "__BASE_URL"  # the module constant the client reads its base URL from
    saved = getattr(mcp_client, attribute)
    setattr(mcp_client, attribute, emu.base_url)
    yield server.mcp
    setattr(mcp_client, attribute, saved)


@pytest.fixture(scope="module")
def mcp(server: Any, emu: PdfcoEmulator) -> Iterator[Any]:
    """Calls a tool through MCP (in memory) with the emulator's key; returns its BaseResponse as a dict."""
    loop = asyncio.new_event_loop()
    client = fastmcp.Client(server)
    loop.run_until_complete(client.__aenter__())

    def call(tool: str, **arguments: Any) -> dict[str, Any]:
        CALLED.add(tool)
        result = loop.run_until_complete(client.call_tool(tool, {**arguments, "api_key": emu.api_key}))
        answer: dict[str, Any] = result.structured_content
        return answer

    yield call
    loop.run_until_complete(client.__aexit__(None, None, None))
    loop.close()


def done(mcp: Any, answer: dict[str, Any]) -> dict[str, Any]:
    """The finished job of a submit answer, through the wait_job_completion tool."""
    assert answer["status"] == "working", answer
    finished: dict[str, Any] = mcp("wait_job_completion", job_id=answer["content"]["jobId"], interval=1)
    assert finished["status"] == "success", finished
    return dict(finished["content"])


def uploaded(mcp: Any, tmp_path: Path, name: str, content: bytes) -> str:
    path = tmp_path / name
    path.write_bytes(content)
    answer = mcp("upload_file", file_path=str(path))
    assert answer["status"] == "success", answer
    url = str(answer["content"]["url"])
    assert httpx.get(url).content == content
    return url


def test_conversions_from_pdf(mcp: Any, tmp_path: Path) -> None:
    url = uploaded(mcp, tmp_path, "sample.pdf", make_sample_pdf(3))
    text = httpx.get(done(mcp, mcp("pdf_to_text", url=url, pages="1-"))["url"]).text
    assert text == "Page 2\r\n\fPage 3\r\n"
    document = httpx.get(done(mcp, mcp("pdf_to_json", url=url))["url"]).json()
    assert [page["row"][0]["column"][0]["text"]["#text"] for page in document["document"]["page"]] == [
        "Page 1",
        "Page 2",
        "Page 3",
    ]
    html = httpx.get(done(mcp, mcp("pdf_to_html", url=url, pages="0"))["url"]).text
    assert ">Page 1</span>" in html and "Page 2" not in html
    invoice = uploaded(mcp, tmp_path, "invoice.pdf", make_sample_invoice_pdf())
    rows = list(csv.reader(io.StringIO(httpx.get(done(mcp, mcp("pdf_to_csv", url=invoice))["url"]).text)))
    assert ["Widget A", "2", "10.00", "20.00"] in rows
    for kind, form in (("png", "PNG"), ("jpg", "JPEG"), ("webp", "WEBP")):
        result = done(mcp, mcp("pdf_to_image", url=url, type=kind, pages="0-1"))
        links = httpx.get(result["url"]).json()
        assert result["pageCount"] == 2 and len(links) == 2
        assert Image.open(io.BytesIO(httpx.get(links[0]).content)).format == form
    tiff = Image.open(io.BytesIO(httpx.get(done(mcp, mcp("pdf_to_image", url=url, type="tiff"))["url"]).content))
    assert tiff.format == "TIFF" and tiff.n_frames == 3
    xml = httpx.get(done(mcp, mcp("pdf_to_xml", url=url, pages="2"))["url"]).text
    assert '<page index="2"' in xml and ">Page 3</text>" in xml and "Page 1" not in xml


def test_conversions_to_pdf(mcp: Any, tmp_path: Path, emu: PdfcoEmulator) -> None:
    html = done(mcp, mcp("html_to_pdf", html="<h1>From MCP</h1><p style='page-break-before: always'>two</p>"))
    assert fetched_texts(html["url"]) == ["From MCP", "two"]
    page = uploaded(mcp, tmp_path, "page.html", b"<html><body><h2>Web page</h2></body></html>")
    assert fetched_texts(done(mcp, mcp("webpage_to_pdf", url=page))["url"]) == ["Web page"]
    notes = uploaded(mcp, tmp_path, "notes.txt", b"plain notes")
    assert fetched_texts(done(mcp, mcp("document_to_pdf", url=notes))["url"]) == ["plain notes"]
    table = uploaded(mcp, tmp_path, "table.csv", b"Item,Qty\nWidget,2\n")
    assert fetched_texts(done(mcp, mcp("csv_to_pdf", url=table))["url"]) == ["Item Qty\nWidget 2"]
    picture = io.BytesIO()
    Image.new("RGB", (96, 48), (10, 20, 30)).save(picture, "PNG")
    image = uploaded(mcp, tmp_path, "image.png", picture.getvalue())
    result = done(mcp, mcp("image_to_pdf", url=f"{image},{image}"))
    assert result["pageCount"] == 2 and len(PdfReader(io.BytesIO(httpx.get(result["url"]).content)).pages) == 2


def test_merge_split_info_and_search(mcp: Any, tmp_path: Path) -> None:
    first = uploaded(mcp, tmp_path, "first.pdf", make_sample_pdf(2, text="First {n}"))
    second = uploaded(mcp, tmp_path, "second.pdf", make_sample_pdf(1, text="Second"))
    merged = done(mcp, mcp("pdf_merge", url=f"{first},{second}"))
    assert fetched_texts(merged["url"]) == ["First 1", "First 2", "Second"]
    parts = httpx.get(done(mcp, mcp("pdf_split", url=merged["url"], pages="1-2,3"))["url"]).json()
    assert [fetched_texts(part) for part in parts] == [["First 1", "First 2"], ["Second"]]
    info = httpx.get(done(mcp, mcp("pdf_info_reader", url=merged["url"]))["url"]).json()["info"]
    assert info["PageCount"] == 3 and info["Encrypted"] is False
    found = httpx.get(done(mcp, mcp("find_text", url=merged["url"], searchString="First \\d", regexSearch=True))["url"])
    assert [(item["text"], item["pageIndex"]) for item in found.json()] == [("First 1", 0), ("First 2", 1)]
    table = uploaded(mcp, tmp_path, "table.pdf", make_sample_table_pdf())
    (located,) = httpx.get(done(mcp, mcp("find_table", url=table))["url"]).json()["tables"]
    assert located["PageIndex"] == 0 and len(located["Columns"]) == 5 and located["rect"].count(",") == 3


def test_forms_and_editing(mcp: Any, tmp_path: Path) -> None:
    form = uploaded(mcp, tmp_path, "form.pdf", make_sample_form_pdf())
    fields = done(mcp, mcp("read_pdf_forms_info", url=form))
    listed = httpx.get(fields["url"]).json()["info"]["FieldsInfo"]["Fields"]
    assert [(field["FieldName"], field["Value"]) for field in listed] == [("customer", "ACME Inc."), ("agree", "Yes")]
    filled = done(mcp, mcp("fill_forms", url=form, fields=[{"fieldName": "customer", "pages": "1", "text": "Zed"}]))
    again = httpx.get(done(mcp, mcp("read_pdf_forms_info", url=filled["url"]))["url"]).json()
    assert again["info"]["FieldsInfo"]["Fields"][0]["Value"] == "Zed"
    blank = uploaded(mcp, tmp_path, "blank.pdf", make_sample_pdf(1))
    boxes = [
        {"text": "prefilled", "x": 10, "y": 30, "size": 12, "pages": "0-", "type": "TextField", "id": "textfield1"},
        {"x": 100, "y": 150, "size": 12, "pages": "0-", "type": "Checkbox", "id": "checkbox1"},
    ]
    created = done(mcp, mcp("create_fillable_forms", url=blank, annotations=boxes))
    made = httpx.get(done(mcp, mcp("read_pdf_forms_info", url=created["url"]))["url"]).json()
    assert [field["FieldName"] for field in made["info"]["FieldsInfo"]["Fields"]] == ["textfield1", "checkbox1"]
    note = {"text": "Reviewed", "x": 250, "y": 240, "size": 24, "pages": "0-", "color": "CCBBAA", "fontBold": True}
    stamped = done(mcp, mcp("pdf_add_annotations_images_fields", url=blank, annotations=[note], flatten=True))
    assert fetched_texts(stamped["url"]) == ["Page 1\nReviewed"]


def test_searchable_and_unsearchable(mcp: Any, tmp_path: Path) -> None:
    url = uploaded(mcp, tmp_path, "sample.pdf", make_sample_pdf(2))
    flat = done(mcp, mcp("pdf_make_unsearchable", url=url))
    assert fetched_texts(flat["url"]) == ["", ""] and flat["pageCount"] == 2
    assert fetched_texts(done(mcp, mcp("pdf_make_searchable", url=url))["url"]) == ["Page 1", "Page 2"]
    job = mcp("pdf_make_searchable", url=flat["url"])["content"]["jobId"]
    refused = mcp("wait_job_completion", job_id=job)  # no OCR: the job fails, saying it is the emulator's limit
    assert refused["status"] == "error" and refused["content"]["status"] == "failed"
    assert refused["content"]["message"].startswith("Not served by the PDF.co emulator: /v1/pdf/makesearchable")


def test_security_invoice_and_job_tools(mcp: Any, tmp_path: Path) -> None:
    url = uploaded(mcp, tmp_path, "sample.pdf", make_sample_pdf(1))
    locked = done(mcp, mcp("pdf_add_password", url=url, owner_password="o", user_password="u"))
    content = httpx.get(locked["url"]).content
    assert PdfReader(io.BytesIO(content)).is_encrypted and texts(content, "u") == ["Page 1"]
    opened = done(mcp, mcp("pdf_remove_password", url=locked["url"], password="o"))
    assert not PdfReader(io.BytesIO(httpx.get(opened["url"]).content)).is_encrypted
    invoice = uploaded(mcp, tmp_path, "invoice.pdf", make_sample_invoice_pdf(invoice_number="INV-77"))
    submitted = mcp("ai_invoice_parser", url=invoice)
    checked = mcp("get_job_check", job_id=submitted["content"]["jobId"])
    assert checked["status"] == "success" and checked["content"]["body"]["invoice"]["invoiceNo"] == "INV-77"
    parsed = done(mcp, submitted)
    assert json.loads(httpx.get(parsed["url"]).content)["paymentDetails"]["total"] == "296.95"


def test_not_served_tools_say_so(mcp: Any, tmp_path: Path) -> None:
    url = uploaded(mcp, tmp_path, "sample.pdf", make_sample_pdf(1))
    answer = mcp("pdf_to_xlsx", url=url)
    assert answer["status"] == "error" and answer["content"]["notEmulated"] is True
    assert answer["content"]["message"].startswith("Not served by the PDF.co emulator")


def test_every_served_tool_was_called(server: Any) -> None:
    async def names() -> set[str]:
        async with fastmcp.Client(server) as client:
            return {tool.name for tool in await client.list_tools()}

    tools = asyncio.run(names())
    assert len(tools) == 38 and set(NOT_SERVED) <= tools
    served = tools - set(NOT_SERVED)
    assert served - CALLED == set() and len(served) == 28
