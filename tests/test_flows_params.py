"""run_operation checks its PDF.co parameters with the typed tasks' models before any request (issue 13, item 4).

The unit tests call ``check_payload`` (what ``run_operation`` runs first); the flow tests run ``run_operation``
against a strict emulator (it refuses undocumented names, as PDF.co may ignore them) and read its counters to
see that a refused call sent nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from pypdf import PdfReader

from prefect_pdfco import InvalidParametersError
from prefect_pdfco.flows import run_operation
from prefect_pdfco.operations import OPERATIONS, get_operation
from prefect_pdfco.operations.payload import check_payload
from prefect_pdfco.testing import PdfcoEmulator
from prefect_pdfco.testing._pdfco_params import ENDPOINTS, LEGACY_PATHS
from prefect_pdfco.testing._processing import make_sample_pdf
from tests._emulator_support import upload


def errors_of(operation: str, params: dict[str, Any]) -> list[str]:
    with pytest.raises(InvalidParametersError) as caught:
        check_payload(get_operation(operation), params)
    assert caught.value.operation == get_operation(operation).name
    return caught.value.errors


# --------------------------------------------------------------------------------------------------
# check_payload
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("operation", sorted(OPERATIONS))
def test_every_name_pdfco_documents_for_the_operation_passes(operation: str) -> None:
    # The names PDF.co documents (its reference table's spelling, the OpenAPI lower case, and what its own
    # clients send) are never taken for typos of a modelled name; unmodelled ones go through as given.
    endpoint = ENDPOINTS[LEGACY_PATHS.get(get_operation(operation).endpoint, get_operation(operation).endpoint)]
    for name in sorted({*endpoint.params, *(name.lower() for name in endpoint.params), *endpoint.known_in_use}):
        try:
            check_payload(get_operation(operation), {name: object()})
        except InvalidParametersError as error:
            # A modelled name may refuse the value (an object() is no page range): never its spelling.
            assert not any("PDF.co names it" in line for line in error.errors), (name, error.errors)
            assert all(line.startswith(f"{name}") for line in error.errors if "required" not in line), error.errors


def test_a_local_path_as_url_is_refused_for_typed_and_untyped_operations() -> None:
    for operation in ("split", "pdf_to_text", "pdf_to_png", "merge_any"):
        (line,) = errors_of(operation, {"url": "/home/me/report.pdf"})
        assert line.startswith("url: not a link PDF.co can fetch") and "upload_file" in line
    # Several links in one comma-joined string, or a list: each must be a link (merge, merge_any, image_to_pdf).
    for operation in ("merge", "merge_any", "image_to_pdf"):
        assert errors_of(operation, {"url": "https://example.com/a.pdf,C:/b.pdf"})[0].startswith("url: ")
        payload = check_payload(get_operation(operation), {"url": ["https://e.com/a.pdf", "filetoken://b"]})
        assert payload == {"url": "https://e.com/a.pdf,filetoken://b"}


def test_misspelt_and_python_style_names_are_refused_naming_pdfcos_spelling() -> None:
    errors = errors_of("html_to_pdf", {"html": "<p>x</p>", "paper_size": "A4", "print_backgroud": True})
    assert errors == [
        "paper_size: not a parameter of html_to_pdf; PDF.co names it 'paperSize'",
        "print_backgroud: not a parameter of html_to_pdf; PDF.co names it 'printBackground'",
    ]
    assert errors_of("split", {"url": "https://e.com/a.pdf", "pagse": "1-2"}) == [
        "pagse: not a parameter of split; PDF.co names it 'pages'"
    ]
    # The typed task's argument names that PDF.co spells otherwise.
    assert "PDF.co names it 'types'" in errors_of("read_barcodes", {"url": "https://e.com/a", "barcode_types": "x"})[0]
    assert "PDF.co names it 'url'" in errors_of("merge", {"urls": ["https://e.com/a.pdf"]})[0]
    # Untyped operations know the names every operation shares.
    assert "PDF.co names it 'expiration'" in errors_of("pdf_to_png", {"url": "https://e.com/a", "expiraton": 5})[0]


def test_values_the_typed_model_refuses_are_refused_under_the_name_given() -> None:
    errors = errors_of(
        "split",
        {"URL": "https://e.com/a.pdf", "Pages": "3-1", "expiration": 0, "callback": "ftp://e.com/hook"},
    )
    assert [line.split(":")[0] for line in errors] == ["Pages", "expiration", "callback"]
    assert "'3-1' ends before it starts" in errors[0]
    # A required input is named as PDF.co spells it.
    assert errors_of("merge", {"name": "m.pdf"}) == ["url: Field required"]
    assert errors_of("html_to_pdf", {"html": "<p>x</p>", "orientation": "sideways"})[0].startswith("orientation: ")
    assert errors_of("pdf_to_text", {"url": "https://e.com/a", "url ": 1, "URL": "https://e.com/b"}) == [
        "url : not a parameter of pdf_to_text; PDF.co names it 'url'",
        "URL: given twice (also as 'url')",
    ]
    assert errors_of("pdf_to_text", ["url"]) == ["params: expected a dict of PDF.co parameters by name"]  # type: ignore[arg-type]


def test_a_refused_value_is_never_quoted() -> None:
    errors = errors_of("remove_password", {"url": "https://e.com/a.pdf", "password": ["hunter2-secret"]})
    assert errors and "hunter2" not in " ".join(errors)


def test_the_payload_is_what_the_typed_task_sends_and_other_names_pass_through_in_order() -> None:
    payload = check_payload(
        get_operation("split"),
        {"url": "https://e.com/a.pdf", "Pages": [1, "3-4"], "inline": True, "password": "pw", "encrypt": False},
    )
    assert payload is not None
    assert list(payload) == ["url", "pages", "inline", "password", "encrypt"]
    assert payload["pages"] == "1,3-4" and payload["inline"] is True and payload["encrypt"] is False
    # Passwords travel as SecretStr: Prefect shows the task's parameters masked; the client reveals them.
    assert isinstance(payload["password"], SecretStr) and payload["password"].get_secret_value() == "pw"
    html = check_payload(
        get_operation("html_to_pdf"),
        {"templateId": 7, "templateData": {"a": 1}, "ORIENTATION": "landscape", "legacyrendition": True},
    )
    assert html == {"templateId": "7", "templateData": '{"a": 1}', "orientation": "Landscape", "legacyrendition": True}
    # Defaults of the typed task are not added (split's "*", the barcode reader's QRCode): PDF.co's apply.
    assert check_payload(get_operation("split"), {"url": "https://e.com/a.pdf"}) == {"url": "https://e.com/a.pdf"}
    assert check_payload(get_operation("split"), None) is None
    # A name PDF.co documents one edit away from a modelled one passes (the reader's barcode `type`).
    reader = check_payload(get_operation("read_barcodes"), {"url": "https://e.com/a", "type": "QRCode"})
    assert reader == {"url": "https://e.com/a", "type": "QRCode"}


# --------------------------------------------------------------------------------------------------
# run_operation against the emulator
# --------------------------------------------------------------------------------------------------


@pytest.fixture
def strict_emulator() -> Iterator[PdfcoEmulator]:
    with PdfcoEmulator(job_duration=0.05, strict=True) as emulator:
        yield emulator


def uploaded(emulator: PdfcoEmulator, pages: int) -> str:
    with httpx.Client(base_url=emulator.base_url, headers={"x-api-key": emulator.api_key}) as api:
        return upload(api, make_sample_pdf(pages))


@pytest.mark.usefixtures("prefect_harness")
@pytest.mark.parametrize(
    ("operation", "params", "problem"),
    [
        ("split", {"url": "report.pdf", "pages": "1"}, "url: not a link PDF.co can fetch"),
        ("pdf_to_text", {"url": "https://e.com/a.pdf", "pagse": "0"}, "pagse: not a parameter of pdf_to_text"),
        ("html_to_pdf", {"html": "<p>x</p>", "paperSize": "A4", "expiration": "soon"}, "expiration: expected"),
    ],
)
def test_run_operation_refuses_before_any_request(
    strict_emulator: PdfcoEmulator, operation: str, params: dict[str, Any], problem: str
) -> None:
    with pytest.raises(InvalidParametersError, match=problem):
        run_operation(strict_emulator.credentials(), operation, params)
    stats = strict_emulator.stats()
    assert stats["requests"] == {} and stats["jobs_submitted"] == 0 and stats["credits_used"] == 0


@pytest.mark.usefixtures("prefect_harness")
def test_run_operation_sends_the_typed_payload_that_pdfco_documents(
    strict_emulator: PdfcoEmulator, tmp_path: Path
) -> None:
    credentials = strict_emulator.credentials()
    source = uploaded(strict_emulator, pages=4)
    # Pages as a list and in another letter case; inline passes through (documented, not modelled): the strict
    # emulator would answer 454 to any undocumented name.
    result = run_operation(
        credentials, "split", {"url": source, "PAGES": [1, "2-3"], "inline": False}, tmp_path, initial_poll_seconds=0.1
    )
    assert [len(PdfReader(file.path).pages) for file in result.files] == [1, 2]
    assert strict_emulator.stats()["undocumented_parameters"] == 0
