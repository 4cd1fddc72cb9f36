"""The catalogue and build_payload, the one model of each operation's parameters; the typed tasks checked against it.

The typed tasks' modules are read as source (``ast``): every payload key they build must be a name PDF.co documents
for their operation, and every argument must reach the payload. One last test imports them (it needs Prefect).
"""

from __future__ import annotations

import ast
import asyncio
import contextlib
import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict, SecretStr

from pdfco_emulator._pdfco_params import ENDPOINTS, LEGACY_PATHS
from prefect_pdfco._exceptions import InvalidParametersError, UnknownOperationError
from prefect_pdfco._operations import OPERATIONS, Operation, OutputKind, build_payload, closest_name
from prefect_pdfco._operations import get_operation as op
from prefect_pdfco._params import ParamKind

PACKAGE = Path(__file__).resolve().parents[2] / "prefect_pdfco"
IN = "https://files.example.com/in.pdf"
SECRET = "hunter2-very-secret"


def errors(operation: str, params: Mapping[str, Any], **kwargs: Any) -> list[str]:
    with pytest.raises(InvalidParametersError) as caught:
        build_payload(operation, params, **kwargs)
    assert "nothing was sent to PDF.co" in str(caught.value)
    return caught.value.errors


# --------------------------------------------------------------------------------------------------------------
# The catalogue
# --------------------------------------------------------------------------------------------------------------


def test_every_operation_takes_what_pdfcos_table_documents_and_nothing_the_strict_emulator_refuses() -> None:
    # The emulator's strict mode refuses what PDF.co does not document (its table, with the names PDF.co's own
    # clients send): build_payload takes every documented name but async and callback (ours), and nothing more.
    assert len(OPERATIONS) == 56
    for operation in OPERATIONS.values():
        table = ENDPOINTS[LEGACY_PATHS.get(operation.endpoint, operation.endpoint)]
        assert set(table.params) - {"async", "callback"} <= set(operation.params), operation.name
        assert set(operation.params) <= {*table.params, *table.known_in_use}, operation.name
        assert operation.async_only == (table.mode == "A-only"), operation.name
        for group in operation.requires:
            assert set(group) <= set(operation.params), (operation.name, group)


@pytest.mark.parametrize(
    ("wanted", "name"),
    [
        ("merge", "merge"),
        ("MERGE", "merge"),
        ("html-to-pdf", "html_to_pdf"),
        (" pdf to text ", "pdf_to_text"),
        ("merge_pdfs", "merge"),
        ("split_pdf", "split"),
        ("rotate-pages", "rotate"),
        ("compress_pdf", "compress"),
        ("/v1/pdf/merge", "merge"),
        ("pdf/merge", "merge"),
        ("v1/pdf/merge/", "merge"),
        ("/V2/PDF/COMPRESS?x=1", "compress"),
        ("/v1/xlsx/convert/to/pdf", "excel_to_pdf"),
        ("/ai-invoice-parser", "parse_invoice"),
        ("/v1/pdf/convert/to/json", "pdf_to_json_legacy"),
    ],
)
def test_get_operation_finds_names_task_names_and_paths(wanted: str, name: str) -> None:
    assert op(wanted).name == name


def test_get_operation_refuses_the_unknown_with_close_names() -> None:
    with pytest.raises(UnknownOperationError) as caught:
        op("merge_pdf")
    assert isinstance(caught.value, KeyError) and "merge" in caught.value.suggestions
    assert "merge" in str(caught.value) and str(caught.value).startswith("Unknown PDF.co operation")
    with pytest.raises(UnknownOperationError) as caught:
        op("/v1/pdf/mrege")
    assert caught.value.suggestions[0] == "/v1/pdf/merge"
    for wanted in ("https://api.pdf.co/v1/pdf/merge", "", "/v1/job/check"):
        with pytest.raises(UnknownOperationError):
            op(wanted)
    merge = op("merge")
    assert op(merge) is merge and isinstance(merge, Operation)


