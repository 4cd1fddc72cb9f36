"""The exact PDF.co payload of each typed task whose endpoint (or option) the emulator does not emulate.

respx answers for api.pdf.co; the assertion is on the JSON body that would reach PDF.co.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
import respx
from pydantic import SecretStr

from prefect_pdfco import JobSubmission, PdfcoCredentials
from prefect_pdfco import tasks as typed
from prefect_pdfco.operations import get_operation

from .conftest import API

pytestmark = pytest.mark.usefixtures("prefect_harness")

IN = "https://files.example.com/in.pdf"
SUBMITTED = {"jobId": "J1", "url": "https://pdf-temp-files.s3.amazonaws.com/J1/out", "error": False, "status": 200}

CASES: list[tuple[str, str, Any, tuple[Any, ...], dict[str, Any], dict[str, Any]]] = [
    (
        "document_to_pdf",
        "/v1/pdf/convert/from/doc",
        typed.document_to_pdf,
        ("https://files.example.com/contract.docx",),
        {"name": "contract.pdf", "expiration": 120, "http_username": "bob", "http_password": "pw"},
        {
            "url": "https://files.example.com/contract.docx",
            "name": "contract.pdf",
            "expiration": 120,
            "httpusername": "bob",
            "httppassword": "pw",
        },
    ),
    (
        "image_to_pdf",
        "/v1/pdf/convert/from/image",
        typed.image_to_pdf,
        (["https://i.example.com/1.png", "cache:https://i.example.com/2.jpg"],),
        {"callback": "https://hooks.example.com/pdfco"},
        {
            "url": "https://i.example.com/1.png,cache:https://i.example.com/2.jpg",
            "callback": "https://hooks.example.com/pdfco",
        },
    ),
    (
        "pdf_to_html",
        "/v1/pdf/convert/to/html",
        typed.pdf_to_html,
        (IN,),
        {"pages": [0, "2-"], "simple": True, "columns": False, "rect": (10, 20, 300, 400.5)},
        {"url": IN, "pages": "0,2-", "simple": True, "columns": False, "rect": "10, 20, 300, 400.5"},
    ),
    (
        "replace_text one pair",
        "/v1/pdf/edit/replace-text",
        typed.replace_text,
        (IN, "ACME", "Globex"),
        {"case_sensitive": True, "replacement_limit": 0, "regex": False},
        {
            "url": IN,
            "searchString": "ACME",
            "replaceString": "Globex",
            "caseSensitive": True,
            "replacementLimit": 0,
            "regex": False,
        },
    ),
    (
        "replace_text pairs",
        "/v1/pdf/edit/replace-text",
        typed.replace_text,
        (IN, ["a", "b"], ["x", "y"]),
        {"pages": "0-1"},
        {"url": IN, "searchStrings": ["a", "b"], "replaceStrings": ["x", "y"], "pages": "0-1"},
    ),
    (
        "make_searchable",
        "/v1/pdf/makesearchable",
        typed.make_searchable,
        (IN,),
        {"lang": "eng+deu", "pages": "!0", "password": SecretStr("doc-pw"), "profiles": {"CheckPermissions": False}},
        {"url": IN, "lang": "eng+deu", "pages": "!0", "password": "doc-pw", "profiles": '{"CheckPermissions": false}'},
    ),
    (
        "read_barcodes",
        "/v1/barcode/read/from/url",
        typed.read_barcodes,
        (IN, ["QRCode", "Code128"]),
        {"pages": "0"},
        {"url": IN, "types": "QRCode,Code128", "pages": "0"},
    ),
    (
        "generate_barcode",
        "/v1/barcode/generate",
        typed.generate_barcode,
        ("T-1001",),
        {"decoration_image": "https://i.example.com/logo.png", "name": "t.png", "extra": {"margin": 4}},
        {
            "value": "T-1001",
            "type": "QRCode",
            "decorationImage": "https://i.example.com/logo.png",
            "name": "t.png",
            "margin": 4,
        },
    ),
    (
        "html_to_pdf from a template",
        "/v1/pdf/convert/from/html",
        typed.html_to_pdf,
        (),
        {"template_id": 42, "template_data": {"total": "9.99"}, "margins": "10mm", "print_background": True},
        {"templateId": "42", "templateData": '{"total": "9.99"}', "margins": "10mm", "printBackground": True},
    ),
    (
        "add_to_pdf images and fields",
        "/v1/pdf/edit/add",
        typed.add_to_pdf,
        (IN,),
        {
            "images": [typed.ImageAnnotation(url="https://i.example.com/sig.png", x=10, y=20, width=100, pages="0")],
            "fields": [{"fieldName": "name", "text": "Jane"}, typed.FormFieldValue(field_name="ok", text="true")],
        },
        {
            "url": IN,
            "images": [{"url": "https://i.example.com/sig.png", "x": 10.0, "y": 20.0, "width": 100.0, "pages": "0"}],
            "fields": [{"fieldName": "name", "text": "Jane"}, {"fieldName": "ok", "text": "true"}],
        },
    ),
    (
        "add_password with flags",
        "/v1/pdf/security/add",
        typed.add_password,
        (IN,),
        {"owner_password": "o-pw", "encryption_algorithm": "AES_256bit", "allow_content_extraction": False},
        {"url": IN, "ownerPassword": "o-pw", "EncryptionAlgorithm": "AES_256bit", "allowContentExtraction": False},
    ),
]


@pytest.mark.parametrize(
    ("endpoint", "task", "args", "kwargs", "expected"), [case[1:] for case in CASES], ids=[case[0] for case in CASES]
)
async def test_exact_payload(
    credentials: PdfcoCredentials,
    pdfco: respx.MockRouter,
    endpoint: str,
    task: Any,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    expected: dict[str, Any],
) -> None:
    route = pdfco.post(f"{API}{endpoint}").mock(return_value=httpx.Response(200, json=SUBMITTED))
    submission = await task.fn(credentials, *args, **kwargs)
    assert isinstance(submission, JobSubmission) and submission.job_id == "J1"
    assert submission.endpoint == endpoint == get_operation(task.name).endpoint
    assert route.call_count == 1
    # Secrets are revealed on the wire only; async is always on.
    assert json.loads(route.calls.last.request.content) == {**expected, "async": True}


async def test_extra_wins_over_modelled_options(credentials: PdfcoCredentials, pdfco: respx.MockRouter) -> None:
    route = pdfco.post(f"{API}/v1/pdf/convert/to/text").mock(return_value=httpx.Response(200, json=SUBMITTED))
    await typed.pdf_to_text.fn(credentials, IN, pages="0", extra={"pages": "1", "lineEnding": "LF"})
    assert json.loads(route.calls.last.request.content) == {"url": IN, "pages": "1", "lineEnding": "LF", "async": True}


def test_a_flow_retried_after_a_crash_reattaches_to_its_typed_job(
    credentials: PdfcoCredentials, pdfco: respx.MockRouter
) -> None:
    from prefect import flow

    route = pdfco.post(f"{API}/v1/pdf/merge").mock(return_value=httpx.Response(200, json=SUBMITTED))
    attempts: list[str] = []

    @flow(retries=1, retry_delay_seconds=0)
    def crashing_flow() -> str:
        job = typed.merge_pdfs(credentials, [IN, IN], password="doc-pw")
        attempts.append(job.job_id)
        if len(attempts) == 1:
            raise RuntimeError("worker died right after the submit")
        return job.job_id

    assert crashing_flow() == "J1"
    assert attempts == ["J1", "J1"] and route.call_count == 1  # paid once
