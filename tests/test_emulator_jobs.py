"""The emulator's processing calls and jobs, over real HTTP: sync shapes, async jobs, job check, billing."""

from __future__ import annotations

import io
import re
import time
import uuid
from datetime import datetime
from typing import Any

import httpx
from pypdf import PdfReader

from prefect_pdfco.testing import JOB_DURATION_HEADER, PdfcoEmulator
from prefect_pdfco.testing._processing import make_sample_invoice_pdf, make_sample_pdf
from tests._emulator_support import upload

JOB_ID = re.compile(r"[A-Z0-9]{32}--151-300")


def wait(api: httpx.Client, job_id: str, timeout: float = 10.0) -> dict[str, Any]:
    """Polls job check until the job leaves ``working``."""
    deadline = time.monotonic() + timeout
    while True:
        body: dict[str, Any] = api.post("/v1/job/check", json={"jobid": job_id}).json()
        if body["status"] != "working" or time.monotonic() > deadline:
            return body
        time.sleep(0.02)


def pages_of(content: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(content)).pages]


def test_async_submit_working_placeholder_then_success(api: httpx.Client, emu: PdfcoEmulator) -> None:
    url = upload(api, make_sample_pdf(2))
    submit = api.post("/v1/pdf/merge", json={"url": f"{url},{url}", "async": True}, headers={JOB_DURATION_HEADER: "30"})
    body = submit.json()
    assert submit.status_code == 200
    assert set(body) == {"jobId", "url", "error", "status", "name", "credits", "remainingCredits", "duration"}
    assert body["error"] is False and body["status"] == 200 and JOB_ID.fullmatch(body["jobId"])
    assert body["url"].startswith(f"http://localhost:{emu.port}/pdf-temp-files/")
    # PDF.co's documented working answer, and a placeholder that is not readable yet.
    assert api.post("/v1/job/check", json={"jobId": body["jobId"]}).json() == {
        "status": "working",
        "remainingCredits": emu.stats()["remaining_credits"],
    }
    early = httpx.get(body["url"])
    assert early.status_code == 404 and "<Code>NoSuchKey</Code>" in early.text
    assert early.headers["content-type"].startswith("application/xml")
    emu.advance_clock(31)  # the job comes due without waiting 30 s
    result = wait(api, body["jobId"])
    assert result["status"] == "success" and result["message"] == "Success"
    assert result["jobId"] == body["jobId"] and result["url"] == body["url"] and result["pageCount"] == 4
    for key in ("credits", "remainingCredits", "duration", "jobDuration"):
        assert isinstance(result[key], int)
    valid_till = datetime.fromisoformat(result["outputLinkValidTill"])
    assert result["outputLinkValidTill"].endswith("+00:00") and valid_till.tzinfo is not None
    download = httpx.get(result["url"])
    assert download.status_code == 200 and download.headers["content-type"] == "application/pdf"
    assert pages_of(download.content) == ["Page 1", "Page 2", "Page 1", "Page 2"]
    stats = emu.stats()
    assert stats["jobs_submitted"] == 1 and stats["job_checks"] >= 2 and stats["jobs"] == {"success": 1}


def test_unknown_job_is_working_unless_forced(api: httpx.Client) -> None:
    assert api.post("/v1/job/check", json={"jobid": "NO-SUCH-JOB"}).json()["status"] == "working"
    forced = api.post("/v1/job/check", json={"jobid": "NO-SUCH-JOB", "force": True}).json()
    assert forced["status"] == "unknown" and forced["jobId"] == "NO-SUCH-JOB" and forced["credits"] == 2
    assert api.post("/v1/job/check", json={}).status_code == 400


def test_legacy_get_job_check(api: httpx.Client) -> None:
    url = upload(api, make_sample_pdf(1))
    job_id = api.post("/v1/pdf/info", json={"url": url, "async": "true"}).json()["jobId"]
    time.sleep(0.1)
    deadline = time.monotonic() + 10
    while (body := api.get("/v1/job/check", params={"jobid": job_id}).json())["status"] == "working":
        assert time.monotonic() < deadline
        time.sleep(0.02)
    assert body["status"] == "success" and body["info"]["PageCount"] == 1


def test_split_sync_urls_and_async_json_list(api: httpx.Client) -> None:
    url = upload(api, make_sample_pdf(3))
    sync = api.post("/v1/pdf/split", json={"url": url, "pages": "1,2-3"}).json()
    assert "url" not in sync and len(sync["urls"]) == 2 and sync["pageCount"] == 3
    assert pages_of(httpx.get(sync["urls"][1]).content) == ["Page 2", "Page 3"]
    submit = api.post("/v1/pdf/split", json={"url": url, "pages": "*", "async": True}).json()
    result = wait(api, submit["jobId"])
    assert result["status"] == "success" and result["url"] == submit["url"]
    listing = httpx.get(result["url"])
    assert listing.headers["content-type"] == "application/json"
    parts = listing.json()
    assert isinstance(parts, list) and len(parts) == 3
    assert [pages_of(httpx.get(part).content) for part in parts] == [["Page 1"], ["Page 2"], ["Page 3"]]