def test_output_kinds_and_poll_policies_follow_the_kind_of_work() -> None:
    assert op("split").output is OutputKind.FILES and op("pdf_to_png").output is OutputKind.FILES
    assert op("send_email").output is OutputKind.NONE and not OutputKind.NONE.is_text
    assert {kind for kind in OutputKind if kind.is_text} == {
        OutputKind(k) for k in ("text", "json", "csv", "xml", "html")
    }
    assert str(OutputKind.CSV) == "csv"
    assert op("make_searchable").poll_policy.initial_seconds == op("pdf_to_text").poll_policy.initial_seconds == 10
    assert op("html_to_pdf").poll_policy.initial_seconds == 3 and op("parse_invoice").poll_policy.initial_seconds == 5
    assert op("merge").poll is None and op("merge").poll_policy.initial_seconds == 2
    assert [name for name, operation in OPERATIONS.items() if operation.async_only] == ["parse_invoice"]


# --------------------------------------------------------------------------------------------------------------
# build_payload: names
# --------------------------------------------------------------------------------------------------------------


def sample(kind: ParamKind) -> tuple[object, object]:
    """A value of ``kind`` as a caller might pass it, and as it is sent."""
    if kind.name.startswith("one of "):
        first = kind.name.removeprefix("one of ").split(", ")[0]
        return (int(first) if first.isdigit() else first.swapcase()), first
    if kind.name.startswith("objects with "):
        item = {key: 1 if key in ("x", "y") else "v" for key in kind.name.removeprefix("objects with ").split(", ")}
        return [{**item, "pages": [0, "2-"]}], [{**item, "pages": "0,2-"}]
    samples: dict[str, tuple[object, object]] = {
        "text": ("x", "x"),
        "non-empty text": ("x", "x"),
        "True or False": (False, False),
        "a link": (f"cache:{IN}", f"cache:{IN}"),
        "links, sent comma-separated": ([IN, "filetoken://abc"], f"{IN},filetoken://abc"),
        "0-based pages": ([0, " 2 - 4"], "0,2-4"),
        "1-based pages": ("1, 3-", "1,3-"),
        "1-based pages or '*'": ("*", "*"),
        "engine options (a mapping or JSON text)": ({"CheckPermissions": False}, '{"CheckPermissions": false}'),
        "JSON (a mapping or list, or its text)": ([{"a": 1}], '[{"a": 1}]'),
        "a mapping that JSON can hold": ({"images": {}}, {"images": {}}),
        "x, y, width, height": ((10, 20.5, 30, 40), "10, 20.5, 30, 40"),
        "a secret": (SECRET, SecretStr(SECRET)),
        "names, sent comma-separated": (["QRCode", " Code128 "], "QRCode,Code128"),
        "a list of strings": (["a", "b"], ["a", "b"]),
        "a template id": (7, "7"),
        "90, 180, 270 or their negatives": (-90, -90),
    }
    if kind.name in samples:
        return samples[kind.name]
    return {"OCR language codes such as 'eng' or 'eng+deu'": ("eng+deu", "eng+deu")}.get(kind.name, (5, 5))


def minimal(operation: Operation, without: str) -> dict[str, object]:
    """What ``operation`` requires, leaving out ``without`` and the names it is exclusive with."""
    params: dict[str, object] = {}
    for group in operation.requires:
        if without not in group:
            params[group[0]] = sample(operation.params[group[0]])[0]
    return params


@pytest.mark.parametrize("name", sorted(OPERATIONS))
def test_every_documented_name_passes_and_is_sent_converted(name: str) -> None:
    operation = OPERATIONS[name]
    for parameter, kind in operation.params.items():
        given, sent = sample(kind)
        payload = build_payload(operation, {**minimal(operation, parameter), parameter: given})
        assert payload[parameter] == sent, (name, parameter)
        if isinstance(sent, SecretStr):
            assert isinstance(payload[parameter], SecretStr)  # revealed by the client, on the wire only


