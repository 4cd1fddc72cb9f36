"""The emulator's conversions to PDF over real HTTP: text, CSV, HTML, images, .docx and PDFs, and merge2.

PDF.co's samples upload every file as ``application/octet-stream``, so these tests do too: the emulator must know a
document by its bytes and its name.
"""

from __future__ import annotations

import io
import zipfile

import docx
import httpx
import pytest
from PIL import Image
from pypdf import PdfReader

from pdfco_emulator import make_sample_pdf
from pdfco_emulator._processing import InputFile, NotEmulated, ProcessingError, process
from pdfco_emulator._processing_convert import document_kind
from tests.emulator._support import presigned as upload
from tests.emulator._support import wait as finished

EMULATOR_OPTIONS = {"job_duration": 0}  # the work is real; jobs take no emulated time

LEGACY_DOC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 512  # the OLE2 header of Word 97-2003 files


def texts(content: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(content)).pages]


def png(width: int, height: int, dpi: int | None = None) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(buffer, "PNG", **({"dpi": (dpi, dpi)} if dpi else {}))
    return buffer.getvalue()


def word(*paragraphs: str, heading: str = "Quarterly report", table: list[list[str]] | None = None) -> bytes:
    document = docx.Document()
    document.add_heading(heading, 1)
    for text in paragraphs:
        document.add_paragraph(text)
    document.add_paragraph("first point", style="List Bullet")
    if table:
        grid = document.add_table(rows=len(table), cols=len(table[0]))
        for r, row in enumerate(table):
            for c, value in enumerate(row):
                grid.cell(r, c).text = value
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


SAMPLE = make_sample_pdf(2)


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        (
            "notes.txt",
            "Line one\nLine two — dashes, naïve café\n".encode(),
            ["Line one\nLine two - dashes, naïve café"],
        ),
        ("table.csv", b"Item,Qty\nWidget,2\n", ["Item Qty\nWidget 2"]),
        ("page.html", b"<html><body><h1>Heading</h1><p>Para</p></body></html>", ["Heading\nPara"]),
        ("report.docx", word("Revenue grew.", table=[["Region", "Sales"], ["North", "10"]]), None),
        ("scan.png", png(96, 48), [""]),
        ("sample.pdf", SAMPLE, ["Page 1", "Page 2"]),
    ],
)
def test_documents_convert_to_pdf(api: httpx.Client, name: str, content: bytes, expected: list[str] | None) -> None:
    url = upload(api, content, name)
    answer = api.post("/v1/pdf/convert/from/doc", json={"url": url, "name": "out.pdf"})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    result = httpx.get(body["url"])
    assert body["name"] == "out.pdf" and result.headers["content-type"] == "application/pdf"
    pages = texts(result.content)
    assert body["pageCount"] == len(pages)
    if expected is not None:
        assert [text.strip() for text in pages] == expected
    if name.endswith(".docx"):
        for phrase in ("Quarterly report", "Revenue grew.", "first point", "Region", "North"):
            assert phrase in pages[0]
    if name.endswith(".pdf"):
        assert result.content == SAMPLE  # a PDF given as a document passes through as it is
    if name.endswith(".png"):
        box = PdfReader(io.BytesIO(result.content)).pages[0].mediabox
        assert (float(box.width), float(box.height)) == (72.0, 36.0)  # 96 x 48 px at 96 dpi


def test_csv_endpoint_reads_other_separators_and_refuses_other_kinds(api: httpx.Client) -> None:
    url = upload(api, b"name;qty;price\nwidget;2;9.50\n", "items.csv")
    body = api.post("/v1/pdf/convert/from/csv", json={"url": url}).json()
    assert body["name"] == "result.pdf" and texts(httpx.get(body["url"]).content) == ["name qty price\nwidget 2 9.50"]
    wide = ",".join(f"col{i}" for i in range(10)) + "\n" + ",".join(str(i) for i in range(10)) + "\n"
    landscape = api.post("/v1/pdf/convert/from/csv", json={"url": upload(api, wide.encode(), "wide.csv")}).json()
    box = PdfReader(io.BytesIO(httpx.get(landscape["url"]).content)).pages[0].mediabox
    assert float(box.width) > float(box.height)
    refused = api.post("/v1/pdf/convert/from/csv", json={"url": upload(api, SAMPLE, "s.pdf")})
    assert refused.status_code == 400 and refused.json()["errorCode"] == 442