def test_sync_shapes_inline_body_and_fields(api: httpx.Client) -> None:
    url = upload(api, make_sample_pdf(2))
    text = api.post("/v1/pdf/convert/to/text-simple", json={"url": url, "inline": True}).json()
    assert text["error"] is False and text["status"] == 200 and text["name"].endswith(".txt")
    assert "Page 1" in text["body"] and "Page 2" in text["body"]
    assert httpx.get(text["url"]).text == text["body"]
    plain = api.post("/v1/pdf/convert/to/text-simple", json={"url": url}).json()
    assert "body" not in plain
    for key in ("url", "pageCount", "credits", "remainingCredits", "duration", "outputLinkValidTill"):
        assert key in plain
    info = api.post("/v1/pdf/info", json={"url": url}).json()
    assert info["info"]["PageCount"] == 2
    html = api.post("/v1/pdf/convert/from/html", json={"html": "<h1>Hello emulator</h1>", "name": "h.pdf"}).json()
    assert html["name"] == "h.pdf" and "Hello emulator" in pages_of(httpx.get(html["url"]).content)[0]


def test_convert_from_loopback_url(api: httpx.Client) -> None:
    page = upload(api, b"<html><body><p>Served locally</p></body></html>", name="page.html")
    answer = api.post("/v1/pdf/convert/from/url", json={"url": page})
    assert answer.status_code == 200, answer.text
    assert "Served locally" in pages_of(httpx.get(answer.json()["url"]).content)[0]


def test_damaged_and_locked_inputs(api: httpx.Client, emu: PdfcoEmulator) -> None:
    junk = upload(api, b"this is not a pdf", name="junk.pdf")
    sync = api.post("/v1/pdf/info", json={"url": junk})
    assert sync.status_code == 400
    assert sync.json()["status"] == 442 and sync.json()["errorCode"] == 442 and sync.json()["error"] is True
    before = emu.stats()["remaining_credits"]
    submit = api.post("/v1/pdf/info", json={"url": junk, "async": True}).json()
    result = wait(api, submit["jobId"])
    assert result["status"] == "failed" and result["message"] and "error" not in result
    # The submit's credits come back (older billing model); the two checks are paid.
    assert emu.stats()["credits_refunded"] == submit["credits"]
    assert emu.stats()["remaining_credits"] == before - 2 * emu.stats()["job_checks"]
    url = upload(api, make_sample_pdf(1))
    locked = api.post("/v1/pdf/security/add", json={"url": url, "ownerPassword": "o", "userPassword": "u"}).json()
    refused = api.post("/v1/pdf/convert/to/text", json={"url": locked["url"]})
    assert refused.status_code == 400 and refused.json()["status"] == 441
    opened = api.post("/v1/pdf/convert/to/text", json={"url": locked["url"], "password": "u", "inline": True})
    assert opened.status_code == 200 and "Page 1" in opened.json()["body"]


def test_invoice_parser_is_async_only(api: httpx.Client) -> None:
    url = upload(api, make_sample_invoice_pdf(invoice_number="INV-42"))
    submit = api.post("/v1/ai-invoice-parser", json={"url": url}).json()
    assert submit["status"] == "created" and submit["error"] is False and submit["credits"] == 100
    assert "url" not in submit
    uuid.UUID(submit["jobId"])
    result = wait(api, submit["jobId"])
    assert result["status"] == "success" and result["credits"] == 2
    assert "INV-42" in str(result["body"]) and "INV-42" in httpx.get(result["url"]).text


def test_job_duration_global_per_path_and_header(api: httpx.Client, emu: PdfcoEmulator) -> None:
    url = upload(api, make_sample_pdf(1))
    emu.set_job_duration(60, path="/v1/pdf/info")
    slow = api.post("/v1/pdf/info", json={"url": url, "async": True}).json()["jobId"]
    fast = api.post("/v1/pdf/info", json={"url": url, "async": True}, headers={JOB_DURATION_HEADER: "0"}).json()
    other = api.post("/v1/pdf/edit/rotate", json={"url": url, "angle": 90, "async": True}).json()["jobId"]
    assert wait(api, fast["jobId"])["status"] == "success"
    assert wait(api, other)["status"] == "success"
    assert api.post("/v1/job/check", json={"jobid": slow, "force": True}).json()["status"] == "working"
    emu.set_job_duration(0.0)
    assert wait(api, api.post("/v1/pdf/merge", json={"url": url, "async": True}).json()["jobId"])["status"] == (
        "success"
    )


def test_async_bills_like_sync(api: httpx.Client, emu: PdfcoEmulator) -> None:
    url = upload(api, make_sample_pdf(3))
    sync = api.post("/v1/pdf/convert/to/text", json={"url": url}).json()
    assert sync["credits"] == 30  # 10 credits a page
    submit = api.post("/v1/pdf/convert/to/text", json={"url": url, "async": True}).json()
    assert submit["credits"] == 10  # the first page at submit
    result = wait(api, submit["jobId"])
    assert result["status"] == "success" and result["credits"] == 2 + 20  # the check plus the other pages
    again = api.post("/v1/job/check", json={"jobid": submit["jobId"]}).json()
    assert again["credits"] == 2 and again["remainingCredits"] == result["remainingCredits"] - 2
    stats = emu.stats()
    assert stats["credits_used"] == 100_000 - stats["remaining_credits"]
