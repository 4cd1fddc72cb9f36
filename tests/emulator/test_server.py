"""The emulator over real HTTP: lifecycle, auth, credits, limits, routing, remote inputs and the command line."""

from __future__ import annotations

import base64
import json
import re
import subprocess
import sys

import httpx
import pytest

from pdfco_emulator import JOB_CHECK_COST, PdfcoEmulator, make_sample_pdf
from pdfco_emulator.__main__ import main, parser
from tests.emulator._support import fetched_texts, upload

RATE_LIMIT_BODY = {"error": True, "message": "Too many requests (limit by your current plan). Please try again later"}


def keyed(emu: PdfcoEmulator) -> httpx.Client:
    return httpx.Client(base_url=emu.base_url, headers={"x-api-key": emu.api_key})


def test_lifecycle_base_url_and_key() -> None:
    emulator = PdfcoEmulator(api_key="k-1", credits=7)
    with pytest.raises(RuntimeError, match="not running"):
        _ = emulator.base_url
    with emulator as emu:
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", emu.base_url) and emu.api_key == "k-1"
        assert httpx.get(f"{emu.base_url}/v1/account/credit/balance", headers={"x-api-key": "k-1"}).json() == {
            "remainingCredits": 7
        }
        assert repr(emu) == f"PdfcoEmulator({emu.base_url}, strict)"
        base, port = emu.base_url, emu.port
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{base}/v1/account/credit/balance", timeout=2)
    emulator.stop()  # twice is fine
    with PdfcoEmulator(port=port) as again:  # the port is free again
        assert again.base_url.endswith(f":{port}")


def test_only_loopback_addresses_are_served() -> None:
    with PdfcoEmulator(host="127.0.0.2") as emu:
        assert emu.base_url.startswith("http://127.0.0.2:")
        assert httpx.get(f"{emu.base_url}/v1/account/credit/balance", headers={"x-api-key": emu.api_key}).is_success
    for host in ("0.0.0.0", "192.0.2.1", "example.com", "::"):
        with pytest.raises(ValueError, match="loopback"):
            PdfcoEmulator(host=host)


def test_missing_or_wrong_key_is_401(emu: PdfcoEmulator) -> None:
    url = f"{emu.base_url}/v1/account/credit/balance"
    before = emu.stats()["unauthorized"]
    for headers in ({}, {"x-api-key": "wrong"}):
        answer = httpx.get(url, headers=headers)
        body = answer.json()
        assert answer.status_code == 401 and body["error"] is True and body["status"] == 401
        assert "x-api-key" in body["message"] and "remainingCredits" not in body
    # The older docs allow the key as a URL parameter.
    assert httpx.get(url, params={"x-api-key": emu.api_key}).status_code == 200
    assert emu.stats()["unauthorized"] == before + 2


def test_every_answer_carries_remaining_credits_and_402_when_out() -> None:
    with PdfcoEmulator(credits=25) as emu, keyed(emu) as api:
        url = upload(api, make_sample_pdf(2))  # uploads are free
        text = api.post("/v1/pdf/convert/to/text", json={"url": url})  # 10 credits a page
        assert text.status_code == 200 and text.json()["credits"] == 20 and text.json()["remainingCredits"] == 5
        refused = api.post("/v1/pdf/convert/to/text", json={"url": url})
        body = refused.json()
        assert refused.status_code == 402 and body["status"] == 402 and "Not enough credits" in body["message"]
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
    assert stats["job_checks"] == 2 and stats["sync_calls"] == 1


def test_rate_limit_answers_pdfcos_429_without_retry_after() -> None:
    with PdfcoEmulator(rate_limit=2) as emu, keyed(emu) as api:
        answers = [api.get("/v1/account/credit/balance") for _ in range(4)]
        limited = [answer for answer in answers if answer.status_code == 429]
        assert answers[0].status_code == 200 and limited
        assert limited[0].json() == RATE_LIMIT_BODY and "retry-after" not in limited[0].headers
        assert emu.stats()["rate_limited"] == len(limited)
    with PdfcoEmulator(rate_limit=1, retry_after=2) as emu, keyed(emu) as api:
        answers = [api.get("/v1/account/credit/balance") for _ in range(2)]
        assert [answer.status_code for answer in answers] == [200, 429]
        assert answers[1].headers["retry-after"] == "2"
    with pytest.raises(ValueError, match="rate_limit"):
        PdfcoEmulator(rate_limit=0)


