"""One ``curl`` command per endpoint the emulator serves, as PDF.co documents the request (``pdfco-api.md``):
JSON bodies with ``-d`` as the reference pages show them, ``--form`` as PDF.co's cURL samples send them, the key
in the ``x-api-key`` header. Each answer is checked for what it says, not only its status.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import shlex
import shutil
import subprocess
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from PIL import Image

from pdfco_emulator import (
    PdfcoEmulator,
    make_sample_form_pdf,
    make_sample_invoice_pdf,
    make_sample_pdf,
    make_sample_table_pdf,
)
from pdfco_emulator._processing import EMULATED_ENDPOINTS
from tests.emulator._support import fetched_texts, texts, upload

pytestmark = pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
Check = Callable[[dict[str, Any]], object]


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (60, 30), (200, 0, 0)).save(buffer, "PNG")
    return buffer.getvalue()


@pytest.fixture(scope="module")
def emu() -> Iterator[PdfcoEmulator]:
    with PdfcoEmulator(api_key="curl-key", job_duration=0) as emulator:
        yield emulator


@pytest.fixture(scope="module")
def values(emu: PdfcoEmulator) -> dict[str, str]:
    """What the commands fill in: the API root, the key, and links to uploaded inputs."""
    with httpx.Client(base_url=emu.base_url, headers={"x-api-key": emu.api_key}) as api:
        inputs = {
            "pdf": upload(api, make_sample_pdf(3)),
            "invoice": upload(api, make_sample_invoice_pdf()),
            "table": upload(api, make_sample_table_pdf()),
            "form": upload(api, make_sample_form_pdf()),
            "page": upload(api, b"<html><body><h1>A web page</h1></body></html>", "page.html"),
            "csv": upload(api, b"Item,Qty\nWidget,2\n", "items.csv"),
            "text": upload(api, b"A text document", "notes.txt"),
            "png": upload(api, _png(), "red.png"),
            "doomed": upload(api, b"to be deleted", "doomed.txt"),
        }
        locked = api.post(
            "/v1/pdf/security/add", json={"url": inputs["pdf"], "ownerPassword": "o", "userPassword": "u"}
        )
        inputs["locked"] = locked.json()["url"]
    return {"base": emu.base_url, "key": emu.api_key, **inputs}


def curl(command: str, values: dict[str, str]) -> tuple[int, str]:
    """Runs one command line (placeholders filled in); returns the HTTP status and the body."""
    argv = [*shlex.split(command.format(**values)), "-sS", "-w", "\n%{http_code}"]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    body, _, status = done.stdout.rpartition("\n")
    return int(status), body


def _pdf_text(url: str) -> str:
    return "\n".join(fetched_texts(url))


def _json_of(url: str) -> Any:
    return httpx.get(url).json()


J = '-H "Content-Type: application/json"'
K = '-H "x-api-key: {key}"'
#: PATH: (the command, what its JSON answer must show).
COMMANDS: dict[str, tuple[str, Check]] = {
    "/v1/account/credit/balance": (f"curl {{base}}/v1/account/credit/balance {K}", lambda b: b["remainingCredits"]),
    "/v1/file/upload/get-presigned-url": (
        f'curl "{{base}}/v1/file/upload/get-presigned-url?name=a.pdf&contenttype=application/octet-stream" {K}',
        lambda b: "X-Amz-Expires=900" in b["presignedUrl"] and b["name"] == "a.pdf",
    ),
    "/v1/file/upload/base64": (
        f"curl -X POST {{base}}/v1/file/upload/base64 {K} {J} -d "
        f'\'{{{{"file": "{base64.b64encode(b"hello").decode()}", "name": "hello.txt"}}}}\'',
        lambda b: httpx.get(b["url"]).text == "hello",
    ),
    "/v1/file/upload": (
        f'curl -X POST {{base}}/v1/file/upload {K} --form "file=@{{upload_path}}"',
        lambda b: b["status"] == 200 and httpx.get(b["url"]).content.startswith(b"%PDF"),
    ),
    "/v1/file/upload/url": (
        f'curl --get {{base}}/v1/file/upload/url {K} --data-urlencode "url={{page}}" --data-urlencode "name=copy.html"',
        lambda b: "A web page" in httpx.get(b["url"]).text,
    ),
    "/v1/file/hash": (
        f'curl -X POST {{base}}/v1/file/hash {K} {J} -d \'{{{{"url": "{{text}}"}}}}\'',
        lambda b: b["hash"] == hashlib.md5(b"A text document").hexdigest(),
    ),
    "/v1/file/delete": (
        f'curl -X POST {{base}}/v1/file/delete {K} {J} -d \'{{{{"url": "{{doomed}}"}}}}\'',
        lambda b: b["error"] is False and httpx.get(b["_deleted"]).status_code == 404,
    ),
    "/v1/job/check": (
        f'curl -X POST {{base}}/v1/job/check {K} {J} -d \'{{{{"jobid": "{{job}}"}}}}\'',
        lambda b: b["status"] == "success" and b["pageCount"] == 3,
    ),
    "/v1/pdf/merge": (
        f'curl -X POST {{base}}/v1/pdf/merge {K} {J} -d \'{{{{"url": "{{pdf}},{{pdf}}", "name": "m.pdf"}}}}\'',
        lambda b: b["pageCount"] == 6 and _pdf_text(b["url"]).count("Page 1") == 2,
    ),
    "/v1/pdf/merge2": (
        f'curl -X POST {{base}}/v1/pdf/merge2 {K} --form "url={{pdf}},{{text}},{{png}}"',
        lambda b: b["pageCount"] == 5 and "A text document" in _pdf_text(b["url"]),
    ),
    "/v1/pdf/split": (
        f'curl -X POST {{base}}/v1/pdf/split {K} {J} -d \'{{{{"url": "{{pdf}}", "pages": "1-2,3"}}}}\'',
        lambda b: [fetched_texts(url) for url in b["urls"]] == [["Page 1", "Page 2"], ["Page 3"]],
    ),
    "/v1/pdf/edit/delete-pages": (
        f'curl -X POST {{base}}/v1/pdf/edit/delete-pages {K} --form "url={{pdf}}" --form "pages=1-2"',
        lambda b: fetched_texts(b["url"]) == ["Page 3"],
    ),
    "/v1/pdf/edit/rotate": (
        f'curl -X POST {{base}}/v1/pdf/edit/rotate {K} {J} -d \'{{{{"url": "{{pdf}}", "angle": 90}}}}\'',
        lambda b: b["pageCount"] == 3,
    ),
    "/v1/pdf/edit/add": (
        f'curl -X POST {{base}}/v1/pdf/edit/add {K} {J} -d \'{{{{"url": "{{pdf}}", "annotations": '
        f'[{{{{"text": "Stamped", "x": 10, "y": 10, "pages": "0"}}}}]}}}}\'',
        lambda b: fetched_texts(b["url"])[0] == "Page 1\nStamped",
    ),
    "/v1/pdf/info": (
        f'curl -X POST {{base}}/v1/pdf/info {K} --form "url={{pdf}}"',
        lambda b: b["info"]["PageCount"] == 3,
    ),
    "/v1/pdf/info/fields": (
        f'curl -X POST {{base}}/v1/pdf/info/fields {K} {J} -d \'{{{{"url": "{{form}}"}}}}\'',
        lambda b: b["info"]["FieldsInfo"]["Fields"][0]["Value"] == "ACME Inc.",
    ),
    "/v1/pdf/find": (
        f'curl -X POST {{base}}/v1/pdf/find {K} {J} -d \'{{{{"url": "{{pdf}}", "searchString": "Page 2"}}}}\'',
        lambda b: [item["pageIndex"] for item in b["body"]] == [1],
    ),
    "/v1/pdf/find/table": (
        f'curl -X POST {{base}}/v1/pdf/find/table {K} --form "url={{table}}"',
        lambda b: len(b["body"]["tables"][0]["Columns"]) == 5,
    ),
    "/v1/pdf/convert/to/text": (
        f'curl -X POST {{base}}/v1/pdf/convert/to/text {K} {J} -d \'{{{{"url": "{{pdf}}", "inline": true}}}}\'',
        lambda b: b["body"] == "Page 1\r\n\fPage 2\r\n\fPage 3\r\n",
    ),
    "/v1/pdf/convert/to/text-simple": (
        f'curl -X POST {{base}}/v1/pdf/convert/to/text-simple {K} {J} -d \'{{{{"url": "{{pdf}}", "pages": "0"}}}}\'',
        lambda b: httpx.get(b["url"]).text == "Page 1\r\n",
    ),
    "/v1/pdf/convert/to/csv": (
        f'curl -X POST {{base}}/v1/pdf/convert/to/csv {K} --form "url={{invoice}}"',
        lambda b: "Widget A,2,10.00,20.00" in httpx.get(b["url"]).text,
    ),
    "/v1/pdf/convert/to/json2": (
        f'curl -X POST {{base}}/v1/pdf/convert/to/json2 {K} {J} -d \'{{{{"url": "{{pdf}}"}}}}\'',
        lambda b: len(_json_of(b["url"])["document"]["page"]) == 3,
    ),
    "/v1/pdf/convert/to/json": (
        f'curl -X POST {{base}}/v1/pdf/convert/to/json {K} --form "url={{pdf}}" --form "pages=1"',
        lambda b: _json_of(b["url"])["document"]["page"][0]["@index"] == "1",
    ),
    "/v1/pdf/convert/to/xml": (
        f'curl -X POST {{base}}/v1/pdf/convert/to/xml {K} {J} -d \'{{{{"url": "{{pdf}}"}}}}\'',
        lambda b: ">Page 3</text>" in httpx.get(b["url"]).text,
    ),
    "/v1/pdf/convert/to/html": (
        f'curl -X POST {{base}}/v1/pdf/convert/to/html {K} {J} -d \'{{{{"url": "{{pdf}}", "simple": true}}}}\'',
        lambda b: "<p>Page 2</p>" in httpx.get(b["url"]).text,
    ),
    **{
        f"/v1/pdf/convert/to/{kind}": (
            f'curl -X POST {{base}}/v1/pdf/convert/to/{kind} {K} --form "url={{pdf}}" --form "pages=0"',
            lambda b, form=form: Image.open(io.BytesIO(httpx.get(b["urls"][0]).content)).format == form,
        )
        for kind, form in (("jpg", "JPEG"), ("png", "PNG"), ("webp", "WEBP"))
    },
    "/v1/pdf/convert/to/tiff": (
        f'curl -X POST {{base}}/v1/pdf/convert/to/tiff {K} {J} -d \'{{{{"url": "{{pdf}}"}}}}\'',
        lambda b: Image.open(io.BytesIO(httpx.get(b["url"]).content)).n_frames == 3,
    ),
    "/v1/pdf/convert/from/html": (
        f'curl -X POST {{base}}/v1/pdf/convert/from/html {K} {J} -d \'{{{{"html": "<h1>Hi</h1>'
        '<p style=\\"page-break-before: always\\">There</p>", "name": "hi.pdf"}}\'',
        lambda b: b["name"] == "hi.pdf" and fetched_texts(b["url"]) == ["Hi", "There"],
    ),
    "/v1/pdf/convert/from/url": (
        f'curl -X POST {{base}}/v1/pdf/convert/from/url {K} {J} -d \'{{{{"url": "{{page}}"}}}}\'',
        lambda b: _pdf_text(b["url"]) == "A web page",
    ),
    "/v1/pdf/convert/from/doc": (
        f'curl -X POST {{base}}/v1/pdf/convert/from/doc {K} --form "url={{text}}"',
        lambda b: _pdf_text(b["url"]) == "A text document",
    ),
    "/v1/pdf/convert/from/csv": (
        f'curl -X POST {{base}}/v1/pdf/convert/from/csv {K} {J} -d \'{{{{"url": "{{csv}}"}}}}\'',
        lambda b: _pdf_text(b["url"]) == "Item Qty\nWidget 2",
    ),
    "/v1/pdf/convert/from/image": (
        f'curl -X POST {{base}}/v1/pdf/convert/from/image {K} {J} -d \'{{{{"url": "{{png}},{{png}}"}}}}\'',
        lambda b: b["pageCount"] == 2,
    ),
    "/v1/pdf/security/add": (
        f"curl -X POST {{base}}/v1/pdf/security/add {K} {J} -d "
        '\'{{"url": "{pdf}", "ownerPassword": "o", "userPassword": "u", "encryptionAlgorithm": "AES_256bit"}}\'',
        lambda b: texts(httpx.get(b["url"]).content, "u") == ["Page 1", "Page 2", "Page 3"],
    ),
    "/v1/pdf/security/remove": (
        f'curl -X POST {{base}}/v1/pdf/security/remove {K} --form "url={{locked}}" --form "password=o"',
        lambda b: fetched_texts(b["url"]) == ["Page 1", "Page 2", "Page 3"],
    ),
    "/v2/pdf/compress": (
        f'curl -X POST {{base}}/v2/pdf/compress {K} {J} -d \'{{{{"url": "{{pdf}}"}}}}\'',
        lambda b: fetched_texts(b["url"]) == ["Page 1", "Page 2", "Page 3"],
    ),
    "/v1/pdf/optimize": (
        f'curl -X POST {{base}}/v1/pdf/optimize {K} --form "url={{pdf}}"',
        lambda b: fetched_texts(b["url"]) == ["Page 1", "Page 2", "Page 3"],
    ),
    "/v1/pdf/makesearchable": (
        f'curl -X POST {{base}}/v1/pdf/makesearchable {K} {J} -d \'{{{{"url": "{{pdf}}"}}}}\'',
        lambda b: fetched_texts(b["url"]) == ["Page 1", "Page 2", "Page 3"],
    ),
    "/v1/pdf/makeunsearchable": (
        f'curl -X POST {{base}}/v1/pdf/makeunsearchable {K} {J} -d \'{{{{"url": "{{pdf}}"}}}}\'',
        lambda b: fetched_texts(b["url"]) == ["", "", ""],
    ),
    "/v1/pdf/documentparser": (
        f"curl -X POST {{base}}/v1/pdf/documentparser {K} {J} -d "
        '\'{{"url": "{invoice}", "templateId": "emulator-invoice", "inline": true}}\'',
        lambda b: b["body"]["objects"][0]["value"] == "INV-1001",
    ),
    "/v1/ai-invoice-parser": (
        f'curl -X POST {{base}}/v1/ai-invoice-parser {K} {J} -d \'{{{{"url": "{{invoice}}"}}}}\'',
        lambda b: b["status"] == "created" and b["_result"]["body"]["invoice"]["invoiceNo"] == "INV-1001",
    ),
}
SERVED = [
    *sorted(EMULATED_ENDPOINTS),
    "/v1/account/credit/balance",
    "/v1/file/delete",
    "/v1/file/hash",
    "/v1/file/upload",
    "/v1/file/upload/base64",
    "/v1/file/upload/get-presigned-url",
    "/v1/file/upload/url",
    "/v1/job/check",
]


def test_every_served_endpoint_has_its_command() -> None:
    assert sorted(COMMANDS) == sorted(SERVED) and len(SERVED) == 42


@pytest.mark.parametrize("path", sorted(COMMANDS))
def test_curl(path: str, emu: PdfcoEmulator, values: dict[str, str], tmp_path: Any) -> None:
    command, check = COMMANDS[path]
    filled = dict(values)
    if path == "/v1/file/upload":
        (tmp_path / "upload.pdf").write_bytes(make_sample_pdf(1))
        filled["upload_path"] = str(tmp_path / "upload.pdf")
    if path == "/v1/job/check":
        with httpx.Client(base_url=emu.base_url, headers={"x-api-key": emu.api_key}) as api:
            filled["job"] = api.post("/v1/pdf/info", json={"url": values["pdf"], "async": True}).json()["jobId"]
    status, text = curl(command, filled)
    body: dict[str, Any] = json.loads(text)
    assert status == 200 and body.get("error") is not True, text
    body["_deleted"] = values["doomed"]
    if path == "/v1/ai-invoice-parser":
        check_job = f"curl {{base}}/v1/job/check?jobid={body['jobId']} {K}"  # the samples' legacy GET form
        body["_result"] = json.loads(curl(check_job, filled)[1])
    assert check(body), text


def test_a_presigned_put_with_curl(values: dict[str, str], tmp_path: Any) -> None:
    _, text = curl(
        f'curl "{{base}}/v1/file/upload/get-presigned-url?name=b.pdf&contenttype=application/pdf" {K}', values
    )
    slot = json.loads(text)
    (tmp_path / "b.pdf").write_bytes(make_sample_pdf(2))
    put = f'curl -X PUT "{slot["presignedUrl"]}" -H "Content-Type: application/pdf" --upload-file {tmp_path / "b.pdf"}'
    status, _ = curl(put.replace("{", "{{").replace("}", "}}"), values)
    assert status == 200 and fetched_texts(slot["url"]) == ["Page 1", "Page 2"]
