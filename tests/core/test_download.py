"""Result links onto disk and into memory, against a scripted file host (httpx.MockTransport) and a virtual clock.

The scripted host breaks connections at chosen bytes, ignores or mangles Range requests, changes the file between
attempts and answers S3's XML errors. Retry sleeps go to the virtual clock, so no test waits in real time.
"""

from __future__ import annotations

import asyncio
import errno
import hashlib
import os
import pickle
import tempfile
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import AbstractAsyncContextManager
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest

from prefect_pdfco import _download
from prefect_pdfco._client import PdfcoClient
from prefect_pdfco._download import (
    MAX_FILENAME_BYTES,
    decode_json,
    decode_text,
    filename_from_url,
    path_inside,
    sanitize_filename,
    unique_name,
)
from prefect_pdfco._exceptions import (
    ChecksumMismatchError,
    DestinationError,
    FileTransferError,
    InvalidParametersError,
    JobError,
    PdfcoConnectionError,
    PdfcoError,
    RateLimitError,
    ResultExpiredError,
    ResultNotReadyError,
    ResultTooLargeError,
    ServerError,
    UnexpectedResponseError,
)
from prefect_pdfco._linkguard import MAX_REDIRECTS, new_link_client
from prefect_pdfco._transfer import CHUNK_SIZE, Links, describe_expiry
from prefect_pdfco.models import DownloadedFile, JobResult, JobStatus, RetryPolicy
from tests.core._clock import VirtualClock

HOST = "https://pdf-temp-files.s3.us-west-2.amazonaws.com"
SIGNED = "?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Expires=3600&X-Amz-Signature=s3cr3t"
RETRY = RetryPolicy(max_attempts=4, initial_delay=1.0, max_delay=2.0, jitter=0.0, rate_limit_budget_seconds=5.0)
DATA = os.urandom(200_000)
Handler = Callable[[httpx.Request], httpx.Response]


