"""The streamed HTTP core of file transfers: a GET resuming with Range, a PUT from disk. See docs/design/links.md."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, BinaryIO, TypeVar
from urllib.parse import parse_qsl, urlsplit

import anyio.to_thread
import httpx

from prefect_pdfco import _tempfiles
from prefect_pdfco._exceptions import (
    ChecksumMismatchError,
    FileTransferError,
    LocalFileError,
    PdfcoConnectionError,
    PdfcoError,
    RateLimitError,
    ResultExpiredError,
    ResultNotReadyError,
    ResultTooLargeError,
    ServerError,
    escape_control,
)
from prefect_pdfco._linkguard import MAX_REDIRECTS, scrub_urls
from prefect_pdfco._util import SYSTEM_CLOCK, Clock, safe_url
from prefect_pdfco.models import RetryPolicy

T = TypeVar("T")
CHUNK_SIZE = 1024 * 1024  # per thread hop; why: docs/design/links.md ("Streaming")
UPLOAD_TIMEOUT = httpx.Timeout(120.0, connect=10.0, pool=None)
_CONTENT_RANGE = re.compile(r"^\s*bytes\s+(\d+)-(\d+)/(\d+|\*)\s*$", re.IGNORECASE)
_MD5_ETAG = re.compile(r'^(?:W/)?"?([0-9a-f]{32})"?$', re.IGNORECASE)  # a multipart upload's ETag ends in "-<n>"
EXPIRED_HINT = (
    "PDF.co deletes results when their link expires: run the job again and download within the link's lifetime "
    "(PDF.co's `expiration` parameter sets it in minutes)."
)
logger = logging.getLogger("prefect_pdfco")


@dataclass(frozen=True)
class Links:
    """A keyless file-host client (``_linkguard.new_link_client``) with the retry policy and clock of its transfers."""

    http: httpx.AsyncClient
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    clock: Clock = SYSTEM_CLOCK


def signed_expiry(url: str) -> datetime | None:
    """When a presigned (SigV4) link stops working by its own query: ``X-Amz-Date`` plus ``X-Amz-Expires``."""
    with contextlib.suppress(KeyError, ValueError, OverflowError):
        query = {key.lower(): value for key, value in parse_qsl(urlsplit(url).query)}
        signed = datetime.strptime(query["x-amz-date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)
        return signed + timedelta(seconds=int(query["x-amz-expires"]))
    return None


def _ago(seconds: float) -> str:
    for unit, size in (("days", 86400), ("h", 3600), ("min", 60)):
        if seconds >= 2 * size:
            return f"{int(seconds // size)} {unit}"
    return f"{int(seconds)} s"


def describe_expiry(expiry: datetime | None, now: datetime) -> str:
    """When the link expired (UTC), and how long ago only when this machine's clock agrees that it has."""
    if expiry is None:
        return "the result link has expired"
    text = f"the result link expired at {expiry.astimezone(timezone.utc):%Y-%m-%dT%H:%M:%SZ}"
    if (seconds := (now - expiry).total_seconds()) < 0:  # the host says expired, our clock not yet: a clock is off
        ours = f"this machine's clock reads {now:%Y-%m-%dT%H:%M:%SZ}, {_ago(-seconds)} earlier"
        return f"{text}, by the file host's clock ({ours}: check that it is synchronised)"
    return f"{text} ({_ago(seconds)} ago)" if seconds >= 1 else f"{text} (just now)"


def check_fresh(url: str, valid_till: datetime | None, clock: Clock) -> datetime | None:
    """When the link stops working (``valid_till`` or its signed expiry); refuses it, no request made, once passed."""
    known = [moment.astimezone(timezone.utc) for moment in (valid_till, signed_expiry(url)) if moment is not None]
    expiry, now = min(known, default=None), datetime.fromtimestamp(clock.time(), timezone.utc)
    if expiry is not None and now >= expiry:
        text = f"{describe_expiry(expiry, now)}; no request was made. {EXPIRED_HINT}"
        raise ResultExpiredError(text, url=safe_url(url), valid_till=expiry)
    return expiry


def _xml_field(body: str, name: str) -> str:
    # S3 error bodies are flat <Error><Code>..</Code>...: a regex reads them without parsing what a host sent.
    match = re.search(rf"<{name}>([^<]{{0,300}})</{name}>", body)
    return match.group(1).strip() if match else ""


