"""The typed tasks against the PDF.co emulator over loopback: real documents in, real results checked.

Each test submits through the task (``.fn`` or a flow), waits with ``wait_for_job``, downloads the result link
with plain httpx (no API key: result links are presigned) and checks pages and text with pypdf.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from prefect import flow
from pypdf import PdfReader

from prefect_pdfco import JobFailed, JobResult, PdfcoCredentials, wait_for_job
from prefect_pdfco.operations import tasks as typed
from prefect_pdfco.testing import PdfcoEmulator
from prefect_pdfco.testing._processing import make_sample_invoice_pdf, make_sample_pdf

pytestmark = pytest.mark.usefixtures("prefect_harness")

THREE_PAGES = make_sample_pdf(3)


@pytest.fixture(scope="module")
def emu() -> Iterator[PdfcoEmulator]:
    with PdfcoEmulator(job_duration=0.05) as emulator:
        yield emulator


@pytest.fixture
def creds(emu: PdfcoEmulator) -> PdfcoCredentials:
    return emu.credentials()


async def upload(emu: PdfcoEmulator, content: bytes, name: str = "in.pdf") -> str:
    async with httpx.AsyncClient(base_url=emu.base_url, headers={"x-api-key": emu.api_key}) as client:
        answer = await client.post(
            "/v1/file/upload/base64", json={"file": base64.b64encode(content).decode(), "name": name}
        )
    answer.raise_for_status()
    return str(answer.json()["url"])


async def download(url: str | None) -> bytes:
    assert url is not None
    async with httpx.AsyncClient() as client:  # result links are presigned: no API key
        answer = await client.get(url)
    answer.raise_for_status()
    return answer.content


async def run(creds: PdfcoCredentials, task: Any, *args: Any, **kwargs: Any) -> JobResult:
    submission = await task.fn(creds, *args, **kwargs)
    assert submission.job_id
    return await wait_for_job.fn(creds, submission.job_id, initial_poll_seconds=0.05, max_poll_seconds=0.1)


def pdf(data: bytes, password: str | None = None) -> PdfReader:
    reader = PdfReader(io.BytesIO(data))
    if password is not None:
        assert reader.decrypt(password)
    return reader


def texts(data: bytes) -> list[str]:
    return [page.extract_text() for page in pdf(data).pages]


@pytest.fixture(scope="module")
async def sample_url(emu: PdfcoEmulator) -> str:
    return await upload(emu, THREE_PAGES, "sample.pdf")


# --------------------------------------------------------------------------------------------------
# Making PDFs
# --------------------------------------------------------------------------------------------------


async def test_html_to_pdf(creds: PdfcoCredentials) -> None:
    result = await run(creds, typed.html_to_pdf, "<h1>Quarterly report</h1><p>All good.</p>", name="q.pdf")
    assert result.page_count == 1 and result.url is not None and "/q.pdf" in result.url
    (text,) = texts(await download(result.url))
    assert "Quarterly report" in text and "All good." in text


async def test_url_to_pdf(creds: PdfcoCredentials, emu: PdfcoEmulator) -> None:
    page = await upload(emu, b"<html><body><h1>Status page</h1><p>Operational</p></body></html>", "page.html")
    result = await run(creds, typed.url_to_pdf, page, orientation="landscape", paper_size="A4")
    reader = pdf(await download(result.url))
    assert "Status page" in reader.pages[0].extract_text()
    box = reader.pages[0].mediabox
    assert float(box.width) > float(box.height)  # landscape A4


# --------------------------------------------------------------------------------------------------
# Pages
# --------------------------------------------------------------------------------------------------


async def test_merge_pdfs_keeps_the_order(creds: PdfcoCredentials, emu: PdfcoEmulator) -> None:
    first = await upload(emu, make_sample_pdf(2, text="First {n}"), "a.pdf")
    second = await upload(emu, make_sample_pdf(3, text="Second {n}"), "b.pdf")
    result = await run(creds, typed.merge_pdfs, [first, second], name="merged.pdf")
    assert result.page_count == 5
    assert [t.strip() for t in texts(await download(result.url))] == [
        "First 1",
        "First 2",
        "Second 1",
        "Second 2",
        "Second 3",
    ]


@pytest.mark.parametrize(("pages", "expected"), [("1-2,3", [2, 1]), (None, [1, 1, 1]), ([1, "2-"], [1, 2])])
async def test_split_pdf_result_is_a_json_list_of_part_links(
    creds: PdfcoCredentials, sample_url: str, pages: Any, expected: list[int]
) -> None:
    kwargs = {"pages": pages} if pages is not None else {}
    result = await run(creds, typed.split_pdf, sample_url, name="part.pdf", **kwargs)
    links = json.loads(await download(result.url))  # PDF.co's async split: a JSON file of links
    assert isinstance(links, list) and len(links) == len(expected)
    parts = [pdf(await download(link)) for link in links]
    assert [len(part.pages) for part in parts] == expected
    assert "/part-1.pdf" in links[0]


async def test_rotate_pages_counts_from_zero(creds: PdfcoCredentials, sample_url: str) -> None:
    result = await run(creds, typed.rotate_pages, sample_url, 90, pages="0,!0")
    reader = pdf(await download(result.url))
    assert [page.rotation for page in reader.pages] == [90, 0, 90]


async def test_delete_pages_counts_from_one(creds: PdfcoCredentials, sample_url: str) -> None:
    result = await run(creds, typed.delete_pages, sample_url, "1")
    assert [t.strip() for t in texts(await download(result.url))] == ["Page 2", "Page 3"]


# --------------------------------------------------------------------------------------------------
# Extraction
# --------------------------------------------------------------------------------------------------


async def test_pdf_to_text_of_one_page_and_inline(creds: PdfcoCredentials, sample_url: str) -> None:
    result = await run(creds, typed.pdf_to_text, sample_url, pages="1", inline=True)
    text = (await download(result.url)).decode()
    assert "Page 2" in text and "Page 1" not in text and "Page 3" not in text
    assert result.extra["body"] == text  # inline: the job check carries the text too


async def test_pdf_to_json(creds: PdfcoCredentials, sample_url: str) -> None:
    result = await run(creds, typed.pdf_to_json, sample_url, pages="!0")
    document = json.loads(await download(result.url))["document"]
    assert [page["@index"] for page in document["page"]] == ["2"]
    assert "Page 3" in json.dumps(document)


async def test_pdf_to_csv(creds: PdfcoCredentials, emu: PdfcoEmulator) -> None:
    table = make_sample_pdf(1, text="Item    Qty    Price\nWidget    2    10.00")
    url = await upload(emu, table, "table.pdf")
    result = await run(creds, typed.pdf_to_csv, url)
    rows = list(csv.reader(io.StringIO((await download(result.url)).decode())))
    assert rows == [["Item", "Qty", "Price"], ["Widget", "2", "10.00"]]


async def test_pdf_info(creds: PdfcoCredentials, sample_url: str) -> None:
    result = await run(creds, typed.pdf_info, sample_url)
    info = json.loads(await download(result.url))["info"]
    assert info["PageCount"] == 3 and info["Encrypted"] is False
    assert result.page_count == 3


async def test_find_text(creds: PdfcoCredentials, sample_url: str) -> None:
    result = await run(creds, typed.find_text, sample_url, r"Page [23]", regex=True)
    found = json.loads(await download(result.url))
    assert [(item["text"], item["pageIndex"]) for item in found] == [("Page 2", 1), ("Page 3", 2)]


async def test_parse_document_with_a_template_id(creds: PdfcoCredentials, emu: PdfcoEmulator) -> None:
    url = await upload(emu, make_sample_invoice_pdf(), "invoice.pdf")
    result = await run(creds, typed.parse_document, url, template_id="emulator-invoice")
    objects = {item["name"]: item for item in json.loads(await download(result.url))["objects"]}
    assert objects["invoiceId"]["value"] == "INV-1001"
    assert len(objects["lineItems"]["rows"]) == 3


async def test_parse_invoice_is_async_only_and_returns_the_invoice(creds: PdfcoCredentials, emu: PdfcoEmulator) -> None:
    url = await upload(emu, make_sample_invoice_pdf(), "invoice.pdf")
    submission = await typed.parse_invoice.fn(creds, url, custom_fields=["poNo"])
    assert submission.url is None and submission.endpoint == "/v1/ai-invoice-parser"  # status "created"
    result = await wait_for_job.fn(creds, submission.job_id, initial_poll_seconds=0.05)
    body = result.extra["body"]
    assert body["invoice"]["invoiceNo"] == "INV-1001"
    assert body["paymentDetails"]["total"] == "296.95"
    assert json.loads(await download(result.url)) == body


# --------------------------------------------------------------------------------------------------
# Editing and security
# --------------------------------------------------------------------------------------------------


async def test_add_to_pdf_draws_text(creds: PdfcoCredentials, sample_url: str) -> None:
    stamp = typed.TextAnnotation(text="PAID", x=300, y=50, size=20, color="CC0000", pages="0")
    result = await run(
        creds, typed.add_to_pdf, sample_url, annotations=[stamp, {"text": "Last", "x": 10, "y": 10, "pages": "!0"}]
    )
    first, second, last = texts(await download(result.url))
    assert "PAID" in first and "PAID" not in second and "Last" in last


async def test_add_and_remove_password_chained_by_url(
    creds: PdfcoCredentials, sample_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    owner, user = "owner-" + "pw", "user-" + "pw"
    with caplog.at_level(logging.DEBUG):
        locked = await run(
            creds, typed.add_password, sample_url, owner_password=owner, user_password=user,
            encryption_algorithm="AES_256bit", allow_print_document=False,
        )  # fmt: skip
        reader = pdf(await download(locked.url))
        assert reader.is_encrypted and reader.decrypt(user)
        with pytest.raises(JobFailed, match=r"[Pp]assword"):
            await run(creds, typed.remove_password, locked.url, "wrong")
        unlocked = await run(creds, typed.remove_password, locked.url, owner)
    reader = pdf(await download(unlocked.url))
    assert not reader.is_encrypted and len(reader.pages) == 3
    logged = " ".join(record.getMessage() for record in caplog.records)
    assert "Submitted add_password as job" in logged
    assert owner not in logged and user not in logged


async def test_compress_pdf(creds: PdfcoCredentials, sample_url: str) -> None:
    result = await run(creds, typed.compress_pdf, sample_url, name="small.pdf")
    data = await download(result.url)
    assert len(pdf(data).pages) == 3 and len(data) <= len(THREE_PAGES)


# --------------------------------------------------------------------------------------------------
# Under the Prefect engine: sync and async flows
# --------------------------------------------------------------------------------------------------


def test_typed_tasks_in_a_sync_flow(creds: PdfcoCredentials) -> None:
    @flow
    def cover_then_merge() -> tuple[str, str | None]:
        cover = typed.html_to_pdf(creds, "<h1>Cover</h1>", name="cover.pdf")
        cover_url = wait_for_job(creds, cover.job_id, initial_poll_seconds=0.05).url
        merged = typed.merge_pdfs(creds, [cover_url, cover_url], name="twice.pdf")
        return merged.job_id, wait_for_job(creds, merged.job_id, initial_poll_seconds=0.05).url

    _, url = cover_then_merge()
    data = httpx.get(url or "").content
    assert [t.strip() for t in texts(data)] == ["Cover", "Cover"]


async def test_typed_tasks_in_an_async_flow(creds: PdfcoCredentials, sample_url: str) -> None:
    @flow
    async def split_and_read() -> list[str]:
        job = await typed.split_pdf(creds, sample_url, "2-3")
        parts = await wait_for_job(creds, job.job_id, initial_poll_seconds=0.05)
        (link,) = json.loads(await download(parts.url))
        text_job = await typed.pdf_to_text(creds, link)
        return [(await download((await wait_for_job(creds, text_job.job_id, initial_poll_seconds=0.05)).url)).decode()]

    (text,) = await split_and_read()
    assert "Page 2" in text and "Page 3" in text and "Page 1" not in text
