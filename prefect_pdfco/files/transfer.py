"""Streaming GETs of result links: retries, Range resume, link expiry and S3's errors, at one httpx boundary.

Result links are S3 presigned URLs on another host than PDF.co's API. The client that fetches them has no API
key (``linkclient``), so the key cannot reach that host. Their query string is the credential: only
``safe_url`` forms (host and path) go into logs and errors.

``transfer`` moves one link into a ``Sink`` (a file or a bounded buffer), gathering the network's reads into
batches of ``CHUNK_SIZE`` so that a file sink hops to a worker thread once per MiB, not once per 64 KB read.
Digests are a choice (``Digests``): SHA-256 when the caller wants a fingerprint, MD5 when it asks to check S3's
ETag; by default none is computed, so the transfer runs at the speed of the network and the disk.
A broken connection is resumed with ``Range: bytes=N-`` when the host answers 206 with the matching
``Content-Range`` and the same ETag; otherwise it starts over. Connection errors, 429 and 5xx are retried per
the client's ``RetryPolicy`` (a GET is idempotent); everything httpx raises becomes a ``PdfcoError`` here.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Protocol

import httpx

from prefect_pdfco._http_errors import map_transport_error
from prefect_pdfco._netguard import MAX_REDIRECTS
from prefect_pdfco._redact import safe_url
from prefect_pdfco._retry import DEFAULT_RETRY_POLICY, RetryPolicy, call_with_retries, parse_retry_after
from prefect_pdfco.exceptions import (
    ChecksumMismatchError,
    FileTransferError,
    PdfcoConnectionError,
    PdfcoError,
    RateLimitError,
    ResultExpiredError,
    ResultNotReadyError,
    ServerError,
)
from prefect_pdfco.files.expiry import EXPIRED_HINT, describe_expiry, ensure_not_expired, link_expiry, signed_expiry
from prefect_pdfco.ui.logs import run_logger

__all__ = [
    "CHUNK_SIZE",
    "Digests",
    "Sink",
    "Transfer",
    "ensure_not_expired",
    "host_error",
    "link_expiry",
    "link_transport_error",
    "log_retries",
    "md5_etag",
    "signed_expiry",
    "transfer",
]

#: Bytes gathered before each write (and read from disk at a time by uploads): one worker-thread hop per MiB.
#: A transfer holds at most about two of these (one being written, one being gathered), whatever the file's size.
CHUNK_SIZE = 1024 * 1024
# An S3 error body is a few hundred bytes; never read more than this of an error answer.
_ERROR_BODY_LIMIT = 64 * 1024
_CONTENT_RANGE = re.compile(r"^\s*bytes\s+(\d+)-(\d+)/(\d+|\*)\s*$", re.IGNORECASE)
# A single-part S3 object's ETag is its MD5 in hex; a multipart one ends in "-<parts>" and is no content hash.
_MD5_ETAG = re.compile(r'^(?:W/)?"?([0-9a-f]{32})"?$', re.IGNORECASE)


def md5_etag(etag: str | None) -> str | None:
    """The MD5 (lowercase hex) that an S3 ETag states, or None when it states none (multipart, absent...)."""
    match = _MD5_ETAG.match((etag or "").strip())
    return match.group(1).lower() if match else None


def _xml_field(body: str, name: str) -> str:
    # S3 error bodies are flat <Error><Code>..</Code><Message>..</Message>...</Error>; a regex reads them
    # without running an XML parser on what a remote host sent.
    match = re.search(rf"<{name}>([^<]{{0,300}})</{name}>", body)
    return match.group(1).strip() if match else ""


def host_error(
    status: int, body: str, url: str, *, valid_till: datetime | None = None, retry_after: float | None = None
) -> PdfcoError:
    """The error for an answer of the file host that is not a success, from its status and S3 XML body."""
    safe = safe_url(url)
    code, message = _xml_field(body, "Code"), _xml_field(body, "Message")
    said = f"{code}: {message}" if code else (message or f"HTTP {status}")
    if status == 403 and code == "AccessDenied" and "expired" in message.lower():
        expiry = signed_expiry(url) or valid_till
        if expiry is None:
            stated = _xml_field(body, "Expires")
            try:
                expiry = datetime.fromisoformat(stated.replace("Z", "+00:00")) if stated else None
            except ValueError:
                expiry = None
        now = datetime.now(timezone.utc)
        return ResultExpiredError(
            f"{describe_expiry(expiry, now)} (the file host said {said!r}). {EXPIRED_HINT}",
            url=safe,
            status_code=status,
            valid_till=expiry,
        )
    if status == 404:
        return ResultNotReadyError(
            f"no file at this link ({said}): the job has not finished yet, or the file was deleted. "
            "Wait for the job's success (wait_for_job) before downloading.",
            url=safe,
            status_code=status,
        )
    if status == 429:
        return RateLimitError(said, status_code=status, endpoint=safe, retry_after=retry_after)
    if status >= 500:
        return ServerError(f"the file host failed ({said})", status_code=status, endpoint=safe)
    if status == 403:
        return FileTransferError(
            f"the file host refused the link ({said}); was the URL altered or cut short?", url=safe, status_code=status
        )
    return FileTransferError(f"the file host answered HTTP {status} ({said})", url=safe, status_code=status)


def link_transport_error(error: httpx.HTTPError | httpx.InvalidURL, url: str) -> PdfcoError:
    """The error for a request to a result link that got no HTTP answer, naming the result-storage host.

    Too many redirects is the link's fault, not the network's: a ``FileTransferError``, not retried.
    """
    safe = safe_url(url)
    if isinstance(error, httpx.TooManyRedirects):
        return FileTransferError(
            f"the result link redirected more than {MAX_REDIRECTS} times; a result link redirects once at most",
            url=safe,
        )
    return map_transport_error(error, safe, role="result storage")


def log_retries(
    action: str, url: str, resume_at: Callable[[], int] = lambda: 0
) -> Callable[[PdfcoError, int, float], None]:
    """The ``on_retry`` of a transfer: a warning per failed attempt, with the link in safe form.

    Args:
        action: What failed, before the link: ``"Download of"``, ``"Upload to"``.
        url: The link.
        resume_at: The byte the next attempt resumes at (0: it starts over).
    """

    def log(error: PdfcoError, failed: int, delay: float) -> None:
        position = resume_at()
        then = f"resuming at byte {position}" if position else "retrying"
        name = type(error).__name__
        run_logger().warning(
            "%s %s: attempt %d failed (%s); %s in %.1f s", action, safe_url(url), failed, name, then, delay
        )

    return log


async def _error_from(response: httpx.Response, url: str, valid_till: datetime | None) -> PdfcoError:
    body = bytearray()
    async for chunk in response.aiter_raw():
        body += chunk
        if len(body) >= _ERROR_BODY_LIMIT:
            break
    text = bytes(body[:_ERROR_BODY_LIMIT]).decode("utf-8", errors="replace")
    retry_after = parse_retry_after(response.headers.get("retry-after"))
    return host_error(response.status_code, text, url, valid_till=valid_till, retry_after=retry_after)


class Sink(Protocol):
    """Where a transfer's bytes go (``storage`` has a file's and memory's): appended in order, emptied when the
    transfer must start over, and asked first whether it takes the size the host announced."""

    def expect(self, size: int) -> None:
        """Raises when ``size`` bytes are more than it takes (``ResultTooLargeError``)."""

    async def write(self, chunks: Sequence[bytes], digest: Callable[[Sequence[bytes]], None] | None) -> None:
        """Appends ``chunks`` (about ``CHUNK_SIZE`` bytes), fed to ``digest`` first; a file sink may still be
        writing when this returns, and raises a failed write at the next call or ``flush``."""

    async def flush(self) -> None:
        """Returns once everything handed to ``write`` is written (raising what a write raised)."""

    async def reset(self) -> None:
        """Drops everything written so far."""


class Digests:
    """The digests a transfer computes while it streams: SHA-256 (``fingerprint``), MD5 (``verify_etag``).

    Priced per GiB of one core here: SHA-256 about 0.85 s (1.2 GiB/s), MD5 about 1.4 s (0.7 GiB/s). A file
    sink computes them in its worker thread, beside the network reads; neither is computed unless asked for.
    """

    def __init__(self, *, fingerprint: bool = False, verify_etag: bool = False) -> None:
        self.fingerprint = fingerprint
        self.verify_etag = verify_etag
        self.sha256: hashlib._Hash | None = None
        self.md5: hashlib._Hash | None = None
        self.restart()

    def restart(self) -> None:
        """Starts every digest over (the transfer starts over from byte 0)."""
        self.sha256 = hashlib.sha256() if self.fingerprint else None
        self.md5 = hashlib.md5(usedforsecurity=False) if self.verify_etag else None  # S3's ETag is an MD5

    def update(self, chunks: Sequence[bytes]) -> None:
        """Feeds ``chunks`` to every digest (hashlib lets other threads run meanwhile)."""
        for digest in (self.sha256, self.md5):
            if digest is not None:
                for chunk in chunks:
                    digest.update(chunk)

    @property
    def feed(self) -> Callable[[Sequence[bytes]], None] | None:
        """``update`` when any digest is computed, else None (a sink then does no per-chunk work)."""
        return self.update if self.sha256 is not None or self.md5 is not None else None

    def cannot_verify(self, etag: str | None, url: str) -> None:
        """Drops the MD5 when the host's ETag states none to compare with (multipart upload, no ETag)."""
        if self.md5 is not None:
            self.md5 = None
            run_logger().warning(
                "%s: the ETag %r is not an MD5 (a multipart upload?), so verify_etag cannot check it",
                safe_url(url),
                (etag or "")[:80],
            )

    def check_etag(self, etag: str | None, url: str, *, action: str = "downloaded") -> bool:
        """Compares the MD5 of what moved with the one ``etag`` states; True when it was checked.

        Raises:
            ChecksumMismatchError: They differ.
        """
        expected = md5_etag(etag)
        if self.md5 is None or expected is None:
            return False
        actual = self.md5.hexdigest()
        if actual != expected:
            raise ChecksumMismatchError(
                f"the {action} bytes have MD5 {actual}, but the file host's ETag states {expected}: they were "
                "damaged on the way or the file changed; nothing was kept, run it again",
                url=safe_url(url),
            )
        return True


