"""The operation catalogue (against PDF.co's endpoint table, ``testing/_pdfco_params.py``) and the typed tasks'
parameter validation.

Tasks against the emulator are in ``test_operations_emulator.py``; the exact payload of every typed task in
``test_operations_payloads.py``.
"""

from __future__ import annotations

import pickle
import re
from collections.abc import Callable
from typing import Any

import pytest
import respx

from prefect_pdfco import PdfcoCredentials, PdfcoError, operations
from prefect_pdfco.jobs.schedule import DEFAULT_POLL_POLICY
from prefect_pdfco.operations import (
    OPERATIONS,
    InvalidParametersError,
    Operation,
    OutputKind,
    UnknownOperationError,
    get_operation,
)
from prefect_pdfco.operations import tasks as typed
from prefect_pdfco.testing._pdfco_params import ENDPOINTS
from prefect_pdfco.testing._processing import EMULATED_ENDPOINTS

from .conftest import pdfco_requests

# --------------------------------------------------------------------------------------------------
# The catalogue
# --------------------------------------------------------------------------------------------------


def test_the_catalogue_covers_every_async_endpoint_pdfco_documents() -> None:
    documented = {path for path, endpoint in ENDPOINTS.items() if endpoint.mode in ("A", "A-only")}
    assert len(documented) > 50
    endpoints = {operation.endpoint for operation in OPERATIONS.values()}
    assert documented - endpoints == set()
    # Nothing invented: the one extra is the legacy JSON path json2's page mentions (PDF.co's n8n node calls it).
    assert endpoints - documented == {"/v1/pdf/convert/to/json"}
    async_only = {operation.endpoint for operation in OPERATIONS.values() if operation.async_only}
    assert async_only == {path for path, endpoint in ENDPOINTS.items() if endpoint.mode == "A-only"}
    assert async_only == {"/v1/ai-invoice-parser"}


def test_every_endpoint_the_emulator_processes_is_in_the_catalogue() -> None:
    endpoints = {operation.endpoint for operation in OPERATIONS.values()}
    assert set(EMULATED_ENDPOINTS) - endpoints == set()


def test_operations_are_frozen_data_keyed_by_unique_snake_case_names() -> None:
    assert len({op.endpoint for op in OPERATIONS.values()}) == len(OPERATIONS)
    for name, operation in OPERATIONS.items():
        assert isinstance(operation, Operation) and operation.name == name
        assert re.fullmatch(r"[a-z][a-z0-9_]*", name)
        assert operation.endpoint.startswith(("/v1/", "/v2/")) and operation.description
        assert isinstance(operation.output, OutputKind)
    with pytest.raises(TypeError):
        OPERATIONS["merge"] = OPERATIONS["split"]  # type: ignore[index]
    with pytest.raises(AttributeError):
        OPERATIONS["merge"].endpoint = "/v1/other"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("name", "output"),
    [
        ("split", OutputKind.FILES),  # async split: the result URL is a JSON list of part links
        ("split_by_text", OutputKind.FILES),
        ("pdf_to_png", OutputKind.FILES),
        ("pdf_to_tiff", OutputKind.FILE),  # one multi-page file
        ("merge", OutputKind.FILE),
        ("html_to_pdf", OutputKind.FILE),
        ("pdf_to_text", OutputKind.TEXT),
        ("pdf_to_json", OutputKind.JSON),
        ("pdf_to_csv", OutputKind.CSV),
        ("pdf_to_html", OutputKind.HTML),
        ("parse_invoice", OutputKind.JSON),
        ("send_email", OutputKind.NONE),
    ],
)
def test_output_kinds(name: str, output: OutputKind) -> None:
    assert OPERATIONS[name].output is output
    assert output.is_text == (output in {OutputKind.TEXT, OutputKind.JSON, OutputKind.CSV, OutputKind.HTML})


def test_poll_policies_are_sized_to_the_work() -> None:
    quick = get_operation("merge").poll_policy
    assert quick == DEFAULT_POLL_POLICY and get_operation("merge").poll is None
    ocr = get_operation("make_searchable").poll_policy
    invoice = get_operation("parse_invoice").poll_policy
    render = get_operation("html_to_pdf").poll_policy
    assert ocr.initial_seconds >= 10 > invoice.initial_seconds >= 5 > render.initial_seconds > quick.initial_seconds
    for operation in OPERATIONS.values():
        policy = operation.poll_policy
        assert policy.max_seconds <= 30 and policy.initial_seconds <= policy.max_seconds


