"""Processing calls and jobs over real HTTP: sync shapes, async jobs, job check, billing, durations, callbacks."""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from pdfco_emulator import JOB_DURATION_HEADER, PdfcoEmulator, make_sample_invoice_pdf, make_sample_pdf
from tests.emulator._support import eventually, fetched_texts, texts, upload, wait

JOB_ID = re.compile(r"[A-Z0-9]{32}--151-300")


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
    assert result["outputLinkValidTill"].endswith("+00:00")
    assert datetime.fromisoformat(result["outputLinkValidTill"]).tzinfo is not None
    download = httpx.get(result["url"])
    assert download.status_code == 200 and download.headers["content-type"] == "application/pdf"
    assert texts(download.content) == ["Page 1", "Page 2", "Page 1", "Page 2"]


def test_unknown_job_is_working_unless_forced(api: httpx.Client) -> None:
    assert api.post("/v1/job/check", json={"jobid": "NO-SUCH-JOB"}).json()["status"] == "working"
    forced = api.post("/v1/job/check", json={"jobid": "NO-SUCH-JOB", "force": True}).json()
    assert forced["status"] == "unknown" and forced["jobId"] == "NO-SUCH-JOB" and forced["credits"] == 2
    assert api.post("/v1/job/check", json={}).status_code == 400


def test_legacy_get_job_check(api: httpx.Client) -> None:
    url = upload(api, make_sample_pdf(1))
    job_id = api.post("/v1/pdf/info", json={"url": url, "async": "true"}).json()["jobId"]
    deadline = time.monotonic() + 10
    while (body := api.get("/v1/job/check", params={"jobid": job_id}).json())["status"] == "working":
        assert time.monotonic() < deadline
        time.sleep(0.02)
    assert body["status"] == "success" and body["info"]["PageCount"] == 1


def test_a_job_of_no_duration_is_done_when_its_submit_answers(api: httpx.Client) -> None:
    url = upload(api, make_sample_pdf(1))
    job = api.post("/v1/pdf/info", json={"url": url, "async": True}, headers={JOB_DURATION_HEADER: "0"}).json()
    assert api.post("/v1/job/check", json={"jobid": job["jobId"]}).json()["status"] == "success"


def test_split_sync_urls_and_async_json_list(api: httpx.Client) -> None:
    url = upload(api, make_sample_pdf(3))
    sync = api.post("/v1/pdf/split", json={"url": url, "pages": "1,2-3"}).json()
    assert "url" not in sync and len(sync["urls"]) == 2 and sync["pageCount"] == 3
    assert fetched_texts(sync["urls"][1]) == ["Page 2", "Page 3"]
    submit = api.post("/v1/pdf/split", json={"url": url, "pages": "*", "async": True}).json()
    result = wait(api, submit["jobId"])
    assert result["status"] == "success" and result["url"] == submit["url"]
    listing = httpx.get(result["url"])
    assert listing.headers["content-type"] == "application/json"
    parts = listing.json()
    assert isinstance(parts, list) and [fetched_texts(part) for part in parts] == [["Page 1"], ["Page 2"], ["Page 3"]]


def test_sync_shapes_inline_body_and_fields(api: httpx.Client) -> None:
    url = upload(api, make_sample_pdf(2))
    text = api.post("/v1/pdf/convert/to/text-simple", json={"url": url, "inline": True}).json()
    assert text["error"] is False and text["status"] == 200 and text["name"].endswith(".txt")
    assert "Page 1" in text["body"] and "Page 2" in text["body"] and httpx.get(text["url"]).text == text["body"]
    plain = api.post("/v1/pdf/convert/to/text-simple", json={"url": url}).json()
    assert "body" not in plain
    for key in ("url", "pageCount", "credits", "remainingCredits", "duration", "outputLinkValidTill"):
        assert key in plain
    assert api.post("/v1/pdf/info", json={"url": url}).json()["info"]["PageCount"] == 2
    html = api.post("/v1/pdf/convert/from/html", json={"html": "<h1>Hello emulator</h1>", "name": "h.pdf"}).json()
    assert html["name"] == "h.pdf" and "Hello emulator" in fetched_texts(html["url"])[0]


def test_convert_from_loopback_url(api: httpx.Client) -> None:
    page = upload(api, b"<html><body><p>Served locally</p></body></html>", name="page.html")
    answer = api.post("/v1/pdf/convert/from/url", json={"url": page})
    assert answer.status_code == 200, answer.text
    assert "Served locally" in fetched_texts(answer.json()["url"])[0]


def test_damaged_and_locked_inputs(api: httpx.Client, emu: PdfcoEmulator) -> None:
    junk = upload(api, b"this is not a pdf", name="junk.pdf")
    sync = api.post("/v1/pdf/info", json={"url": junk})
    assert sync.status_code == 400
    assert sync.json()["status"] == 442 and sync.json()["errorCode"] == 442 and sync.json()["error"] is True
    before = emu.stats()
    submit = api.post("/v1/pdf/info", json={"url": junk, "async": True}).json()
    result = wait(api, submit["jobId"])
    assert result["status"] == "failed" and result["message"] and "error" not in result
    # The submit's credits come back (older billing model); the checks are paid.
    after = emu.stats()
    assert after["credits_refunded"] - before["credits_refunded"] == submit["credits"]
    checks = after["job_checks"] - before["job_checks"]
    assert after["remaining_credits"] == before["remaining_credits"] - 2 * checks
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
    assert result["body"]["invoice"]["invoiceNo"] == "INV-42" and "INV-42" in httpx.get(result["url"]).text