@dataclass(frozen=True)
class Transfer:
    """What a completed transfer delivered: its size, SHA-256 (None unless asked for), the Content-Type the host
    declared, and whether its MD5 matched the host's ETag (``etag_verified``)."""

    size: int
    sha256: str | None
    content_type: str | None
    etag_verified: bool = False


@dataclass
class _Progress:
    sink: Sink
    digests: Digests
    received: int = 0
    total: int | None = None
    etag: str | None = None
    content_type: str | None = None

    async def restart(self) -> None:
        await self.sink.reset()  # waits for a write in flight, which may still be feeding the digests
        self.digests.restart()
        self.received, self.total, self.etag = 0, None, None


def _content_length(response: httpx.Response) -> int | None:
    value = response.headers.get("content-length", "")
    return int(value) if value.isdigit() else None


async def _start_over(progress: _Progress, why: str, url: str) -> PdfcoConnectionError:
    # The bytes kept so far cannot be continued; the next attempt asks for the whole file again.
    run_logger().info("Download of %s starts over: %s", safe_url(url), why)
    await progress.restart()
    return PdfcoConnectionError(f"{why}; starting over", endpoint=safe_url(url))


async def _accept(response: httpx.Response, progress: _Progress, url: str) -> None:
    """Checks a 200/206 answer against what we hold, restarting or raising when it does not continue it."""
    etag = response.headers.get("etag")
    if response.status_code == 200:
        if progress.received:
            # The host ignored our Range header and sends the whole file: take it from byte 0.
            run_logger().info("%s ignored the Range request; downloading from the start", safe_url(url))
            await progress.restart()
        progress.total = _content_length(response)
        progress.etag = etag
        progress.content_type = response.headers.get("content-type")
        if md5_etag(etag) is None:
            progress.digests.cannot_verify(etag, url)
    else:
        match = _CONTENT_RANGE.match(response.headers.get("content-range", ""))
        if not progress.received or match is None or int(match.group(1)) != progress.received:
            raise await _start_over(progress, "the host answered a range that does not continue ours", url)
        if progress.etag and etag and etag != progress.etag:
            raise await _start_over(progress, "the file changed on the host (new ETag)", url)
        if match.group(3) != "*":
            progress.total = int(match.group(3))
    if progress.total is not None:
        progress.sink.expect(progress.total)