def test_request_over_4mb_is_413(api: httpx.Client) -> None:
    big = base64.b64encode(b"%PDF" + b"x" * (3 * 1024 * 1024 + 200_000)).decode()
    answer = api.post("/v1/file/upload/base64", json={"file": big, "name": "big.pdf"})
    body = answer.json()
    assert answer.status_code == 413 and body["error"] is True and body["status"] == 413 and "4 MB" in body["message"]
    assert "remainingCredits" in body


def test_lenient_emulator_reads_forms_multipart_and_any_letter_case() -> None:
    with PdfcoEmulator(strict=False, job_duration=0) as emu, keyed(emu) as api:
        url = upload(api, make_sample_pdf(3))
        # The official samples post forms; a lenient emulator reads "Async" and "PAGES" in odd case too.
        submit = api.post("/v1/pdf/split", data={"URL": url, "PAGES": "1,2-3", "Async": "true"}).json()
        assert submit["error"] is False and submit["jobId"]
        checked = api.post("/v1/job/check", data={"JobId": submit["jobId"], "force": "true"})
        assert checked.status_code == 200 and checked.json()["status"] == "success"
        assert len(httpx.get(checked.json()["url"]).json()) == 2
        # multipart/form-data too, like `curl --form`.
        answer = api.post("/v1/pdf/info", files={"url": (None, url)})
        assert answer.status_code == 200 and answer.json()["pageCount"] == 3
        assert emu.stats()["undocumented_parameters"] == 0


def test_invalid_json_body_is_400_but_json_text_sent_as_a_json_string_is_read(api: httpx.Client) -> None:
    answer = api.post("/v1/pdf/merge", content=b"{not json", headers={"content-type": "application/json"})
    assert answer.status_code == 400 and answer.json()["error"] is True and "JSON" in answer.json()["message"]
    url = upload(api, make_sample_pdf(2))
    # PDF.co's own hash sample sends requests' json= of a string: a JSON string holding the JSON object.
    double = api.post("/v1/pdf/info", json=json.dumps({"url": url}))
    assert double.status_code == 200 and double.json()["pageCount"] == 2


def test_documented_but_not_served_says_so_and_unknown_paths_are_404(api: httpx.Client) -> None:
    answer = api.post("/v1/barcode/generate", json={"value": "x"})
    body = answer.json()
    assert answer.status_code == 400 and body["notEmulated"] is True and body["status"] == 400
    assert body["message"] == (
        "Not served by the PDF.co emulator: /v1/barcode/generate is a documented PDF.co endpoint that this "
        "emulator does not implement (a limit of the emulator, not an error in the request)"
    )
    missing = api.post("/v1/pdf/teleport", json={})
    assert missing.status_code == 404 and missing.json()["error"] is True
    assert "/v1/pdf/teleport" in missing.json()["message"] and "notEmulated" not in missing.json()