def test_job_duration_global_per_path_and_header() -> None:
    with (
        PdfcoEmulator(job_duration=0.05) as emu,
        httpx.Client(base_url=emu.base_url, headers={"x-api-key": emu.api_key}) as api,
    ):
        url = upload(api, make_sample_pdf(1))
        emu.set_job_duration(60, path="/v1/pdf/info")
        slow = api.post("/v1/pdf/info", json={"url": url, "async": True}).json()["jobId"]
        fast = api.post("/v1/pdf/info", json={"url": url, "async": True}, headers={JOB_DURATION_HEADER: "0"}).json()
        other = api.post("/v1/pdf/edit/rotate", json={"url": url, "angle": 90, "async": True}).json()["jobId"]
        assert wait(api, fast["jobId"])["status"] == "success" and wait(api, other)["status"] == "success"
        assert api.post("/v1/job/check", json={"jobid": slow, "force": True}).json()["status"] == "working"
        emu.set_job_duration(0.0)
        merged = api.post("/v1/pdf/merge", json={"url": url, "async": True}).json()["jobId"]
        assert api.post("/v1/job/check", json={"jobid": merged}).json()["status"] == "success"
        with pytest.raises(ValueError, match="duration"):
            emu.set_job_duration(-1)


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


class _Receiver(BaseHTTPRequestHandler):
    """A callback receiver: records each POST body; the first ``failures`` answers are 500s."""

    bodies: list[dict[str, Any]]
    failures: int
    arrived: threading.Event

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["content-length"])))
        failing = self.server.failures > 0  # type: ignore[attr-defined]
        self.server.failures -= int(failing)  # type: ignore[attr-defined]
        if not failing:
            self.server.bodies.append(body)  # type: ignore[attr-defined]
            self.server.arrived.set()  # type: ignore[attr-defined]
        self.send_response(500 if failing else 200)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    server.bodies, server.failures, server.arrived = [], 0, threading.Event()  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_callbacks_post_the_final_result_and_retry(
    api: httpx.Client, emu: PdfcoEmulator, receiver: ThreadingHTTPServer
) -> None:
    url = upload(api, make_sample_pdf(2))
    hook = f"http://127.0.0.1:{receiver.server_address[1]}/hook"
    receiver.failures = 2  # type: ignore[attr-defined]
    before = emu.stats()
    job = api.post("/v1/pdf/info", json={"url": url, "async": True, "callback": hook}).json()
    assert receiver.arrived.wait(10)  # type: ignore[attr-defined]
    (body,) = receiver.bodies  # type: ignore[attr-defined]
    assert body["jobId"] == job["jobId"] and body["status"] == "success" and body["pageCount"] == 2
    eventually(lambda: emu.stats()["callbacks_delivered"] == before["callbacks_delivered"] + 1)
    assert emu.stats()["callback_attempts"] - before["callback_attempts"] == 3
    # A receiver off this machine is taken (PDF.co would call it) but never called: counted instead.
    outside = api.post("/v1/pdf/info", json={"url": url, "async": True, "callback": "https://example.com/hook"})
    assert outside.status_code == 200 and wait(api, outside.json()["jobId"])["status"] == "success"
    assert emu.stats()["callbacks_not_sent"] == before["callbacks_not_sent"] + 1


def test_callback_faults_lose_or_delay_on_the_emulators_clock(
    api: httpx.Client, emu: PdfcoEmulator, receiver: ThreadingHTTPServer
) -> None:
    url = upload(api, make_sample_pdf(1))
    hook = f"http://127.0.0.1:{receiver.server_address[1]}/hook"
    before = emu.stats()["callbacks_dropped"]
    emu.inject_callback(drop=True)
    emu.inject_callback(delay=3600)
    lost = api.post("/v1/pdf/info", json={"url": url, "async": True, "callback": hook}).json()["jobId"]
    late = api.post("/v1/pdf/info", json={"url": url, "async": True, "callback": hook}).json()["jobId"]
    assert wait(api, lost)["status"] == "success" and wait(api, late)["status"] == "success"
    assert not receiver.arrived.wait(0.3)  # type: ignore[attr-defined]
    emu.advance_clock(3601)
    assert receiver.arrived.wait(10)  # type: ignore[attr-defined]
    assert [body["jobId"] for body in receiver.bodies] == [late]  # type: ignore[attr-defined]
    assert emu.stats()["callbacks_dropped"] == before + 1


def test_a_job_is_forgotten_once_its_result_link_has_expired() -> None:
    """PDF.co deletes a job's output when its link expires; whether it still answers for the job is undocumented:
    the emulator forgets it, so a client's re-attach to an old job meets ``unknown`` (forced) as it would a typo."""
    with PdfcoEmulator(job_duration=0, link_ttl=60) as emulator, httpx.Client(
        base_url=emulator.base_url, headers={"x-api-key": emulator.api_key}
    ) as api:
        job = api.post("/v1/pdf/convert/from/html", json={"html": "<p>gone</p>", "async": True}).json()["jobId"]
        assert api.post("/v1/job/check", json={"jobid": job, "force": True}).json()["status"] == "success"
        emulator.advance_clock(61)
        assert api.post("/v1/job/check", json={"jobid": job, "force": True}).json()["status"] == "unknown"
        assert api.post("/v1/job/check", json={"jobid": job}).json()["status"] == "working"