async def _attempt(http: httpx.AsyncClient, url: str, progress: _Progress, valid_till: datetime | None) -> None:
    headers = {"Accept-Encoding": "identity"}  # the bytes as stored: Content-Length and Range count these
    if progress.received:
        headers["Range"] = f"bytes={progress.received}-"
    try:
        async with http.stream("GET", url, headers=headers) as response:
            status = response.status_code
            if status == 416 and progress.received:
                match = re.search(r"/(\d+)\s*$", response.headers.get("content-range", ""))
                if match and int(match.group(1)) == progress.received:
                    return  # everything had arrived before the connection broke
                raise await _start_over(progress, "the host refused to resume (416)", url)
            if status not in (200, 206):
                raise await _error_from(response, url, valid_till)
            await _accept(response, progress, url)
            await _copy(response, progress)
    except (httpx.HTTPError, httpx.InvalidURL) as error:
        raise link_transport_error(error, url) from error
    if progress.total is not None and progress.received != progress.total:
        raise PdfcoConnectionError(f"received {progress.received} of {progress.total} bytes", endpoint=safe_url(url))


async def _copy(response: httpx.Response, progress: _Progress) -> None:
    """Hands the body to the sink in batches of about ``CHUNK_SIZE``; ``received`` counts what was handed over
    (what arrived before a broken connection included, so the next attempt resumes right after it)."""
    batch: list[bytes] = []
    gathered = 0
    feed = progress.digests.feed
    try:
        async for chunk in response.aiter_raw():  # as they arrive (see linkclient.READ_SIZE)
            batch.append(chunk)
            gathered += len(chunk)
            if gathered >= CHUNK_SIZE:
                await progress.sink.write(batch, feed)
                progress.received += gathered
                batch, gathered = [], 0
    except httpx.HTTPError:
        if batch:  # the connection broke: keep what arrived, so that the next attempt resumes after it
            await progress.sink.write(batch, feed)
            progress.received += gathered
        raise
    if batch:
        await progress.sink.write(batch, feed)
        progress.received += gathered


