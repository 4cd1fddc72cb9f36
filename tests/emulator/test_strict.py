"""Strict mode (the default) and the PDF.co parameter table behind it (``pdfco_emulator/_pdfco_params.py``).

Strict mode refuses parameter names PDF.co does not document for the endpoint (letter case included) with
PDF.co's 454 "invalid parameters"; a lenient emulator ignores them.
"""

from __future__ import annotations

import re

import httpx
import pytest

from pdfco_emulator import STRICT_ENV, PdfcoEmulator, make_sample_pdf
from pdfco_emulator._catalogue import DOCUMENTED_ENDPOINTS
from pdfco_emulator._pdfco_params import (
    COMMON_PARAMETERS,
    ENDPOINTS,
    LEGACY_PATHS,
    accepted_names,
    documented_spelling,
    undocumented_names,
)
from pdfco_emulator._processing import EMULATED_ENDPOINTS
from tests.emulator._support import upload

HTML = "/v1/pdf/convert/from/html"
EMULATOR_OPTIONS = {"job_duration": 0}


def test_undocumented_names_get_pdfcos_454_naming_them_and_the_endpoint(emu: PdfcoEmulator, api: httpx.Client) -> None:
    assert emu.strict  # the default
    before = emu.stats()
    answer = api.post(HTML, json={"html": "<p>x</p>", "paper_size": "A4", "bogusParam": 1, "async": True})
    body = answer.json()
    assert answer.status_code == 400 and body["error"] is True and body["status"] == 454 and body["errorCode"] == 454
    assert body["unknownParameters"] == ["paper_size", "bogusParam"]
    assert body["message"] == (
        "Invalid parameters: 'paper_size' (did you mean 'paperSize'?), 'bogusParam': not a documented parameter"
        "s of /v1/pdf/convert/from/html (the emulator runs in strict mode; names are case-sensitive)"
    )
    assert body["remainingCredits"] == before["remaining_credits"]
    after = emu.stats()
    # Refused before anything runs: no job, no credits, counted.
    assert after["jobs_submitted"] == before["jobs_submitted"] and after["credits_used"] == before["credits_used"]
    assert after["undocumented_parameters"] == before["undocumented_parameters"] + 2
    assert after["requests"][HTML] == before["requests"].get(HTML, 0) + 1


@pytest.mark.parametrize(
    ("path", "params", "unknown"),
    [
        ("/v1/pdf/split", {"URL": "u", "pages": "1"}, ["URL"]),  # the documented spelling is url
        ("/v1/pdf/split", {"url": "u", "Async": "true"}, ["Async"]),
        ("/v1/pdf/convert/from/url", {"url": "u", "PaperSize": "A4"}, ["PaperSize"]),
        ("/v1/pdf/merge", {"url": "u,v", "password": "pw"}, ["password"]),  # merge documents no password
        ("/v1/pdf/security/add", {"url": "u", "encryption_algorithm": "AES_128bit"}, ["encryption_algorithm"]),
        ("/v1/job/check", {"JobID": "J"}, ["JobID"]),
        ("/v1/barcode/read/from/url", {"url": "u", "password": "pw"}, ["password"]),
    ],
)
def test_wrong_case_and_unknown_names_are_refused(
    api: httpx.Client, path: str, params: dict[str, str], unknown: list[str]
) -> None:
    answer = api.post(path, data=params)  # a form body, like PDF.co's samples: checked the same way
    assert answer.status_code == 400 and answer.json()["unknownParameters"] == unknown, answer.text


def test_query_string_names_are_checked_too(api: httpx.Client) -> None:
    refused = api.get("/v1/file/upload/get-presigned-url", params={"name": "a.pdf", "contentType": "text/plain"})
    assert refused.status_code == 400 and refused.json()["unknownParameters"] == ["contentType"]
    assert "(did you mean 'contenttype'?)" in refused.json()["message"]
    accepted = api.get("/v1/file/upload/get-presigned-url", params={"name": "a.pdf", "contenttype": "text/plain"})
    assert accepted.status_code == 200 and accepted.json()["presignedUrl"]


def test_documented_spellings_and_those_pdfcos_own_clients_send_are_accepted(api: httpx.Client) -> None:
    url = upload(api, make_sample_pdf(2))
    # The reference tables' camelCase, and the lower case of PDF.co's OpenAPI description (its API tester).
    for names in (
        {"url": url, "ownerPassword": "o"},
        {"url": url, "ownerpassword": "o", "printquality": "LowResolution"},
    ):
        answer = api.post("/v1/pdf/security/add", json=names)
        assert answer.status_code == 200, answer.text
    # PDF.co's MCP server capitalises the security options.
    mcp = {"url": url, "ownerPassword": "o", "EncryptionAlgorithm": "AES_256bit", "AllowPrintDocument": False}
    assert api.post("/v1/pdf/security/add", json=mcp).status_code == 200
    # Job check: jobid in the docs' example body, jobId in their attribute table and the MCP server.
    job = api.post("/v1/pdf/info", json={"url": url, "async": True}).json()["jobId"]
    for key in ("jobid", "jobId"):
        assert api.post("/v1/job/check", json={key: job, "force": True}).status_code == 200
    # The invoice parser documents customField; the n8n node sends customfield, and async although it has none.
    invoice = api.post("/v1/ai-invoice-parser", json={"url": url, "customfield": "po", "async": True})
    assert invoice.status_code == 200 and invoice.json()["status"] == "created"
    # A multipart upload's file part is a parameter too, and documented there.
    files = {"file": ("a.pdf", make_sample_pdf(1), "application/pdf")}
    assert api.post("/v1/file/upload", files=files).status_code == 200