@pytest.mark.parametrize(
    ("operation", "name", "meant"),
    [
        ("html_to_pdf", "paper_size", "paperSize"),
        ("html_to_pdf", "papersize", "paperSize"),
        ("html_to_pdf", "PaperSize", "paperSize"),
        ("html_to_pdf", "print_backgroud", "printBackground"),
        ("html_to_pdf", "do_not_wait_full_load", "DoNotWaitFullLoad"),
        ("html_to_pdf", "template_data", "templateData"),
        ("split", "pagse", "pages"),
        ("split", "URL", "url"),
        ("split", "url ", "url"),
        ("merge", "urls", "url"),
        ("pdf_to_png", "expiraton", "expiration"),
        ("url_to_pdf", "http_password", "httppassword"),
        ("url_to_pdf", "httpPassword", "httppassword"),
        ("read_barcodes", "barcode_types", "types"),
        ("generate_barcode", "barcode_type", "type"),
        ("parse_invoice", "custom_fields", "customField"),
        ("parse_invoice", "customfield", "customField"),
        ("find_text", "regex", "regexSearch"),
        ("find_text", "search_string", "searchString"),
        ("replace_text", "search", "searchString"),
        ("add_password", "EncryptionAlgorithm", "encryptionAlgorithm"),  # PDF.co's MCP server capitalises it
        ("add_password", "owner_password", "ownerPassword"),
        ("pdf_to_text_simple", "lineEnding", "lineending"),
    ],
)
def test_a_misspelt_or_python_style_name_is_refused_naming_pdfcos_spelling(
    operation: str, name: str, meant: str
) -> None:
    params = {**minimal(op(operation), meant), name: "x"}
    assert f"{name}: not a parameter of {op(operation).name}; did you mean {meant!r}?" in errors(operation, params)


def test_a_name_nothing_resembles_is_refused_pointing_at_the_documented_ones() -> None:
    (line,) = errors("split", {"url": IN, "bogusParam": 1})
    assert (
        line
        == "bogusParam: not a parameter PDF.co documents for /v1/pdf/split (get_operation('split').params lists them)"
    )


def test_async_and_callback_are_the_librarys() -> None:
    lines = errors("merge", {"url": IN, "async": False, "Callback": "https://hooks.example.com/x", "ASYNC": True})
    assert [line.split(":")[0] for line in lines] == ["async", "Callback", "ASYNC"]
    assert "background job" in lines[0] and "callback_url" in lines[1]


def test_one_error_lists_every_problem_under_the_callers_name() -> None:
    with pytest.raises(InvalidParametersError) as caught:
        build_payload(
            op("merge_pdfs"),
            {"url": "report.pdf", "pages": "1", "expiration": 0, "name": "", "profiles": 3},
            caller="merge_pdfs",
        )
    assert caught.value.operation == "merge_pdfs" and isinstance(caught.value, ValueError)
    assert [line.split(":")[0] for line in caught.value.errors] == ["url", "pages", "expiration", "name", "profiles"]


def test_none_is_left_out_the_order_is_kept_and_nothing_else_is_added() -> None:
    payload = build_payload(
        "split", {"name": "p.pdf", "url": IN, "password": None, "pages": [1, "3-4"], "inline": None}
    )
    assert payload == {"name": "p.pdf", "url": IN, "pages": "1,3-4"} and list(payload) == ["name", "url", "pages"]
    assert build_payload("split", {"url": IN}) == {"url": IN}  # no default of a typed task ("*") added
    assert "async" not in build_payload("parse_invoice", {"url": IN})


def test_required_parameters_and_exclusive_pairs() -> None:
    assert errors("merge", {"name": "m.pdf"}) == ["url: required"]
    assert errors("merge", None) == ["url: required"]  # type: ignore[arg-type]
    assert errors("html_to_pdf", {"name": "x.pdf", "html": None}) == ["pass one of html or templateId"]
    assert errors("html_to_pdf", {"html": "<p>x</p>", "templateId": 3}) == [
        "pass only one of html or templateId, not both"
    ]
    assert errors("replace_text", {"url": IN}) == ["pass one of searchString or searchStrings"]
    assert errors("rotate", {"url": IN, "angle": None}) == ["angle: required"]
    # A required parameter with a bad value is reported once, for its value.
    assert errors("merge", {"url": "/tmp/a.pdf"})[0].startswith("url: not a link PDF.co can fetch")
    assert len(errors("merge", {"url": "/tmp/a.pdf"})) == 1
    assert build_payload("send_email", {}) == {}


def test_params_must_be_a_mapping_of_names() -> None:
    assert errors("split", ["url"]) == ["params: expected a dict of PDF.co parameters by name"]  # type: ignore[arg-type]
    assert errors("split", {1: IN}) == ["params: expected a dict of PDF.co parameters by name"]  # type: ignore[dict-item]
    with pytest.raises(UnknownOperationError):
        build_payload("no_such_operation", {"url": IN})


