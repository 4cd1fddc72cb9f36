"""The PDF.co emulator over real HTTP: lifecycle, auth, credits, limits, routing, plugin and standalone mode.

Jobs are in ``test_emulator_jobs.py``, files and links in ``test_emulator_files.py``, faults in
``test_emulator_faults.py``.
"""

from __future__ import annotations

import base64
import json
import re
import subprocess
import sys

import httpx
import pytest

from prefect_pdfco import PdfcoClient, PdfcoCredentials
from prefect_pdfco.testing import JOB_CHECK_COST, PdfcoEmulator
from prefect_pdfco.testing._processing import make_sample_pdf
from tests._emulator_support import options, upload

RATE_LIMIT_BODY = {"error": True, "message": "Too many requests (limit by your current plan). Please try again later"}


def test_lifecycle_base_url_and_credentials() -> None:
    emulator = PdfcoEmulator(api_key="k-1", credits=7)
    with pytest.raises(RuntimeError, match="not running"):
        _ = emulator.base_url
    with emulator as emu:
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", emu.base_url)
        assert emu.api_key == "k-1"
        credentials = emu.credentials()
        assert isinstance(credentials, PdfcoCredentials)
        assert credentials.base_url == emu.base_url
        assert credentials.api_key.get_secret_value() == "k-1"
        assert httpx.get(f"{emu.base_url}/v1/account/credit/balance", headers={"x-api-key": "k-1"}).json() == {
            "remainingCredits": 7
        }
        base = emu.base_url
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{base}/v1/account/credit/balance", timeout=2)


def test_start_stop_methods_and_fixed_port() -> None:
    emu = PdfcoEmulator().start()
    try:
        port = emu.port
    finally:
        emu.stop()
    emu.stop()  # twice is fine
    with PdfcoEmulator(port=port) as again:
        assert again.base_url.endswith(f":{port}")


def test_missing_or_wrong_key_is_401(emu: PdfcoEmulator) -> None:
    url = f"{emu.base_url}/v1/account/credit/balance"
    for headers in ({}, {"x-api-key": "wrong"}):
        answer = httpx.get(url, headers=headers)
        assert answer.status_code == 401
        body = answer.json()
        assert body["error"] is True and body["status"] == 401 and "x-api-key" in body["message"]
    # The older docs allow the key as a URL parameter.
    assert httpx.get(url, params={"x-api-key": emu.api_key}).status_code == 200
    assert emu.stats()["unauthorized"] == 2


@options(credits=25)
def test_every_answer_carries_remaining_credits_and_402_when_out(api: httpx.Client, emu: PdfcoEmulator) -> None:
    url = upload(api, make_sample_pdf(2))  # uploads are free
    text = api.post("/v1/pdf/convert/to/text", json={"url": url})  # 10 credits a page
    assert text.status_code == 200
    assert text.json()["credits"] == 20 and text.json()["remainingCredits"] == 5
    refused = api.post("/v1/pdf/convert/to/text", json={"url": url})
    assert refused.status_code == 402
    body = refused.json()
    assert body["error"] is True and body["status"] == 402 and "Not enough credits" in body["message"]
    assert body["remainingCredits"] == 5
    # A job check costs 2 credits, so five credits buy two checks.
    for expected in (3, 1):
        assert api.post("/v1/job/check", json={"jobid": "nope"}).json() == {
            "status": "working",
            "remainingCredits": expected,
        }
    assert api.post("/v1/job/check", json={"jobid": "nope"}).status_code == 402
    stats = emu.stats()
    assert stats["credits_used"] == 20 + 2 * JOB_CHECK_COST and stats["remaining_credits"] == 1
    assert stats["job_checks"] == 2


@options(rate_limit=2)
def test_rate_limit_answers_pdfco_429_without_retry_after(api: httpx.Client, emu: PdfcoEmulator) -> None:
    answers = [api.get("/v1/account/credit/balance") for _ in range(4)]
    limited = [answer for answer in answers if answer.status_code == 429]
    assert answers[0].status_code == 200 and limited
    assert limited[0].json() == RATE_LIMIT_BODY
    assert "retry-after" not in limited[0].headers
    assert emu.stats()["rate_limited"] == len(limited)


@options(rate_limit=1, retry_after=2)
def test_rate_limit_retry_after_option(api: httpx.Client) -> None:
    answers = [api.get("/v1/account/credit/balance") for _ in range(2)]
    assert [answer.status_code for answer in answers] == [200, 429]
    assert answers[1].headers["retry-after"] == "2"


def test_request_over_4mb_is_413(api: httpx.Client) -> None:
    big = base64.b64encode(b"%PDF" + b"x" * (3 * 1024 * 1024 + 200_000)).decode()
    answer = api.post("/v1/file/upload/base64", json={"file": big, "name": "big.pdf"})
    assert answer.status_code == 413
    body = answer.json()
    assert body["error"] is True and body["status"] == 413 and "4 MB" in body["message"]
    assert "remainingCredits" in body