def test_only_loopback_inputs_unless_given_content(api: httpx.Client, emu: PdfcoEmulator) -> None:
    before = emu.stats()
    for url in ("https://example.com/a.pdf", "cache:https://example.com/a.pdf"):
        answer = api.post("/v1/pdf/info", json={"url": url, "async": True})
        assert answer.status_code == 400 and "only loopback URLs can be fetched" in answer.json()["message"]
    page = api.post("/v1/pdf/convert/from/url", json={"url": "http://192.0.2.1/page.html"})
    assert page.status_code == 400 and "loopback" in page.json()["message"]
    assert emu.stats()["jobs_submitted"] == before["jobs_submitted"]
    emu.add_remote_file("https://example.com/a.pdf", make_sample_pdf(2, text="Remote {n}"))
    for url in ("https://example.com/a.pdf", "cache:https://example.com/a.pdf"):
        answer = api.post("/v1/pdf/merge", json={"url": f"{url},{url}"})
        assert answer.status_code == 200, answer.text
        assert fetched_texts(answer.json()["url"]) == ["Remote 1", "Remote 2"] * 2
    assert emu.stats()["remote_fetches"] == before["remote_fetches"] + 4
    other = api.post("/v1/pdf/info", json={"url": "https://example.com/a.pdf?v=2"})  # exact links only
    assert other.status_code == 400
    # Built-In Files Storage links, and links without a scheme (PDF.co's own samples send such image links).
    emu.add_remote_file("filetoken://0123abcd", make_sample_pdf(1, text="Stored"))
    emu.add_remote_file("example.com/b.pdf", make_sample_pdf(1, text="No scheme"))
    for url, text in (("filetoken://0123abcd", "Stored"), ("example.com/b.pdf", "No scheme")):
        answer = api.post("/v1/pdf/merge", json={"url": url})
        assert answer.status_code == 200, answer.text
        assert fetched_texts(answer.json()["url"]) == [text]
    unknown = api.post("/v1/pdf/info", json={"url": "filetoken://unknown"})
    assert unknown.status_code == 400 and "Built-In Files Storage" in unknown.json()["message"]
    with pytest.raises(ValueError, match="http"):
        emu.add_remote_file("ftp://example.com/a.pdf", b"x")


def test_standalone_command_and_its_control_api() -> None:
    command = [sys.executable, "-m", "pdfco_emulator", "--port", "0", "--api-key", "demo", "--credits", "50"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        match = re.search(r"(http://127\.0\.0\.1:\d+)", first)
        assert match, first + (process.stderr.read() if process.stderr else "")
        base = match.group(1)
        assert "demo" in process.stdout.readline()
        assert "/__emulator__/" in process.stdout.readline() and "Mode: strict" in process.stdout.readline()
        key = {"x-api-key": "demo"}
        assert httpx.get(f"{base}/v1/account/credit/balance", headers=key).json() == {"remainingCredits": 50}
        # The HTTP control API needs no key.
        fault = {"kind": "response", "path": "/v1/account/credit/balance", "status": 503}
        assert httpx.post(f"{base}/__emulator__/faults", json=fault).json()["ok"] is True
        assert httpx.get(f"{base}/v1/account/credit/balance", headers=key).status_code == 503
        remote = {"kind": "remote_file", "url": "https://example.com/x.pdf"}
        remote["content_base64"] = base64.b64encode(make_sample_pdf(1)).decode()
        assert httpx.post(f"{base}/__emulator__/faults", json=remote).status_code == 200
        info = httpx.post(f"{base}/v1/pdf/info", json={"url": "https://example.com/x.pdf"}, headers=key)
        assert info.json()["pageCount"] == 1
        stats = httpx.get(f"{base}/__emulator__/stats").json()
        assert stats["requests"]["/v1/account/credit/balance"] == 2 and stats["faults_served"] == 1
    finally:
        process.terminate()
        out, err = process.communicate(timeout=15)
    assert process.returncode == 0, err
    assert "stopped" in out


def test_command_line_options(capsys: pytest.CaptureFixture[str]) -> None:
    assert parser().parse_args([]).strict is None  # the emulator then decides: strict unless the env says no
    assert parser().parse_args(["--strict"]).strict is True
    assert parser().parse_args(["--lenient"]).strict is False
    with pytest.raises(SystemExit):
        parser().parse_args(["--strict", "--lenient"])
    assert main(["--host", "0.0.0.0"]) == 2 and "loopback" in capsys.readouterr().err


def test_stats_are_plain_data(emu: PdfcoEmulator) -> None:
    stats = emu.stats()
    for key in ("requests", "jobs_submitted", "credits_used", "job_checks", "remaining_credits", "remote_fetches"):
        assert key in stats
    assert json.loads(json.dumps(stats)) == stats  # also served at /__emulator__/stats
    assert httpx.get(f"{emu.base_url}/__emulator__/stats").json().keys() == stats.keys()