# --------------------------------------------------------------------------------------------------------------
# build_payload: values
# --------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "link",
    ["report.pdf", "/home/me/report.pdf", "C:/b.pdf", "C:\\b.pdf", "file:///etc/passwd", "ftp://e.com/a.pdf",
     "https://", "https:///a.pdf", "http://0177.0.0.1/a.pdf", "http://[::1/a.pdf", "https://e.com/a\n.pdf", "", 42],
)  # fmt: skip
def test_local_paths_and_links_pdfco_cannot_fetch_are_refused(link: object) -> None:
    (line,) = errors("split", {"url": link})
    assert line.startswith("url: ") and ("upload_file" in line or "expected a link" in line)


def test_links_pdfco_can_fetch_pass_and_lists_are_joined() -> None:
    for link in (
        IN,
        "http://e.com/a",
        "filetoken://abc",
        "cache:https://e.com/a.pdf",
        "CACHE:filetoken://x",
        f" {IN} ",
    ):
        assert build_payload("split", {"url": link})["url"] == link.strip()
    for operation in ("merge", "merge_any", "image_to_pdf"):
        assert build_payload(operation, {"url": (IN, "filetoken://b")})["url"] == f"{IN},filetoken://b"
        assert build_payload(operation, {"url": f"{IN},filetoken://b"})["url"] == f"{IN},filetoken://b"
        assert errors(operation, {"url": [IN, "C:/b.pdf"]})[0].startswith("url: not a link")
        assert "percent-encode" in errors(operation, {"url": [IN, "https://e.com/a,b.pdf"]})[0]
        assert errors(operation, {"url": []})[0].startswith("url: expected a non-empty list of links")
    assert errors("split", {"url": [IN]})[0] == "url: expected a link (str), got list"  # one input: one link


@pytest.mark.parametrize(
    ("operation", "pages", "problem"),
    [
        ("rotate", "3-1", "'3-1' ends before it starts"),
        ("rotate", "0,,2", "'' is not a page range"),
        ("rotate", "one", "a part is not a page range"),
        ("rotate", "1-2-3", "'1-2-3' is not a page range"),
        ("rotate", "*", "'*' is split's alone"),
        ("delete_pages", "*", "'*' is split's alone"),
        ("delete_pages", "0-2", "pages count from 1 here"),
        ("split", [0], "pages count from 1 here"),
        ("split", "", "'' is not a page range"),
        ("rotate", [], "'' is not a page range"),
        ("rotate", True, "got bool"),
        ("rotate", [1.5], "got list"),
    ],
)
def test_bad_page_ranges_are_refused(operation: str, pages: object, problem: str) -> None:
    params = {"url": IN, "angle": 90, "pages": pages} if operation == "rotate" else {"url": IN, "pages": pages}
    (line,) = errors(operation, params)
    assert line.startswith("pages: ") and problem in line


def test_page_ranges_are_sent_compact() -> None:
    assert build_payload("rotate", {"url": IN, "angle": -90, "pages": " 0, 2-4,7-, !0 "})["pages"] == "0,2-4,7-,!0"
    assert build_payload("rotate", {"url": IN, "angle": 270, "pages": 3})["pages"] == "3"
    assert build_payload("rotate", {"url": IN, "angle": 180, "pages": "!2-!0"})["pages"] == "!2-!0"
    assert build_payload("delete_pages", {"url": IN, "pages": [1, "3-4", "!1"]})["pages"] == "1,3-4,!1"
    assert build_payload("split", {"url": IN, "pages": "1-2,*"})["pages"] == "1-2,*"


@pytest.mark.parametrize(
    ("params", "name"),
    [
        ({"expiration": 0}, "expiration"),
        ({"expiration": 1441}, "expiration"),
        ({"expiration": True}, "expiration"),
        ({"expiration": 1.5}, "expiration"),
        ({"expiration": "5"}, "expiration"),
        ({"expiration": 10**400}, "expiration"),
        ({"inline": "true"}, "inline"),
        ({"inline": 1}, "inline"),
        ({"lang": "English"}, "lang"),
        ({"lang": 3}, "lang"),
        ({"rect": "1,2,3"}, "rect"),
        ({"rect": (1, 2, 3, -4)}, "rect"),
        ({"rect": (1, 2, 3, math.nan)}, "rect"),
        ({"rect": (1, 2, 3, 10**400)}, "rect"),
        ({"rect": {"x": 1}}, "rect"),
        ({"profiles": ""}, "profiles"),
        ({"profiles": {"key": object()}}, "profiles"),
        ({"name": ""}, "name"),
        ({"name": 3}, "name"),
        ({"lineGrouping": 4}, "lineGrouping"),
        ({"httpusername": 3}, "httpusername"),
    ],
)
def test_bad_values_are_refused_by_name(params: dict[str, object], name: str) -> None:
    (line,) = errors("pdf_to_csv", {"url": IN, **params})
    assert line.startswith(f"{name}: expected") or line.startswith(f"{name}: cannot be sent as JSON"), line


