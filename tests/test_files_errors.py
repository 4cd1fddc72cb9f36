"""Download and upload edge cases against a scripted file host (httpx.MockTransport) and the emulator.

The scripted host breaks connections at chosen bytes, ignores or mangles Range requests, changes the file
between attempts and answers S3's XML errors, which the emulator cannot all do.
"""

from __future__ import annotations

import hashlib
import os
import pickle
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import pytest

from prefect_pdfco import (
    ChecksumMismatchError,
    FileTooLargeError,
    FileTransferError,
    JobResult,
    JobStatus,
    LocalFileError,
    LocalFileNotFoundError,
    PdfcoError,
    RateLimitError,
    ResultExpiredError,
    ResultNotReadyError,
    ResultTooLargeError,
    ServerError,
    UnexpectedResponseError,
)
from prefect_pdfco.files import (
    adownload_result,
    adownload_result_files,
    afetch_result_json,
    afetch_result_text,
    aupload_file,
)
from prefect_pdfco.files.upload import MAX_UPLOAD_BYTES, put_file
from prefect_pdfco.testing import PdfcoEmulator
from prefect_pdfco.testing._processing import make_sample_pdf

from .test_files import FAST, only_files

HOST = "https://pdf-temp-files.s3.us-west-2.amazonaws.com"
SIGNED = "?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Expires=3600&X-Amz-Signature=s3cr3t"
Handler = Callable[[httpx.Request], httpx.Response]


def fresh_url(name: str = "result.pdf") -> str:
    """A result link signed just now, valid for an hour."""
    date = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return f"{HOST}/job/{name}{SIGNED}&X-Amz-Date={date}"