@pytest.mark.parametrize(
    ("query", "name"),
    [
        ("merge", "merge"),
        ("HTML-to-PDF", "html_to_pdf"),
        ("split_pdf", "split"),  # the typed task's name
        ("/v1/pdf/merge", "merge"),
        ("pdf/merge", "merge"),
        ("/v1/pdf/merge/", "merge"),
        ("v2/pdf/compress", "compress"),
        ("/ai-invoice-parser", "parse_invoice"),  # the docs page's spelling
        ("/v1/pdf/convert/to/text-simple?x=1", "pdf_to_text_simple"),
    ],
)
def test_get_operation_takes_names_and_paths(query: str, name: str) -> None:
    assert get_operation(query) is OPERATIONS[name]
    assert get_operation(OPERATIONS[name]) is OPERATIONS[name]


@pytest.mark.parametrize(
    ("query", "suggestion"),
    [("merg", "merge"), ("pdf_to_txt", "pdf_to_text"), ("pdf/merg", "/v1/pdf/merge"), ("https://x/y", None)],
)
def test_unknown_operations_raise_a_key_error_with_close_names(query: str, suggestion: str | None) -> None:
    with pytest.raises(UnknownOperationError) as info:
        get_operation(query)
    assert isinstance(info.value, KeyError) and isinstance(info.value, PdfcoError)
    message = str(info.value)
    assert message.startswith(f"Unknown PDF.co operation {query!r}") and "submit_job" in message
    if suggestion:
        assert repr(suggestion) in message
    again = pickle.loads(pickle.dumps(info.value))
    assert str(again) == message


# --------------------------------------------------------------------------------------------------
# Parameter validation: bad input raises before any request (no credits spent)
# --------------------------------------------------------------------------------------------------

URL = "https://files.example.com/in.pdf"

BAD_INPUT: list[tuple[str, Callable[..., Any], dict[str, Any], str]] = [
    ("split pages syntax", typed.split_pdf, {"url": URL, "pages": "1-a"}, "pages: '1-a' is not a page range"),
    ("split page 0", typed.split_pdf, {"url": URL, "pages": "0-2"}, "pages: pages count from 1"),
    ("reversed range", typed.delete_pages, {"url": URL, "pages": "3-1"}, "pages: '3-1' ends before it starts"),
    ("stray comma", typed.pdf_to_text, {"url": URL, "pages": "0,,2"}, "pages: empty page range"),
    ("star outside split", typed.rotate_pages, {"url": URL, "angle": 90, "pages": "*"}, "accepted by split only"),
    ("negative page", typed.pdf_to_csv, {"url": URL, "pages": "-2"}, "!N (counted from the end)"),
    ("html and template", typed.html_to_pdf, {"html": "<p>x</p>", "template_id": 7}, "exactly one of html"),
    ("no html nor template", typed.html_to_pdf, {}, "exactly one of html or template_id"),
    ("template data with html", typed.html_to_pdf, {"html": "x", "template_data": {"a": 1}}, "goes with template"),
    ("bad angle", typed.rotate_pages, {"url": URL, "angle": 45}, "angle: expected 90, 180, 270"),
    ("zero angle", typed.rotate_pages, {"url": URL, "angle": 0}, "angle: expected 90"),
    ("full turn", typed.rotate_pages, {"url": URL, "angle": 360}, "angle: expected 90"),
    ("expiration 0", typed.pdf_info, {"url": URL, "expiration": 0}, "expiration: expected whole minutes from 1"),
    ("expiration > 24 h", typed.merge_pdfs, {"urls": [URL], "expiration": 1441}, "expiration: expected whole"),
    ("expiration in hours", typed.split_pdf, {"url": URL, "expiration": 1.5}, "to 1440 (24 h"),
    ("local path", typed.pdf_info, {"url": "/tmp/in.pdf"}, "url: not a link PDF.co can fetch"),
    ("no urls", typed.merge_pdfs, {"urls": []}, "urls: expected a non-empty list"),
    ("comma in a url", typed.merge_pdfs, {"urls": [URL, "https://x/a,b.pdf"]}, "contains a comma"),
    ("no password", typed.add_password, {"url": URL}, "owner_password and/or user_password"),
    ("bad algorithm", typed.add_password, {"url": URL, "owner_password": "o", "encryption_algorithm": "DES"}, "enc"),
    ("empty password", typed.remove_password, {"url": URL, "password": ""}, "password is required"),
    ("nothing to add", typed.add_to_pdf, {"url": URL}, "nothing to add"),
    ("annotation without text", typed.add_to_pdf, {"url": URL, "annotations": [{"x": 1, "y": 2}]}, "text"),
    ("both templates", typed.parse_document, {"url": URL, "template_id": 1, "template": "{}"}, "exactly one"),
    ("no template", typed.parse_document, {"url": URL}, "exactly one of template_id or template"),
    ("bad language", typed.make_searchable, {"url": URL, "lang": "English"}, "lang: expected OCR language"),
    ("bad rect", typed.pdf_to_text, {"url": URL, "rect": "1,2,3"}, "rect: expected 'x, y, width, height'"),
    ("mismatched replace", typed.replace_text, {"url": URL, "search": ["a", "b"], "replace": ["c"]}, "1 replace"),
    ("no barcode types", typed.read_barcodes, {"url": URL, "barcode_types": []}, "barcode_types: expected"),
    ("empty barcode", typed.generate_barcode, {"value": ""}, "value:"),
    ("bad callback", typed.pdf_info, {"url": URL, "callback": "ftp://x"}, "callback: the callback must be"),
    ("pages as a flag", typed.pdf_to_json, {"url": URL, "pages": True}, "pages: expected page numbers"),
    ("empty search", typed.find_text, {"url": URL, "search_string": ""}, "search_string:"),
]