def test_numbers_and_integers_have_bounds_and_never_overflow() -> None:
    for x in (math.nan, math.inf, -1, 10**400, "1", True):
        assert errors("add_to_pdf", {"url": IN, "x": x})[0].startswith("x: expected")
    assert build_payload("add_to_pdf", {"url": IN, "x": 0, "size": 12.5}) == {"url": IN, "x": 0, "size": 12.5}
    for value in (-1, 2**31, 1.0, False):
        assert errors("excel_to_csv", {"url": IN, "worksheetIndex": value})[0].startswith("worksheetIndex: expected")
    for angle in (0, 45, 360, -360, 90.0, "90"):
        assert errors("rotate", {"url": IN, "angle": angle})[0].startswith("angle: expected 90, 180, 270")
    assert build_payload("pdf_info", {"url": IN, "expiration": 1440})["expiration"] == 1440


def test_choices_are_sent_as_pdfco_spells_them() -> None:
    payload = build_payload("url_to_pdf", {"url": IN, "orientation": "landscape", "mediaType": "SCREEN"})
    assert payload == {"url": IN, "orientation": "Landscape", "mediaType": "screen"}
    assert build_payload("pdf_to_csv", {"url": IN, "lineGrouping": 2})["lineGrouping"] == "2"
    assert (
        build_payload("parse_document", {"url": IN, "template": "{}", "outputFormat": "csv"})["outputFormat"] == "CSV"
    )
    assert build_payload("add_password", {"url": IN, "encryptionAlgorithm": "aes_256BIT"})["encryptionAlgorithm"] == (
        "AES_256bit"
    )
    (line,) = errors("url_to_pdf", {"url": IN, "orientation": "sideways"})
    assert line == "orientation: expected one of Portrait, Landscape"


def test_json_values_are_sent_as_json_text() -> None:
    payload = build_payload("html_to_pdf", {"templateId": 42, "templateData": {"total": "9.99", "items": [1]}})
    assert payload == {"templateId": "42", "templateData": '{"total": "9.99", "items": [1]}'}
    assert build_payload("html_to_pdf", {"templateId": "7", "templateData": "a,b\n1,2"})["templateData"] == "a,b\n1,2"
    assert (
        build_payload("merge", {"url": IN, "profiles": " {'TrimSpaces': true} "})["profiles"] == "{'TrimSpaces': true}"
    )
    for bad in ({"a": math.nan}, {"a": {1, 2}}, object()):
        assert errors("html_to_pdf", {"templateId": 1, "templateData": bad})[0].startswith(
            "templateData: cannot be sent"
        )
    assert errors("html_to_pdf", {"templateId": True})[0].startswith("templateId: expected")
    assert (
        errors("compress", {"url": IN, "config": "{}"})[0] == "config: expected a mapping that JSON can hold, got str"
    )


def test_secrets_stay_secret_str_and_never_appear_in_an_error() -> None:
    kept = SecretStr(SECRET)
    payload = build_payload("add_password", {"url": IN, "ownerPassword": kept, "userPassword": SECRET})
    assert payload["ownerPassword"] is kept and payload["userPassword"] == kept
    for params in (
        {"url": IN, "password": [SECRET]},
        {"url": IN, "password": {SECRET: SECRET}},
        {"url": IN, "httppassword": 3, "profiles": {"DataEncryptionKey": SECRET, "bad": object()}},
        {"url": IN, f"x{SECRET}": SECRET, "pages": SECRET},
        {"url": SECRET, "password": SECRET, "name": ""},
    ):
        with pytest.raises(InvalidParametersError) as caught:
            build_payload("remove_password" if "pages" not in params else "split", params)
        assert SECRET not in str(caught.value).replace(f"x{SECRET}", "") and SECRET not in repr(caught.value.errors[-1])