async def transfer(
    http: httpx.AsyncClient,
    url: str,
    sink: Sink,
    *,
    valid_till: datetime | None = None,
    retry_policy: RetryPolicy = DEFAULT_RETRY_POLICY,
    fingerprint: bool = False,
    verify_etag: bool = False,
) -> Transfer:
    """Streams ``url`` into ``sink``, resuming and retrying per ``retry_policy``.

    Args:
        http: A client without credentials (see ``linkclient``).
        url: The presigned link.
        sink: Where the bytes go; everything is written when this returns.
        valid_till: PDF.co's ``outputLinkValidTill``, when known: past it, no request is made.
        retry_policy: Attempts and delays; every failed attempt counts, whether or not bytes arrived.
        fingerprint: Compute the SHA-256 of the content (about 0.85 s of one core per GiB).
        verify_etag: Compute the MD5 and compare it with the host's ETag when that states one (a single-part S3
            object); about 1.4 s of one core per GiB.

    Raises:
        ResultExpiredError: The link expired (before any request, or S3's 403 "Request has expired").
        ResultNotReadyError: 404: no such file (yet).
        ResultTooLargeError: The sink refuses the result's size (from ``Content-Length`` before reading, else
            while reading).
        ChecksumMismatchError: ``verify_etag`` and the MD5 differs from the ETag's.
        FileTransferError: Any other refusal of the file host.
        PdfcoConnectionError, ServerError, RateLimitError: Transient failures that outlasted the retries.
    """
    ensure_not_expired(url, valid_till)
    digests = Digests(fingerprint=fingerprint, verify_etag=verify_etag)
    progress = _Progress(sink, digests)
    await call_with_retries(
        lambda: _attempt(http, url, progress, valid_till),
        idempotent=True,
        policy=retry_policy,
        on_retry=log_retries("Download of", url, lambda: progress.received),
    )
    await sink.flush()
    verified = digests.check_etag(progress.etag, url)
    sha256 = digests.sha256.hexdigest() if digests.sha256 is not None else None
    return Transfer(progress.received, sha256, progress.content_type, etag_verified=verified)