@options(strict=False)
def test_form_bodies_and_case_insensitive_names(api: httpx.Client) -> None:
    url = upload(api, make_sample_pdf(3))
    # The official samples post forms; by default "Async" and "PAGES" in odd case are still understood.
    submit = api.post("/v1/pdf/split", data={"URL": url, "PAGES": "1,2-3", "Async": "true"}).json()
    assert submit["error"] is False and submit["jobId"]
    checked = api.post("/v1/job/check", data={"JobId": submit["jobId"], "force": "true"})
    assert checked.status_code == 200 and checked.json()["status"] in ("working", "success")
    # multipart/form-data too, like `curl --form`.
    answer = api.post("/v1/pdf/info", files={"url": (None, url)})
    assert answer.status_code == 200 and answer.json()["pageCount"] == 3


def test_invalid_json_body_is_400(api: httpx.Client) -> None:
    answer = api.post("/v1/pdf/merge", content=b"{not json", headers={"content-type": "application/json"})
    assert answer.status_code == 400 and answer.json()["error"] is True


def test_documented_but_not_emulated_and_unknown_paths(api: httpx.Client) -> None:
    answer = api.post("/v1/pdf/makesearchable", json={"url": "http://localhost/x.pdf"})
    assert answer.status_code == 400
    body = answer.json()
    assert body == {
        "error": True,
        "status": 400,
        "message": "/v1/pdf/makesearchable is a documented PDF.co endpoint that the emulator does not emulate",
        "notEmulated": True,
        "remainingCredits": body["remainingCredits"],
    }
    missing = api.post("/v1/pdf/teleport", json={})
    assert missing.status_code == 404 and missing.json()["error"] is True
    assert "/v1/pdf/teleport" in missing.json()["message"]


def test_only_loopback_inputs(api: httpx.Client, emu: PdfcoEmulator) -> None:
    for url in ("https://example.com/a.pdf", "cache:https://example.com/a.pdf"):
        answer = api.post("/v1/pdf/info", json={"url": url, "async": True})
        assert answer.status_code == 400
        assert "only loopback URLs can be fetched by the emulator" in answer.json()["message"]
    assert emu.stats()["jobs_submitted"] == 0
    page = api.post("/v1/pdf/convert/from/url", json={"url": "http://192.0.2.1/page.html"})
    assert page.status_code == 400 and "loopback" in page.json()["message"]


async def test_core_client_against_emulator(emu: PdfcoEmulator) -> None:
    async with PdfcoClient(emu.api_key, base_url=emu.base_url) as client:
        assert await client.credit_balance() == 100_000
        url = (
            await client.request(
                "POST",
                "/v1/file/upload/base64",
                json={"file": base64.b64encode(make_sample_pdf(2)).decode(), "name": "a.pdf"},
            )
        )["url"]
        submission = await client.submit("pdf/merge", {"url": f"{url},{url}"})
        assert submission.job_id and submission.url
        result = await client.check_job(submission.job_id, force=True)
        assert result.status.value in ("working", "success")


def test_standalone_module(tmp_path: object) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "prefect_pdfco.testing", "--port", "0", "--api-key", "demo", "--credits", "50"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        match = re.search(r"(http://127\.0\.0\.1:\d+)", first)
        assert match, first + (process.stderr.read() if process.stderr else "")
        base = match.group(1)
        assert "demo" in process.stdout.readline()
        assert httpx.get(f"{base}/v1/account/credit/balance", headers={"x-api-key": "demo"}).json() == {
            "remainingCredits": 50
        }
        # The HTTP control API needs no key.
        fault = {"kind": "response", "path": "/v1/account/credit/balance", "status": 503}
        assert httpx.post(f"{base}/__emulator__/faults", json=fault).json()["ok"] is True
        assert httpx.get(f"{base}/v1/account/credit/balance", headers={"x-api-key": "demo"}).status_code == 503
        stats = httpx.get(f"{base}/__emulator__/stats").json()
        assert stats["requests"]["/v1/account/credit/balance"] == 2 and stats["faults_served"] == 1
    finally:
        process.terminate()
        out, err = process.communicate(timeout=15)
    assert process.returncode == 0, err
    assert "stopped" in out


def test_stats_shape(emu: PdfcoEmulator) -> None:
    stats = emu.stats()
    for key in (
        "requests",
        "jobs_submitted",
        "credits_used",
        "job_checks",
        "remaining_credits",
        "result_link_requests",
        "result_link_requests_with_api_key",
    ):
        assert key in stats
    json.dumps(stats)  # plain data, also served at /__emulator__/stats
