"""Fault injection over real HTTP: scripted answers, job outcomes, dropped downloads, the control API."""

from __future__ import annotations

import time

import httpx
import pytest

from pdfco_emulator import PdfcoEmulator, make_sample_pdf
from tests.emulator._support import eventually, upload, wait


def test_scripted_status_replaces_a_submit_without_a_job(api: httpx.Client, emu: PdfcoEmulator) -> None:
    url = upload(api, make_sample_pdf(1))
    before = emu.stats()
    emu.inject("/v1/pdf/merge", status=500)
    answer = api.post("/v1/pdf/merge", json={"url": url, "async": True})
    assert answer.status_code == 500
    assert answer.json() == {"error": True, "status": 500, "message": "Injected fault: HTTP 500"}
    after = emu.stats()
    assert after["jobs_submitted"] == before["jobs_submitted"] and after["credits_used"] == before["credits_used"]
    assert after["faults_served"] == before["faults_served"] + 1
    assert after["requests"]["/v1/pdf/merge"] == before["requests"].get("/v1/pdf/merge", 0) + 1
    # Used up: the next call is real.
    assert api.post("/v1/pdf/merge", json={"url": url, "async": True}).json()["error"] is False


def test_takes_effect_does_the_work_and_loses_the_answer(api: httpx.Client, emu: PdfcoEmulator) -> None:
    url = upload(api, make_sample_pdf(1))
    before = emu.stats()
    emu.inject("/v1/pdf/info", status=502, takes_effect=True)
    assert api.post("/v1/pdf/info", json={"url": url, "async": True}).status_code == 502
    after = emu.stats()
    assert after["jobs_submitted"] == before["jobs_submitted"] + 1 and after["credits_used"] > before["credits_used"]
    emu.inject("/v1/pdf/info", drop=True, takes_effect=True)
    with pytest.raises(httpx.RemoteProtocolError):
        api.post("/v1/pdf/info", json={"url": url, "async": True})
    assert emu.stats()["jobs_submitted"] == before["jobs_submitted"] + 2


def test_scripted_non_json_body_and_error_inside_200(api: httpx.Client, emu: PdfcoEmulator) -> None:
    emu.inject("pdf/info", status=502, body="<html>Bad Gateway</html>", content_type="text/html")
    proxy = api.post("/v1/pdf/info", json={})
    assert proxy.status_code == 502 and proxy.headers["content-type"].startswith("text/html")
    assert proxy.text == "<html>Bad Gateway</html>"
    emu.inject("/v1/job/check", json={"error": True, "status": 441, "message": "Password is required"})
    inside = api.post("/v1/job/check", json={"jobid": "x"})
    assert inside.status_code == 200 and inside.json()["status"] == 441


def test_times_headers_and_the_default_429(api: httpx.Client, emu: PdfcoEmulator) -> None:
    emu.inject("/v1/account/credit/balance", status=429, times=2, headers={"Retry-After": "1"})
    answers = [api.get("/v1/account/credit/balance") for _ in range(3)]
    assert [answer.status_code for answer in answers] == [429, 429, 200]
    assert answers[0].json()["message"].startswith("Too many requests") and answers[0].headers["retry-after"] == "1"


def test_delay_provokes_a_read_timeout_but_the_call_takes_effect(emu: PdfcoEmulator) -> None:
    before = emu.stats()
    emu.inject("/v1/pdf/convert/from/html", delay=0.5)
    with (
        httpx.Client(base_url=emu.base_url, headers={"x-api-key": emu.api_key}, timeout=0.2) as impatient,
        pytest.raises(httpx.ReadTimeout),
    ):
        impatient.post("/v1/pdf/convert/from/html", json={"html": "<p>x</p>", "async": True})
    # The submit arrived and was billed: a re-send would pay twice.
    eventually(lambda: emu.stats()["jobs_submitted"] == before["jobs_submitted"] + 1)
    assert emu.stats()["credits_used"] > before["credits_used"]


def test_delay_with_a_scripted_answer(api: httpx.Client, emu: PdfcoEmulator) -> None:
    emu.inject("/v1/account/credit/balance", status=503, delay=0.1)
    started = time.monotonic()
    assert api.get("/v1/account/credit/balance").status_code == 503
    assert time.monotonic() - started >= 0.1


def test_job_outcomes(api: httpx.Client, emu: PdfcoEmulator) -> None:
    url = upload(api, make_sample_pdf(1))
    refunded = emu.stats()["credits_refunded"]
    emu.inject_job_outcome("failed", message="Conversion failed: boom")
    emu.inject_job_outcome("aborted")
    emu.inject_job_outcome("never")
    ids = [api.post("/v1/pdf/info", json={"url": url, "async": True}).json()["jobId"] for _ in range(4)]
    failed, aborted, normal = (wait(api, job_id) for job_id in (ids[0], ids[1], ids[3]))
    assert failed["status"] == "failed" and failed["message"] == "Conversion failed: boom"
    assert aborted["status"] == "aborted" and aborted["message"]
    assert normal["status"] == "success"
    assert wait(api, ids[2], timeout=0.2)["status"] == "working"
    emu.advance_clock(3600)
    assert api.post("/v1/job/check", json={"jobid": ids[2], "force": True}).json()["status"] == "working"
    assert emu.stats()["credits_refunded"] == refunded + 2 * 2  # failed and aborted submits refunded