def signed_at(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def now_of(clock: VirtualClock) -> datetime:
    return datetime.fromtimestamp(clock.time(), timezone.utc)


def only_files(directory: Path) -> list[str]:
    """Every entry, hidden ones included (a leftover ``.pdfco-*.part`` would show)."""
    return sorted(os.listdir(directory)) if directory.exists() else []


class Breaks(httpx.AsyncByteStream):
    """A body that sends ``data`` and then breaks the connection."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for start in range(0, len(self.data), 4096):
            yield self.data[start : start + 4096]
        raise httpx.ReadError("connection reset by peer")


class Host:
    """Scripted answers, one per request, and the requests that came."""

    def __init__(self, *answers: Handler) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        assert self.answers, f"unexpected request {len(self.requests)}"
        return self.answers.pop(0)(request)

    @property
    def ranges(self) -> list[str | None]:
        return [request.headers.get("range") for request in self.requests]


def body(status: int, data: bytes, **headers: str) -> httpx.Response:
    """A streamed answer, as from the network (httpx pre-reads ``content=``, which a socket never does)."""
    return httpx.Response(status, headers={"Content-Length": str(len(data)), **headers}, stream=httpx.ByteStream(data))


def whole(data: bytes, *, etag: str = '"v1"', **headers: str) -> Handler:
    return lambda request: body(200, data, **{"ETag": etag, "Content-Type": "application/pdf", **headers})


def broken(data: bytes, upto: int, *, etag: str = '"v1"') -> Handler:
    """Declares the whole file and sends only up to byte ``upto`` before breaking off."""
    headers = {"ETag": etag, "Content-Length": str(len(data))}
    return lambda request: httpx.Response(200, headers=headers, stream=Breaks(data[:upto]))


def ranged(data: bytes, *, etag: str = '"v1"', start: int | None = None) -> Handler:
    """A 206 for the requested range (or for ``start``, whatever was asked)."""

    def answer(request: httpx.Request) -> httpx.Response:
        first = start if start is not None else int(request.headers["range"].removeprefix("bytes=").rstrip("-"))
        return body(206, data[first:], ETag=etag, **{"Content-Range": f"bytes {first}-{len(data) - 1}/{len(data)}"})

    return answer


def s3_error(status: int, code: str = "", message: str = "", **extra: str) -> Handler:
    details = "".join(f"<{key}>{value}</{key}>" for key, value in extra.items())
    xml = f'<?xml version="1.0"?><Error><Code>{code}</Code><Message>{message}</Message>{details}</Error>'
    return lambda request: body(status, xml.encode(), **{"Content-Type": "application/xml"})


@pytest.fixture
def url(clock: VirtualClock) -> Callable[..., str]:
    """A result link signed a minute ago (by the virtual clock), valid for an hour."""

    def make(name: str = "result.pdf") -> str:
        return f"{HOST}/job/{name}{SIGNED}&X-Amz-Date={signed_at(now_of(clock) - timedelta(minutes=1))}"

    return make


class Fetcher:
    """The module's functions with the scripted host's link client, ``RETRY`` and the virtual clock filled in."""

    def __init__(self, host: Host, clock: VirtualClock) -> None:
        self.links = Links(new_link_client(transport=httpx.MockTransport(host)), RETRY, clock)

    def download(self, url: str, directory: Path, **options: Any) -> Coroutine[Any, Any, DownloadedFile]:
        return _download.download(self.links, url, directory, **options)

    def download_parts(self, result: JobResult | str, directory: Path) -> Coroutine[Any, Any, list[DownloadedFile]]:
        return _download.land(self.links, result, directory, parts=True)

    def fetch(self, url: str, **options: Any) -> Coroutine[Any, Any, tuple[bytes, str | None]]:
        return _download.fetch(self.links, url, **options)

    def stage(self, result: JobResult | str, **options: Any) -> AbstractAsyncContextManager[list[DownloadedFile]]:
        return _download.stage(self.links, result, **options)


async def landed_bytes(host: Host, clock: VirtualClock, link: str, out: Path) -> bytes:
    file = await Fetcher(host, clock).download(link, out, fingerprint=True)
    content = Path(file.path).read_bytes()
    assert file.size == len(content) and file.sha256 == hashlib.sha256(content).hexdigest()
    assert only_files(out) == [Path(file.path).name]
    return content


# --- resume and retries ------------------------------------------------------------------------------------------


async def test_resume_continues_from_the_bytes_received(
    tmp_path: Path, clock: VirtualClock, url: Callable[..., str], caplog: pytest.LogCaptureFixture
) -> None:
    host = Host(broken(DATA, 70_000), ranged(DATA))
    assert await landed_bytes(host, clock, url(), tmp_path) == DATA
    assert host.ranges == [None, "bytes=70000-"] and clock.slept == [1.0]
    assert "attempt 1 failed" in caplog.text and "resuming at byte 70000 in 1.0 s" in caplog.text
    assert "s3cr3t" not in caplog.text


def test_one_rule_decides_when_to_send_again_for_the_api_and_for_transfers() -> None:
    """``RetryPolicy.delay_for``, which the client's send loop and the transfers' loop both ask."""
    policy = RetryPolicy(max_attempts=3, initial_delay=1.0, max_delay=8.0, jitter=0.0, rate_limit_budget_seconds=10.0)
    lost, refused = PdfcoConnectionError("reset"), PdfcoConnectionError("refused", may_have_reached_server=False)

    def delay(error: Exception, attempt: int = 1, idempotent: bool = True, waited: float = 0.0) -> float | None:
        return policy.delay_for(error, attempt=attempt, idempotent=idempotent, rate_limited_seconds=waited)

    assert [delay(ServerError("busy", status_code=503), n) for n in (1, 2, 3)] == [1.0, 2.0, None]
    assert delay(ServerError("busy", status_code=503), idempotent=False) is None  # a billed submit: never re-sent
    assert delay(lost, idempotent=False) is None and delay(lost) == 1.0
    assert delay(refused, idempotent=False) == 1.0  # it never left: safe to send again
    limited = RateLimitError("slow down", status_code=429)
    assert delay(limited, 4) == 8.0 and delay(limited, 4, waited=7.0) == 3.0 and delay(limited, waited=10.0) is None
    assert delay(RateLimitError("", status_code=429, retry_after=0.2)) == 1.0  # never sooner than initial_delay
    assert delay(RateLimitError("", status_code=429, retry_after=12.0)) is None  # past the budget: give up now
    assert delay(FileTransferError("refused", status_code=403)) is None and delay(ValueError("bug")) is None


@pytest.mark.parametrize(
    ("second", "third", "ranges"),
    [
        (whole(DATA), None, [None, "bytes=70000-"]),  # the host ignores Range: the file starts over from byte 0
        (ranged(DATA, start=10), whole(DATA), [None, "bytes=70000-", None]),  # a range that does not continue ours
        (ranged(DATA, etag='"v2"'), whole(DATA, etag='"v2"'), [None, "bytes=70000-", None]),  # the file changed
    ],
)
async def test_what_does_not_continue_the_bytes_held_starts_over(
    tmp_path: Path,
    clock: VirtualClock,
    url: Callable[..., str],
    second: Handler,
    third: Handler | None,
    ranges: list[str | None],
) -> None:
    host = Host(broken(DATA, 70_000), second, *([third] if third else []))
    assert await landed_bytes(host, clock, url(), tmp_path) == DATA
    assert host.ranges == ranges


async def test_a_short_body_is_resumed_and_a_416_after_every_byte_completes(
    tmp_path: Path, clock: VirtualClock, url: Callable[..., str]
) -> None:
    def short(request: httpx.Request) -> httpx.Response:  # ends cleanly, 50 000 bytes short of its Content-Length
        headers = {"Content-Length": str(len(DATA))}
        return httpx.Response(200, headers=headers, stream=httpx.ByteStream(DATA[:150_000]))

    host = Host(short, ranged(DATA))
    assert await landed_bytes(host, clock, url(), tmp_path / "a") == DATA
    assert host.ranges == [None, "bytes=150000-"]
    refused = lambda request: body(416, b"", **{"Content-Range": f"bytes */{len(DATA)}"})  # noqa: E731
    assert await landed_bytes(Host(broken(DATA, len(DATA)), refused), clock, url(), tmp_path / "b") == DATA


@pytest.mark.parametrize(
    ("answer", "kind"),
    [(s3_error(503, "SlowDown", "Reduce your request rate."), ServerError), (s3_error(429), RateLimitError)],
)
async def test_transient_answers_are_retried_on_the_clock(
    tmp_path: Path, clock: VirtualClock, url: Callable[..., str], answer: Handler, kind: type[PdfcoError]
) -> None:
    assert await landed_bytes(Host(answer, whole(DATA)), clock, url(), tmp_path / "ok") == DATA
    failing = Host(*[answer] * 10)
    with pytest.raises(kind) as info:
        await Fetcher(failing, clock).download(url(), tmp_path / "never")
    # 4 attempts for 5xx; for 429 its own budget of 5 s: 1 + 2 + 2 s of waits.
    assert len(failing.requests) == 4 and "s3cr3t" not in str(info.value)
    assert only_files(tmp_path / "never") == []


async def test_connection_errors_are_retried_and_name_the_result_storage_host(
    tmp_path: Path, clock: VirtualClock, url: Callable[..., str]
) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("[Errno 111] Connection refused", request=request)

    host = Host(*[refuse] * 4)
    with pytest.raises(PdfcoConnectionError) as info:
        await Fetcher(host, clock).download(url(), tmp_path)
    message = str(info.value)
    assert len(host.requests) == 4 and clock.slept == [1.0, 2.0, 2.0]
    assert "pdf-temp-files.s3.us-west-2.amazonaws.com (result storage)" in message and "s3cr3t" not in message
    assert info.value.may_have_reached_server is False and info.value.request is None


async def test_a_redirect_loop_is_a_transfer_error_and_not_retried(
    tmp_path: Path, clock: VirtualClock, url: Callable[..., str]
) -> None:
    loop = lambda request: httpx.Response(302, headers={"Location": url("again.pdf")})  # noqa: E731
    host = Host(*[loop] * (MAX_REDIRECTS + 1))
    with pytest.raises(FileTransferError, match=f"more than {MAX_REDIRECTS} times"):
        await Fetcher(host, clock).download(url(), tmp_path)
    assert len(host.requests) == MAX_REDIRECTS + 1 and only_files(tmp_path) == []


# --- what the host says, and expiry ------------------------------------------------------------------------------


async def test_a_refused_link_is_a_transfer_error_without_the_signature(
    tmp_path: Path, clock: VirtualClock, url: Callable[..., str]
) -> None:
    host = Host(s3_error(403, "SignatureDoesNotMatch", "The request signature we calculated does not match"))
    with pytest.raises(FileTransferError) as info:
        await Fetcher(host, clock).download(url(), tmp_path)
    assert type(info.value) is FileTransferError and info.value.status_code == 403
    assert "SignatureDoesNotMatch" in str(info.value) and "s3cr3t" not in str(info.value)
    assert info.value.url == f"{HOST}/job/result.pdf" and len(host.requests) == 1


async def test_no_such_key_and_jobs_without_a_result(
    tmp_path: Path, clock: VirtualClock, url: Callable[..., str]
) -> None:
    host = Host(s3_error(404, "NoSuchKey", "The specified key does not exist."))
    with pytest.raises(ResultNotReadyError) as info:
        await Fetcher(host, clock).download(url(), tmp_path)
    assert info.value.status_code == 404 and "NoSuchKey" in str(info.value) and len(host.requests) == 1
    idle = Host()
    for result, problem in (
        (JobResult(job_id="job\n[ERROR] forged", status=JobStatus.WORKING), r"job\\n\[ERROR\] forged is working"),
        (JobResult(job_id="J1", status=JobStatus.SUCCESS, urls=[url()]), "it has several"),
        (JobResult(job_id="J2", status=JobStatus.WORKING, url=url()), "J2 is working"),  # a placeholder link
    ):
        with pytest.raises(ResultNotReadyError, match=problem):
            async with Fetcher(idle, clock).stage(result):
                raise AssertionError("never reached")  # pragma: no cover
    assert idle.requests == [] and only_files(tmp_path) == []


async def test_expiry_from_the_s3_body_when_the_link_does_not_say(tmp_path: Path, clock: VirtualClock) -> None:
    host = Host(s3_error(403, "AccessDenied", "Request has expired", Expires="2025-06-15T01:00:00Z"))
    with pytest.raises(ResultExpiredError) as info:
        await Fetcher(host, clock).download(f"{HOST}/job/r.pdf?token=abc", tmp_path)
    assert info.value.valid_till == datetime(2025, 6, 15, 1, 0, tzinfo=timezone.utc) and info.value.status_code == 403
    assert "2025-06-15T01:00:00Z" in str(info.value) and "token" not in str(info.value)


async def test_a_link_expired_by_the_hosts_clock_while_ours_is_behind(tmp_path: Path, clock: VirtualClock) -> None:
    link = f"{HOST}/job/r.pdf{SIGNED}&X-Amz-Date={signed_at(now_of(clock) + timedelta(minutes=1))}"
    with pytest.raises(ResultExpiredError) as info:
        await Fetcher(Host(s3_error(403, "AccessDenied", "Request has expired")), clock).download(link, tmp_path)
    message = str(info.value)
    assert "by the file host's clock" in message and " ago" not in message and "synchronised" in message


async def test_an_expired_link_is_refused_without_a_request(
    tmp_path: Path, clock: VirtualClock, url: Callable[..., str]
) -> None:
    host = Host()
    stale = f"{HOST}/job/r.pdf{SIGNED}&X-Amz-Date={signed_at(now_of(clock) - timedelta(hours=2))}"
    with pytest.raises(ResultExpiredError) as info:
        await Fetcher(host, clock).download(stale, tmp_path / "out")
    assert info.value.valid_till == now_of(clock) - timedelta(hours=1) and "60 min ago" in str(info.value)
    past = now_of(clock) - timedelta(minutes=5)
    result = JobResult(job_id="J", status=JobStatus.SUCCESS, url=url(), output_link_valid_till=past)
    for call in (
        Fetcher(host, clock).download(url(), tmp_path / "out", valid_till=past),
        Fetcher(host, clock).download_parts(result, tmp_path / "out"),
        Fetcher(host, clock).fetch(url(), max_bytes=10, valid_till=past),
    ):
        with pytest.raises(ResultExpiredError) as info:
            await call
        assert info.value.valid_till == past and f"{past:%Y-%m-%dT%H:%M:%SZ} (5 min ago)" in str(info.value)
        assert "no request was made" in str(info.value)
    assert host.requests == [] and not (tmp_path / "out").exists()


def test_expiry_is_shown_in_utc_and_never_as_ago_when_the_clock_is_behind() -> None:
    expiry = datetime(2026, 3, 1, 4, 20, 44, tzinfo=timezone.utc)
    assert describe_expiry(expiry, expiry + timedelta(minutes=7, seconds=3)).endswith("04:20:44Z (7 min ago)")
    assert describe_expiry(expiry, expiry + timedelta(days=3)).endswith("(3 days ago)")
    behind = describe_expiry(expiry, expiry - timedelta(hours=2))
    assert "04:20:44Z, by the file host's clock" in behind and "02:20:44Z" in behind and "ago" not in behind
    in_berlin = expiry.astimezone(timezone(timedelta(hours=1)))
    assert "04:20:44Z (60 min ago)" in describe_expiry(in_berlin, expiry + timedelta(hours=1))


@pytest.mark.parametrize("link", ["file:///etc/passwd", "http://0377.0.0.1/r.pdf", "https://a\x00b/r.pdf", "not a url"])
async def test_links_that_are_not_http_are_refused_before_any_request(
    tmp_path: Path, clock: VirtualClock, link: str
) -> None:
    host = Host()
    with pytest.raises(InvalidParametersError, match="url: expected an http"):
        await Fetcher(host, clock).download(link, tmp_path)
    assert host.requests == []


# --- names ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("report.pdf", "report.pdf"),
        ("../../etc/passwd", "_.._etc_passwd"),
        ("a\\b.pdf", "a_b.pdf"),
        ("..", "download"),
        ("", "download"),
        (None, "download"),
        ("\x00", "download"),
        ("///", "download"),
        ("bad\x00na\nme\x1b.pdf", "badname.pdf"),
        (".bashrc", "bashrc"),
        ("trailing.pdf. ", "trailing.pdf"),
        ("evil\u202efdp.exe", "evilfdp.exe"),  # right-to-left override dropped
        ('a<b>c:d"e|f?g*h.pdf', "a_b_c_d_e_f_g_h.pdf"),
        ("CON", "_CON"),
        ("nul.txt", "_nul.txt"),
        ("Cafe\u0301.pdf", "Café.pdf"),  # NFC
    ],
)
def test_sanitize_filename(given: str | None, expected: str) -> None:
    assert sanitize_filename(given) == expected


def test_long_names_are_capped_in_bytes_keeping_the_extension() -> None:
    assert sanitize_filename("x" * 1000 + ".pdf").endswith("xxx.pdf")
    wide = sanitize_filename("é" * 300 + ".json")
    assert wide.endswith(".json") and len(wide.encode()) <= MAX_FILENAME_BYTES
    odd = sanitize_filename("y" * 300 + "." + "z" * 40)  # an "extension" too long to be one
    assert len(odd.encode()) <= MAX_FILENAME_BYTES and odd.startswith("yyy")


@pytest.mark.parametrize(
    ("link", "expected"),
    [
        (f"{HOST}/job/result.pdf{SIGNED}", "result.pdf"),
        (f"{HOST}/job/%2E%2E%2F%2E%2E%2Fetc%2Fpasswd{SIGNED}", "_.._etc_passwd"),
        (f"{HOST}/job/a%5Cb.pdf", "a_b.pdf"),
        (f"{HOST}/job/", "download"),
        (f"{HOST}/job/My%20Report%20%28final%29.pdf", "My Report (final).pdf"),
    ],
)
def test_filename_from_url_uses_the_last_segment_and_never_the_query(link: str, expected: str) -> None:
    assert filename_from_url(link) == expected


def test_unique_names_and_containment() -> None:
    taken: set[str] = set()
    assert [unique_name(n, taken) for n in ("a.pdf", "a.pdf", "A.PDF", "a-2.pdf", "b")] == [
        "a.pdf",
        "a-2.pdf",
        "A-3.PDF",
        "a-2-2.pdf",
        "b",
    ]
    by_index: set[str] = set()
    assert [unique_name("r.pdf", by_index, i) for i in (0, 1, 1, 5)] == ["r.pdf", "r-1.pdf", "r-1-2.pdf", "r-5.pdf"]
    for bad in ("..", ".", "", "../x", "a/b", "/etc/passwd"):
        with pytest.raises(InvalidParametersError, match="outside"):
            path_inside(Path("/srv/out"), bad)


async def test_hostile_names_land_inside_the_destination(
    tmp_path: Path, clock: VirtualClock, url: Callable[..., str]
) -> None:
    destination = tmp_path / "dest" / "inner"
    names = ["../../etc/passwd", "a/b", "..\\..\\win.ini", "\x00evil", "..", "/abs.pdf", "x" * 1000 + ".pdf"]
    links = ["%2E%2E%2F%2E%2E%2Fescape.pdf", "%2E%2E", "n" * 2000 + ".pdf"]
    host = Host(*[whole(b"payload")] * (len(names) + len(links)))
    fetcher = Fetcher(host, clock)
    landed = [await fetcher.download(url(), destination, filename=name) for name in names]
    landed += [await fetcher.download(url(link), destination) for link in links]
    for item in landed:
        path = Path(item.path)
        assert path.parent == destination and path.read_bytes() == b"payload" and len(path.name.encode()) <= 200
        assert not path.name.startswith(".")
    assert only_files(tmp_path / "dest") == ["inner"] and len(only_files(destination)) == 9  # ".." twice: "download"


async def test_results_sharing_a_name_in_a_batch_all_land(
    tmp_path: Path, clock: VirtualClock, url: Callable[..., str]
) -> None:
    """#17.6: five concurrent downloads, all named result.pdf by PDF.co: five files on disk, five reported."""
    host = Host(*[whole(f"file {i}".encode()) for i in range(5)])
    fetcher, taken = Fetcher(host, clock), set[str]()
    reported = await asyncio.gather(*(fetcher.download(url(), tmp_path, index=i, taken=taken) for i in range(5)))
    assert [Path(item.path).name for item in reported] == [f"result{s}.pdf" for s in ("", "-1", "-2", "-3", "-4")]
    assert len(only_files(tmp_path)) == len(reported) == 5
    assert sorted(Path(item.path).read_bytes() for item in reported) == sorted(f"file {i}".encode() for i in range(5))
    # Outside a batch (no taken set), a file already there is replaced whole, as a re-run expects.
    again = await Fetcher(Host(whole(b"new")), clock).download(url(), tmp_path)
    assert Path(again.path).name == "result.pdf" and Path(again.path).read_bytes() == b"new"


# --- many files, fetching, digests -----------------------------------------------------------------------------


async def test_parts_from_urls_and_from_a_split_json_list(
    tmp_path: Path, clock: VirtualClock, url: Callable[..., str]
) -> None:
    result = JobResult(job_id="J1", status=JobStatus.SUCCESS, urls=[url("part.pdf"), url("part.pdf"), url("PART.pdf")])
    host = Host(whole(b"one"), whole(b"two"), whole(b"three"))
    parts = await Fetcher(host, clock).download_parts(result, tmp_path / "a")
    assert [Path(part.path).name for part in parts] == ["part.pdf", "part-2.pdf", "PART-3.pdf"]
    assert [Path(part.path).read_bytes() for part in parts] == [b"one", b"two", b"three"]
    assert {part.job_id for part in parts} == {"J1"}

    listing = f'["{url("result-1.pdf")}", "{url("result-2.pdf")}"]'.encode()
    split = Host(whole(listing, **{"Content-Type": "application/json"}), whole(b"p1"), whole(b"p2"))
    pages = await Fetcher(split, clock).download_parts(url("split.json"), tmp_path / "b")
    assert only_files(tmp_path / "b") == ["result-1.pdf", "result-2.pdf"] and len(pages) == 2

    info = Host(whole(b'{"pages": 2}'), whole(b'{"pages": 2}'))  # JSON that is not a list of links: one file
    [single] = await Fetcher(info, clock).download_parts(url("info.json"), tmp_path / "c")
    assert Path(single.path).read_bytes() == b'{"pages": 2}'


async def test_fetch_decodes_text_and_holds_no_more_than_asked(clock: VirtualClock, url: Callable[..., str]) -> None:
    latin = whole("café".encode("latin-1"), **{"Content-Type": "text/plain; charset=iso-8859-1"})
    content, kind = await Fetcher(Host(latin), clock).fetch(url("t.txt"), max_bytes=100)
    assert decode_text(content, kind) == "café" and decode_text("\ufeffhello".encode(), None) == "hello"
    assert decode_text(b"\xff", "text/plain; charset=nonsense") == "\ufffd"
    chunked = Host(lambda request: httpx.Response(200, stream=httpx.ByteStream(b"x" * 5000)))  # no Content-Length
    with pytest.raises(ResultTooLargeError) as info:
        await Fetcher(chunked, clock).fetch(url("t.txt"), max_bytes=1000)
    assert info.value.limit == 1000 and len(chunked.requests) == 1 and "s3cr3t" not in str(info.value)
    declared = Host(whole(b"y" * 5000))
    with pytest.raises(ResultTooLargeError):
        await Fetcher(declared, clock).fetch(url(), max_bytes=1000)  # refused on Content-Length, not retried
    assert len(declared.requests) == 1
    with pytest.raises(UnexpectedResponseError, match="not JSON"):
        decode_json(b"<html>", url())


async def test_digests_are_computed_only_when_asked_and_span_a_resume(
    tmp_path: Path, clock: VirtualClock, url: Callable[..., str]
) -> None:
    data = os.urandom(2 * CHUNK_SIZE + 12_345)  # more than two batches: digests span batches and a partial last one
    md5, sha = hashlib.md5(data).hexdigest(), hashlib.sha256(data).hexdigest()
    cut = CHUNK_SIZE + 70_000  # one batch written, part of the next received when the connection breaks
    host = Host(whole(data, etag=f'"{md5}"'), broken(data, cut, etag=f'"{md5}"'), ranged(data, etag=f'"{md5}"'))
    fetcher = Fetcher(host, clock)
    plain = await fetcher.download(url("a.bin"), tmp_path)
    assert plain.sha256 is None and plain.etag_verified is False and Path(plain.path).read_bytes() == data
    both = await fetcher.download(url("b.bin"), tmp_path, fingerprint=True, verify_etag=True)
    assert host.ranges[1:] == [None, f"bytes={cut}-"]  # resumed right after what arrived, not at a batch boundary
    assert both.sha256 == sha and both.etag_verified is True


async def test_verify_etag_refuses_a_wrong_md5_and_lands_a_multipart_object_unverified(
    tmp_path: Path, clock: VirtualClock, url: Callable[..., str], caplog: pytest.LogCaptureFixture
) -> None:
    wrong = "0" * 32
    host = Host(whole(DATA, etag=f'"{wrong}"'), whole(DATA, etag='"9b2cf535f27731c974343645a3985328-3"'))
    with pytest.raises(ChecksumMismatchError) as info:
        await Fetcher(host, clock).download(url(), tmp_path / "bad", verify_etag=True)
    assert wrong in str(info.value) and hashlib.md5(DATA).hexdigest() in str(info.value)
    assert only_files(tmp_path / "bad") == [] and len(host.requests) == 1  # nothing kept, not retried
    landed = await Fetcher(host, clock).download(url(), tmp_path / "multi", verify_etag=True)
    assert landed.etag_verified is False and "states no MD5" in caplog.text


async def test_durable_fsyncs_before_the_rename_only_when_asked(
    tmp_path: Path, clock: VirtualClock, url: Callable[..., str], monkeypatch: pytest.MonkeyPatch
) -> None:
    synced: list[int] = []
    real = os.fsync

    def fsync(fd: int) -> None:
        synced.append(fd)
        real(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    fetcher = Fetcher(Host(whole(DATA), whole(DATA)), clock)
    await fetcher.download(url("a.pdf"), tmp_path)
    assert synced == []
    await fetcher.download(url("b.pdf"), tmp_path, durable=True)
    assert len(synced) == 1 and only_files(tmp_path) == ["a.pdf", "b.pdf"]
    assert (tmp_path / "b.pdf").stat().st_mode & 0o777 == 0o666 & ~current_umask()


def current_umask() -> int:
    with open("/proc/self/status") as status:
        return next(int(line.split()[1], 8) for line in status if line.startswith("Umask:"))


# --- the destination -----------------------------------------------------------------------------------------------


async def test_a_destination_that_cannot_take_the_file_says_the_link_still_works(
    tmp_path: Path, clock: VirtualClock, url: Callable[..., str]
) -> None:
    (tmp_path / "out").write_text("I am a file")
    link, host = url(), Host(whole(DATA))
    with pytest.raises(DestinationError) as info:
        await Fetcher(host, clock).download(link, tmp_path / "out", job_id="job-42")
    error = info.value
    assert host.requests == [] and error.errno == errno.EEXIST and "a file has the directory's name" in str(error)
    assert error.job_id == "job-42" and error.url == link.split("?")[0] and "s3cr3t" not in str(error)
    assert f"still at {error.url} until {error.valid_till:%Y-%m-%dT%H:%M:%SZ}" in str(error)
    assert "the job need not run again" in str(error) and pickle.loads(pickle.dumps(error)).__dict__ == error.__dict__

    (tmp_path / "taken" / "result.pdf").mkdir(parents=True)  # a directory has the result's name
    with pytest.raises(DestinationError, match="a directory has the result's name") as info:
        await Fetcher(host, clock).download(link, tmp_path / "taken")
    assert info.value.errno == errno.EISDIR and only_files(tmp_path / "taken") == ["result.pdf"]


async def test_a_cancelled_download_leaves_no_partial_file(
    tmp_path: Path, clock: VirtualClock, url: Callable[..., str]
) -> None:
    started = asyncio.Event()

    class Slow(httpx.AsyncByteStream):
        async def __aiter__(self) -> AsyncIterator[bytes]:
            yield DATA * 6  # more than a batch: bytes reach the temporary file
            started.set()
            await asyncio.Event().wait()
            yield b""  # pragma: no cover

    host = Host(lambda request: httpx.Response(200, headers={"Content-Length": str(len(DATA) * 7)}, stream=Slow()))
    task = asyncio.create_task(Fetcher(host, clock).download(url(), tmp_path))
    await started.wait()
    assert [name for name in only_files(tmp_path) if name.endswith(".part")]  # the temporary file is there
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert only_files(tmp_path) == []


async def test_stage_lands_in_a_private_directory_removed_afterwards(
    tmp_path: Path, clock: VirtualClock, url: Callable[..., str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # where the private directories go
    host = Host(whole(DATA), whole(DATA), s3_error(404, "NoSuchKey"))
    fetcher = Fetcher(host, clock)
    async with fetcher.stage(url("a%2Fb.pdf"), fingerprint=True) as [staged]:
        assert Path(staged.path).name == "a_b.pdf" and Path(staged.path).read_bytes() == DATA
        assert staged.sha256 == hashlib.sha256(DATA).hexdigest() and Path(staged.path).parent.name.startswith("pdfco-")
    assert only_files(tmp_path) == []
    with pytest.raises(ResultNotReadyError):
        async with fetcher.stage(JobResult(job_id="J", status=JobStatus.SUCCESS, urls=[url(), url()]), parts=True):
            raise AssertionError("never reached")  # pragma: no cover
    assert only_files(tmp_path) == []


def test_every_error_here_is_in_the_tree() -> None:
    for kind in (ResultExpiredError, ResultNotReadyError, ResultTooLargeError, ChecksumMismatchError, DestinationError):
        assert issubclass(kind, PdfcoError) and not issubclass(kind, JobError)


async def test_the_api_client_lands_through_the_same_rules(
    tmp_path: Path, clock: VirtualClock, url: Callable[..., str]
) -> None:
    host = Host(whole(DATA), whole(b"text"), whole(b"one"), whole(b"two"))
    client = PdfcoClient(
        "key", transport=httpx.MockTransport(Host()), link_transport=httpx.MockTransport(host), clock=clock
    )
    async with client:
        file = await client.download(JobResult(job_id="J", status=JobStatus.SUCCESS, url=url()), tmp_path, durable=True)
        assert Path(file.path).read_bytes() == DATA and file.job_id == "J"
        assert await client.fetch(url("t.txt"), max_bytes=10) == (b"text", "application/pdf")
        parts = JobResult(job_id="J", status=JobStatus.SUCCESS, urls=[url("p.pdf"), url("p.pdf")])
        assert [Path(f.path).name for f in await client.download_parts(parts, tmp_path)] == ["p.pdf", "p-2.pdf"]
        for job, status in (("J2", JobStatus.WORKING), ("J3", JobStatus.FAILED)):  # before any request
            with pytest.raises(ResultNotReadyError, match=f"{job} is {status}"):
                await client.download(JobResult(job_id=job, status=status, url=url()), tmp_path)
    assert len(host.requests) == 4 and only_files(tmp_path) == ["p-2.pdf", "p.pdf", "result.pdf"]
