"""The emulator's fault injection, over real HTTP: scripted answers, job outcomes, dropped downloads."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from prefect_pdfco.testing import PdfcoEmulator
from prefect_pdfco.testing._processing import make_sample_pdf
from tests._emulator_support import upload


def wait(api: httpx.Client, job_id: str, timeout: float = 10.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        body: dict[str, Any] = api.post("/v1/job/check", json={"jobid": job_id}).json()
        if body["status"] != "working" or time.monotonic() > deadline:
            return body
        time.sleep(0.02)


def test_scripted_status_replaces_submit_without_a_job(api: httpx.Client, emu: PdfcoEmulator) -> None:
    url = upload(api, make_sample_pdf(1))
    emu.inject("/v1/pdf/merge", status=500)
    answer = api.post("/v1/pdf/merge", json={"url": url, "async": True})
    assert answer.status_code == 500
    assert answer.json() == {"error": True, "status": 500, "message": "Injected fault: HTTP 500"}
    stats = emu.stats()
    assert stats["jobs_submitted"] == 0 and stats["credits_used"] == 0 and stats["faults_served"] == 1
    assert stats["requests"]["/v1/pdf/merge"] == 1
    # Used up: the next call is real.
    assert api.post("/v1/pdf/merge", json={"url": url, "async": True}).json()["error"] is False


def test_scripted_non_json_body_and_error_inside_200(api: httpx.Client, emu: PdfcoEmulator) -> None:
    emu.inject("pdf/info", status=502, body="<html>Bad Gateway</html>", content_type="text/html")
    proxy = api.post("/v1/pdf/info", json={})
    assert proxy.status_code == 502 and proxy.headers["content-type"].startswith("text/html")
    assert proxy.text == "<html>Bad Gateway</html>"
    emu.inject("/v1/job/check", json={"error": True, "status": 441, "message": "Password is required"})
    inside = api.post("/v1/job/check", json={"jobid": "x"})
    assert inside.status_code == 200 and inside.json()["status"] == 441


def test_times_and_headers_and_default_429(api: httpx.Client, emu: PdfcoEmulator) -> None:
    emu.inject("/v1/account/credit/balance", status=429, times=2, headers={"Retry-After": "1"})
    answers = [api.get("/v1/account/credit/balance") for _ in range(3)]
    assert [answer.status_code for answer in answers] == [429, 429, 200]
    assert answers[0].json()["message"].startswith("Too many requests") and answers[0].headers["retry-after"] == "1"


def test_delay_provokes_read_timeout_but_the_call_takes_effect(emu: PdfcoEmulator) -> None:
    emu.inject("/v1/pdf/convert/from/html", delay=0.75)
    with (
        httpx.Client(base_url=emu.base_url, headers={"x-api-key": emu.api_key}, timeout=0.25) as impatient,
        pytest.raises(httpx.ReadTimeout),
    ):
        impatient.post("/v1/pdf/convert/from/html", json={"html": "<p>x</p>", "async": True})
    deadline = time.monotonic() + 5
    while emu.stats()["jobs_submitted"] == 0:  # the submit arrived and was billed: a re-send would pay twice
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert emu.stats()["credits_used"] > 0


def test_delay_with_a_scripted_answer(api: httpx.Client, emu: PdfcoEmulator) -> None:
    emu.inject("/v1/account/credit/balance", status=503, delay=0.1)
    started = time.monotonic()
    assert api.get("/v1/account/credit/balance").status_code == 503
    assert time.monotonic() - started >= 0.1


def test_job_outcomes(api: httpx.Client, emu: PdfcoEmulator) -> None:
    url = upload(api, make_sample_pdf(1))
    emu.inject_job_outcome("failed", message="Conversion failed: boom")
    emu.inject_job_outcome("aborted")
    emu.inject_job_outcome("never")
    ids = [api.post("/v1/pdf/info", json={"url": url, "async": True}).json()["jobId"] for _ in range(4)]
    failed, aborted, normal = (wait(api, job_id) for job_id in (ids[0], ids[1], ids[3]))
    never = wait(api, ids[2], timeout=0.3)
    assert failed["status"] == "failed" and failed["message"] == "Conversion failed: boom"
    assert aborted["status"] == "aborted" and aborted["message"]
    assert never["status"] == "working"
    emu.advance_clock(3600)
    forced = api.post("/v1/job/check", json={"jobid": ids[2], "force": True}).json()
    assert forced["status"] == "working"
    assert normal["status"] == "success"
    assert emu.stats()["credits_refunded"] == 2 * 2  # failed and aborted submits refunded


def test_job_outcome_validation(emu: PdfcoEmulator) -> None:
    with pytest.raises(ValueError, match="outcome"):
        emu.inject_job_outcome("exploded")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="nothing to inject"):
        emu.inject("/v1/pdf/info")


def test_download_drop_then_resume_with_range(api: httpx.Client, emu: PdfcoEmulator) -> None:
    content = bytes(range(256)) * 512  # 128 KiB, several chunks
    url = upload(api, content, name="big.bin")
    emu.inject_download_drop(1000)
    received = bytearray()
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)), httpx.stream("GET", url) as response:
        assert response.headers["content-length"] == str(len(content))
        for chunk in response.iter_bytes():
            received.extend(chunk)
    assert len(received) == 1000
    rest = httpx.get(url, headers={"Range": f"bytes={len(received)}-"})
    assert rest.status_code == 206 and bytes(received) + rest.content == content
    assert emu.stats()["downloads_dropped"] == 1


def test_scripted_answer_on_links(api: httpx.Client, emu: PdfcoEmulator) -> None:
    url = upload(api, b"data")
    emu.inject("/pdf-temp-files", status=500, body="<Error><Code>InternalError</Code></Error>")
    assert httpx.get(url).status_code == 500
    assert httpx.get(url).text == "data"


def test_reset_faults(api: httpx.Client, emu: PdfcoEmulator) -> None:
    emu.inject("/v1/account/credit/balance", status=500, times=5)
    emu.inject_job_outcome("never", times=3)
    emu.inject_download_drop(0)
    assert emu.stats()["pending_faults"] == {"response": 5, "job": 3, "download": 1, "callback": 0}
    emu.reset_faults()
    assert emu.stats()["pending_faults"] == {"response": 0, "job": 0, "download": 0, "callback": 0}
    assert api.get("/v1/account/credit/balance").status_code == 200


def test_http_control_api(api: httpx.Client, emu: PdfcoEmulator) -> None:
    control = httpx.Client(base_url=f"{emu.base_url}/__emulator__")  # no API key needed
    url = upload(api, make_sample_pdf(1))
    assert control.post("/faults", json={"kind": "response", "path": "/v1/pdf/info", "status": 500}).status_code == 200
    assert api.post("/v1/pdf/info", json={"url": url}).status_code == 500
    assert control.post("/faults", json={"kind": "job", "outcome": "aborted"}).json()["pending_faults"]["job"] == 1
    job_id = api.post("/v1/pdf/info", json={"url": url, "async": True}).json()["jobId"]
    assert wait(api, job_id)["status"] == "aborted"
    control.post("/faults", json={"kind": "download", "after_bytes": 0})
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        httpx.get(url)
    control.post("/faults", json={"kind": "response", "path": "/v1/account/credit/balance", "status": 500})
    assert control.delete("/faults").json()["pending_faults"]["response"] == 0
    assert api.get("/v1/account/credit/balance").status_code == 200
    control.post("/faults", json={"kind": "job_duration", "seconds": 60})
    slow = api.post("/v1/pdf/info", json={"url": url, "async": True}).json()["jobId"]
    control.post("/faults", json={"kind": "clock", "seconds": 61})
    assert wait(api, slow)["status"] == "success"
    bad = control.post("/faults", json={"kind": "meteor"})
    assert bad.status_code == 400 and bad.json()["error"] is True
    stats = control.get("/stats").json()
    assert stats["faults_served"] == 1 and stats["downloads_dropped"] == 1
    assert stats["jobs_submitted"] == 2
    control.close()


def test_a_key_sent_to_a_link_is_counted_even_when_the_answer_is_scripted(
    api: httpx.Client, emu: PdfcoEmulator
) -> None:
    url = upload(api, make_sample_pdf(1))
    emu.inject("/pdf-temp-files", status=503, times=1)
    assert httpx.get(url, headers={"x-api-key": emu.api_key}).status_code == 503
    stats = emu.stats()
    assert stats["result_link_requests"] == 1 and stats["result_link_requests_with_api_key"] == 1
