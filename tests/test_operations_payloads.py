"""The exact PDF.co payload of every typed task, PDF.co's camelCase names included.

respx answers for api.pdf.co; the assertion is on the JSON body that would reach PDF.co, and on every name in
it being one PDF.co documents for the endpoint (the table behind the emulator's strict mode). A typed task
without a case here fails ``test_every_typed_task_has_an_exact_payload_case``.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
import respx
from pydantic import SecretStr

from prefect_pdfco import JobSubmission, PdfcoCredentials
from prefect_pdfco.operations import get_operation
from prefect_pdfco.operations import tasks as typed
from prefect_pdfco.testing._pdfco_params import undocumented_names

from .conftest import API

pytestmark = pytest.mark.usefixtures("prefect_harness")

IN = "https://files.example.com/in.pdf"
SUBMITTED = {"jobId": "J1", "url": "https://pdf-temp-files.s3.amazonaws.com/J1/out", "error": False, "status": 200}

HOOK = "https://hooks.example.com/pdfco"

CASES: list[tuple[str, str, Any, tuple[Any, ...], dict[str, Any], dict[str, Any]]] = [
    # Conversion to PDF.
    (
        "html_to_pdf from html",
        "/v1/pdf/convert/from/html",
        typed.html_to_pdf,
        ("<h1>Hi</h1>",),
        {
            "paper_size": "A4",
            "orientation": "portrait",  # capitalised as PDF.co lists it
            "media_type": "Print",  # lower-cased as PDF.co lists it
            "header": "<p>h</p>",
            "footer": "<p>f</p>",
            "do_not_wait_full_load": False,
            "name": "hi.pdf",
            "expiration": 15,
        },
        {
            "html": "<h1>Hi</h1>",
            "paperSize": "A4",
            "orientation": "Portrait",
            "mediaType": "print",
            "header": "<p>h</p>",
            "footer": "<p>f</p>",
            "DoNotWaitFullLoad": False,
            "name": "hi.pdf",
            "expiration": 15,
        },
    ),
    (
        "url_to_pdf",
        "/v1/pdf/convert/from/url",
        typed.url_to_pdf,
        ("https://example.com/page",),
        {
            "paper_size": "Letter",
            "orientation": "landscape",
            "margins": "5mm 10mm",
            "print_background": False,
            "media_type": "screen",
            "do_not_wait_full_load": True,
            "http_username": "bob",
            "http_password": SecretStr("pw"),
            "callback": HOOK,
            "profiles": "{'CheckPermissions': false}",
        },
        {
            "url": "https://example.com/page",
            "paperSize": "Letter",
            "orientation": "Landscape",
            "margins": "5mm 10mm",
            "printBackground": False,
            "mediaType": "screen",
            "DoNotWaitFullLoad": True,
            "httpusername": "bob",
            "httppassword": "pw",
            "callback": HOOK,
            "profiles": "{'CheckPermissions': false}",
        },
    ),
    # Pages.
    (
        "merge_pdfs",
        "/v1/pdf/merge",
        typed.merge_pdfs,
        ([IN, "cache:https://files.example.com/b.pdf"],),
        {"name": "merged.pdf", "expiration": 5, "http_username": "bob", "http_password": "pw"},
        {
            "url": f"{IN},cache:https://files.example.com/b.pdf",
            "name": "merged.pdf",
            "expiration": 5,
            "httpusername": "bob",
            "httppassword": "pw",
        },
    ),
    ("split_pdf every page", "/v1/pdf/split", typed.split_pdf, (IN,), {}, {"url": IN, "pages": "*"}),
    (
        "split_pdf ranges",
        "/v1/pdf/split",
        typed.split_pdf,
        (IN,),
        {"pages": [1, "3-"], "password": SecretStr("doc-pw"), "name": "part.pdf"},
        {"url": IN, "pages": "1,3-", "password": "doc-pw", "name": "part.pdf"},
    ),
    (
        "rotate_pages",
        "/v1/pdf/edit/rotate",
        typed.rotate_pages,
        (IN, 270),
        {"pages": [0, "2-!1"]},
        {"url": IN, "angle": 270, "pages": "0,2-!1"},
    ),
    (
        "delete_pages",
        "/v1/pdf/edit/delete-pages",
        typed.delete_pages,
        (IN, " 1, 3-4 "),
        {"callback": HOOK},
        {"url": IN, "pages": "1,3-4", "callback": HOOK},
    ),
    # Conversion from PDF.
    (
        "pdf_to_text",
        "/v1/pdf/convert/to/text",
        typed.pdf_to_text,
        (IN,),
        {"pages": "0-1", "lang": "eng+deu", "rect": "10,20,30,40", "inline": True, "unwrap": True, "line_grouping": 2},
        {
            "url": IN,
            "pages": "0-1",
            "lang": "eng+deu",
            "rect": "10, 20, 30, 40",
            "inline": True,
            "unwrap": True,
            "lineGrouping": "2",
        },
    ),
    (
        "pdf_to_json",
        "/v1/pdf/convert/to/json2",
        typed.pdf_to_json,
        (IN,),
        {"inline": False, "line_grouping": "1", "password": "doc-pw"},
        {"url": IN, "inline": False, "lineGrouping": "1", "password": "doc-pw"},
    ),
    (
        "pdf_to_csv",
        "/v1/pdf/convert/to/csv",
        typed.pdf_to_csv,
        (IN,),
        {"pages": 0, "lang": "chi_sim", "http_username": "bob"},
        {"url": IN, "pages": "0", "lang": "chi_sim", "httpusername": "bob"},
    ),
    (
        "pdf_info",
        "/v1/pdf/info",
        typed.pdf_info,
        (IN,),
        {"password": "doc-pw", "expiration": 10},
        {"url": IN, "password": "doc-pw", "expiration": 10},
    ),
    (
        "find_text",
        "/v1/pdf/find",
        typed.find_text,
        (IN, "Invoice \\d+"),
        {"regex": True, "case_sensitive": False, "word_matching_mode": "ExactMatch", "pages": "0", "inline": True},
        {
            "url": IN,
            "searchString": "Invoice \\d+",
            "regexSearch": True,
            "caseSensitive": False,
            "wordMatchingMode": "ExactMatch",
            "pages": "0",
            "inline": True,
        },
    ),
    (
        "parse_document by template id",
        "/v1/pdf/documentparser",
        typed.parse_document,
        (IN,),
        {"template_id": 1, "output_format": "csv", "generate_csv_headers": True, "inline": True},
        {"url": IN, "templateId": "1", "outputFormat": "CSV", "generateCsvHeaders": True, "inline": True},
    ),
    (
        "parse_document inline template",
        "/v1/pdf/documentparser",
        typed.parse_document,
        (IN,),
        {"template": {"templateName": "t", "fields": {}}, "password": "doc-pw"},
        {"url": IN, "template": '{"templateName": "t", "fields": {}}', "password": "doc-pw"},
    ),
    (
        # The reference table spells it customField; the OpenAPI description and PDF.co's n8n node customfield.
        "parse_invoice",
        "/v1/ai-invoice-parser",
        typed.parse_invoice,
        (IN,),
        {"custom_fields": ["poNumber", " storeNumber "], "callback": HOOK},
        {"url": IN, "customfield": "poNumber,storeNumber", "callback": HOOK},
    ),
    # Edit, OCR, compression, security.
    (
        "add_to_pdf text",
        "/v1/pdf/edit/add",
        typed.add_to_pdf,
        (IN,),
        {
            "annotations": [
                typed.TextAnnotation(
                    text="Paid", x=10, y=20.5, pages="0", size=14, color="#FF0000", font_name="Arial", font_bold=True
                ),
                {"text": "t", "x": 1, "y": 2, "fontStrikeout": True},  # further options pass through
            ],
            "name": "stamped.pdf",
        },
        {
            "url": IN,
            "annotations": [
                {
                    "text": "Paid",
                    "x": 10.0,
                    "y": 20.5,
                    "pages": "0",
                    "size": 14.0,
                    "color": "#FF0000",
                    "fontName": "Arial",
                    "fontBold": True,
                },
                {"text": "t", "x": 1.0, "y": 2.0, "fontStrikeout": True},
            ],
            "name": "stamped.pdf",
        },
    ),
    (
        "compress_pdf",
        "/v2/pdf/compress",
        typed.compress_pdf,
        (IN,),
        {"config": {"images": {"color": {"skip": True}}}, "password": "doc-pw", "name": "small.pdf"},
        {"url": IN, "config": {"images": {"color": {"skip": True}}}, "password": "doc-pw", "name": "small.pdf"},
    ),
    (
        "remove_password",
        "/v1/pdf/security/remove",
        typed.remove_password,
        (IN, SecretStr("doc-pw")),
        {"name": "open.pdf"},
        {"url": IN, "password": "doc-pw", "name": "open.pdf"},
    ),
    (
        "add_password user password and permissions",
        "/v1/pdf/security/add",
        typed.add_password,
        (IN,),
        {
            "user_password": SecretStr("u-pw"),
            "allow_print_document": True,
            "allow_fill_forms": False,
            "allow_modify_document": False,
            "allow_modify_annotations": True,
            "allow_accessibility_support": True,
            "allow_assembly_document": False,
            "print_quality": "HighResolution",
        },
        {
            "url": IN,
            "userPassword": "u-pw",
            "allowPrintDocument": True,
            "allowFillForms": False,
            "allowModifyDocument": False,
            "allowModifyAnnotations": True,
            "allowAccessibilitySupport": True,
            "allowAssemblyDocument": False,
            "printQuality": "HighResolution",
        },
    ),
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
        {"callback": HOOK},
        {"url": "https://i.example.com/1.png,cache:https://i.example.com/2.jpg", "callback": HOOK},
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
        {"url": IN, "ownerPassword": "o-pw", "encryptionAlgorithm": "AES_256bit", "allowContentExtraction": False},
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
    sent = json.loads(route.calls.last.request.content)
    assert sent == {**expected, "async": True}
    # Every name is one PDF.co documents for the endpoint (or one its own clients send), in its letter case;
    # `extra` is the user's own business.
    assert undocumented_names(endpoint, [key for key in sent if key not in (kwargs.get("extra") or {})]) == []


def test_every_typed_task_has_an_exact_payload_case() -> None:
    covered = {case[2].fn.__name__ for case in CASES}
    exported = {name for name in typed.__all__ if name[0].islower()}
    assert covered == exported
    assert all(case[2] is getattr(typed, case[2].fn.__name__) for case in CASES)


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
        job = typed.merge_pdfs(credentials, [IN, IN], http_password="fetch-pw")
        attempts.append(job.job_id)
        if len(attempts) == 1:
            raise RuntimeError("worker died right after the submit")
        return job.job_id

    assert crashing_flow() == "J1"
    assert attempts == ["J1", "J1"] and route.call_count == 1  # paid once