class _Stamp(BaseModel):
    model_config = ConfigDict(populate_by_name=True, alias_generator=lambda name: name.replace("_n", "N"))

    text: str
    x: float
    y: float
    font_name: str | None = None


def test_items_are_models_or_mappings_with_pdfcos_keys() -> None:
    items = [_Stamp(text="Paid", x=10, y=20, font_name="Arial"), {"text": "t", "x": 1, "y": 2, "pages": [0, "2-"]}]
    payload = build_payload("add_to_pdf", {"url": IN, "annotations": items, "images": [], "fields": None})
    assert payload == {
        "url": IN,
        "annotations": [
            {"text": "Paid", "x": 10.0, "y": 20.0, "fontName": "Arial"},
            {"text": "t", "x": 1, "y": 2, "pages": "0,2-"},
        ],
    }
    assert errors("add_to_pdf", {"url": IN, "annotations": [{"text": "t", "x": 1}]}) == [
        "annotations: [0]: expected an object with text, x, y"
    ]
    assert errors("add_to_pdf", {"url": IN, "fields": [{"fieldName": "a", "text": "b", "pages": "2-1"}]}) == [
        "fields: '2-1' ends before it starts"
    ]
    for bad in ("text", {"text": "t", "x": 1, "y": 2}, [{"url": IN, "x": 1, "y": object()}]):
        assert errors("add_to_pdf", {"url": IN, "images": bad})[0].startswith("images: ")


def test_strings_and_names() -> None:
    payload = build_payload("replace_text", {"url": IN, "searchStrings": ("a", "b"), "replaceStrings": ["x", "y"]})
    assert payload == {"url": IN, "searchStrings": ("a", "b"), "replaceStrings": ["x", "y"]}
    assert errors("replace_text", {"url": IN, "searchStrings": "ab"})[0].startswith("searchStrings: expected a list")
    assert errors("replace_text", {"url": IN, "searchString": " "}) == ["searchString: expected non-empty text"]
    assert build_payload("read_barcodes", {"url": IN, "types": "QRCode, Code128"})["types"] == "QRCode,Code128"
    for bad in ("", " , ", [], [1]):
        assert errors("read_barcodes", {"url": IN, "types": bad})[0].startswith("types: expected a non-empty list")


WEIRD: list[object] = [None, True, 0, -1, 10**400, math.nan, math.inf, "", " ", "x", "\x00", b"bytes", [], [None], {}]
WEIRD += [{"a": object()}, object(), SecretStr(""), ("a",), 1.5, "1-", "*", "cache:", "filetoken://", "https://"]


def test_no_value_escapes_as_anything_but_invalid_parameters() -> None:
    # Issue #17.12: OverflowError, httpx.InvalidURL and the like never leave build_payload.
    for operation in OPERATIONS.values():
        for name in operation.params:
            for value in WEIRD:
                with contextlib.suppress(InvalidParametersError):
                    build_payload(operation, {name: value})


def test_closest_name_for_arguments_and_parameters() -> None:
    assert closest_name("pape_size", ["paper_size", "pages", "name"]) == "paper_size"
    assert closest_name("PAPER-SIZE", ["paperSize"]) == "paperSize"
    assert closest_name("zzz", ["paper_size", "pages"]) is None
    assert closest_name("urls", ["url", "name"]) == "url"


# --------------------------------------------------------------------------------------------------------------
# The typed tasks, read as source
# --------------------------------------------------------------------------------------------------------------

TYPED = {
    "convert": ["document_to_pdf", "generate_barcode", "html_to_pdf", "image_to_pdf", "pdf_to_csv", "pdf_to_html",
                "pdf_to_json", "pdf_to_text", "url_to_pdf"],
    "edit": ["add_to_pdf", "compress_pdf", "delete_pages", "merge_pdfs", "replace_text", "rotate_pages", "split_pdf"],
    "extract": ["add_password", "find_text", "make_searchable", "parse_document", "parse_invoice", "pdf_info",
                "read_barcodes", "remove_password"],
}  # fmt: skip
#: Arguments sent under a name other than their camelCase (replace_text's lists go as searchStrings/replaceStrings).
SENT_AS = {"urls": "url", "barcode_types": "types", "barcode_type": "type", "custom_fields": "customField",
           "do_not_wait_full_load": "DoNotWaitFullLoad", ("find_text", "regex"): "regexSearch",
           ("replace_text", "search"): "searchString", ("replace_text", "replace"): "replaceString"}  # fmt: skip
