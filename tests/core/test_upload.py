"""Presigned uploads: local checks before any request, one GET for the URL, a streamed PUT without the key."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import httpx
import pytest

from prefect_pdfco import _download
from prefect_pdfco._client import PdfcoClient
from prefect_pdfco._download import MAX_UPLOAD_BYTES, PRESIGNED_URL_ENDPOINT, content_type_for
from prefect_pdfco._exceptions import (
    ChecksumMismatchError,
    FileTooLargeError,
    FileTransferError,
    InvalidParametersError,
    LocalFileError,
    LocalFileNotFoundError,
    ServerError,
    UnexpectedResponseError,
)
from prefect_pdfco._linkguard import new_link_client
from prefect_pdfco._transfer import Links, put
from prefect_pdfco._util import Clock
from prefect_pdfco.models import RetryPolicy
from tests.core._clock import VirtualClock

from .test_download import Handler, Host

STORE = "https://pdf-temp-files.s3.us-west-2.amazonaws.com"
PRESIGNED = f"{STORE}/tmp/up/{{name}}?X-Amz-Expires=900&X-Amz-Signature=s3cr3t"


class FakeApi:
    """What ``upload`` uses of ``PdfcoClient``: ``request`` answers the presigned URL; PUTs go to ``host``."""

    def __init__(self, host: Host, clock: Clock, answer: dict[str, Any] | None = None) -> None:
        http = new_link_client(transport=httpx.MockTransport(host))
        self.links = Links(http, RetryPolicy(initial_delay=1.0, jitter=0.0), clock)
        self.answer = answer
        self.calls: list[tuple[str, str, dict[str, Any] | None]] = []

    async def request(self, method: str, endpoint: str, *, params: dict[str, Any] | None = None) -> dict[str, Any]:
        self.calls.append((method, endpoint, params))
        if self.answer is not None:
            return self.answer
        return self.answer_for((params or {})["name"])

    @staticmethod
    def answer_for(name: str) -> dict[str, Any]:
        return {"presignedUrl": PRESIGNED.format(name=name), "url": f"{STORE}/tmp/up/{name}", "error": False}


async def upload(api: FakeApi, path: Path, *, name: str | None = None, verify_etag: bool = False) -> str:
    return await _download.upload(api.links, api, path, name=name, verify_etag=verify_etag)


def stored(etag: str | None = None) -> Handler:
    def answer(request: httpx.Request) -> httpx.Response:
        request.read()
        return httpx.Response(200, headers={"ETag": etag} if etag else {})

    return answer


async def test_unusable_local_files_are_refused_before_any_request(tmp_path: Path, clock: VirtualClock) -> None:
    huge = tmp_path / "huge.bin"
    with huge.open("wb") as handle:  # sparse: takes no disk space
        handle.truncate(MAX_UPLOAD_BYTES + 1)
    api = FakeApi(Host(), clock)
    with pytest.raises(LocalFileNotFoundError) as missing:
        await upload(api, tmp_path / "nope.pdf")
    assert isinstance(missing.value, FileNotFoundError) and missing.value.filename == str(tmp_path / "nope.pdf")
    with pytest.raises(LocalFileNotFoundError, match="not a regular file"):
        await upload(api, tmp_path)
    with pytest.raises(FileTooLargeError) as too_large:
        await upload(api, huge)
    assert too_large.value.size == MAX_UPLOAD_BYTES + 1 and too_large.value.limit == MAX_UPLOAD_BYTES
    for path, name, argument in ((123, None, "path"), (huge, 5, "name")):
        with pytest.raises(InvalidParametersError, match=f"{argument}: "):
            await upload(api, path, name=name)  # type: ignore[arg-type]
    assert api.calls == []


async def test_one_get_then_a_streamed_put_with_the_signed_type_and_length(tmp_path: Path, clock: VirtualClock) -> None:
    content = os.urandom(3 * 1024 * 1024 + 5)  # several chunks
    (tmp_path / "scan.pdf").write_bytes(content)
    host = Host(stored())
    api = FakeApi(host, clock)
    url = await upload(api, tmp_path / "scan.pdf")
    assert url == f"{STORE}/tmp/up/scan.pdf"
    assert api.calls == [("GET", PRESIGNED_URL_ENDPOINT, {"name": "scan.pdf", "contenttype": "application/pdf"})]
    [sent] = host.requests
    assert sent.method == "PUT" and sent.url.params["X-Amz-Signature"] == "s3cr3t" and sent.content == content
    assert sent.headers["content-type"] == "application/pdf" and sent.headers["content-length"] == str(len(content))
    assert "transfer-encoding" not in sent.headers and "x-api-key" not in sent.headers


async def test_names_are_sanitised_and_pick_the_content_type(tmp_path: Path, clock: VirtualClock) -> None:
    (tmp_path / "c.bin").write_bytes(b"\x00\x01")
    api = FakeApi(Host(stored(), stored()), clock)
    assert (await upload(api, tmp_path / "c.bin", name="../up/Report.PDF")).endswith("/_up_Report.PDF")
    await upload(api, tmp_path / "c.bin")
    assert [call[2] for call in api.calls] == [
        {"name": "_up_Report.PDF", "contenttype": "application/pdf"},
        {"name": "c.bin", "contenttype": "application/octet-stream"},
    ]
    assert [content_type_for(f"x.{ext}") for ext in ("txt", "csv", "xml", "json")] == ["text/plain"] * 4
    assert (
        content_type_for("x.doc") == "application/msword" and content_type_for("x.eml") == "application/vnd.ms-outlook"
    )


async def test_a_failed_put_is_retried_whole_on_the_clock(tmp_path: Path, clock: VirtualClock) -> None:
    (tmp_path / "a.pdf").write_bytes(b"%PDF-1.4 tiny")

    def busy(request: httpx.Request) -> httpx.Response:
        request.read()
        return httpx.Response(503, text="<Error><Code>SlowDown</Code></Error>")

    host = Host(busy, stored())
    await upload(FakeApi(host, clock), tmp_path / "a.pdf")
    assert [request.content for request in host.requests] == [b"%PDF-1.4 tiny"] * 2 and clock.slept == [1.0]
    failing = Host(*[busy] * 4)
    with pytest.raises(ServerError) as info:
        await upload(FakeApi(failing, clock), tmp_path / "a.pdf")
    assert len(failing.requests) == 4 and "s3cr3t" not in str(info.value)


async def test_an_expired_presigned_url_and_a_bad_answer_are_clear_errors(tmp_path: Path, clock: VirtualClock) -> None:
    (tmp_path / "a.pdf").write_bytes(b"%PDF-1.4 tiny")

    def expired(request: httpx.Request) -> httpx.Response:
        return httpx.Response(403, text="<Code>AccessDenied</Code><Message>Request has expired</Message>")

    with pytest.raises(FileTransferError, match="presigned upload URL expired") as info:
        await upload(FakeApi(Host(expired), clock), tmp_path / "a.pdf")
    assert info.value.status_code == 403 and "s3cr3t" not in str(info.value)
    with pytest.raises(UnexpectedResponseError, match="presignedUrl"):
        await upload(FakeApi(Host(), clock, answer={"error": False, "status": 200}), tmp_path / "a.pdf")


async def test_verify_etag_compares_the_md5_only_when_asked(tmp_path: Path, clock: VirtualClock) -> None:
    content = os.urandom(1024 * 1024 + 3)
    (tmp_path / "a.pdf").write_bytes(content)
    right, wrong = f'"{hashlib.md5(content).hexdigest()}"', '"' + "0" * 32 + '"'
    api = FakeApi(Host(stored(wrong), stored(right), stored(wrong)), clock)
    await upload(api, tmp_path / "a.pdf")  # not compared unless asked for
    await upload(api, tmp_path / "a.pdf", verify_etag=True)
    with pytest.raises(ChecksumMismatchError, match="uploaded bytes"):
        await upload(api, tmp_path / "a.pdf", verify_etag=True)


async def test_a_file_that_shrinks_while_uploading_is_refused(tmp_path: Path, clock: VirtualClock) -> None:
    (tmp_path / "a.pdf").write_bytes(b"12345")

    def shrink_then_store(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200)

    async with new_link_client(transport=httpx.MockTransport(shrink_then_store)) as http:
        with pytest.raises(LocalFileError, match="shrank"):
            await put(
                Links(http, clock=clock), PRESIGNED.format(name="a.pdf"), tmp_path / "a.pdf", 10, "application/pdf"
            )
    assert clock.slept == []  # a local failure: not retried


async def test_the_api_client_asks_with_its_key_and_puts_without_it(tmp_path: Path, clock: VirtualClock) -> None:
    (tmp_path / "a.pdf").write_bytes(b"%PDF-1.4 tiny")
    api, host = Host(lambda request: httpx.Response(200, json=FakeApi.answer_for("a.pdf"))), Host(stored())
    to_api, to_host = httpx.MockTransport(api), httpx.MockTransport(host)
    async with PdfcoClient("key", transport=to_api, link_transport=to_host, clock=clock) as client:
        assert await client.upload(tmp_path / "a.pdf") == f"{STORE}/tmp/up/a.pdf"
    [asked], [sent] = api.requests, host.requests
    assert asked.url.path == PRESIGNED_URL_ENDPOINT and asked.headers["x-api-key"] == "key"
    assert sent.method == "PUT" and sent.content == b"%PDF-1.4 tiny" and "x-api-key" not in sent.headers