def host_error(
    status: int, body: str, url: str, *, valid_till: datetime | None = None, clock: Clock = SYSTEM_CLOCK
) -> PdfcoError:
    """The error for a file host's answer that is not a success, from its status and S3 XML body."""
    safe, code, message = safe_url(url), _xml_field(body, "Code"), _xml_field(body, "Message")
    said = f"{code}: {message}" if code else (message or f"HTTP {status}")
    if status == 403 and code == "AccessDenied" and "expired" in message.lower():
        expiry = signed_expiry(url) or valid_till
        with contextlib.suppress(ValueError):
            expiry = expiry or datetime.fromisoformat(_xml_field(body, "Expires").replace("Z", "+00:00"))
        now = datetime.fromtimestamp(clock.time(), timezone.utc)
        text = f"{describe_expiry(expiry, now)} (the file host said {said!r}). {EXPIRED_HINT}"
        return ResultExpiredError(text, url=safe, status_code=status, valid_till=expiry)
    if status == 404:
        text = f"no file at this link ({said}): the job has not finished yet, or the file was deleted"
        return ResultNotReadyError(text, url=safe, status_code=status)
    if status == 429:
        return RateLimitError(said, status_code=status, endpoint=safe)
    if status >= 500:
        return ServerError(f"the file host failed ({said})", status_code=status, endpoint=safe)
    why = "; was the URL altered or cut short?" if status == 403 else ""
    return FileTransferError(f"the file host refused the link ({said}){why}", url=safe, status_code=status)


def link_error(error: httpx.HTTPError | httpx.InvalidURL, url: str) -> PdfcoError:
    """The error for a request to a file host that got no HTTP answer; names the host and path only."""
    safe, detail = safe_url(url), f"{type(error).__name__}: {scrub_urls(str(error))}"
    if isinstance(error, httpx.TooManyRedirects):
        return FileTransferError(f"the link redirected more than {MAX_REDIRECTS} times (S3 redirects once)", url=safe)
    if isinstance(error, (httpx.InvalidURL, httpx.UnsupportedProtocol)):
        return FileTransferError(f"not a link that can be fetched ({detail})", url=safe)
    sent = not isinstance(error, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout))
    host = f"{escape_control(urlsplit(safe).hostname or 'the file host')} (result storage)"
    why = f"no complete answer came from {host}" if sent else f"could not connect to {host}; nothing was sent"
    return PdfcoConnectionError(f"{why} ({detail})", endpoint=safe, may_have_reached_server=sent)


def check_md5(md5: Any, etag: str | None, url: str, *, action: str = "downloaded") -> bool:
    """Whether ``md5`` (hashlib's, or None) was compared with the MD5 an S3 ETag states; raises when they differ."""
    match = _MD5_ETAG.match((etag or "").strip())
    if md5 is None or match is None:
        return False
    if (actual := md5.hexdigest()) != (expected := match.group(1).lower()):
        text = f"the {action} bytes have MD5 {actual}, but the file host's ETag states {expected}: damaged on the way"
        raise ChecksumMismatchError(f"{text} or changed on the host; nothing was kept, run it again", url=safe_url(url))
    return True


async def retrying(
    policy: RetryPolicy,
    clock: Clock,
    attempt: Callable[[], Awaitable[T]],
    *,
    idempotent: bool = True,
    deadline: float | None = None,
    log: Callable[[PdfcoError, int, float], None] | None = None,
) -> T:
    """``attempt()`` until it returns, ``policy`` gives up, or the next try would start after ``deadline``."""
    failures = limited = 0
    waited = 0.0
    while True:
        try:
            return await attempt()
        except PdfcoError as error:
            is_429 = isinstance(error, RateLimitError)
            limited, failures = limited + is_429, failures + (not is_429)
            count = limited if is_429 else failures
            delay = policy.delay_for(error, attempt=count, idempotent=idempotent, rate_limited_seconds=waited)
            if delay is None or (deadline is not None and clock.monotonic() + delay > deadline):
                raise
            waited += delay if is_429 else 0.0
            if log is not None:
                log(error, failures + limited, delay)
        await clock.sleep(delay)


def _transferring(
    links: Links, attempt: Callable[[], Awaitable[T]], what: str, url: str, at: Callable[[], int]
) -> Awaitable[T]:
    """``retrying`` for a GET or a presigned PUT (both may always repeat), logging each retry."""

    def log(error: PdfcoError, attempts: int, delay: float) -> None:
        then = f"resuming at byte {at()}" if at() else "retrying"
        text = "%s %s: attempt %d failed (%s); %s in %.1f s"  # the link parsed only here: it costs
        logger.warning(text, what, safe_url(url), attempts, error, then, delay)

    return retrying(links.retry, links.clock, attempt, log=log)