LOCAL = ("credentials", "extra", "submit_key", "resend_if_unknown")


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def typed_tasks() -> dict[str, ast.AsyncFunctionDef]:
    tasks: dict[str, ast.AsyncFunctionDef] = {}
    for module in TYPED:
        tree = ast.parse((PACKAGE / f"{module}.py").read_text())
        for node in tree.body:
            if isinstance(node, ast.AsyncFunctionDef) and not node.name.startswith("_"):
                tasks[node.name] = node
    return tasks


TASKS = typed_tasks()


def test_the_24_typed_tasks_of_today_are_there_one_by_one() -> None:
    assert sorted(TASKS) == sorted(name for names in TYPED.values() for name in names)
    assert len(TASKS) == 24
    for module, names in TYPED.items():
        exported = ast.parse((PACKAGE / f"{module}.py").read_text())
        declared = [
            ast.literal_eval(node.value)
            for node in exported.body
            if isinstance(node, (ast.Assign, ast.AugAssign)) and "__all__" in ast.unparse(node).split("=")[0]
        ]
        assert sorted(name for chunk in declared for name in chunk if name[0].islower()) == names


def submit_call(task: ast.AsyncFunctionDef) -> ast.Call:
    (call,) = [
        node for node in ast.walk(task) if isinstance(node, ast.Call) and ast.unparse(node.func) == "submit_operation"
    ]
    return call


@pytest.mark.parametrize("name", sorted(TASKS))
def test_a_typed_task_is_written_out_and_submits_its_operation(name: str) -> None:
    task = TASKS[name]
    (decorator,) = task.decorator_list
    assert ast.unparse(decorator) == f"pdfco_task(submits=True, task_run_name={name.replace('_', '-')!r})"
    call = submit_call(task)
    assert [ast.unparse(arg) for arg in call.args] == [
        "credentials", repr(op(name).name), "payload", "extra", "submit_key", "resend_if_unknown"
    ]  # fmt: skip
    assert call.keywords == []
    arguments = task.args
    assert arguments.args[0].arg == "credentials" and ast.unparse(arguments.args[0].annotation) == "PdfcoCredentials"  # type: ignore[arg-type]
    assert [a.arg for a in arguments.kwonlyargs[-3:]] == ["extra", "submit_key", "resend_if_unknown"]
    assert [ast.unparse(d) for d in arguments.kw_defaults[-3:]] == ["None", "None", "False"]  # type: ignore[arg-type]
    assert ast.unparse(task.returns) == "JobSubmission"  # type: ignore[arg-type]
    assert all(a.annotation is not None for a in [*arguments.args, *arguments.kwonlyargs])
    assert arguments.vararg is None and arguments.kwarg is None
    assert "locals" not in {node.id for node in ast.walk(task) if isinstance(node, ast.Name)}


@pytest.mark.parametrize("name", sorted(TASKS))
def test_every_argument_reaches_the_payload_under_a_name_pdfco_documents(name: str) -> None:
    task, operation = TASKS[name], op(name)
    parameters = [a.arg for a in [*task.args.args, *task.args.kwonlyargs] if a.arg not in LOCAL]
    sent: dict[str, str] = {}
    for node in ast.walk(task):
        if isinstance(node, ast.Dict):
            for entry, value in zip(node.keys, node.values, strict=True):
                if entry is None:  # **pairs: its own dict literals are checked too
                    continue
                assert isinstance(entry, ast.Constant) and entry.value in operation.params, (name, ast.unparse(node))
                if isinstance(value, ast.Name):
                    sent[value.id] = str(entry.value)
    assert set(parameters) == {argument for argument in sent if argument in parameters}, name
    assert set(sent) - set(parameters) <= {"searches", "replaces"}, name  # replace_text's lists of pairs
    for argument, key in sent.items():
        if argument not in parameters:
            continue
        assert key == SENT_AS.get((name, argument), SENT_AS.get(argument, camel(argument))), (name, argument)