class Breaks(httpx.AsyncByteStream):
    """A body that sends ``data`` and then breaks the connection (httpx.ReadError)."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for start in range(0, len(self.data), 4096):
            yield self.data[start : start + 4096]
        raise httpx.ReadError("connection reset by peer")


def s3_xml(code: str, message: str, **extra: str) -> str:
    details = "".join(f"<{key}>{value}</{key}>" for key, value in extra.items())
    return f'<?xml version="1.0"?><Error><Code>{code}</Code><Message>{message}</Message>{details}</Error>'


class Host:
    """Scripted answers, one per request, and the requests that came."""

    def __init__(self, *answers: Handler) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        assert self.answers, f"unexpected request {len(self.requests)}"
        return self.answers.pop(0)(request)

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.MockTransport(self))

    @property
    def ranges(self) -> list[str | None]:
        return [request.headers.get("range") for request in self.requests]


def body(status: int, data: bytes, **headers: str) -> httpx.Response:
    """A streamed answer, as from the network (httpx pre-reads ``content=``, which a real socket never does)."""
    headers = {"Content-Length": str(len(data)), **headers}
    return httpx.Response(status, headers=headers, stream=httpx.ByteStream(data))


def whole(data: bytes, *, etag: str = '"v1"', **headers: str) -> Handler:
    return lambda request: body(200, data, **{"ETag": etag, "Content-Type": "application/pdf", **headers})


def broken(data: bytes, upto: int, *, status: int = 200, start: int = 0, etag: str = '"v1"') -> Handler:
    """Declares the rest of the file from ``start`` and sends only up to byte ``upto`` before breaking off."""

    def answer(request: httpx.Request) -> httpx.Response:
        headers = {"ETag": etag, "Content-Length": str(len(data) - start)}
        if status == 206:
            headers["Content-Range"] = f"bytes {start}-{len(data) - 1}/{len(data)}"
        return httpx.Response(status, headers=headers, stream=Breaks(data[start:upto]))

    return answer


def ranged(data: bytes, *, etag: str = '"v1"', start: int | None = None) -> Handler:
    """A 206 for the requested range (or for ``start`` when given, whatever was asked)."""

    def answer(request: httpx.Request) -> httpx.Response:
        first = start if start is not None else int(request.headers["range"].removeprefix("bytes=").rstrip("-"))
        return body(206, data[first:], **{"ETag": etag, "Content-Range": f"bytes {first}-{len(data) - 1}/{len(data)}"})

    return answer


def error(status: int, text: str = "", **headers: str) -> Handler:
    return lambda request: body(status, text.encode(), **{"Content-Type": "application/xml", **headers})


DATA = os.urandom(200_000)


async def download(host: Host, tmp_path: Path, url: str | None = None) -> Path:
    async with host.client() as http:
        landed = await adownload_result(url or fresh_url(), tmp_path, http=http, retry_policy=FAST, fingerprint=True)
    path = Path(landed.path)
    assert landed.size == path.stat().st_size and landed.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    return path


async def test_resume_continues_from_the_bytes_received(tmp_path: Path) -> None:
    host = Host(broken(DATA, 70_000), ranged(DATA))
    assert (await download(host, tmp_path)).read_bytes() == DATA
    assert host.ranges == [None, "bytes=70000-"]


async def test_a_host_that_ignores_range_restarts_from_zero(tmp_path: Path) -> None:
    host = Host(broken(DATA, 70_000), whole(DATA))
    assert (await download(host, tmp_path)).read_bytes() == DATA
    assert host.ranges == [None, "bytes=70000-"]


async def test_a_range_that_does_not_continue_ours_starts_over(tmp_path: Path) -> None:
    host = Host(broken(DATA, 70_000), ranged(DATA, start=10), whole(DATA))
    assert (await download(host, tmp_path)).read_bytes() == DATA
    assert host.ranges == [None, "bytes=70000-", None]


async def test_a_file_that_changed_between_attempts_starts_over(tmp_path: Path) -> None:
    new = os.urandom(150_000)
    host = Host(broken(DATA, 70_000), ranged(new, etag='"v2"'), whole(new, etag='"v2"'))
    assert (await download(host, tmp_path)).read_bytes() == new
    assert host.ranges == [None, "bytes=70000-", None]


async def test_a_body_shorter_than_its_content_length_is_resumed(tmp_path: Path) -> None:
    def short(request: httpx.Request) -> httpx.Response:
        # Ends cleanly, but 50 000 bytes short of what Content-Length announced.
        return httpx.Response(200, headers={"Content-Length": str(len(DATA))}, stream=httpx.ByteStream(DATA[:150_000]))

    host = Host(short, ranged(DATA))
    assert (await download(host, tmp_path)).read_bytes() == DATA
    assert host.ranges == [None, "bytes=150000-"]


async def test_a_416_after_every_byte_arrived_completes(tmp_path: Path) -> None:
    refused = error(416, s3_xml("InvalidRange", "The requested range is not satisfiable"), **{
        "Content-Range": f"bytes */{len(DATA)}"
    })  # fmt: skip
    host = Host(broken(DATA, len(DATA)), refused)
    assert (await download(host, tmp_path)).read_bytes() == DATA


@pytest.mark.parametrize(
    ("first", "kind"),
    [(error(503, s3_xml("SlowDown", "Reduce your request rate.")), ServerError), (error(429), RateLimitError)],
)
async def test_transient_answers_are_retried(tmp_path: Path, first: Handler, kind: type[PdfcoError]) -> None:
    host = Host(first, whole(DATA))
    assert (await download(host, tmp_path)).read_bytes() == DATA
    failing = Host(*[first] * FAST.max_attempts)
    with pytest.raises(kind) as info:
        await download(failing, tmp_path / "never")
    assert len(failing.requests) == FAST.max_attempts and "s3cr3t" not in str(info.value)
    assert only_files(tmp_path / "never") == []


async def test_a_refused_link_is_a_transfer_error_without_the_signature(tmp_path: Path) -> None:
    denied = error(403, s3_xml("SignatureDoesNotMatch", "The request signature we calculated does not match"))
    host = Host(denied)
    with pytest.raises(FileTransferError) as info:
        await download(host, tmp_path)
    assert type(info.value) is FileTransferError and info.value.status_code == 403
    assert "SignatureDoesNotMatch" in str(info.value) and "s3cr3t" not in str(info.value)
    assert info.value.url == f"{HOST}/job/result.pdf" and len(host.requests) == 1


async def test_expiry_comes_from_the_s3_body_when_the_link_does_not_say(tmp_path: Path) -> None:
    expired = error(403, s3_xml("AccessDenied", "Request has expired", Expires="2030-01-02T03:04:05Z"))
    with pytest.raises(ResultExpiredError) as info:
        await download(Host(expired), tmp_path, url=f"{HOST}/job/r.pdf?token=abc")
    assert info.value.valid_till == datetime(2030, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    assert "2030-01-02T03:04:05Z" in str(info.value) and "token" not in str(info.value)


async def test_a_link_whose_own_signature_expired_is_refused_without_a_request(tmp_path: Path) -> None:
    host = Host()
    stale = f"{HOST}/job/r.pdf{SIGNED}&X-Amz-Date=20200101T000000Z"
    with pytest.raises(ResultExpiredError) as info:
        await download(host, tmp_path, url=stale)
    assert info.value.valid_till == datetime(2020, 1, 1, 1, 0, tzinfo=timezone.utc)
    assert host.requests == [] and not tmp_path.joinpath("r.pdf").exists()


async def test_a_job_result_with_urls_lands_every_part_under_distinct_names(tmp_path: Path) -> None:
    urls = [fresh_url("part.pdf"), fresh_url("part.pdf"), fresh_url("PART.pdf")]
    host = Host(whole(b"one"), whole(b"two"), whole(b"three"))
    result = JobResult(job_id="J1", status=JobStatus.SUCCESS, urls=urls)
    async with host.client() as http:
        parts = await adownload_result_files(result, tmp_path, http=http, retry_policy=FAST)
    assert [Path(part.path).name for part in parts] == ["part.pdf", "part-2.pdf", "PART-3.pdf"]
    assert [Path(part.path).read_bytes() for part in parts] == [b"one", b"two", b"three"]
    with pytest.raises(ResultNotReadyError, match="download_result_files"):
        await adownload_result(result, tmp_path)


async def test_a_json_result_that_is_not_a_list_of_links_is_one_file_fetched_once(tmp_path: Path) -> None:
    host = Host(whole(b'{"pages": 2}', **{"Content-Type": "application/json"}))
    async with host.client() as http:
        parts = await adownload_result_files(
            fresh_url("info.json"), tmp_path, http=http, retry_policy=FAST, fingerprint=True
        )
    assert [Path(part.path).read_bytes() for part in parts] == [b'{"pages": 2}'] and len(host.requests) == 1
    assert parts[0].sha256 == hashlib.sha256(b'{"pages": 2}').hexdigest()


async def test_text_decoding_size_limit_while_reading_and_bad_json() -> None:
    latin = Host(lambda r: body(200, "café".encode("latin-1"), **{"Content-Type": "text/plain; charset=iso-8859-1"}))
    bom = Host(lambda r: body(200, "\ufeffhello".encode()))
    chunked = Host(lambda r: httpx.Response(200, stream=httpx.ByteStream(b"x" * 5000)))  # no Content-Length
    not_json = Host(whole(b"<html>"))
    async with latin.client() as a, bom.client() as b, chunked.client() as c, not_json.client() as d:
        assert await afetch_result_text(fresh_url("t.txt"), http=a, retry_policy=FAST) == "café"
        assert await afetch_result_text(fresh_url("t.txt"), http=b, retry_policy=FAST) == "hello"
        with pytest.raises(ResultTooLargeError) as info:
            await afetch_result_text(fresh_url("t.txt"), max_bytes=1000, http=c, retry_policy=FAST)
        assert info.value.limit == 1000 and len(chunked.requests) == 1
        with pytest.raises(UnexpectedResponseError, match="not JSON"):
            await afetch_result_json(fresh_url("t.json"), http=d, retry_policy=FAST)


async def test_the_link_client_never_carries_a_key_and_links_must_be_http(tmp_path: Path) -> None:
    async with httpx.AsyncClient(headers={"x-api-key": "secret"}) as leaky:
        with pytest.raises(ValueError, match="x-api-key"):
            await adownload_result(fresh_url(), tmp_path, http=leaky)
        with pytest.raises(ValueError, match="x-api-key"):
            await put_file(fresh_url(), tmp_path, 0, "application/pdf", http=leaky)
    with pytest.raises(ValueError, match="http"):
        await adownload_result("file:///etc/passwd", tmp_path)


# --- uploads --------------------------------------------------------------------------------------------------


@pytest.fixture
def emu() -> Iterator[PdfcoEmulator]:
    with PdfcoEmulator(job_duration=0.05) as emulator:
        yield emulator


async def test_unusable_local_files_are_refused_before_any_request(emu: PdfcoEmulator, tmp_path: Path) -> None:
    huge = tmp_path / "huge.bin"
    with huge.open("wb") as handle:  # sparse: takes no disk space
        handle.truncate(MAX_UPLOAD_BYTES + 1)
    async with emu.credentials().get_client() as client:
        with pytest.raises(LocalFileNotFoundError) as missing:
            await aupload_file(client, tmp_path / "nope.pdf")
        assert isinstance(missing.value, FileNotFoundError) and missing.value.filename == str(tmp_path / "nope.pdf")
        with pytest.raises(LocalFileNotFoundError, match="not a regular file"):
            await aupload_file(client, tmp_path)
        with pytest.raises(FileTooLargeError) as too_large:
            await aupload_file(client, huge)
    assert too_large.value.size == MAX_UPLOAD_BYTES + 1 and too_large.value.limit == MAX_UPLOAD_BYTES
    assert emu.stats()["requests"] == {} and emu.stats()["presigned_put_requests"] == 0


async def test_upload_content_types_names_and_a_retried_put(emu: PdfcoEmulator, tmp_path: Path) -> None:
    for name, content in (("a.pdf", make_sample_pdf(1)), ("b.json", b"{}"), ("c.bin", b"\x00\x01")):
        (tmp_path / name).write_bytes(content)
    emu.inject("/pdf-temp-files", status=503)  # the first PUT fails; a PUT is idempotent, so it is retried
    async with emu.credentials().get_client() as client:
        urls = [await aupload_file(client, tmp_path / name, retry_policy=FAST) for name in ("a.pdf", "b.json", "c.bin")]
        renamed = await aupload_file(client, tmp_path / "c.bin", name="../up/Report.PDF")
    async with httpx.AsyncClient() as http:
        answers = [await http.get(url) for url in urls]
    assert answers[0].content == (tmp_path / "a.pdf").read_bytes()
    types = [answer.headers["content-type"].split(";")[0] for answer in answers]
    assert types == ["application/pdf", "text/plain", "application/octet-stream"]  # https://developer.pdf.co/api/file-upload/index.html
    assert renamed.split("?", 1)[0].endswith("/_up_Report.PDF")
    stats = emu.stats()
    # 5 PUTs in all, the one answered with the scripted 503 included.
    assert stats["presigned_put_requests"] == 5 and stats["faults_served"] == 1
    assert stats["presigned_put_requests_with_api_key"] == 0


async def test_an_expired_presigned_put_is_a_clear_error(emu: PdfcoEmulator, tmp_path: Path) -> None:
    (tmp_path / "a.pdf").write_bytes(make_sample_pdf(1))

    async def late(request: httpx.Request) -> None:
        emu.advance_clock(901)  # presigned PUT URLs live 900 s

    async with emu.credentials().get_client() as client, httpx.AsyncClient(event_hooks={"request": [late]}) as http:
        with pytest.raises(FileTransferError, match="presigned upload URL expired") as info:
            await aupload_file(client, tmp_path / "a.pdf", http=http, retry_policy=FAST)
    assert info.value.status_code == 403 and emu.stats()["presigned_put_requests"] == 1


async def test_a_bad_presigned_answer_and_a_wrong_etag(emu: PdfcoEmulator, tmp_path: Path) -> None:
    (tmp_path / "a.pdf").write_bytes(b"%PDF-1.4 tiny")
    emu.inject("/v1/file/upload/get-presigned-url", json={"error": False, "status": 200})
    async with emu.credentials().get_client() as client:
        with pytest.raises(UnexpectedResponseError, match="presignedUrl"):
            await aupload_file(client, tmp_path / "a.pdf")
    zeros = '"' + "0" * 32 + '"'
    wrong = Host(*[lambda request: httpx.Response(200, headers={"ETag": zeros})] * 2)
    async with wrong.client() as http:
        # Not compared unless asked for (an MD5 pass over the file costs ~1.4 s of CPU per GiB).
        await put_file(fresh_url(), tmp_path / "a.pdf", 13, "application/pdf", http=http, retry_policy=FAST)
        with pytest.raises(ChecksumMismatchError, match="ETag"):
            await put_file(
                fresh_url(), tmp_path / "a.pdf", 13, "application/pdf", http=http, retry_policy=FAST, verify_etag=True
            )
    sent = wrong.requests[1]
    assert sent.headers["content-length"] == "13" and "transfer-encoding" not in sent.headers
    assert sent.headers["content-type"] == "application/pdf" and "x-api-key" not in sent.headers


async def test_a_file_that_shrinks_while_uploading_is_refused(tmp_path: Path) -> None:
    (tmp_path / "a.pdf").write_bytes(b"12345")
    host = Host(lambda request: httpx.Response(200, content=request.read()))
    async with host.client() as http:
        with pytest.raises(LocalFileError, match="shrank"):
            await put_file(fresh_url(), tmp_path / "a.pdf", 10, "application/pdf", http=http, retry_policy=FAST)


def test_new_errors_pickle_with_their_data() -> None:
    moment = datetime.now(timezone.utc) - timedelta(minutes=1)
    errors: list[PdfcoError] = [
        ResultExpiredError("gone", url="https://h/p", status_code=403, valid_till=moment),
        ResultNotReadyError("later", url="https://h/p", status_code=404),
        ResultTooLargeError("big", url="https://h/p", limit=10),
        FileTransferError("refused", url="https://h/p", status_code=403),
        LocalFileNotFoundError("/x.pdf"),
        FileTooLargeError("/y.pdf", size=3, limit=2),
    ]
    for original in errors:
        copy = pickle.loads(pickle.dumps(original))
        assert type(copy) is type(original) and str(copy) == str(original)
        assert copy.__dict__ == original.__dict__