def test_images_become_one_page_each(api: httpx.Client) -> None:
    jpeg = io.BytesIO()
    Image.new("RGB", (300, 150), (0, 0, 255)).save(jpeg, "JPEG", dpi=(300, 300))
    urls = [upload(api, png(96, 96), "a.png"), upload(api, jpeg.getvalue(), "b.jpg")]
    body = api.post("/v1/pdf/convert/from/image", json={"url": ",".join(urls)}).json()
    reader = PdfReader(io.BytesIO(httpx.get(body["url"]).content))
    assert body["pageCount"] == 2
    assert [(float(p.mediabox.width), float(p.mediabox.height)) for p in reader.pages] == [(72, 72), (72, 36)]
    refused = api.post("/v1/pdf/convert/from/image", json={"url": upload(api, b"just text", "notes.txt")})
    assert refused.status_code == 400 and refused.json()["errorCode"] == 442


def test_merge2_joins_documents_of_every_kind_in_order(api: httpx.Client) -> None:
    urls = [
        upload(api, SAMPLE, "first.pdf"),
        upload(api, b"plain words", "second.txt"),
        upload(api, word("From Word."), "third.docx"),
        upload(api, png(48, 48), "fourth.png"),
    ]
    submit = api.post("/v1/pdf/merge2", json={"url": ",".join(urls), "async": True, "name": "all.pdf"}).json()
    assert submit["name"] == "all.pdf"
    result = finished(api, submit["jobId"])
    assert result["status"] == "success" and result["pageCount"] == 5
    pages = texts(httpx.get(result["url"]).content)
    assert pages[:3] == ["Page 1", "Page 2", "plain words"] and "From Word." in pages[3] and pages[4] == ""


def test_formats_the_emulator_does_not_convert_are_named_sync_and_async(api: httpx.Client) -> None:
    url = upload(api, LEGACY_DOC, "letter.doc")
    answer = api.post("/v1/pdf/convert/from/doc", json={"url": url})
    body = answer.json()
    assert answer.status_code == 400 and body["notEmulated"] is True and body["status"] == 400
    assert body["message"].startswith(
        "Not served by the PDF.co emulator: /v1/pdf/convert/from/doc: 'letter.doc' is a legacy Office file"
    )
    assert "Word .docx" in body["message"] and "441" not in body["message"]
    job = api.post("/v1/pdf/convert/from/doc", json={"url": url, "async": True}).json()
    failed = finished(api, job["jobId"])
    assert failed["status"] == "failed" and failed["message"] == body["message"] and failed["errorCode"] == 400
    garbage = api.post("/v1/pdf/merge2", json={"url": upload(api, bytes(range(256)) * 4, "blob.bin")})
    assert garbage.status_code == 400 and garbage.json()["errorCode"] == 442 and "notEmulated" not in garbage.json()


@pytest.mark.parametrize(
    ("name", "content", "kind"),
    [
        ("macro.txt", b"#define WIDTH 8\n#define HEIGHT 8\n", "text"),  # text, though Pillow reads XBM from it
        ("utf16.txt", "h\u00e9llo".encode("utf-16"), "text"),
        ("windows.txt", "caf\u00e9".encode("cp1252"), "text"),
        ("data", b"a,b\n1,2\n", "text"),
        ("page.HTM", b"<p>x</p>", "html"),
        ("no-suffix", b"<!DOCTYPE html><html></html>", "html"),
        ("book.xlsx", b"PK\x03\x04", "binary"),  # a zip header with nothing behind it
        ("letter.rtf", b"{\\rtf1\\ansi hello}", "rtf"),
        ("mail.eml", b"From: a@b.c\nSubject: hi\n\nbody", "email"),
        ("picture", png(4, 4), "image"),
        ("paper", SAMPLE, "pdf"),
    ],
)
def test_document_kind_by_bytes_then_name(name: str, content: bytes, kind: str) -> None:
    assert document_kind(InputFile(name, content, "application/octet-stream")) == kind


def test_not_emulated_kinds_raise_with_what_the_emulator_converts() -> None:
    with pytest.raises(NotEmulated) as caught:
        process("/v1/pdf/convert/from/doc", {}, [InputFile("memo.rtf", b"{\\rtf1 hi}")])
    assert "an RTF document" in caught.value.message and "Word .docx" in caught.value.message
    package = io.BytesIO()
    with zipfile.ZipFile(package, "w") as archive:
        archive.writestr("word/document.xml", "<not-word/>")
    with pytest.raises(ProcessingError) as broken:
        process("/v1/pdf/convert/from/doc", {}, [InputFile("broken.docx", package.getvalue())])
    assert broken.value.code == 442 and "broken.docx" in broken.value.message
    # An empty text file (a UTF-16 byte-order mark and nothing else) is one blank page.
    assert process("/v1/pdf/convert/from/doc", {}, [InputFile("empty.txt", b"\xff\xfe")]).page_count == 1