@pytest.mark.parametrize("name", sorted(TASKS))
def test_literal_choices_of_a_typed_task_are_what_build_payload_accepts(name: str) -> None:
    task, operation = TASKS[name], op(name)
    for argument in [*task.args.args, *task.args.kwonlyargs]:
        annotation = ast.unparse(argument.annotation)  # type: ignore[arg-type]
        for literal in re.findall(r"Literal\[([^\]]*)\]", annotation):
            key = SENT_AS.get((name, argument.arg), SENT_AS.get(argument.arg, camel(argument.arg)))
            for value in ast.literal_eval(f"[{literal}]"):
                params = {**minimal(operation, key), key: value}
                assert build_payload(operation, params)[key] in (value, str(value)), (name, argument.arg, value)


@pytest.mark.parametrize("name", sorted(TASKS))
def test_the_docstring_documents_every_argument_and_shows_a_flow(name: str) -> None:
    doc = ast.get_docstring(TASKS[name]) or ""
    args = doc[doc.index("\nArgs:\n") : doc.index("\n\nReturns:\n")]
    documented = re.findall(r"^    (\w+): ", args, re.MULTILINE)
    task = TASKS[name]
    # The arguments every task shares (LOCAL), and a plain name or password, are documented in the module docstring.
    arguments = [a.arg for a in [*task.args.args, *task.args.kwonlyargs]]
    assert documented == [a for a in arguments if a in documented or a not in (*LOCAL, "name", "password")]
    module = next(module for module, names in TYPED.items() if name in names)
    module_doc = ast.get_docstring(ast.parse((PACKAGE / f"{module}.py").read_text())) or ""
    for argument in set(arguments) - set(documented) - {"credentials"}:
        assert f"``{argument}``" in module_doc, (name, argument)
    assert "PdfcoCredentials" in module_doc
    example = doc[doc.index("\n\nExample:\n") :]
    assert "@flow" in example and (f"{name}(" in example or f"{name}.aio(" in example)
    assert len(example.splitlines()) <= 10 and op(name).endpoint in doc


# --------------------------------------------------------------------------------------------------------------
# The typed tasks, imported (this needs Prefect: the Prefect layer builds them)
# --------------------------------------------------------------------------------------------------------------


def test_the_imported_tasks_match_their_source_and_refuse_bad_combinations_first() -> None:
    import inspect

    from prefect_pdfco import convert, edit, extract

    modules = {"convert": convert, "edit": edit, "extract": extract}
    nobody: Any = None  # the checks run before the credentials are touched
    for module_name, names in TYPED.items():
        for name in names:
            task = getattr(modules[module_name], name)
            assert task.name == name and callable(task.task_run_name)  # "<name>-<document>", see test_run_names
            assert list(inspect.signature(task.fn).parameters) == [
                a.arg for a in [*TASKS[name].args.args, *TASKS[name].args.kwonlyargs]
            ]
    # Cross-argument rules raise in the body before anything else (no credentials, no Prefect run needed).
    refusals = [
        (convert.html_to_pdf.fn(nobody), "pass exactly one of html or template_id"),
        (convert.html_to_pdf.fn(nobody, "<p>", template_id=1), "pass exactly one of html or template_id"),
        (convert.html_to_pdf.fn(nobody, "<p>", template_data={}), "template_data goes with template_id"),
        (edit.add_to_pdf.fn(nobody, IN), "nothing to add"),
        (edit.replace_text.fn(nobody, IN, ["a", "b"], ["x"]), "1 replacement(s) for 2 search string(s)"),
        (edit.replace_text.fn(nobody, IN, ["a", ""], "x"), "none empty"),
        (extract.parse_document.fn(nobody, IN), "pass exactly one of template_id or template"),
        (extract.add_password.fn(nobody, IN, user_password=SecretStr("")), "pass owner_password and/or user_password"),
        (extract.remove_password.fn(nobody, IN, ""), "password: the document's owner or user password is required"),
    ]
    for coroutine, problem in refusals:
        with pytest.raises(InvalidParametersError, match=re.escape(problem)):
            asyncio.run(coroutine)
    item = edit.TextAnnotation(text="Paid", x=1, y=2, font_bold=True, fontStrikeout=True)
    assert build_payload("add_to_pdf", {"url": IN, "annotations": [item]})["annotations"] == [
        {"text": "Paid", "x": 1.0, "y": 2.0, "fontBold": True, "fontStrikeout": True}
    ]
    field = edit.FormFieldValue(fieldName="name", text="Jane", pages=[0])
    assert build_payload("add_to_pdf", {"url": IN, "fields": [field]})["fields"] == [
        {"fieldName": "name", "text": "Jane", "pages": "0"}
    ]