def test_auth_and_unknown_paths_come_first(emu: PdfcoEmulator, api: httpx.Client) -> None:
    assert httpx.post(emu.base_url + HTML, json={"bogus": 1}).status_code == 401
    missing = api.post("/v1/pdf/nothing-here", json={"bogus": 1})
    assert missing.status_code == 404 and "unknownParameters" not in missing.json()
    # Documented paths with an id take no parameters; the legacy paths take their twin's.
    assert api.get("/v1/templates/html/7", params={"bogus": 1}).json()["unknownParameters"] == ["bogus"]
    legacy = api.post("/v1/pdf/convert/to/json", json={"url": "http://localhost:1/x", "lineGrouping": "1"})
    assert "unknownParameters" not in legacy.json()


@pytest.mark.parametrize(
    ("value", "expected"), [("", True), ("1", True), ("yes", True), ("0", False), ("false", False), ("OFF", False)]
)
def test_strict_unless_the_environment_says_no(monkeypatch: pytest.MonkeyPatch, value: str, expected: bool) -> None:
    monkeypatch.setenv(STRICT_ENV, value)
    assert PdfcoEmulator().strict is expected
    assert PdfcoEmulator(strict=not expected).strict is (not expected)  # an explicit choice wins
    assert ("strict" in repr(PdfcoEmulator())) is expected
    monkeypatch.delenv(STRICT_ENV)
    assert PdfcoEmulator().strict is True


def test_lenient_emulators_ignore_unknown_names() -> None:
    with (
        PdfcoEmulator(strict=False) as emu,
        httpx.Client(base_url=emu.base_url, headers={"x-api-key": emu.api_key}) as api,
    ):
        answer = api.post(HTML, json={"html": "<p>x</p>", "paper_size": "A4", "bogusParam": 1})
        assert answer.status_code == 200 and answer.json()["error"] is False
        assert emu.stats()["undocumented_parameters"] == 0


def test_the_table_covers_every_path_the_emulator_knows() -> None:
    known = set(ENDPOINTS) | set(LEGACY_PATHS)
    assert set(EMULATED_ENDPOINTS) <= known
    assert known == DOCUMENTED_ENDPOINTS  # the emulator's routing reads the same table
    assert set(LEGACY_PATHS.values()) <= set(ENDPOINTS)
    assert len(ENDPOINTS) > 60


def test_every_entry_is_well_formed() -> None:
    for path, endpoint in ENDPOINTS.items():
        assert endpoint.path == path and re.fullmatch(r"/v[12](/[a-z0-9-]+)+", path), path
        assert endpoint.mode in ("A", "A-only", "-")
        assert ("async" in endpoint.params) == (endpoint.mode == "A"), path
        assert ("callback" in endpoint.params) == (endpoint.mode != "-"), path
        # One documented spelling per name, except job check's two (jobid in the example, jobId in the table).
        lowered = [name.lower() for name in endpoint.params]
        assert len(set(lowered)) == len(lowered) or path == "/v1/job/check", path
        assert all(re.fullmatch(r"[A-Za-z][A-Za-z0-9]*", name) for name in endpoint.params | endpoint.known_in_use)
        assert not endpoint.params & endpoint.known_in_use, path
        assert undocumented_names(path, sorted(endpoint.params)) == []
    # Section 5's common parameters are documented on most processing endpoints.
    processing = [e for e in ENDPOINTS.values() if e.mode != "-"]
    for name in COMMON_PARAMETERS:
        assert sum(name in e.params for e in processing) >= len(processing) // 3, name


def test_spellings() -> None:
    assert accepted_names("/v1/nothing") is None and undocumented_names("/v1/nothing", ["x"]) == []
    assert undocumented_names(HTML, ["paperSize", "papersize", "PaperSize", "paper_size"]) == [
        "PaperSize",
        "paper_size",
    ]
    assert documented_spelling(HTML, "PAPERSIZE") == "paperSize"
    assert documented_spelling(HTML, "templateID") == "templateId"
    assert documented_spelling(HTML, "printBackgroud") == "printBackground"  # a typo
    assert documented_spelling(HTML, "bogus") is None and documented_spelling("/v1/nothing", "x") is None
    assert documented_spelling("/v1/pdf/convert/to/json", "LINEGROUPING") == "lineGrouping"