@dataclass
class Incoming:
    """Where one GET stands and where its bytes go (a file, else memory up to ``limit``), digested on the way."""

    url: str
    file: BinaryIO | None = None
    target: httpx.URL | None = None
    limit: int | None = None
    fingerprint: bool = False
    verify_etag: bool = False
    received: int = 0
    total: int | None = None
    etag: str | None = None
    content_type: str | None = None

    def __post_init__(self) -> None:
        self.data = bytearray()
        self.tail: list[bytes] = []  # the last batch, held for land()
        self._pending_write: asyncio.Future[None] | None = None
        self._new_digests()

    def _new_digests(self) -> None:
        self.sha256 = hashlib.sha256() if self.fingerprint else None
        self.md5 = hashlib.md5(usedforsecurity=False) if self.verify_etag else None  # S3's ETag is an MD5

    def _feed(self, chunks: Sequence[bytes]) -> None:
        for digest in (self.sha256, self.md5):
            if digest is not None:
                for chunk in chunks:
                    digest.update(chunk)

    def _write(self, file: BinaryIO, chunks: Sequence[bytes]) -> None:
        self._feed(chunks)  # in the worker thread, beside the network reads
        file.writelines(chunks)

    def _expect(self, size: int) -> None:
        if self.limit is not None and size > self.limit:
            text = f"the result is {size:,} bytes or more, over the {self.limit:,} bytes it may hold in memory"
            text += "; download it to a file instead"
            raise ResultTooLargeError(text, url=safe_url(self.url), limit=self.limit)

    async def _keep(self, batch: list[bytes], *, last: bool = False) -> None:
        if not batch:
            return
        size = sum(map(len, batch))
        if self.file is None:
            self._expect(len(self.data) + size)
            self.data += b"".join(batch)
            self._feed(batch)
        elif last:
            self.tail += batch  # a small file then costs one thread hop for its write and its rename
        else:
            await self.flush()
            batch, self.tail = [*self.tail, *batch], []  # a tail held before a broken connection goes first
            # anyio's thread call is not abandoned when cancelled: whoever awaits it waits for the write to end.
            self._pending_write = asyncio.ensure_future(anyio.to_thread.run_sync(self._write, self.file, batch))
            self._pending_write.add_done_callback(lambda done: done.cancelled() or done.exception())
        self.received += size

    async def flush(self) -> None:
        pending, self._pending_write = self._pending_write, None
        if pending is not None:
            await pending

    async def start_over(self, why: str) -> PdfcoConnectionError:
        await self.flush()  # a write in flight may still be feeding the digests
        self.data.clear()
        self.tail = []
        if self.file is not None:
            self.file.seek(0)
            self.file.truncate()
        self._new_digests()
        self.received, self.total, self.etag = 0, None, None
        return PdfcoConnectionError(f"{why}; starting over", endpoint=safe_url(self.url))

    async def accept(self, response: httpx.Response) -> None:
        """Checks that a 200/206 continues what we hold; starts over (raising: the retry asks again) when not."""
        etag = response.headers.get("etag")
        if response.status_code == 200:
            if self.received:  # the host ignored our Range header: take the whole file from byte 0
                await self.start_over("the host ignored the Range request")
            length = response.headers.get("content-length", "")
            self.total, self.etag = (int(length) if length.isdigit() else None), etag
            self.content_type = response.headers.get("content-type")
            if self.md5 is not None and not _MD5_ETAG.match(etag or ""):
                logger.warning("%s: the ETag %r states no MD5 (multipart?): not verified", safe_url(self.url), etag)
                self.md5 = None
        else:
            match = _CONTENT_RANGE.match(response.headers.get("content-range", ""))
            if not self.received or match is None or int(match.group(1)) != self.received:
                raise await self.start_over("the host answered a range that does not continue ours")
            if self.etag and etag and etag != self.etag:
                raise await self.start_over("the file changed on the host (new ETag)")
            self.total = int(match.group(3)) if match.group(3) != "*" else None
        if self.total is not None:
            self._expect(self.total)

    async def copy(self, response: httpx.Response) -> None:
        """Hands the body over in batches of about ``CHUNK_SIZE`` (what came before a break too: resumed from there)."""
        batch: list[bytes] = []
        try:
            async for chunk in _raw(response):
                batch.append(chunk)
                if sum(map(len, batch)) >= CHUNK_SIZE:
                    await self._keep(batch)
                    batch = []
        except httpx.HTTPError:
            await self._keep(batch)  # the connection broke: keep what arrived, so the next attempt resumes after it
            raise
        await self._keep(batch, last=True)

    def land(self, part: Path, final: Path, durable: bool) -> bool:
        """In a worker thread: writes the last batch, checks the MD5 (returns whether), moves ``part`` to ``final``."""
        assert self.file is not None
        self._write(self.file, self.tail)
        verified = check_md5(self.md5, self.etag, self.url)
        _tempfiles.put_in_place(self.file, part, final, durable)
        return verified

    async def _attempt(self, links: Links, valid_till: datetime | None) -> None:
        headers = {"Accept-Encoding": "identity"}  # the bytes as stored: Content-Length and Range count these
        if self.received:
            headers["Range"] = f"bytes={self.received}-"
        try:
            async with links.http.stream("GET", self.target or self.url, headers=headers) as response:
                if response.status_code == 416 and self.received:
                    if response.headers.get("content-range", "").endswith(f"/{self.received}"):
                        return  # every byte had arrived before the connection broke
                    raise await self.start_over("the host refused to resume (416)")
                if response.status_code not in (200, 206):
                    body = b""
                    async for chunk in _raw(response):
                        if len(body := body + chunk) >= 65536:  # an S3 error body is a few hundred bytes
                            break
                    text = body[:65536].decode("utf-8", "replace")
                    raise host_error(response.status_code, text, self.url, valid_till=valid_till, clock=links.clock)
                await self.accept(response)
                await self.copy(response)
        except (httpx.HTTPError, httpx.InvalidURL) as error:
            raise link_error(error, self.url) from error
        if self.total is not None and self.received != self.total:
            text = f"received {self.received} of {self.total} bytes"
            raise PdfcoConnectionError(text, endpoint=safe_url(self.url))