@pytest.mark.parametrize(
    ("task", "arguments", "expected"), [row[1:] for row in BAD_INPUT], ids=[r[0] for r in BAD_INPUT]
)
async def test_bad_input_raises_before_any_request(
    credentials: PdfcoCredentials,
    pdfco: respx.MockRouter,
    task: Any,
    arguments: dict[str, Any],
    expected: str,
) -> None:
    with pytest.raises(InvalidParametersError) as info:
        await task.fn(credentials, **arguments)
    assert expected in str(info.value), str(info.value)
    assert "nothing was sent to PDF.co" in str(info.value)
    assert isinstance(info.value, ValueError) and isinstance(info.value, PdfcoError)
    assert pdfco_requests(pdfco) == []


async def test_validation_errors_never_quote_values(credentials: PdfcoCredentials, pdfco: respx.MockRouter) -> None:
    secret = "s3cret-" + "pw"
    with pytest.raises(InvalidParametersError) as info:
        await typed.add_password.fn(
            credentials, "not a url " + secret, owner_password=secret, encryption_algorithm=secret
        )
    text = str(info.value) + repr(info.value) + repr(info.value.errors)
    assert secret not in text
    assert info.value.__cause__ is None and info.value.__suppress_context__  # pydantic's message quotes inputs
    assert {line.split(":")[0] for line in info.value.errors} == {"url", "encryption_algorithm"}
    assert pickle.loads(pickle.dumps(info.value)).errors == info.value.errors
    assert pdfco_requests(pdfco) == []


async def test_requests_over_four_megabytes_are_refused(credentials: PdfcoCredentials, pdfco: respx.MockRouter) -> None:
    with pytest.raises(InvalidParametersError, match="over 4 MB"):
        await typed.html_to_pdf.fn(credentials, "<p>" + "x" * (4 * 1024 * 1024) + "</p>")
    assert pdfco_requests(pdfco) == []


def test_every_typed_task_is_a_crash_safe_submit_with_a_readable_run_name() -> None:
    from prefect_pdfco.jobs import SUBMIT_TASK_OPTIONS

    names = [name for name in typed.__all__ if name[0].islower()]
    assert len(names) == 24
    for name in names:
        task = getattr(typed, name)
        assert task.task_run_name == name.replace("_", "-")
        assert task.cache_policy is SUBMIT_TASK_OPTIONS["cache_policy"] and task.retries == 0
        doc = task.fn.__doc__ or ""
        for heading in ("Args:", "Returns:", "Raises:", "Example:", "@flow", "credentials:"):
            assert heading in doc, (name, heading)


def test_typed_tasks_and_the_catalogue_are_public() -> None:
    import prefect_pdfco

    for name in typed.__all__:
        assert name in prefect_pdfco.__all__ and getattr(prefect_pdfco, name) is getattr(typed, name)
    for name in ("get_operation", "Operation", "OutputKind", "InvalidParametersError", "UnknownOperationError"):
        assert name in prefect_pdfco.__all__ and getattr(prefect_pdfco, name) is getattr(operations, name)