def test_fault_validation(emu: PdfcoEmulator) -> None:
    with pytest.raises(ValueError, match="outcome"):
        emu.inject_job_outcome("exploded")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="nothing to inject"):
        emu.inject("/v1/pdf/info")
    with pytest.raises(ValueError, match="not both"):
        emu.inject("/v1/pdf/info", json={}, body="x")
    with pytest.raises(ValueError, match="times"):
        emu.inject("/v1/pdf/info", status=500, times=0)
    with pytest.raises(ValueError, match="takes_effect"):
        emu.inject("/v1/pdf/info", delay=1, takes_effect=True)


def test_download_drop_then_resume_with_range(api: httpx.Client, emu: PdfcoEmulator) -> None:
    content = bytes(range(256)) * 512  # 128 KiB, several chunks
    url = upload(api, content, name="big.bin")
    dropped = emu.stats()["downloads_dropped"]
    emu.inject_download_drop(1000)
    received = bytearray()
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)), httpx.stream("GET", url) as response:
        assert response.headers["content-length"] == str(len(content))
        for chunk in response.iter_bytes():
            received.extend(chunk)
    assert len(received) == 1000
    rest = httpx.get(url, headers={"Range": f"bytes={len(received)}-"})
    assert rest.status_code == 206 and bytes(received) + rest.content == content
    assert emu.stats()["downloads_dropped"] == dropped + 1


def test_scripted_answer_on_links_and_the_key_sent_there_is_counted(api: httpx.Client, emu: PdfcoEmulator) -> None:
    url = upload(api, b"data")
    before = emu.stats()
    emu.inject("/pdf-temp-files", status=503, body="<Error><Code>SlowDown</Code></Error>")
    assert httpx.get(url, headers={"x-api-key": emu.api_key}).status_code == 503
    assert httpx.get(url).text == "data"
    after = emu.stats()
    assert after["result_link_requests"] == before["result_link_requests"] + 2
    assert after["result_link_requests_with_api_key"] == before["result_link_requests_with_api_key"] + 1


def test_reset_faults(api: httpx.Client, emu: PdfcoEmulator) -> None:
    emu.inject("/v1/account/credit/balance", status=500, times=5)
    emu.inject_job_outcome("never", times=3)
    emu.inject_download_drop(0)
    emu.inject_callback(drop=True, times=2)
    assert emu.stats()["pending_faults"] == {"response": 5, "job": 3, "download": 1, "callback": 2}
    emu.reset_faults()
    assert emu.stats()["pending_faults"] == {"response": 0, "job": 0, "download": 0, "callback": 0}
    assert api.get("/v1/account/credit/balance").status_code == 200


def test_http_control_api() -> None:
    with (
        PdfcoEmulator(job_duration=0.05) as emu,
        httpx.Client(base_url=emu.base_url, headers={"x-api-key": emu.api_key}) as api,
        httpx.Client(base_url=f"{emu.base_url}/__emulator__") as control,
    ):  # no API key needed
        url = upload(api, make_sample_pdf(1))
        assert control.post("/faults", json={"path": "/v1/pdf/info", "status": 500}).status_code == 200
        assert api.post("/v1/pdf/info", json={"url": url}).status_code == 500
        assert control.post("/faults", json={"kind": "job", "outcome": "aborted"}).json()["pending_faults"]["job"] == 1
        job_id = api.post("/v1/pdf/info", json={"url": url, "async": True}).json()["jobId"]
        assert wait(api, job_id)["status"] == "aborted"
        control.post("/faults", json={"kind": "download", "after_bytes": 0})
        with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
            httpx.get(url)
        control.post("/faults", json={"kind": "callback", "drop": True})
        control.post("/faults", json={"kind": "response", "path": "/v1/account/credit/balance", "status": 500})
        assert control.get("/faults").json()["pending_faults"] == {
            "response": 1,
            "job": 0,
            "download": 0,
            "callback": 1,
        }
        assert control.delete("/faults").json()["pending_faults"]["response"] == 0
        assert api.get("/v1/account/credit/balance").status_code == 200
        control.post("/faults", json={"kind": "job_duration", "seconds": 60})
        slow = api.post("/v1/pdf/info", json={"url": url, "async": True}).json()["jobId"]
        assert api.post("/v1/job/check", json={"jobid": slow}).json()["status"] == "working"
        control.post("/faults", json={"kind": "clock", "seconds": 61})
        assert wait(api, slow)["status"] == "success"
        for bad in ({"kind": "meteor"}, {"kind": "remote_file", "url": "https://x/y", "content_base64": "***"}, [1]):
            refused = control.post("/faults", json=bad)
            assert refused.status_code == 400 and refused.json()["error"] is True
        stats = control.get("/stats").json()
        assert stats["faults_served"] == 1 and stats["downloads_dropped"] == 1 and stats["jobs_submitted"] == 2