async def _raw(response: httpx.Response) -> AsyncIterator[bytes]:
    """The body as stored, as it arrives (whole, when a test transport's answer was read already)."""
    if response.is_stream_consumed:
        yield response.content
        return
    async for chunk in response.aiter_raw():
        yield chunk


async def get(links: Links, incoming: Incoming, valid_till: datetime | None = None) -> None:
    """Streams ``incoming.url`` into its file or memory, resuming and retrying; all is written when it returns."""
    with _tempfiles.transfer():
        attempt = functools.partial(incoming._attempt, links, valid_till)
        await _transferring(links, attempt, "Download of", incoming.url, lambda: incoming.received)
        await incoming.flush()


def _read(file: BinaryIO, size: int, md5: Any) -> bytes:
    chunk = file.read(size)
    if md5 is not None:
        md5.update(chunk)  # in the worker thread, beside the send
    return chunk


async def _chunks(local: Path, size: int, md5: Any) -> AsyncIterator[bytes]:
    """The first ``size`` bytes of the file, a chunk at a time (the only copy of it in memory)."""
    remaining = size
    with open(local, "rb") as file:  # noqa: ASYNC230  # opening costs no wait; reads hop to a thread
        while remaining > 0:
            chunk = await anyio.to_thread.run_sync(_read, file, min(CHUNK_SIZE, remaining), md5)
            if not chunk:
                raise LocalFileError(str(local), f"the file shrank to {size - remaining} bytes while uploading")
            remaining -= len(chunk)
            yield chunk


async def put(links: Links, url: str, local: Path, size: int, content_type: str, *, verify_etag: bool = False) -> None:
    """Streams a local file to a presigned URL with ``Content-Length`` (S3 refuses chunked uploads), retried whole."""

    async def once() -> None:
        md5 = hashlib.md5(usedforsecurity=False) if verify_etag else None
        headers = {"Content-Type": content_type, "Content-Length": str(size)}
        try:  # not redirected: a presigned PUT is never moved, and the body streams from disk once per attempt
            content = _chunks(local, size, md5)
            response = await links.http.put(
                url, content=content, headers=headers, timeout=UPLOAD_TIMEOUT, follow_redirects=False
            )
        except (httpx.HTTPError, httpx.InvalidURL) as error:
            raise link_error(error, url) from error
        if response.status_code >= 300:
            failure = host_error(response.status_code, response.text[:65536], url)
            if isinstance(failure, ResultExpiredError):
                text = "the presigned upload URL expired before the upload started (PDF.co signs it for 15 minutes)"
                raise FileTransferError(text, url=safe_url(url), status_code=response.status_code)
            raise failure
        check_md5(md5, response.headers.get("etag"), url, action="uploaded")  # S3 answers the MD5 it stored

    with _tempfiles.transfer():
        await _transferring(links, once, "Upload to", url, lambda: 0)
